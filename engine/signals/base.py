"""The contract between signal generators, the config and the backtester.

A signal generator is a plain function ``compute(ds: Dataset, params: dict) -> SignalResult`` plus a
``SignalSpec`` in :data:`engine.signals.REGISTRY`. ``params`` arrives already merged with the spec's defaults
and type-checked by :mod:`engine.config` (the type of each default is the expected type).

Timing contract (every generator's docstring restates it): ``weights.loc[t]`` is decided with data up to the
close of ``t`` only; the backtester executes it at ``t + lag``. Proven per signal by the look-ahead test helper
``tests/lookahead.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pandas as pd


@dataclass
class SignalResult:
    """``weights``: date x code target weights (rows sum to <= 1, cash is the rest), decided at close t.

    ``indicators``: date-indexed frame of the signal's intermediate series, for reports (may be empty).
    ``tables``: named frames for report-style output (e.g. the last 20 days table, monthly signal tables).
    ``rebalance_dates``: decision dates on which the backtester re-applies the target even if it did not change
    (scheduled rebalancing, e.g. back to equal weight at every month end). ``None``: trade only on changes.
    ``targets``: optionally the same target path in compact form (``engine.backtest.weightpaths.SparsePaths``:
    decision dates and the codes held), which the backtester then uses instead of ``weights`` (same result).
    """

    weights: pd.DataFrame
    indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rebalance_dates: Optional[pd.DatetimeIndex] = None
    targets: Any = None


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of a signal that can be computed on its own (``python -m engine.signals CONFIG --indicator
    NAME``): ``compute(ds, params) -> DataFrame`` (date-indexed) needs only ``requires``."""

    name: str
    compute: Callable[[Any, dict], pd.DataFrame]
    requires: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()      # e.g. the report's Chinese name
    description: str = ""


@dataclass(frozen=True)
class SignalSpec:
    name: str
    compute: Callable[[Any, dict], SignalResult]
    defaults: dict                      # every parameter with its default; the default's type is the expected type
    universe: str                       # dataset panel the weights refer to ('index' = CSI 300 timing, 'sw_l1', ...)
    requires: tuple[str, ...] = ()      # e.g. ("panel:index.close", "series:flows.elg_buy", "table:membership")
    description: str = ""
    choices: dict = field(default_factory=dict)   # param -> allowed values, for enumerated options
    positive: tuple[str, ...] = ()      # params that must be > 0 (windows, lags)
    format_tables: Optional[Callable[[dict], str]] = None   # report-style text of SignalResult.tables
    indicators: tuple = ()              # IndicatorSpec: indicators computable alone, with only their inputs
    after_run: Optional[Callable[[Any], dict]] = None   # run -> extra tables for the single-run summary only
    charts: Optional[Callable[[SignalResult, Any, bool], list]] = None   # (result, out_dir, synthetic) -> PNG paths
    # (dataset, params, data.start, data.end) -> (params, line): data-dependent params fixed for the run's period
    # (e.g. xinbanjun's real-or-sector tradable); the pipeline prints the line
    resolve: Optional[Callable[[Any, dict, Any, Any], tuple]] = None
    # engine.signals.components.ComponentMap: parameters -> indicator components, and the weights from them; sweeps
    # then compute each component once per distinct value of the parameters it reads (None: one compute per set)
    components: Optional[Any] = None

    def universe_for(self, params: Optional[dict] = None) -> str:
        """The panel the weights refer to: ``params['panel']`` for a signal with a ``panel`` parameter (``hold``,
        ``ma_timing``, ``weights_file`` trade the panel they name), else :attr:`universe`."""
        if "panel" in self.defaults and params and params.get("panel"):
            return str(params["panel"])
        return self.universe

    def requires_for(self, params: Optional[dict] = None) -> tuple[str, ...]:
        """:attr:`requires` with the default panel replaced by the one ``params`` names."""
        u = self.universe_for(params)
        head = f"panel:{self.universe}."
        if u == self.universe:
            return self.requires
        return tuple(f"panel:{u}." + r[len(head):] if r.startswith(head) else r for r in self.requires)


def format_tables_by_month(tables: dict, fmt: Callable[[dict, Any], str]) -> str:
    """Helper for monthly signals: call ``fmt(tables, month_end)`` with the month stored in the tables' attrs."""
    month = next((t.attrs.get("month_end") for t in tables.values() if hasattr(t, "attrs")), None)
    return fmt(tables, month)


def rolling_mean(obj, window: int, min_periods: int):
    """``obj.rolling(window, min_periods=min_periods).mean()`` for a float Series or DataFrame, through the project's
    one rolling-mean kernel (:func:`engine.kernels.rolling.rolling_mean`, bit for bit pandas' values); same index,
    columns and name."""
    import numpy as np

    from engine.kernels.rolling import rolling_mean as kernel

    series = isinstance(obj, pd.Series)
    a = obj.to_numpy(dtype=float, na_value=np.nan)
    out = kernel(np.ascontiguousarray(a.reshape(-1, 1) if series else a), int(window), int(min_periods))
    if series:
        return pd.Series(out[:, 0], index=obj.index, name=obj.name)
    return pd.DataFrame(out, index=obj.index, columns=obj.columns)
