"""Everything a run, sweep or comparison writes for people to read.

- :mod:`engine.report.results`: a run's results directory (config, metrics.json, CSVs, summary.md, meta.json);
- :mod:`engine.report.charts`: the PNG charts (matplotlib, imported only when drawing), :mod:`~.fonts` (CJK);
- :mod:`engine.report.html`: the generic self-contained ``report.html`` writer (:class:`~.html.Page`,
  :func:`~.html.write_page`); :mod:`~.run_page`, :mod:`~.sweep_page`, :mod:`~.compare_page` build the pages;
- :mod:`engine.report.trades`: round trips from the kernel's fills; :mod:`~.cli`: ``--report/--open/--tearsheet``.

The names below are the package's public interface (``from engine.report import ...``). They load on first use
(PEP 562 ``__getattr__``), so importing the package (e.g. for the CLI's arguments) costs nothing.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "PACKAGES": "results", "SYNTH_BANNER": "results", "REPORT_CHOICES": "results", "_git_commit": "results",
    "_md_table": "results", "_pkg_versions": "results", "format_extra_benchmarks": "results",
    "make_run_dir": "results", "new_run_dir": "results", "summary_markdown": "results", "write_results": "results",
    "write_run_html": "results", "_chart": "charts", "chart_figure": "charts", "Page": "html", "write_page": "html",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"engine.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'engine.report' has no attribute {name!r}")
