"""Statistics of a run and of a sweep, their input checks, annualisation base and formats.

- :mod:`engine.metrics.single`: :func:`compute_metrics` (strategy vs benchmark, one column), :func:`yearly_table`;
- :mod:`engine.metrics.vector`: the same statistics for P columns at once (sweeps);
- :mod:`engine.metrics.inputs`: validation of return series and metrics config (one-line errors);
- :mod:`engine.metrics.ppy`: ``periods_per_year`` (``auto`` = the data's trading days per calendar year);
- :mod:`engine.metrics.warmup`: metrics from the signal's first defined day;
- :mod:`engine.metrics.format`: the plain-text table with conventions printed.

The names below are the package's public interface (``from engine.metrics import compute_metrics``); they load on
first use (PEP 562 ``__getattr__``).
"""
from __future__ import annotations

import importlib

_WHERE = {
    "compute_metrics": "single", "yearly_table": "single", "drawdown_dates": "single", "to_json_safe": "single",
    "format_metrics_table": "format",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"engine.metrics.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'engine.metrics' has no attribute {name!r}")
