"""财信 行业轮动系列1「换手率的量能提示」: monthly SW L1 turnover factors, trend filter, buy/sell lists.

Definitions (methodology.md §2.3, our-own-design-proposal; every choice below is a parameter):

* ``TR[d, i]``: the daily turnover measure, ``turnover_source`` (:func:`resolve_source`): ``turnover`` the
  vendor's rate (%), ``volume_float`` volume / float_shares * 100, ``auto`` the field with gaps from
  volume_float, or the PROXIES ``volume`` / ``amount`` (not a rate; the table header says so).
* 换手率均值 ``Mean[m, i]``: mean of TR over the trading days of month m; 换手率斜率 ``Slope[m, i]``: OLS slope of the
  normalised turnover ``y`` on the day position 0..n-1 inside month m (kernel ``group_ols_slope``). ``norm``:
  ``trailing`` y = TR / mean(TR over the previous ``norm_window`` days, excluding d) [default, §2.3];
  ``month_start`` the same divisor frozen at the day before the month starts; ``log`` y = log TR; ``none``.
* Ranks across industries per month, 1 = smallest; ties broken by code order (ranks are a permutation).
* 中期趋势反转可能 (flag): ``flag: upper_half`` slope rank >= (n+1)/2 (16..31 of 31) [default: calibrated on
  real data, methodology §9.2: 12 of the printed 16 flags with volume as the proxy, against 8 for ``positive``];
  ``positive`` slope > 0.
* Instructions (:func:`turnover_instructions`) on the trend legs of :func:`trend_legs` (close > MA_n or
  ret_n > 0, absolute or relative to the CSI 300 / the equal-weight industries): variant A buy = flag & MT<0 &
  ST<0, sell = flag & MT>0 & ST>0 (ST over ``st_window`` 20, MT over ``mt_window`` 60, ``trend``, ``relative``);
  variant B buy = flag & MT<0, sell as A; variant C (§9.2, CALIBRATED ON ONE MONTH, Nov 2023) buy = flag &
  120-day return below the CSI 300's & close < MA120, sell = flag & close > MA120 & relative return >= 0
  (``c_abs_window``, ``c_abs_trend``, ``c_rel_window``, ``c_rel_trend``, ``c_benchmark``). Buys and sells are
  always a subset of the flagged industries. Default A: see docs/reproduction.md for why C is not the default.
* Portfolio: ``buy_list`` (the report's: the buy list equal-weighted) or ``tilt`` (every industry, x (1 +
  ``buy_tilt``) on buys, x (1 - ``sell_cut``) on sells, normalised).

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
from engine.signals.base import SignalResult, SignalSpec, format_tables_by_month, rolling_mean
from engine.signals.components import ComponentMap, Components
from engine.signals.crowding_indicators import crowding_monthly, crowding_table_for
from engine.signals.industry_common import (equal_weight_array, equal_weight_rows, industry_names,
                                            month_end_rows_to_daily, monthly_to_daily, rank_ascending,
                                            reference_close, row_sums, sw_l1_months, trend_state)
from engine.signals.industry_tables import (BUY_TEXT, FLAG_TEXT, SELL_TEXT, SOURCE_LABELS,  # noqa: F401
                                            format_monthly_tables, rotation_footer)

ROTATION_COLUMNS = ["行业", "换手率均值排名", "换手率斜率排名", "提示"]

DEFAULTS = {
    "turnover_source": "auto", "norm": "trailing", "norm_window": 250, "norm_min_periods": 60,
    "slope_min_obs": 10, "flag": "upper_half", "variant": "A", "trend": "return", "relative": "none",
    "st_window": 20, "mt_window": 60,
    "c_abs_window": 120, "c_abs_trend": "ma", "c_rel_window": 120, "c_rel_trend": "return", "c_benchmark": "csi300",
    "empty": "cash", "portfolio": "buy_list", "buy_tilt": 1.0, "sell_cut": 0.5, "crowding_table": True,
}
CHOICES = {
    "turnover_source": ("auto", "turnover", "volume_float", "volume", "amount"),
    "norm": ("trailing", "month_start", "log", "none"), "flag": ("positive", "upper_half"), "variant": ("A", "B", "C"),
    "trend": ("return", "ma"), "relative": ("none", "csi300", "equal_weight"),
    "c_abs_trend": ("ma", "return"), "c_rel_trend": ("return", "ma"), "c_benchmark": ("csi300", "equal_weight"),
    "empty": ("cash", "equal_weight"), "portfolio": ("buy_list", "tilt"),
}
POSITIVE = ("norm_window", "norm_min_periods", "slope_min_obs", "st_window", "mt_window", "c_abs_window",
            "c_rel_window")
RANGES = {"buy_tilt": (0.0, None, "[)"), "sell_cut": (0.0, 1.0, "[]")}   # the tilt portfolio's multipliers

def resolve_source(ds: Dataset, source: str = "auto") -> str:
    """The turnover source actually used: ``source`` itself, or for ``auto`` the field ``turnover`` (gaps filled
    from volume / float_shares when both exist: ``turnover+volume_float``), else ``volume_float``. A source whose
    fields are missing raises a DataError that suggests only sources whose fields exist."""
    sw = ds.panel("sw_l1")
    need = {"turnover": ("turnover",), "volume_float": ("volume", "float_shares"), "volume": ("volume",),
            "amount": ("amount",)}
    if source not in CHOICES["turnover_source"]:
        raise DataError(f"turnover_source must be one of {', '.join(CHOICES['turnover_source'])} (got {source!r})")
    usable = [k for k, fields in need.items() if all(f in sw for f in fields)]
    if source == "auto":
        if "turnover" in usable:
            return "turnover+volume_float" if "volume_float" in usable else "turnover"
        if "volume_float" in usable:
            return "volume_float"
    elif source in usable:
        return source
    missing = [f for f in need.get(source, ("turnover",)) if f not in sw]
    what = (f"has no field {' or '.join(repr(f) for f in missing)}" if source != "auto"
            else "has neither 'turnover' nor 'volume' + 'float_shares'")
    hint = (f"; set signal.params.turnover_source to {' or '.join(usable)} (volume and amount are proxies, "
            f"labelled as such)" if usable else "; add a 'turnover' field (or 'volume' and 'float_shares')")
    raise DataError(f"{sw.source}: panel 'sw_l1' {what} (turnover_source: {source}){hint}")


def turnover_rate(ds: Dataset, source: str = "auto") -> pd.DataFrame:
    """Daily turnover measure of panel ``sw_l1`` per :func:`resolve_source`.

    ``turnover``: the field (vendor rate, %). ``volume_float``: volume / float_shares * 100 (%). ``auto``: the
    field where present, missing cells (or the whole field) from volume / float_shares. ``volume`` / ``amount``:
    the raw field, a PROXY (not a rate; with the default trailing normalisation the slope is scale-free, the
    mean rank compares levels). Negative values raise a DataError.
    """
    sw = ds.panel("sw_l1")
    used = resolve_source(ds, source)
    if used in ("turnover", "volume", "amount"):
        tr = sw[used]
    else:
        fallback = sw["volume"] / sw["float_shares"] * 100.0
        tr = fallback if used == "volume_float" else sw["turnover"].where(sw["turnover"].notna(), fallback)
    tr = tr.astype(float).replace([np.inf, -np.inf], np.nan)
    neg = tr < 0
    if neg.to_numpy().any():
        r, c = np.argwhere(neg.to_numpy())[0]
        raise DataError(f"{sw.source}: panel 'sw_l1' turnover is negative ({int(neg.to_numpy().sum())} cells, e.g. "
                        f"{tr.columns[c]} on {tr.index[r]:%Y-%m-%d}); turnover must be >= 0")
    return tr


def _normalised(tr: pd.DataFrame, params: dict, bounds: np.ndarray) -> pd.DataFrame:
    norm = params["norm"]
    if norm == "none":
        return tr
    if norm == "log":
        return np.log(tr.where(tr > 0))
    base = rolling_mean(tr, params["norm_window"], params["norm_min_periods"]).shift(1)
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

    ``flag``: 中期趋势反转可能 (bool; NaN = False). ``st``, ``mt``: trend states, any sign-like numbers (<0 down,
    >0 up, 0 or NaN = neither). Variant A: buy = flag & MT<0 & ST<0; variant B: buy = flag & MT<0; both: sell =
    flag & MT>0 & ST>0. Variant C (methodology §9.2; ``st`` = the absolute leg, e.g. close vs MA120, ``mt`` = the
    relative leg, e.g. 120-day return minus the CSI 300's): buy = flag & rel<0 & abs<0; sell = flag & abs>0 &
    rel>=0. Works on scalars, numpy arrays, Series and aligned DataFrames.
    """
    if isinstance(flag, (pd.Series, pd.DataFrame)):
        f = flag.astype(object).where(flag.notna(), False).astype(bool).to_numpy()
    else:
        f = np.asarray(flag, dtype=bool)
    s = np.asarray(st, dtype=float)
    m = np.asarray(mt, dtype=float)
    with np.errstate(invalid="ignore"):
        if variant in ("A", "C"):
            buy = f & (m < 0) & (s < 0)
        elif variant == "B":
            buy = f & (m < 0)
        else:
            raise DataError(f"variant must be 'A', 'B' or 'C' (got {variant!r})")
        sell = f & (s > 0) & ((m >= 0) if variant == "C" else (m > 0))
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


def rotation_monthly(ds: Dataset, params: dict, comps: Components | None = None) -> dict[str, pd.DataFrame]:
    """Every monthly quantity, each a frame (month-end date x sw_l1 code): ``mean``, ``slope``, ``mean_rank``,
    ``slope_rank``, ``flag``, ``st``, ``mt`` (the two trend legs, :func:`trend_legs`), ``buy``, ``sell``,
    ``valid`` (slope rank and both trends known). ``out['mean'].attrs['turnover_source']`` names the measure.
    ``comps``: the components to (re)use (:data:`COMPONENTS`); default: computed here."""
    p = SPEC.validate(params)
    return _rotation_monthly(p, comps if comps is not None else Components(ds, COMPONENTS.deps, p))


def _rotation_monthly(p: dict, comps: Components) -> dict[str, pd.DataFrame]:
    """:func:`rotation_monthly` of validated params (also the rotation_crowding signal's, a superset)."""
    core = monthly_core(p, comps)
    mean, mean_rank = comps.get("mean", _c_mean)
    return {"mean": mean, "slope": core["slope"], "mean_rank": mean_rank, "slope_rank": core["slope_rank"],
            "st": core["st"], "mt": core["mt"], "flag": core["flag"], "buy": core["buy"], "sell": core["sell"],
            "valid": core["valid"]}


def monthly_core(p: dict, comps: Components) -> dict[str, pd.DataFrame]:
    """What the weights need: slope and its rank, flag, the month-end trend legs, buy, sell, valid."""
    slope, slope_rank = comps.get("slope", _c_slope)
    flag = comps.get("flag", _c_flag)
    if p["variant"] == "C":
        st, mt = comps.get("st_c", _c_st_c), comps.get("mt_c", _c_mt_c)
    else:
        st, mt = comps.get("st", _c_st), comps.get("mt", _c_mt)
    buy, sell = turnover_instructions(flag, st, mt, p["variant"])
    valid = slope_rank.notna() & st.notna() & mt.notna()
    return {"slope": slope, "slope_rank": slope_rank, "flag": flag, "st": st, "mt": mt, "buy": buy, "sell": sell,
            "valid": valid}


def rule_rows(p: dict, comps: Components) -> np.ndarray:
    """The month-end weight rows (months x codes) of :func:`weights_from_params` on :func:`monthly_core`, computed
    on arrays from the components: the same values bit for bit (tests/test_sweep_components.py), without a
    pandas frame per step (a sweep evaluates this once per combination)."""
    slope_rank = comps.get("slope", _c_slope)[1].to_numpy()
    flag = comps.get("flag", _c_flag).to_numpy(dtype=bool)
    legs = (("st_c", _c_st_c), ("mt_c", _c_mt_c)) if p["variant"] == "C" else (("st", _c_st), ("mt", _c_mt))
    st, mt = (comps.get(k, fn).to_numpy(dtype=float) for k, fn in legs)
    buy, sell = turnover_instructions(flag, st, mt, p["variant"])
    valid = ~np.isnan(slope_rank) & ~np.isnan(st) & ~np.isnan(mt)
    return rule_rows_from(valid, buy, sell, p["empty"], p["portfolio"], float(p["buy_tilt"]), float(p["sell_cut"]))


def rule_rows_from(valid: np.ndarray, buy: np.ndarray, sell: np.ndarray, empty: str, portfolio: str = "buy_list",
                   buy_tilt: float = 1.0, sell_cut: float = 0.5) -> np.ndarray:
    """:func:`rotation_weights` on (months x codes) bool arrays (same rule, same values bit for bit)."""
    if portfolio == "tilt":
        raw = valid.astype(float) * (1.0 + buy_tilt * (buy & valid)) * (1.0 - sell_cut * (sell & valid))
        tot = row_sums(raw)
        out = raw / np.where(tot > 0, tot, np.nan)[:, None]
        out[np.isnan(out)] = 0.0
        return out
    buys = buy & valid
    rows = equal_weight_array(buys)
    if empty == "equal_weight":
        none = buys.sum(axis=1) == 0
        rows[none] = equal_weight_array(valid)[none]
    return rows


# Components (engine.signals.components), each computed once per distinct value of the parameters it reads: the
# turnover normalisation + monthly slope do not depend on the trend legs or the rule, the legs (month-end rows of
# trend_legs) not on the turnover; variant / empty / portfolio / buy_tilt / sell_cut only change the rule.
def _c_months(ds, q, sub):
    return sw_l1_months(ds)


def _c_turnover(ds, q, sub):
    close = sub.get("months", _c_months)[0]
    source = resolve_source(ds, q["turnover_source"])
    return source, turnover_rate(ds, q["turnover_source"]).reindex(columns=close.columns)


def _c_slope(ds, q, sub):
    close, dates, ends, bounds = sub.get("months", _c_months)
    tr = sub.get("turnover", _c_turnover)[1]
    y = np.ascontiguousarray(_normalised(tr, q, bounds).to_numpy(dtype=float, na_value=np.nan))
    slope = pd.DataFrame(group_ols_slope(y, bounds, int(q["slope_min_obs"])), index=dates[ends], columns=close.columns)
    return slope, rank_ascending(slope)


def _c_mean(ds, q, sub):
    close, dates, ends, bounds = sub.get("months", _c_months)
    source, tr = sub.get("turnover", _c_turnover)
    slope = sub.get("slope", _c_slope)[0]
    month_id = np.repeat(np.arange(len(ends)), np.diff(bounds))
    mean = tr.iloc[bounds[0]:bounds[-1]].groupby(month_id).mean()
    mean.index = dates[ends]
    mean = mean.where(slope.notna())
    mean_rank = rank_ascending(mean)
    mean.attrs["turnover_source"] = source
    return mean, mean_rank


def _c_flag(ds, q, sub):
    slope, slope_rank = sub.get("slope", _c_slope)
    if q["flag"] == "positive":
        return slope > 0
    if q["flag"] == "upper_half":
        n = slope_rank.notna().sum(axis=1)
        return slope_rank.ge((n + 1) / 2.0, axis=0)
    raise DataError(f"flag must be 'positive' or 'upper_half' (got {q['flag']!r})")


def _leg(sub, window: int, mode: str, ref_name: str | None) -> pd.DataFrame:
    close, _, ends, _ = sub.get("months", _c_months)
    ref = None if ref_name is None else sub.get(ref_name, _REFS[ref_name])
    return trend_state(close, window, mode, ref).iloc[ends]


def _c_ref(ds, q, sub):
    return reference_close(ds, sub.get("months", _c_months)[0], q["relative"])


def _c_ref_c(ds, q, sub):
    return reference_close(ds, sub.get("months", _c_months)[0], q["c_benchmark"], "c_benchmark: equal_weight")


_REFS = {"ref": _c_ref, "ref_c": _c_ref_c}


def _c_st(ds, q, sub):
    return _leg(sub, q["st_window"], q["trend"], "ref")


def _c_mt(ds, q, sub):
    return _leg(sub, q["mt_window"], q["trend"], "ref")


def _c_st_c(ds, q, sub):
    return _leg(sub, q["c_abs_window"], q["c_abs_trend"], None)


def _c_mt_c(ds, q, sub):
    return _leg(sub, q["c_rel_window"], q["c_rel_trend"], "ref_c")


def sweep_weights(ds: Dataset, p: dict, comps: Components) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """``(weights, rebalance_dates)`` of :func:`compute` from the components, without its indicators and tables
    (so without the 图3 crowding table, which does not enter the weights). Used by :func:`compute` and by sweeps,
    with validated params ``p``."""
    close, dates, ends, _ = comps.get("months", _c_months)
    daily = month_end_rows_to_daily(rule_rows(p, comps), ends, len(dates))
    return pd.DataFrame(daily, index=dates, columns=close.columns, copy=False), pd.DatetimeIndex(dates[ends])


def decision_rows(ds: Dataset, p: dict, comps: Components) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """The month-end rows of :func:`sweep_weights` only (month ends x codes), whose forward fill with cash before
    the first month end is :func:`sweep_weights`' frame: what a sweep backtests (``ComponentMap.decisions``)."""
    close, dates, ends, _ = comps.get("months", _c_months)
    when = pd.DatetimeIndex(dates[ends])
    return pd.DataFrame(rule_rows(p, comps), index=when, columns=close.columns, copy=False), when


_SLOPE = ("turnover_source", "norm", "norm_window", "norm_min_periods", "slope_min_obs")
COMPONENTS = ComponentMap(
    deps={"slope": _SLOPE, "mean": _SLOPE, "flag": (*_SLOPE, "flag"), "turnover": ("turnover_source",),
          "st": ("st_window", "trend", "relative"), "mt": ("mt_window", "trend", "relative"),
          "st_c": ("c_abs_window", "c_abs_trend"), "mt_c": ("c_rel_window", "c_rel_trend", "c_benchmark"),
          "ref": ("relative",), "ref_c": ("c_benchmark",), "months": ()},
    weights=sweep_weights, decisions=decision_rows)


def trend_legs(ds: Dataset, close: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily trend states ``(st, mt)`` in {-1, 0, +1} (NaN in warm-up), data up to t only.

    Variants A/B: ST over ``st_window``, MT over ``mt_window``, both ``trend`` (``return``: ret_n > 0, ``ma``:
    close > MA_n) and ``relative`` (``none`` absolute; ``csi300`` / ``equal_weight``: of close / benchmark).
    Variant C (§9.2): ``st`` = the ABSOLUTE leg over ``c_abs_window`` with ``c_abs_trend`` (default close vs
    MA120), ``mt`` = the RELATIVE leg over ``c_rel_window`` with ``c_rel_trend`` against ``c_benchmark``
    (default: 120-day return above / below the CSI 300's).
    """
    if params["variant"] == "C":
        ref = reference_close(ds, close, params["c_benchmark"], "c_benchmark: equal_weight")
        return (trend_state(close, params["c_abs_window"], params["c_abs_trend"]),
                trend_state(close, params["c_rel_window"], params["c_rel_trend"], ref))
    ref = reference_close(ds, close, params["relative"])
    return (trend_state(close, params["st_window"], params["trend"], ref),
            trend_state(close, params["mt_window"], params["trend"], ref))


def rotation_weights(mon: dict[str, pd.DataFrame], empty: str, portfolio: str = "buy_list",
                     buy_tilt: float = 1.0, sell_cut: float = 0.5) -> pd.DataFrame:
    """Month-end weight rows.

    ``portfolio: buy_list`` (the report's list): 1/n over the buy list; an empty list gives cash
    (``empty='cash'``) or 1/n over the valid industries (``'equal_weight'``). ``portfolio: tilt``: every valid
    industry gets raw weight 1, x (1 + ``buy_tilt``) on a buy, x (1 - ``sell_cut``) on a sell, normalised to
    sum 1 -- an equal-weight SW L1 book tilted towards the buys and cut on the sells. Months with no valid
    industry (warm-up) are all cash. The arguments are those of validated params (:data:`SPEC`'s rules: ``portfolio``
    buy_list or tilt, ``buy_tilt >= 0``, ``sell_cut`` in [0, 1]).
    """
    if portfolio == "tilt":
        v = mon["valid"]
        raw = (v.astype(float) * (1.0 + buy_tilt * (mon["buy"] & v)) * (1.0 - sell_cut * (mon["sell"] & v)))
        tot = raw.sum(axis=1)
        return raw.div(tot.where(tot > 0), axis=0).fillna(0.0)
    buys = mon["buy"] & mon["valid"]
    rows = equal_weight_rows(buys)
    if empty == "equal_weight":
        none = buys.sum(axis=1) == 0
        rows[none] = equal_weight_rows(mon["valid"])[none]
    return rows


def weights_from_params(mon: dict[str, pd.DataFrame], p: dict) -> pd.DataFrame:
    """:func:`rotation_weights` with the portfolio parameters of ``p``."""
    return rotation_weights(mon, p["empty"], p["portfolio"], float(p["buy_tilt"]), float(p["sell_cut"]))


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
    return _compute(ds, SPEC.validate(params))


def _compute(ds: Dataset, p: dict) -> SignalResult:
    """:func:`compute` of validated params (``SPEC.compute``: the engine validated them from the YAML)."""
    comps = Components(ds, COMPONENTS.deps, p)
    w, rebalance = sweep_weights(ds, p, comps)       # the weights a sweep computes, from the same components
    mon = _rotation_monthly(p, comps)
    ind = stack_indicators(mon, ("mean", "slope", "mean_rank", "slope_rank", "flag", "st", "mt", "buy", "sell"))
    tables = {"rotation": rotation_table_for(ds, mon, -1)}
    if p["crowding_table"] and "stocks" in ds.panels and "membership" in ds.tables:
        cm = crowding_monthly(ds, {})
        tables["crowding"] = crowding_table_for(ds, cm, -1)
    return SignalResult(weights=w, indicators=ind, tables=tables, rebalance_dates=rebalance)


def rotation_table_for(ds: Dataset, mon: dict[str, pd.DataFrame], i: int) -> pd.DataFrame:
    """The 图2 table of the i-th month of :func:`rotation_monthly` output."""
    row = {k: v.iloc[i] for k, v in mon.items()}
    names = industry_names(ds, mon["slope"].columns)
    t = rotation_table(names, row["mean_rank"], row["slope_rank"], row["flag"], row["buy"], row["sell"])
    t.attrs["month_end"] = mon["slope"].index[i]
    t.attrs["turnover_source"] = mon["mean"].attrs.get("turnover_source", "")
    return t


SPEC = SignalSpec(
    "turnover_rotation", _compute, DEFAULTS, "sw_l1", ("panel:sw_l1.close",),
    "财信 换手率的量能提示: monthly SW L1 turnover slope flag + short/medium trend filter; hold the buy list.",
    choices=CHOICES, positive=POSITIVE, ranges=RANGES, format_tables=lambda tables: _format(tables), components=COMPONENTS)


def _format(tables):
    return format_tables_by_month(tables, format_monthly_tables)
