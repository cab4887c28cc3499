"""Everything a run, sweep or comparison writes for people to read.

- :mod:`engine.report.results`: the run's results directory (config, metrics.json, CSVs, summary.md, meta.json);
- :mod:`engine.report.charts`: the PNG charts (matplotlib, imported only when drawing).

The names below are the package's public interface (``from engine.report import ...``); importing the package
imports neither matplotlib nor plotly.
"""
from engine.report.charts import _chart, chart_figure
from engine.report.results import (PACKAGES, SYNTH_BANNER, _git_commit, _md_table, _pkg_versions,
                                   format_extra_benchmarks, make_run_dir, new_run_dir, summary_markdown,
                                   write_results)

__all__ = ["PACKAGES", "SYNTH_BANNER", "chart_figure", "format_extra_benchmarks", "make_run_dir", "new_run_dir",
           "summary_markdown", "write_results", "_chart", "_git_commit", "_md_table", "_pkg_versions"]
