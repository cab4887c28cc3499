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
from engine.errors import ConfigError, DataError
from engine.kernels.industry import industry_avg_corr, industry_concentration
from engine.signals import turnover_rotation as tr_mod
from engine.signals.base import IndicatorSpec, SignalResult, SignalSpec, format_tables_by_month
from engine.signals.industry_common import (equal_weight_rows, format_table, industry_names, membership_matrix,
                                            monthly_to_daily, reference_close,
                                            rolling_pct, sw_l1_months, trend_state)

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
    p = {**CROWD_DEFAULTS, **params}
    sw = ds.panel("sw_l1")
    close = sw["close"]
    out = {}
    if "bias" in only:
        x = close
        if p["bias_relative_to"] == "benchmark":
            x = close.div(reference_close(ds, close, "csi300", "bias_relative_to: none"), axis=0)
        elif p["bias_relative_to"] != "none":
            raise ConfigError(f"signal.params.bias_relative_to must be none or benchmark "
                              f"(got {p['bias_relative_to']!r})")
        out["bias"] = x / x.rolling(p["bias_window"], min_periods=p["bias_window"]).mean() - 1.0
    want_rho = p["correlation"] and "rho" in only
    need_stocks = want_rho or ("share" in only and p["share_variant"] != "market")
    if need_stocks:
        st = ds.panel("stocks")
        if not st.dates.isin(close.index).any():
            raise DataError(f"{st.source}: panel 'stocks' ({st.dates[0]:%Y-%m-%d}..{st.dates[-1]:%Y-%m-%d}) shares no "
                            f"date with panel 'sw_l1' ({close.index[0]:%Y-%m-%d}..{close.index[-1]:%Y-%m-%d})")
        ind = membership_matrix(ds, close.index, st.codes, close.columns)   # stock data aligned to sw_l1 dates
    if want_rho:
        ret = st["close"].reindex(close.index).pct_change(fill_method=None).to_numpy(dtype=float, na_value=np.nan)
        rho = industry_avg_corr(np.ascontiguousarray(ret), ind, len(close.columns), int(p["rho_window"]),
                                int(p["rho_min_valid"]))
        out["rho"] = pd.DataFrame(rho, index=close.index, columns=close.columns)
    if "share" not in only:
        return out
    if p["share_variant"] == "market":
        amt = sw["amount"]
        src = p["market_amount"]
        if src == "series" or (src == "auto" and "market" in ds.series):
            total = ds.get_series("market")
            if "amount" not in total.columns:
                raise DataError(f"{ds.source}: series 'market' has no column 'amount' (all-A amount, CNY)")
            total = total["amount"].reindex(close.index)
        else:
            total = amt.sum(axis=1, min_count=1)
        raw = amt.div(total.where(total > 0), axis=0)
    else:
        a = np.ascontiguousarray(st["amount"].reindex(close.index).to_numpy(dtype=float, na_value=np.nan))
        conc = industry_concentration(a, ind, len(close.columns), float(p["top_frac"]),
                                      1 if p["share_variant"] == "hhi" else 0)
        raw = pd.DataFrame(conc, index=close.index, columns=close.columns)
    out["share"] = raw.rolling(p["share_window"], min_periods=p["share_window"]).mean()
    return out


def crowding_monthly(ds: Dataset, params: dict) -> dict[str, pd.DataFrame]:
    """Monthly frames (month-end date x code), booleans: ``bias``, ``rho``, ``share`` (the three flags), ``crowd``
    (OR), ``sell``; floats: ``lt``, ``mt``, ``st`` trend states. Flags are False during the percentile warm-up."""
    p = {**CROWD_DEFAULTS, **params}
    for key in ("hot_pct", "cold_pct", "top_frac"):
        if not 0.0 < float(p[key]) <= 1.0:
            raise ConfigError(f"signal.params.{key} must be in (0, 1], got {p[key]}")
    close, dates, ends, bounds = sw_l1_months(ds)
    daily = crowding_daily(ds, p)
    mp = int(p["pct_min_periods"])
    pb = rolling_pct(daily["bias"], p["pct_long"], mp)
    hot = {"bias": (pb >= p["hot_pct"]) | ((pb <= p["cold_pct"]) if p["stampede"] else False)}
    if "rho" in daily:
        hot["rho"] = rolling_pct(daily["rho"], p["pct_long"], mp) >= p["hot_pct"]
    else:
        hot["rho"] = pd.DataFrame(False, index=dates, columns=close.columns)
    hot["share"] = rolling_pct(daily["share"], p["pct_short"], mp) >= p["hot_pct"]
    mdates = dates[ends]
    month_id = np.repeat(np.arange(len(ends)), np.diff(bounds))
    out = {}
    for k in FLAG_KEYS:
        if p["flag_when"] == "month_end":
            out[k] = hot[k].iloc[ends]
        elif p["flag_when"] in ("any_day", "min_days"):
            days = hot[k].iloc[bounds[0]:bounds[-1]].astype(int).groupby(month_id).sum().set_axis(mdates)
            out[k] = days >= (1 if p["flag_when"] == "any_day" else int(p["min_days"]))
        else:
            raise ConfigError(f"signal.params.flag_when must be month_end, any_day or min_days (got {p['flag_when']!r})")
    out["crowd"] = combine_flags(out["bias"], out["rho"], out["share"])
    ref = reference_close(ds, close, p["crowd_relative"], "crowd_relative: none")
    for key, win in (("lt", "lt_window"), ("mt", "crowd_mt_window"), ("st", "crowd_st_window")):
        out[key] = trend_state(close, p[win], p["crowd_trend"], ref).iloc[ends]
    out["sell"] = crowding_sell(out["crowd"], out["lt"], out["mt"], out["st"])
    return out


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


def crowding_footer(table: pd.DataFrame, month_label: str) -> list[str]:
    """The report's summary lines: industries that triggered, and the crowding sell list."""
    hit = table.loc[table["拥挤度组合信号"] == 1, "行业"].tolist()
    sells = table.loc[table.get("拥挤度卖出信号", pd.Series(0, index=table.index)) == 1, "行业"].tolist()
    return [f"{month_label}触发拥挤或踩踏信号：{'、'.join(hit) or '无'}", f"{month_label}拥挤度卖出信号：{'、'.join(sells) or '无'}"]


def crowding_table_for(ds: Dataset, mon: dict[str, pd.DataFrame], i: int) -> pd.DataFrame:
    """The 图3 table (with 拥挤度卖出信号) of the i-th month of :func:`crowding_monthly` output."""
    names = industry_names(ds, mon["crowd"].columns)
    t = crowding_table(names, *(mon[k].iloc[i] for k in ("bias", "rho", "share", "sell")))
    t.attrs["month_end"] = mon["crowd"].index[i]
    return t


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
    (``crowding``) and, with the rotation base, the 图2 table (``rotation``).
    """
    p = {**CROWD_DEFAULTS, **tr_mod.DEFAULTS, **params}
    dates = ds.panel("sw_l1").dates
    cm = crowding_monthly(ds, p)
    tables = {}
    if p["base"] == "turnover_rotation":
        rm = tr_mod.rotation_monthly(ds, p)
        base = tr_mod.weights_from_params(rm, p)
        tables["rotation"] = tr_mod.rotation_table_for(ds, rm, -1)
    elif p["base"] == "equal_weight":
        close = ds.panel("sw_l1")["close"]
        rm = None
        base = equal_weight_rows(close.loc[cm["crowd"].index].notna())
    else:
        raise DataError(f"base must be 'equal_weight' or 'turnover_rotation' (got {p['base']!r})")
    kept = base.where(~cm["sell"], 0.0)
    if p["dropped"] == "renormalise":
        tot = kept.sum(axis=1)
        kept = kept.div(tot.where(tot > 0), axis=0).fillna(0.0)
    w = monthly_to_daily(kept, dates)
    ind = tr_mod.stack_indicators({**cm, **({} if rm is None else {f"rot_{k}": v for k, v in rm.items()})},
                                  [*FLAG_KEYS, "crowd", "lt", "mt", "st", "sell"]
                                  + ([] if rm is None else ["rot_mean_rank", "rot_slope_rank", "rot_flag", "rot_buy", "rot_sell"]))
    tables["crowding"] = crowding_table_for(ds, cm, -1)
    return SignalResult(weights=w, indicators=ind, tables=tables, rebalance_dates=pd.DatetimeIndex(kept.index))


def monthly_tables(ds: Dataset, params: dict, asof) -> dict[str, pd.DataFrame]:
    """The 图2 (``rotation``) and 图3 (``crowding``) tables of the last complete month ending on or before
    ``asof``. The crowding table is omitted when the dataset lacks panel ``stocks`` or table ``membership`` and
    the chosen variants need them. Raises DataError when no month end is on or before ``asof``."""
    p = {**CROWD_DEFAULTS, **tr_mod.DEFAULTS, **params}
    rm = tr_mod.rotation_monthly(ds, p)
    asof = pd.Timestamp(asof)
    i = int(rm["slope"].index.searchsorted(asof, side="right")) - 1
    if i < 0:
        raise DataError(f"--asof {asof:%Y-%m-%d} is before the first complete month of the data "
                        f"({rm['slope'].index[0]:%Y-%m-%d})")
    out = {"rotation": tr_mod.rotation_table_for(ds, rm, i)}
    needs_stocks = p["correlation"] or p["share_variant"] != "market"
    if not needs_stocks or ("stocks" in ds.panels and "membership" in ds.tables):
        out["crowding"] = crowding_table_for(ds, crowding_monthly(ds, p), i)
    return out


def format_monthly_tables(tables: dict[str, pd.DataFrame], month_end) -> str:
    """Both tables as text with the report's titles and summary lines (e.g. '11月量能买入信号：...')."""
    m = pd.Timestamp(month_end)
    label = f"{m.month}月"
    parts = []
    if "rotation" in tables:
        src = tables["rotation"].attrs.get("turnover_source", "")
        title = f"图2：换手率因子排名和量能策略指令（截至{m:%Y-%m-%d}）"
        if src:
            title += "\n" + tr_mod.SOURCE_LABELS.get(src, src)
        parts.append(format_table(tables["rotation"], title, tr_mod.rotation_footer(tables["rotation"], label)))
    if "crowding" in tables:
        parts.append(format_table(tables["crowding"], f"图3：拥挤度信号（{m:%Y-%m}数据触发下月信号）",
                                  crowding_footer(tables["crowding"], label)))
    return "\n\n".join(parts)


def _daily_indicator(key: str):
    def f(ds: Dataset, params: dict) -> pd.DataFrame:
        p = {**CROWD_DEFAULTS, **params, **({"correlation": True} if key == "rho" else {})}
        return crowding_daily(ds, p, only=(key,))[key]
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
    "crowding", compute, {**CROWD_DEFAULTS, **tr_mod.DEFAULTS}, "sw_l1",
    ("panel:sw_l1.close", "panel:sw_l1.amount"),
    "财信 拥挤度的风险提示: drop industries with a crowding sell from a base industry portfolio (equal weight).",
    choices={**CROWD_CHOICES, **tr_mod.CHOICES}, positive=CROWD_POSITIVE + tr_mod.POSITIVE,
    format_tables=lambda tables: format_tables_by_month(tables, format_monthly_tables), indicators=INDICATORS)

SPEC_ROTATION_CROWDING = SignalSpec(
    "rotation_crowding", compute,
    {**CROWD_DEFAULTS, **tr_mod.DEFAULTS, "base": "turnover_rotation", "portfolio": "tilt"}, "sw_l1",
    ("panel:sw_l1.close", "panel:sw_l1.amount"),
    "Equal-weight SW L1 book tilted to the rotation's buys, cut on its sells, minus crowding sells; monthly.",
    choices={**CROWD_CHOICES, **tr_mod.CHOICES}, positive=CROWD_POSITIVE + tr_mod.POSITIVE,
    format_tables=lambda tables: format_tables_by_month(tables, format_monthly_tables), indicators=INDICATORS)
