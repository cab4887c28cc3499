"""拥挤度 indicators of the SW L1 industries (乖离率, 内部关联度, 成交集中度), their monthly flags, the crowding
sell rule and the 图3 table; the signal that uses them (and its rules, timing and defaults) is
:mod:`engine.signals.crowding`. Kept apart so the rotation signal can print 图3 without importing the crowding
signal, which itself overlays the rotation.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError
from engine.kernels.industry import industry_avg_corr, industry_concentration
from engine.signals.base import ParamRules, rolling_mean
from engine.signals.components import Components
from engine.signals.industry_common import (industry_names, membership_matrix, reference_close, rolling_pct,
                                            sw_l1_months, trend_state)

CROWD_COLUMNS = ["行业", "拥挤度组合信号", "行业收盘价乖离率", "行业内部关联度", "行业成交集中度"]
FLAG_KEYS = ("bias", "rho", "share")

CROWD_DEFAULTS = {
    "bias_window": 60, "bias_relative_to": "none", "pct_long": 750, "pct_short": 250, "pct_min_periods": 250,
    "hot_pct": 0.95, "cold_pct": 0.05, "stampede": True, "rho_window": 20, "rho_min_valid": 15, "correlation": True,
    "share_variant": "market", "market_amount": "auto", "share_window": 20, "top_frac": 0.1,
    "flag_when": "month_end", "min_days": 3, "lt_window": 250, "crowd_mt_window": 60, "crowd_st_window": 20,
    "crowd_trend": "ma", "crowd_relative": "none", "base": "equal_weight", "dropped": "renormalise",
}
CROWD_CHOICES = {
    "share_variant": ("market", "top", "hhi"), "market_amount": ("auto", "series", "sum"),
    "bias_relative_to": ("none", "benchmark"), "flag_when": ("month_end", "any_day", "min_days"),
    "crowd_trend": ("ma", "return"), "crowd_relative": ("none", "csi300", "equal_weight"),
    "base": ("equal_weight", "turnover_rotation"), "dropped": ("renormalise", "cash"),
}
CROWD_POSITIVE = ("bias_window", "pct_long", "pct_short", "pct_min_periods", "rho_window", "rho_min_valid",
                  "share_window", "top_frac", "min_days", "lt_window", "crowd_mt_window", "crowd_st_window")
CROWD_RANGES = {k: (0.0, 1.0, "(]") for k in ("hot_pct", "cold_pct", "top_frac")}
# the rules of the crowding parameters alone (the crowding signals' SPECs add the rotation's): the direct Python
# calls of this module's public functions validate with them
CROWD_RULES = ParamRules("crowding", CROWD_DEFAULTS, choices=CROWD_CHOICES, positive=CROWD_POSITIVE,
                         ranges=CROWD_RANGES)


def combine_flags(bias, rho, share):
    """拥挤度组合信号: 1 if any of the three monthly flags is 1 (OR). Inputs 0/1 or bool (NaN = 0), same shape."""
    f = lambda x: np.nan_to_num(np.asarray(x, dtype=float)) > 0  # noqa: E731
    out = f(bias) | f(rho) | f(share)
    return out if not isinstance(bias, (pd.Series, pd.DataFrame)) else bias.__class__(
        out, index=bias.index, **({"columns": bias.columns} if isinstance(bias, pd.DataFrame) else {}))


def crowding_sell(crowd, lt, mt, st):
    """Pure rule: 拥挤度卖出 = crowd & LT>0 & MT>0 & ST>0 (crowded at the top of all three trends). Trend states are
    sign-like numbers (NaN or 0 = not up). A stampede-type flag in a downtrend gives no sell."""
    c = np.nan_to_num(np.asarray(crowd, dtype=float)) > 0
    out = c & (np.asarray(lt, float) > 0) & (np.asarray(mt, float) > 0) & (np.asarray(st, float) > 0)
    if isinstance(crowd, pd.DataFrame):
        return pd.DataFrame(out, index=crowd.index, columns=crowd.columns)
    if isinstance(crowd, pd.Series):
        return pd.Series(out, index=crowd.index)
    return out


def crowding_daily(ds: Dataset, params: dict, only=FLAG_KEYS) -> dict[str, pd.DataFrame]:
    """Daily raw indicators (date x sw_l1 code): ``bias``, ``rho`` (absent with ``correlation: false``),
    ``share``; ``only`` restricts the work (and the inputs needed) to some of them. Row t uses data up to t.
    Warm-up: bias_window-1, rho_window, share_window-1 rows."""
    p = CROWD_RULES.validate(params)
    return _daily(p, Components(ds, CROWDING_DEPS, p), only)


def _daily(p: dict, comps: Components, only=FLAG_KEYS) -> dict[str, pd.DataFrame]:
    out = {}
    if "bias" in only:
        out["bias"] = comps.get("bias", _c_bias)
    want_rho = p["correlation"] and "rho" in only
    if want_rho or ("share" in only and p["share_variant"] != "market"):
        comps.get("membership", _c_membership)          # the stocks panel's dates are checked here
    if want_rho:
        out["rho"] = comps.get("rho", _c_rho)
    if "share" in only:
        out["share"] = comps.get("share", _c_share)
    return out


# Components (engine.signals.components), each computed once per distinct value of the parameters it reads: the
# daily indicators and their rolling percentiles (the costly part) do not depend on hot_pct / cold_pct /
# stampede / flag_when / min_days (the flag rule), nor on the trend legs, nor on the base portfolio.
def _c_bias(ds, q, sub):
    close = ds.panel("sw_l1")["close"]
    x = close
    if q["bias_relative_to"] == "benchmark":          # else none (the choices are validated)
        x = close.div(reference_close(ds, close, "csi300", "bias_relative_to: none"), axis=0)
    return x / rolling_mean(x, q["bias_window"], q["bias_window"]) - 1.0


def _c_membership(ds, q, sub):
    """int16 (T, S) industry of each stock on the sw_l1 dates (:func:`membership_matrix`)."""
    close = ds.panel("sw_l1")["close"]
    st = ds.panel("stocks")
    if not st.dates.isin(close.index).any():
        raise DataError(f"{st.source}: panel 'stocks' ({st.dates[0]:%Y-%m-%d}..{st.dates[-1]:%Y-%m-%d}) shares no "
                        f"date with panel 'sw_l1' ({close.index[0]:%Y-%m-%d}..{close.index[-1]:%Y-%m-%d})")
    return membership_matrix(ds, close.index, st.codes, close.columns)   # stock data aligned to sw_l1 dates


def _c_rho(ds, q, sub):
    close = ds.panel("sw_l1")["close"]
    ind = sub.get("membership", _c_membership)
    ret = ds.panel("stocks")["close"].reindex(close.index).pct_change(fill_method=None).to_numpy(dtype=float,
                                                                                                na_value=np.nan)
    rho = industry_avg_corr(np.ascontiguousarray(ret), ind, len(close.columns), int(q["rho_window"]),
                            int(q["rho_min_valid"]))
    return pd.DataFrame(rho, index=close.index, columns=close.columns)


def _c_share(ds, q, sub):
    sw = ds.panel("sw_l1")
    close = sw["close"]
    if q["share_variant"] == "market":
        amt = sw["amount"]
        src = q["market_amount"]
        if src == "series" or (src == "auto" and "market" in ds.series):
            total = ds.get_series("market")
            if "amount" not in total.columns:
                raise DataError(f"{ds.source}: series 'market' has no column 'amount' (all-A amount, CNY)")
            total = total["amount"].reindex(close.index)
        else:
            total = amt.sum(axis=1, min_count=1)
        raw = amt.div(total.where(total > 0), axis=0)
    else:
        ind = sub.get("membership", _c_membership)
        a = np.ascontiguousarray(ds.panel("stocks")["amount"].reindex(close.index).to_numpy(dtype=float,
                                                                                           na_value=np.nan))
        conc = industry_concentration(a, ind, len(close.columns), float(q["top_frac"]),
                                      1 if q["share_variant"] == "hhi" else 0)
        raw = pd.DataFrame(conc, index=close.index, columns=close.columns)
    return rolling_mean(raw, q["share_window"], q["share_window"])


def _c_bias_pct(ds, q, sub):
    return rolling_pct(sub.get("bias", _c_bias), q["pct_long"], int(q["pct_min_periods"]))


def _c_rho_pct(ds, q, sub):
    return rolling_pct(sub.get("rho", _c_rho), q["pct_long"], int(q["pct_min_periods"]))


def _c_share_pct(ds, q, sub):
    return rolling_pct(sub.get("share", _c_share), q["pct_short"], int(q["pct_min_periods"]))


def _c_sw_months(ds, q, sub):
    return sw_l1_months(ds)


def _c_crowd_ref(ds, q, sub):
    return reference_close(ds, sub.get("sw_months", _c_sw_months)[0], q["crowd_relative"], "crowd_relative: none")


def _crowd_leg(sub, window: int, mode: str) -> pd.DataFrame:
    close, _, ends, _ = sub.get("sw_months", _c_sw_months)
    return trend_state(close, window, mode, sub.get("crowd_ref", _c_crowd_ref)).iloc[ends]


def _c_lt(ds, q, sub):
    return _crowd_leg(sub, q["lt_window"], q["crowd_trend"])


def _c_crowd_mt(ds, q, sub):
    return _crowd_leg(sub, q["crowd_mt_window"], q["crowd_trend"])


def _c_crowd_st(ds, q, sub):
    return _crowd_leg(sub, q["crowd_st_window"], q["crowd_trend"])


_BIAS = ("bias_window", "bias_relative_to")
_RHO = ("rho_window", "rho_min_valid")
_SHARE = ("share_variant", "market_amount", "share_window", "top_frac")
_LEG = ("crowd_trend", "crowd_relative")
CROWDING_DEPS = {   # component -> the parameters it reads; costliest first (a rolling correlation over stocks)
    "rho_pct": (*_RHO, "pct_long", "pct_min_periods"), "rho": _RHO,
    "bias_pct": (*_BIAS, "pct_long", "pct_min_periods"), "share_pct": (*_SHARE, "pct_short", "pct_min_periods"),
    "share": _SHARE, "bias": _BIAS, "membership": (),
    "lt": ("lt_window", *_LEG), "crowd_mt": ("crowd_mt_window", *_LEG), "crowd_st": ("crowd_st_window", *_LEG),
    "crowd_ref": ("crowd_relative",), "sw_months": (),
}


def crowding_monthly(ds: Dataset, params: dict, comps: Components | None = None) -> dict[str, pd.DataFrame]:
    """Monthly frames (month-end date x code), booleans: ``bias``, ``rho``, ``share`` (the three flags), ``crowd``
    (OR), ``sell``; floats: ``lt``, ``mt``, ``st`` trend states. Flags are False during the percentile warm-up.
    ``comps``: the components to (re)use (:data:`CROWDING_DEPS`); default: computed here."""
    p = CROWD_RULES.validate(params)
    return _crowding_monthly(p, comps if comps is not None else Components(ds, CROWDING_DEPS, p))


def _crowding_monthly(p: dict, comps: Components) -> dict[str, pd.DataFrame]:
    """:func:`crowding_monthly` of validated params (also the crowding signals', a superset)."""
    arr = crowding_flags(p, comps)
    close, dates, ends, _ = comps.get("sw_months", _c_sw_months)
    frame = lambda a: pd.DataFrame(a, index=dates[ends], columns=close.columns)  # noqa: E731
    out = {k: frame(arr[k]) for k in (*FLAG_KEYS, "crowd")}
    out["lt"], out["mt"], out["st"] = (comps.get(k, fn) for k, fn in _LEGS)
    out["sell"] = frame(arr["sell"])
    return out


def crowding_flags(p: dict, comps: Components) -> dict[str, np.ndarray]:
    """The (months x codes) arrays behind :func:`crowding_monthly` for merged params ``p``: the flags ``bias``,
    ``rho``, ``share``, ``crowd`` and ``sell`` (bool). Hot: ``pct_long`` percentile of BIAS >= ``hot_pct`` (or, with
    ``stampede``, <= ``cold_pct``), of RHO >= ``hot_pct``, ``pct_short`` percentile of SHARE >= ``hot_pct``; per
    ``flag_when`` on the month's last day, on any day, or on at least ``min_days`` days of the month. ``p`` is
    validated (:data:`CROWD_RULES`: the thresholds in (0, 1], ``flag_when`` one of its choices)."""
    close, dates, ends, bounds = comps.get("sw_months", _c_sw_months)
    _daily(p, comps)                                    # the daily indicators first (and their errors)
    pct = {"bias": comps.get("bias_pct", _c_bias_pct).to_numpy(),
           "rho": comps.get("rho_pct", _c_rho_pct).to_numpy() if p["correlation"] else None,
           "share": comps.get("share_pct", _c_share_pct).to_numpy()}
    when = p["flag_when"]
    rows = ends if when == "month_end" else slice(bounds[0], bounds[-1])

    def hot(k):
        x = pct[k]
        if x is None:                                   # correlation: false -> never hot
            return np.zeros((len(dates), len(close.columns)), dtype=bool)[rows]
        x = x[rows]
        h = x >= p["hot_pct"]
        return (h | (x <= p["cold_pct"])) if (k == "bias" and p["stampede"]) else h

    out = {}
    for k in FLAG_KEYS:
        if when == "month_end":
            out[k] = hot(k)
        else:
            days = np.add.reduceat(hot(k).astype(np.int64), bounds[:-1] - bounds[0], axis=0)
            out[k] = days >= (1 if when == "any_day" else int(p["min_days"]))
    out["crowd"] = out["bias"] | out["rho"] | out["share"]
    lt, mt, st = (comps.get(k, fn).to_numpy(dtype=float) for k, fn in _LEGS)
    out["sell"] = crowding_sell(out["crowd"], lt, mt, st)
    return out


_LEGS = (("lt", _c_lt), ("crowd_mt", _c_crowd_mt), ("crowd_st", _c_crowd_st))


def sw_months(comps: Components):
    """:func:`sw_l1_months` of the components' dataset, computed once."""
    return comps.get("sw_months", _c_sw_months)


def crowding_table(names: pd.Series, bias, rho, share, sell=None) -> pd.DataFrame:
    """图3-style table in code order: 行业, 拥挤度组合信号 (OR of the three), 行业收盘价乖离率, 行业内部关联度,
    行业成交集中度 (0/1 ints) and, when ``sell`` is given, 拥挤度卖出信号 (0/1)."""
    idx = names.index
    b = lambda s: pd.Series(s).reindex(idx).fillna(False).astype(bool)  # noqa: E731
    fb, fr, fs = b(bias), b(rho), b(share)
    t = pd.DataFrame({"行业": names, "拥挤度组合信号": combine_flags(fb, fr, fs).astype(int),
                      "行业收盘价乖离率": fb.astype(int), "行业内部关联度": fr.astype(int),
                      "行业成交集中度": fs.astype(int)}, index=idx)
    if sell is not None:
        t["拥挤度卖出信号"] = b(sell).astype(int)
    return t


def crowding_table_for(ds: Dataset, mon: dict[str, pd.DataFrame], i: int) -> pd.DataFrame:
    """The 图3 table (with 拥挤度卖出信号) of the i-th month of :func:`crowding_monthly` output."""
    names = industry_names(ds, mon["crowd"].columns)
    t = crowding_table(names, *(mon[k].iloc[i] for k in ("bias", "rho", "share", "sell")))
    t.attrs["month_end"] = mon["crowd"].index[i]
    return t
