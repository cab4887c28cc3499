"""财信 行业轮动系列1「换手率的量能提示」: monthly SW L1 turnover factors, trend filter, buy/sell lists.

Definitions (methodology.md §2.3, our-own-design-proposal; every choice below is a parameter):

* ``TR[d, i]``: daily turnover rate in percent (field ``turnover``; where missing, ``volume / float_shares * 100``).
* 换手率均值 ``Mean[m, i]``: mean of TR over the trading days of month m; 换手率斜率 ``Slope[m, i]``: OLS slope of the
  normalised turnover ``y`` on the day position 0..n-1 inside month m (kernel ``group_ols_slope``). ``norm``:
  ``trailing`` y = TR / mean(TR over the previous ``norm_window`` days, excluding d) [default, §2.3];
  ``month_start`` the same divisor frozen at the day before the month starts; ``log`` y = log TR; ``none``.
* Ranks across industries per month, 1 = smallest; ties broken by code order (ranks are a permutation).
* 中期趋势反转可能 (flag): ``flag: positive`` slope > 0 [default]; ``upper_half`` slope rank >= (n+1)/2
  (16..31 of 31, the count printed for Nov 2023).
* Trends at month end: ST = trend over ``st_window`` (20), MT over ``mt_window`` (60); ``trend: return`` sign of
  the n-day return, ``ma`` sign of close / MA_n - 1; ``relative: none | csi300 | equal_weight`` uses the ratio to
  the benchmark level.
* Instructions (:func:`turnover_instructions`): variant A buy = flag & MT<0 & ST<0, sell = flag & MT>0 & ST>0;
  variant B buy = flag & MT<0, sell as A. Buys and sells are always a subset of the flagged industries.

Timing: month m's factors, trends and lists use data up to the close of the last trading day of month m; the
weights row of that day is the buy list equal-weighted (``empty: cash | equal_weight`` when the list is empty),
repeated until the next month end, so the backtester holds it through month m+1. Warm-up: the first months
until ``norm_min_periods`` (trailing/month_start norm) and ``mt_window`` days of history exist are cash.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError
from engine.kernels.industry import group_ols_slope
from engine.signals.base import SignalResult, SignalSpec, format_tables_by_month
from engine.signals.industry_common import (equal_weight_rows, industry_names,
                                            monthly_to_daily, rank_ascending, reference_close, sw_l1_months,
                                            trend_state)

FLAG_TEXT, BUY_TEXT, SELL_TEXT = "中期趋势反转可能", "买入信号", "卖出信号"
ROTATION_COLUMNS = ["行业", "换手率均值排名", "换手率斜率排名", "提示"]

DEFAULTS = {
    "turnover_source": "auto", "norm": "trailing", "norm_window": 250, "norm_min_periods": 60,
    "slope_min_obs": 10, "flag": "positive", "variant": "A", "trend": "return", "relative": "none",
    "st_window": 20, "mt_window": 60, "empty": "cash", "crowding_table": True,
}
CHOICES = {
    "turnover_source": ("auto", "field", "volume_float_shares", "amount_float_mcap"),
    "norm": ("trailing", "month_start", "log", "none"), "flag": ("positive", "upper_half"), "variant": ("A", "B"),
    "trend": ("return", "ma"), "relative": ("none", "csi300", "equal_weight"), "empty": ("cash", "equal_weight"),
}
POSITIVE = ("norm_window", "norm_min_periods", "slope_min_obs", "st_window", "mt_window")


def turnover_rate(ds: Dataset, source: str = "auto") -> pd.DataFrame:
    """Daily turnover rate (percent) of panel ``sw_l1``.

    ``field``: the ``turnover`` field. ``volume_float_shares``: volume / float_shares * 100. ``amount_float_mcap``:
    amount / float_mcap * 100 (value turnover, an approximation). ``auto``: the field where present, cells that
    are missing (or the whole field) filled from volume / float_shares. Negative values raise a DataError.
    """
    sw = ds.panel("sw_l1")
    if source == "auto" and "turnover" not in sw and "float_shares" not in sw:
        raise DataError(f"{sw.source}: panel 'sw_l1' has neither 'turnover' nor 'volume' + 'float_shares'; "
                        f"add one of them or set turnover_source: amount_float_mcap")
    if source == "field":
        tr = sw["turnover"]
    elif source == "volume_float_shares":
        tr = sw["volume"] / sw["float_shares"] * 100.0
    elif source == "amount_float_mcap":
        tr = sw["amount"] / sw["float_mcap"] * 100.0
    elif source == "auto":
        fallback = sw["volume"] / sw["float_shares"] * 100.0 if "float_shares" in sw else None
        tr = sw["turnover"] if "turnover" in sw else fallback
        if fallback is not None and tr is not fallback:
            tr = tr.where(tr.notna(), fallback)
    else:
        raise DataError(f"turnover_source must be one of {', '.join(CHOICES['turnover_source'])} (got {source!r})")
    tr = tr.astype(float).replace([np.inf, -np.inf], np.nan)
    neg = tr < 0
    if neg.to_numpy().any():
        r, c = np.argwhere(neg.to_numpy())[0]
        raise DataError(f"{sw.source}: panel 'sw_l1' turnover is negative ({int(neg.to_numpy().sum())} cells, e.g. "
                        f"{tr.columns[c]} on {tr.index[r]:%Y-%m-%d}); turnover must be >= 0 percent")
    return tr


def _normalised(tr: pd.DataFrame, params: dict, bounds: np.ndarray) -> pd.DataFrame:
    norm = params["norm"]
    if norm == "none":
        return tr
    if norm == "log":
        return np.log(tr.where(tr > 0))
    base = tr.rolling(params["norm_window"], min_periods=params["norm_min_periods"]).mean().shift(1)
    if norm == "month_start":
        frozen = pd.DataFrame(np.nan, index=tr.index, columns=tr.columns)
        for a, b in zip(bounds[:-1], bounds[1:]):
            frozen.iloc[a:b] = base.iloc[a].to_numpy()
        base = frozen
    elif norm != "trailing":
        raise DataError(f"norm must be one of {', '.join(CHOICES['norm'])} (got {norm!r})")
    return tr / base.where(base > 0)


def turnover_instructions(flag, st, mt, variant: str = "A"):
    """Pure instruction rule: returns ``(buy, sell)`` booleans of the shape of ``flag``.

    ``flag``: 中期趋势反转可能 (bool; NaN = False). ``st``, ``mt``: short and medium trend states, any sign-like
    numbers (<0 down, >0 up, 0 or NaN = neither). Variant A: buy = flag & MT<0 & ST<0; variant B: buy = flag &
    MT<0. Both: sell = flag & MT>0 & ST>0. Works on scalars, numpy arrays, Series and aligned DataFrames.
    """
    if isinstance(flag, (pd.Series, pd.DataFrame)):
        f = flag.astype(object).where(flag.notna(), False).astype(bool).to_numpy()
    else:
        f = np.asarray(flag, dtype=bool)
    s = np.asarray(st, dtype=float)
    m = np.asarray(mt, dtype=float)
    if variant == "A":
        buy = f & (m < 0) & (s < 0)
    elif variant == "B":
        buy = f & (m < 0)
    else:
        raise DataError(f"variant must be 'A' or 'B' (got {variant!r})")
    sell = f & (m > 0) & (s > 0)
    if isinstance(flag, pd.DataFrame):
        return (pd.DataFrame(buy, index=flag.index, columns=flag.columns),
                pd.DataFrame(sell, index=flag.index, columns=flag.columns))
    if isinstance(flag, pd.Series):
        return pd.Series(buy, index=flag.index), pd.Series(sell, index=flag.index)
    return buy, sell


def hint_text(flag: bool, buy: bool, sell: bool) -> str:
    """The report's 提示 wording: '中期趋势反转可能', optionally followed by '、买入信号' or '、卖出信号'."""
    if not flag:
        return ""
    return FLAG_TEXT + ("、" + BUY_TEXT if buy else "") + ("、" + SELL_TEXT if sell else "")


def rotation_table(names: pd.Series, mean_rank: pd.Series, slope_rank: pd.Series, flag: pd.Series,
                   buy: pd.Series, sell: pd.Series) -> pd.DataFrame:
    """图2-style table, one row per industry code, sorted by slope rank ascending (as printed; unranked last).

    Columns: 行业, 换手率均值排名, 换手率斜率排名 (nullable ints), 提示 (:func:`hint_text`).
    """
    idx = names.index
    b = lambda s: s.reindex(idx).fillna(False).astype(bool)  # noqa: E731
    f, bu, se = b(flag), b(buy), b(sell)
    t = pd.DataFrame({
        "行业": names,
        "换手率均值排名": mean_rank.reindex(idx).round().astype("Int64"),
        "换手率斜率排名": slope_rank.reindex(idx).round().astype("Int64"),
        "提示": [hint_text(f[c], bu[c], se[c]) for c in idx],
    }, index=idx)
    return t.sort_values("换手率斜率排名", kind="stable", na_position="last")


def rotation_footer(table: pd.DataFrame, month_label: str) -> list[str]:
    """The report's two summary lines, e.g. '11月量能买入信号：计算机、社会服务'."""
    buys = [n for n, h in zip(table["行业"], table["提示"]) if BUY_TEXT in h][::-1]
    sells = [n for n, h in zip(table["行业"], table["提示"]) if SELL_TEXT in h][::-1]
    return [f"{month_label}量能买入信号：{'、'.join(buys) or '无'}", f"{month_label}量能卖出信号：{'、'.join(sells) or '无'}"]


def rotation_monthly(ds: Dataset, params: dict) -> dict[str, pd.DataFrame]:
    """Every monthly quantity, each a frame (month-end date x sw_l1 code): ``mean``, ``slope``, ``mean_rank``,
    ``slope_rank``, ``flag``, ``st``, ``mt``, ``buy``, ``sell``, ``valid`` (slope rank and both trends known)."""
    p = {**DEFAULTS, **params}
    close, dates, ends, bounds = sw_l1_months(ds)
    tr = turnover_rate(ds, p["turnover_source"]).reindex(columns=close.columns)
    y = np.ascontiguousarray(_normalised(tr, p, bounds).to_numpy(dtype=float, na_value=np.nan))
    mdates = dates[ends]
    slope = pd.DataFrame(group_ols_slope(y, bounds, int(p["slope_min_obs"])), index=mdates, columns=close.columns)
    month_id = np.repeat(np.arange(len(ends)), np.diff(bounds))
    mean = tr.iloc[bounds[0]:bounds[-1]].groupby(month_id).mean()
    mean.index = mdates
    mean = mean.where(slope.notna())
    out = {"mean": mean, "slope": slope, "mean_rank": rank_ascending(mean), "slope_rank": rank_ascending(slope)}
    if p["flag"] == "positive":
        flag = slope > 0
    elif p["flag"] == "upper_half":
        n = out["slope_rank"].notna().sum(axis=1)
        flag = out["slope_rank"].ge((n + 1) / 2.0, axis=0)
    else:
        raise DataError(f"flag must be 'positive' or 'upper_half' (got {p['flag']!r})")
    ref = reference_close(ds, close, p["relative"])
    out["st"] = trend_state(close, p["st_window"], p["trend"], ref).iloc[ends]
    out["mt"] = trend_state(close, p["mt_window"], p["trend"], ref).iloc[ends]
    out["flag"] = flag
    out["buy"], out["sell"] = turnover_instructions(flag, out["st"], out["mt"], p["variant"])
    out["valid"] = out["slope_rank"].notna() & out["st"].notna() & out["mt"].notna()
    return out


def rotation_weights(mon: dict[str, pd.DataFrame], empty: str) -> pd.DataFrame:
    """Month-end weight rows: 1/n over the buy list; an empty list gives cash (``empty='cash'``) or 1/n over the
    valid industries (``'equal_weight'``); months with no valid industry (warm-up) are all cash."""
    buys = mon["buy"] & mon["valid"]
    rows = equal_weight_rows(buys)
    if empty == "equal_weight":
        none = buys.sum(axis=1) == 0
        rows[none] = equal_weight_rows(mon["valid"])[none]
    return rows


def stack_indicators(mon: dict[str, pd.DataFrame], keys) -> pd.DataFrame:
    """Month-end-indexed frame with two-level columns (quantity, code); booleans as 0.0/1.0."""
    return pd.concat({k: mon[k].astype(float) for k in keys}, axis=1)


def compute(ds: Dataset, params: dict) -> SignalResult:
    """Turnover rotation: hold the month's buy list equal-weighted through the next month.

    Inputs: panel ``sw_l1`` close and turnover (or volume + float_shares); panel ``index`` 000300.SH close if
    ``relative: csi300``. Output: weights in [0, 1], rows sum to 1 or 0 (cash), changing only on month-end rows.
    Warm-up and timing: see the module docstring. ``indicators``: month-end rows, columns (quantity, code).
    ``tables['rotation']``: the 图2 table of the last month; ``tables['crowding']``: its 图3 table (crowding
    defaults) when ``crowding_table`` is true and the dataset has panel ``stocks`` and table ``membership``.
    """
    p = {**DEFAULTS, **params}
    mon = rotation_monthly(ds, p)
    dates = ds.panel("sw_l1").dates
    rows = rotation_weights(mon, p["empty"])
    w = monthly_to_daily(rows, dates)
    ind = stack_indicators(mon, ("mean", "slope", "mean_rank", "slope_rank", "flag", "st", "mt", "buy", "sell"))
    tables = {"rotation": rotation_table_for(ds, mon, -1)}
    if p["crowding_table"] and "stocks" in ds.panels and "membership" in ds.tables:
        from engine.signals import crowding  # lazy: crowding imports this module

        cm = crowding.crowding_monthly(ds, {})
        tables["crowding"] = crowding.crowding_table_for(ds, cm, -1)
    return SignalResult(weights=w, indicators=ind, tables=tables, rebalance_dates=pd.DatetimeIndex(rows.index))


def rotation_table_for(ds: Dataset, mon: dict[str, pd.DataFrame], i: int) -> pd.DataFrame:
    """The 图2 table of the i-th month of :func:`rotation_monthly` output."""
    row = {k: v.iloc[i] for k, v in mon.items()}
    names = industry_names(ds, mon["slope"].columns)
    t = rotation_table(names, row["mean_rank"], row["slope_rank"], row["flag"], row["buy"], row["sell"])
    t.attrs["month_end"] = mon["slope"].index[i]
    return t


SPEC = SignalSpec(
    "turnover_rotation", compute, DEFAULTS, "sw_l1", ("panel:sw_l1.close",),
    "财信 换手率的量能提示: monthly SW L1 turnover slope flag + short/medium trend filter; hold the buy list.",
    choices=CHOICES, positive=POSITIVE, format_tables=lambda tables: _format(tables))


def _format(tables):
    from engine.signals.crowding import format_monthly_tables  # lazy: crowding imports this module

    return format_tables_by_month(tables, format_monthly_tables)
