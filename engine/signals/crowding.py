"""财信 行业轮动系列2「拥挤度的风险提示」: SW L1 crowding flags, crowding sell overlay, rotation + crowding.

Daily indicators (methodology.md §3.2, our-own-design-proposal; all windows/thresholds are parameters):

* 行业收盘价乖离率 ``BIAS = x / MA_bias_window(x) - 1`` with x = close (``bias_relative_to: none``) or
  close / CSI 300 close (``benchmark``; methodology §9.3); hot when ``pct_pct_long(BIAS) >= hot_pct``
  (crowding) or, with ``stampede: true``, ``<= cold_pct`` (踩踏). ``bias_window`` 60: every configuration that
  reproduced the printed Nov-2023 flag on real data used N >= 60 (§9.3).
* 行业内部关联度 ``RHO``: average pairwise correlation of the constituents' daily returns over ``rho_window`` days,
  members on day t from table ``membership`` (kernel ``industry_avg_corr``; a constituent needs ``rho_min_valid``
  valid returns, its missing days take its window mean); hot when ``pct_pct_long(RHO) >= hot_pct``.
* 行业成交集中度 variant A ``share_variant: market``: ``MA_share_window(amount_i / all-A amount)`` (series
  ``market`` amount; ``market_amount: sum`` uses the sum over sw_l1); variant B (stock data: panel ``stocks``
  amount + table ``membership``) ``top``: the share of the industry's amount traded by its top ``top_frac``
  constituents, ``hhi``: the Herfindahl index of constituent amounts, both MA_share_window (kernel
  ``industry_concentration``); hot when ``pct_pct_short(SHARE) >= hot_pct``.

Monthly flags for month m: ``flag_when: month_end`` hot on its last trading day (default), ``any_day`` on any
trading day of month m, ``min_days`` on at least ``min_days`` trading days of it (§9.3); 拥挤度组合信号 = OR of
the three (:func:`combine_flags`); 拥挤度卖出 = crowd & LT>0 & MT>0 & ST>0 (:func:`crowding_sell`). Trend legs
(``crowd_trend``): ``ma`` close > MA_n (default; §9.3: with ST = sign(ret_20) 汽车 would get the sell the report
does not print, it closed below its MA20), or ``return`` ret_n > 0; windows lt/crowd_mt/crowd_st_window
(250/60/20), absolute (``crowd_relative: none``) or relative to ``csi300`` / ``equal_weight``.
Percentiles use :func:`engine.kernels.rolling.rolling_rank_pct` (window rows including t, ``pct_min_periods``).

Timing: month m's flags use data up to the close of month m's last trading day and drive the weights of that
row, held through month m+1. Warm-up: ``pct_min_periods`` days (default 250) before any flag can fire; before
that the flags are 0 and the overlay keeps the base portfolio.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError
from engine.signals import turnover_rotation as tr_mod
from engine.signals.base import IndicatorSpec, SignalResult, SignalSpec, format_tables_by_month
from engine.signals.components import ComponentMap, Components, merge_deps
# the indicators live in crowding_indicators (the rotation prints 图3 from there); re-exported as this signal's API
from engine.signals.crowding_indicators import (CROWD_CHOICES, CROWD_COLUMNS, CROWD_DEFAULTS,  # noqa: F401
                                                CROWD_POSITIVE, CROWD_RANGES, CROWDING_DEPS, FLAG_KEYS,
                                                _crowding_monthly, _daily, combine_flags, crowding_daily,
                                                crowding_flags, crowding_monthly, crowding_sell, crowding_table,
                                                crowding_table_for, sw_months)
from engine.signals.industry_common import equal_weight_array, month_end_rows_to_daily, row_sums
from engine.signals.industry_tables import crowding_footer, format_monthly_tables  # noqa: F401


def compute(ds: Dataset, params: dict) -> SignalResult:
    """Crowding sell overlay on an industry portfolio (``base: equal_weight`` all industries, or
    ``turnover_rotation`` the rotation's book -- that is the ``rotation_crowding`` signal).

    ``rotation_crowding`` (default ``portfolio: tilt``): every valid SW L1 industry starts at weight 1, a
    rotation buy multiplies it by 1 + ``buy_tilt``, a rotation sell by 1 - ``sell_cut`` (0.5: halved, so it is
    still held), then a crowding sell sets it to 0. With ``sell_cut < 1`` every valid industry is held before the
    crowding cut, so the portfolio differs from ``turnover_rotation`` with the same ``portfolio: tilt`` exactly in
    the months with a crowding sell. (With ``portfolio: buy_list`` the overlay almost never acts: the rotation
    buys in a downtrend, the crowding rule sells only at the top of all three trends.)

    Industries with a crowding sell in month m are dropped from month m's base weights; ``dropped: renormalise``
    spreads their weight over the rest (cash if nothing is left), ``cash`` keeps it in cash. Inputs: panel
    ``sw_l1`` close, amount; panel ``stocks`` close (+ amount for share_variant top/hhi) with table
    ``membership``; series ``market`` amount. Output weights in [0, 1], rows sum <= 1, changing only on month-end
    rows; decided at the close of month m's last trading day, traded at t + lag, held through month m+1.
    ``indicators``: month-end rows, columns (quantity, code). ``tables``: the last month's 图3 table
    (``crowding``) and, with the rotation base, the 图2 table (``rotation``). ``params`` are merged over the
    ``crowding`` signal's defaults (``SPEC_ROTATION_CROWDING.validate`` gives the rotation_crowding ones).
    """
    return _compute(ds, SPEC.validate(params))


def _compute(ds: Dataset, p: dict) -> SignalResult:
    """:func:`compute` of validated params (``SPEC.compute`` of both signals: the engine validated them)."""
    comps = Components(ds, COMPONENTS.deps, p)
    w, rebalance = sweep_weights(ds, p, comps)       # the weights a sweep computes, from the same components
    cm = _crowding_monthly(p, comps)
    tables = {}
    rm = None
    if p["base"] == "turnover_rotation":
        rm = tr_mod._rotation_monthly(p, comps)
        tables["rotation"] = tr_mod.rotation_table_for(ds, rm, -1)
    ind = tr_mod.stack_indicators({**cm, **({} if rm is None else {f"rot_{k}": v for k, v in rm.items()})},
                                  [*FLAG_KEYS, "crowd", "lt", "mt", "st", "sell"]
                                  + ([] if rm is None else ["rot_mean_rank", "rot_slope_rank", "rot_flag", "rot_buy", "rot_sell"]))
    tables["crowding"] = crowding_table_for(ds, cm, -1)
    return SignalResult(weights=w, indicators=ind, tables=tables, rebalance_dates=rebalance)


def sweep_weights(ds: Dataset, p: dict, comps: Components) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """``(weights, rebalance_dates)`` of :func:`compute` from the components, without indicators and tables,
    on arrays (one month-end row per month, then held daily). Used by :func:`compute` and by sweeps, with validated
    params ``p``."""
    sell = crowding_flags(p, comps)["sell"]
    close, dates, ends, _ = sw_months(comps)
    if p["base"] == "turnover_rotation":
        base = tr_mod.rule_rows(p, comps)
    else:                                             # equal_weight (the choices are validated)
        base = equal_weight_array(~np.isnan(close.to_numpy(dtype=float)[ends]))
    kept = np.where(sell, 0.0, base)
    if p["dropped"] == "renormalise":
        tot = row_sums(kept)
        kept = kept / np.where(tot > 0, tot, np.nan)[:, None]
        kept[np.isnan(kept)] = 0.0
    daily = month_end_rows_to_daily(kept, ends, len(dates))
    return pd.DataFrame(daily, index=dates, columns=close.columns, copy=False), pd.DatetimeIndex(dates[ends])


# the crowding components and, for base: turnover_rotation, the rotation's (engine.signals.components)
COMPONENTS = ComponentMap(deps=merge_deps(CROWDING_DEPS, tr_mod.COMPONENTS.deps), weights=sweep_weights)


def monthly_tables(ds: Dataset, params: dict, asof) -> dict[str, pd.DataFrame]:
    """The 图2 (``rotation``) and 图3 (``crowding``) tables of the last complete month ending on or before
    ``asof``. The crowding table is omitted when the dataset lacks panel ``stocks`` or table ``membership`` and
    the chosen variants need them. Raises DataError when no month end is on or before ``asof``. ``params``: of
    the crowding signal (validated by its rules, merged over its defaults)."""
    p = SPEC.validate(params)
    comps = Components(ds, COMPONENTS.deps, p)
    rm = tr_mod._rotation_monthly(p, comps)
    asof = pd.Timestamp(asof)
    i = int(rm["slope"].index.searchsorted(asof, side="right")) - 1
    if i < 0:
        raise DataError(f"--asof {asof:%Y-%m-%d} is before the first complete month of the data "
                        f"({rm['slope'].index[0]:%Y-%m-%d})")
    out = {"rotation": tr_mod.rotation_table_for(ds, rm, i)}
    needs_stocks = p["correlation"] or p["share_variant"] != "market"
    if not needs_stocks or ("stocks" in ds.panels and "membership" in ds.tables):
        out["crowding"] = crowding_table_for(ds, _crowding_monthly(p, comps), i)
    return out


def _daily_indicator(key: str):
    def f(ds: Dataset, params: dict) -> pd.DataFrame:
        p = {**SPEC.validate(params), **({"correlation": True} if key == "rho" else {})}
        return _daily(p, Components(ds, CROWDING_DEPS, p), only=(key,))[key]
    return f


INDICATORS = (
    IndicatorSpec("bias", _daily_indicator("bias"), ("panel:sw_l1.close",), ("乖离率", "行业收盘价乖离率"),
                  "行业收盘价乖离率 per SW L1 industry (daily; + panel index with bias_relative_to: benchmark)"),
    IndicatorSpec("rho", _daily_indicator("rho"), ("panel:sw_l1.close", "panel:stocks.close", "table:membership"),
                  ("关联度", "行业内部关联度"), "行业内部关联度: mean pairwise correlation of the constituents (daily)"),
    IndicatorSpec("share", _daily_indicator("share"), ("panel:sw_l1.close",), ("成交集中度", "行业成交集中度"),
                  "行业成交集中度 (share_variant market: sw_l1 amount; top / hhi: stocks amount + membership)"),
)

SPEC = SignalSpec(
    "crowding", _compute, {**CROWD_DEFAULTS, **tr_mod.DEFAULTS}, "sw_l1",
    ("panel:sw_l1.close", "panel:sw_l1.amount"),
    "财信 拥挤度的风险提示: drop industries with a crowding sell from a base industry portfolio (equal weight).",
    choices={**CROWD_CHOICES, **tr_mod.CHOICES}, positive=CROWD_POSITIVE + tr_mod.POSITIVE,
    ranges={**CROWD_RANGES, **tr_mod.RANGES},
    format_tables=lambda tables: format_tables_by_month(tables, format_monthly_tables), indicators=INDICATORS,
    components=COMPONENTS)

SPEC_ROTATION_CROWDING = SignalSpec(
    "rotation_crowding", _compute,
    {**CROWD_DEFAULTS, **tr_mod.DEFAULTS, "base": "turnover_rotation", "portfolio": "tilt"}, "sw_l1",
    ("panel:sw_l1.close", "panel:sw_l1.amount"),
    "Equal-weight SW L1 book tilted to the rotation's buys, cut on its sells, minus crowding sells; monthly.",
    choices={**CROWD_CHOICES, **tr_mod.CHOICES}, positive=CROWD_POSITIVE + tr_mod.POSITIVE,
    ranges={**CROWD_RANGES, **tr_mod.RANGES},
    format_tables=lambda tables: format_tables_by_month(tables, format_monthly_tables), indicators=INDICATORS,
    components=COMPONENTS)
