"""Every market-level dashboard number as a weekly series, dated by the week's last trading day (the close at
which the whole week is known), for the charts and for timing rules (``engine.signals.dashboard_timing``).

A value dated at decision day D uses only data published by the close of D: margin rows under the T+1
convention of :mod:`engine.dashboard.common` (row d is published on the next trading day, so the week of D holds
the rows published Monday..Friday), everything else with its own date <= D.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.dashboard.common import DashboardParams, need_panel, need_series, need_table, week_calendar
from engine.errors import DataError


def week_ends(calendar: pd.DatetimeIndex) -> pd.Series:
    """date -> last trading day of its Monday..Friday week (as a Series indexed by ``calendar``)."""
    monday = calendar - pd.to_timedelta(calendar.day_of_week, unit="D")
    s = pd.Series(calendar, index=calendar)
    return s.groupby(monday).transform("max")


def published_on(index: pd.DatetimeIndex, calendar: pd.DatetimeIndex, lag: int) -> pd.DatetimeIndex:
    """Publication day of rows dated ``index``: the ``lag``-th trading day after (lag 0 = same day). Rows whose
    publication day is after the calendar's end get NaT (not yet known)."""
    pos = calendar.searchsorted(index) + lag
    ok = pos < len(calendar)
    out = np.full(len(index), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[ok] = calendar[pos[ok]].to_numpy()
    return pd.DatetimeIndex(out)


def _by_week(df: pd.DataFrame, calendar: pd.DatetimeIndex, lag: int) -> pd.core.groupby.DataFrameGroupBy:
    df = df[df.index.isin(calendar)]
    pub = published_on(df.index, calendar, lag)
    keep = ~pub.isna()
    ends = week_ends(calendar)
    key = pd.DatetimeIndex(ends.reindex(pub[keep]).to_numpy(), name="date")
    return df[keep].set_axis(key, axis=0).groupby(level=0)


def _ratio(g, num: str, den: str, method: str) -> pd.Series:
    if method == "mean":
        return g.apply(lambda x: (x[num] / x[den]).mean())
    s = g.sum()
    return s[num] / s[den]


def _margin_frame(ds) -> pd.DataFrame:
    m = need_series(ds, "margin", ("margin_balance", "margin_buy", "margin_repay", "short_balance", "short_sell"))
    mk = need_series(ds, "market", ("amount", "float_mcap"))
    df = m.join(mk, how="inner")
    if "market_mcap" in ds.series:
        df = df.join(ds.series["market_mcap"][["free_float_mcap"]], how="left")
    df["trade"] = df["margin_buy"] + df["short_sell"]
    df["balance"] = df["margin_balance"] + df["short_balance"]
    df["net_buy"] = df["margin_buy"] - df["margin_repay"]
    return df


def margin_share(ds, p: DashboardParams) -> pd.Series:
    """两融交易额占比: Σ(融资买入额 + 融券卖出额) / Σ 全A成交额 over the margin rows published in the week."""
    return _ratio(_by_week(_margin_frame(ds), week_calendar(ds), p.margin_lag), "trade", "amount", p.share_method)


def margin_balance(ds, p: DashboardParams) -> pd.Series:
    """两融余额 (融资余额 + 融券余额, CNY) of the last margin row published in the week."""
    return _by_week(_margin_frame(ds), week_calendar(ds), p.margin_lag)["balance"].last()


def margin_balance_ratio(ds, p: DashboardParams) -> pd.Series:
    """两融余额 / A股流通市值 on the last margin row published in the week."""
    last = _by_week(_margin_frame(ds), week_calendar(ds), p.margin_lag).last()
    return last["balance"] / last["float_mcap"]


def margin_balance_ratio_free(ds, p: DashboardParams) -> pd.Series:
    """两融余额 / A股自由流通市值 on the last margin row published in the week."""
    need_series(ds, "market_mcap", ("free_float_mcap",))
    last = _by_week(_margin_frame(ds), week_calendar(ds), p.margin_lag).last()
    return last["balance"] / last["free_float_mcap"]


def margin_net_buy(ds, p: DashboardParams) -> pd.Series:
    """融资净买入 (融资买入额 - 融资偿还额, CNY) summed over the margin rows published in the week."""
    return _by_week(_margin_frame(ds), week_calendar(ds), p.margin_lag)["net_buy"].sum()


def _nb_frame(ds) -> pd.DataFrame:
    nb = need_series(ds, "northbound", ("turnover",))
    return nb[["turnover"]].join(need_series(ds, "market", ("amount",))[["amount"]], how="inner")


def northbound_turnover(ds, p: DashboardParams) -> pd.Series:
    """北向成交额 (buy + sell, CNY), mean per trading day of the week."""
    return _by_week(_nb_frame(ds), week_calendar(ds), 0)["turnover"].mean()


def northbound_share(ds, p: DashboardParams) -> pd.Series:
    """北向成交额 / 全A成交额 over the week (``nb_denominator: double`` divides by twice the A-share amount)."""
    df = _nb_frame(ds)
    if p.nb_denominator == "double":
        df = df.assign(amount=2.0 * df["amount"])
    return _ratio(_by_week(df, week_calendar(ds), 0), "turnover", "amount", p.share_method)


def mainforce_net(ds, p: DashboardParams) -> pd.Series:
    """All-A main-force (超大单 + 大单) net inflow, CNY, summed over the week."""
    f = need_series(ds, "flows", ("elg_buy", "lg_buy", "elg_sell", "lg_sell"))
    net = (f["elg_buy"] + f["lg_buy"] - f["elg_sell"] - f["lg_sell"]).to_frame("net")
    return _by_week(net, week_calendar(ds), 0)["net"].sum()


def fund_week_excess(ds, benchmark: str, quant_only: bool = True) -> pd.DataFrame:
    """Weekly excess per fund (columns = fund codes), dated by week ends: NAV return from the previous week's last
    trading day to this week's minus the benchmark index's return over the same closes."""
    info = need_table(ds, "enhanced_funds_info", ("code", "benchmark"))
    nav = need_panel(ds, "enhanced_funds", ("nav",))["nav"]
    idx = need_panel(ds, "index", ("close",))["close"]
    if benchmark not in idx.columns:
        raise DataError(f"{ds.source}: dashboard needs the benchmark {benchmark} in panel 'index' (close) for the "
                        f"index-enhanced excess; add it to panels/index/close.parquet (docs/dashboard.md)")
    sel = info["benchmark"] == benchmark
    if quant_only and "quant" in info.columns:
        sel &= info["quant"].astype(bool)
    codes = [c for c in info.loc[sel, "code"] if c in nav.columns]
    cal = week_calendar(ds)
    ends = pd.DatetimeIndex(week_ends(cal).unique())
    ends = ends[ends <= min(nav.index[-1], idx.index[-1])]
    fr = nav[codes].reindex(ends).pct_change(fill_method=None)
    br = idx[benchmark].reindex(ends).pct_change(fill_method=None)
    return fr.sub(br, axis=0)


def quant_excess(benchmark: str):
    def f(ds, p: DashboardParams) -> pd.Series:
        return fund_week_excess(ds, benchmark).mean(axis=1, skipna=True)
    f.__doc__ = f"Mean across quant index-enhanced funds on {benchmark} of the weekly excess return."
    return f


def basis_at_week_end(product: str, tag: str):
    def f(ds, p: DashboardParams) -> pd.Series:
        fut = need_series(ds, f"futures_{product}", (f"close_{tag}", f"expiry_{tag}"))
        spot_code = {"ic": "000905.SH", "im": "000852.SH"}[product]
        spot = need_panel(ds, "index", ("close",))["close"][spot_code]
        ends = pd.DatetimeIndex(week_ends(week_calendar(ds)).unique())
        ends = ends[ends.isin(fut.index) & ends.isin(spot.index)]
        F, S = fut[f"close_{tag}"].reindex(ends), spot.reindex(ends)
        exp = pd.DatetimeIndex(pd.to_datetime(fut[f"expiry_{tag}"].reindex(ends)))
        days = np.asarray((exp - ends).days, dtype=float)
        days[days <= 0] = np.nan
        return (F - S) / S * 365.0 / days
    f.__doc__ = f"Annualised basis (F - S)/S x 365/calendar days to expiry of {product.upper()} {tag} at the week's last day."
    return f


SERIES = {
    "margin_share": margin_share,
    "margin_balance": margin_balance,
    "margin_balance_ratio": margin_balance_ratio,
    "margin_balance_ratio_free": margin_balance_ratio_free,
    "margin_net_buy": margin_net_buy,
    "northbound_turnover": northbound_turnover,
    "northbound_share": northbound_share,
    "mainforce_net": mainforce_net,
    "quant_excess_500": quant_excess("000905.SH"),
    "quant_excess_1000": quant_excess("000852.SH"),
    **{f"basis_{pr}_{t}": basis_at_week_end(pr, t) for pr in ("ic", "im") for t in ("m0", "m1", "q0", "q1")},
}


def weekly(ds, name: str, params: DashboardParams | None = None) -> pd.Series:
    """The weekly series ``name`` (a key of :data:`SERIES`), indexed by week-end trading days."""
    if name not in SERIES:
        import difflib

        close = difflib.get_close_matches(name, SERIES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DataError(f"dashboard series '{name}' is unknown{hint}; choose one of: {', '.join(SERIES)}")
    s = SERIES[name](ds, params or DashboardParams())
    s = pd.Series(s, dtype=float).dropna()
    s.index = pd.DatetimeIndex(s.index, name="date")
    s.name = name
    return s
