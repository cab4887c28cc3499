"""The backtester: target weights -> fills, positions, values and costs under A-share rules.

The only package that applies execution lag, tradability masks and the cost model:

- :mod:`engine.backtest.core`: :func:`run_backtest` (one portfolio), :func:`run_backtest_many` (P portfolios in
  one kernel call), :class:`BacktestResult`, the base-row conventions;
- :mod:`engine.backtest.weightpaths`: target-weight containers (dense, crossovers, sparse rebalancing) and the
  lag/clean helpers;
- :mod:`engine.backtest.costs`: dated stamp duty and transfer fees, cash return;
- :mod:`engine.backtest.limits`: price limits at the tick, board rules, suspensions -> tradability masks;
- :mod:`engine.backtest.bridge`: the executed orders replayed as a ``vectorbt.Portfolio``.

The names below are the package's public interface (``from engine.backtest import run_backtest``); they load on
first use (PEP 562 ``__getattr__``), so importing a light submodule (e.g. ``costs`` for config validation) does not
load the kernels.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "BacktestResult": "core", "SameCloseWarning": "core", "backtest_dates": "core", "run_backtest": "core",
    "run_backtest_many": "core", "kernel_threads": "core",
    "stamp_duty_schedule": "costs", "transfer_schedule": "costs", "tradability": "limits",
    "SparsePaths": "weightpaths",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"engine.backtest.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'engine.backtest' has no attribute {name!r}")
