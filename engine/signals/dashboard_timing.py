"""Timing from any weekly dashboard series (seed 000, issue 15 item 3): hold the CSI 300 at ``high`` exposure and
cut to ``low`` when the series sits in the tail of its own recent history.

* value ``x_w``: the weekly series ``series`` of :mod:`engine.dashboard.series` (``margin_share``,
  ``margin_balance_ratio``, ``northbound_share``, ``quant_excess_500``, ``basis_ic_q0``, ...), dated by the week's last
  trading day. Margin series follow the T+1 publication: the week of day D holds the margin rows published
  Monday..Friday, i.e. dated up to the day before D's week ends ("as of Thursday").
* ``pct_w`` = the share of the last ``window`` weekly values (including ``x_w``) that are <= ``x_w`` (methodology
  §0 rank percentile); NaN until ``min_periods`` values exist.
* weight = ``low`` when ``pct_w <= threshold`` (``direction: below``) or ``pct_w >= threshold`` (``above``),
  else ``high``; ``high`` during the warm-up. Decided at the week's last close and held until the next week's;
  the backtester trades it at t + lag.

Inputs: panel ``index`` close (the traded code) and the datasets of the chosen series. Output: weights in
{low, high} on ``code``. Timing: a weight dated t uses data published by the close of t only (tests/lookahead.py and
a T+1 test perturbing the margin rows dated t itself).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError, ParamError
from engine.signals.base import SignalResult, SignalSpec
from engine.values import suggest

DEFAULTS = {"code": "000300.SH", "series": "margin_share", "window": 52, "min_periods": 26, "threshold": 0.2,
            "direction": "below", "low": 0.5, "high": 1.0, "margin_lag": 1, "share_method": "sum"}
CHOICES = {"direction": ("below", "above"), "margin_lag": (0, 1), "share_method": ("sum", "mean")}
POSITIVE = ("window", "min_periods")


def rank_pct(x: pd.Series, window: int, min_periods: int) -> pd.Series:
    """Share of the last ``window`` values (including the current one) that are <= the current value."""
    v = x.to_numpy(dtype=float)
    out = np.full(len(v), np.nan)
    for i in range(len(v)):
        w = v[max(0, i - window + 1): i + 1]
        w = w[np.isfinite(w)]
        if len(w) >= min_periods and np.isfinite(v[i]):
            out[i] = (w <= v[i]).mean()
    return pd.Series(out, index=x.index)


def _check(p: dict) -> None:
    """``series`` names a series of :data:`engine.dashboard.series.SERIES` (a choice read from there, not copied)."""
    from engine.dashboard.series import SERIES

    if p["series"] not in SERIES:
        hint = suggest(p["series"], SERIES)
        raise ParamError("series", f"'{p['series']}' is unknown (expected one of: {', '.join(SERIES)})"
                                   + (hint if "did you mean" in hint else ""))


def compute(ds: Dataset, params: dict) -> SignalResult:
    """Weekly tail-percentile exposure cut on the CSI 300 (module doc)."""
    return _compute(ds, SPEC.validate(params))


def _compute(ds: Dataset, p: dict) -> SignalResult:
    """:func:`compute` of validated params (``SPEC.compute``: the engine validated them from the YAML)."""
    from engine.dashboard.common import DashboardParams
    from engine.dashboard.series import weekly

    close = ds.panel("index")["close"]
    if p["code"] not in close.columns:
        raise DataError(f"{ds.source}: dashboard_timing: code '{p['code']}' is not in panel 'index'")
    x = weekly(ds, p["series"], DashboardParams(margin_lag=p["margin_lag"], share_method=p["share_method"]))
    x = x[x.index.isin(close.index)]
    pct = rank_pct(x, p["window"], p["min_periods"])
    hit = pct <= p["threshold"] if p["direction"] == "below" else pct >= p["threshold"]
    wk = pd.Series(np.where(hit & pct.notna(), p["low"], p["high"]), index=x.index)
    dates = close.index
    w = wk.reindex(dates).ffill().fillna(p["high"])
    ind = pd.DataFrame({p["series"]: x.reindex(dates).ffill(), "pct": pct.reindex(dates).ffill(), "weight": w})
    table = pd.DataFrame({p["series"]: x, "pct": pct, "weight": wk}).iloc[-20:]
    return SignalResult(weights=w.to_frame(p["code"]), indicators=ind, tables={"last 20 weeks": table})


def format_tables(tables: dict) -> str:
    t = tables["last 20 weeks"]
    return "last 20 weeks (decided at the week's last close):\n" + t.to_string(
        formatters={c: (lambda v: f"{v:.4%}") for c in t.columns if c != "weight"} | {"weight": lambda v: f"{v:.0%}"})


SPEC = SignalSpec(
    name="dashboard_timing",
    compute=_compute,
    defaults=dict(DEFAULTS),
    universe="index",
    requires=("panel:index.close",),
    description="CSI 300 exposure cut when a weekly dashboard series (e.g. the margin-trading share) is in the tail "
                "of its N-week history.",
    choices=dict(CHOICES),
    positive=POSITIVE,
    ranges={k: (0.0, 1.0, "[]") for k in ("threshold", "low", "high")},
    check=_check,
    format_tables=format_tables,
)
