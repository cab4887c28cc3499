"""Parameter sweeps: ``python -m engine.run X.yaml --sweep``.

Flow: the YAML's ``sweep:`` section (:mod:`engine.sweep.grid`: validated combinations, ranking) -> the plan printed
before starting (:mod:`engine.sweep.plan`: counts, time and memory, the cap) -> chunks (:mod:`engine.sweep.execute`:
shared signals, one backtest kernel call per column batch, vectorised metrics, resumable chunk cache) run by an
executor (:mod:`engine.sweep.pool`: serial, processes, Dask) -> one table, ranking, deflated Sharpe ratio and PBO
(:mod:`engine.sweep.stats`) -> the run directory (:mod:`engine.sweep.report`). :mod:`engine.sweep.runner` ties
them together.

The names below are the package's public interface (``from engine.sweep import run_sweep``); they load on first use
(PEP 562 ``__getattr__``), so the CLI can read the plan's defaults without loading the sweep machinery.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "run_sweep": "runner", "assemble": "runner", "make_tasks": "runner", "resolve_periods": "runner",
    "load_raw": "runner", "selection_stats": "runner", "walk_forward_table": "runner",
    "rank": "grid",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"engine.sweep.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'engine.sweep' has no attribute {name!r}")
