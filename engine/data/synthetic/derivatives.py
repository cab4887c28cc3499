"""Broad indices built from the synthetic stocks, index futures, 50ETF options and index-enhanced fund excess.

* CSI 500 / CSI 1000 / SSE 50 (``000905.SH``, ``000852.SH``, ``000016.SH``): float-cap weighted indices of the
  synthetic stocks, members re-selected on the first trading day of June and December by float cap among
  stocks listed > 60 days and not ST: ranks 6-16% (CSI 500), 16-36% (CSI 1000) of listed stocks, top 5% of
  Shanghai main-board stocks (SSE 50). The real CSI 300 stays the real one.
* Futures: contract expiry = third Friday of the month (next trading day if closed). IF main contract = the
  current-month contract until 3 trading days before its expiry, then the next month. Futures price
  ``F = S * (1 + a[t] * calendar_days_to_expiry / 365 + noise)`` rounded to 0.2 points, with the annualised
  basis ``a`` an AR(1) plus a causal trend term (premium after rallies) and a dividend-season discount (May-Aug).
  IC/IM carry a persistent discount (hedging demand). Open interest splits between m0/m1/q0/q1 by time to expiry.
* 50ETF options: total turnover grows from 2015-02-09; put/call ratio = exp(AR(1) - 0.25 tanh(ret5/3%)) * 0.9
  (puts are bought after declines), so PCR mostly sits in 0.5-1.5.
* Index-enhanced excess: daily mean excess return of CSI 500 (from 2012) / CSI 1000 (from 2016) enhanced funds,
  about +7%/year on average, regime-dependent, worse when the market is volatile.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.synthetic.market import Market, ar1, rolling_sum, stream, student_t
from engine.data.synthetic.stocks import Stocks
from engine.data.synthetic.universe import Universe

BROAD = (("000905.SH", 1050.0), ("000852.SH", 1100.0), ("000016.SH", 850.0))
IF_START, IC_START, IM_START, OPT_START = "2010-04-16", "2015-04-16", "2022-07-22", "2015-02-09"


def rebalance_days(mkt: Market) -> np.ndarray:
    """Day 0 and the first trading day of every June and December (broad-index reviews)."""
    mid = mkt.month_ids()
    months = (mkt.dates.month == 6) | (mkt.dates.month == 12)
    return np.unique(np.r_[0, np.flatnonzero(months & np.r_[True, mid[1:] != mid[:-1]])])


def review_ranks(mkt: Market, uni: Universe, st: Stocks):
    """Yield (d, e, ranked) per review: members hold on days d..e-1; ``ranked`` = eligible stocks (listed > 60 days
    or from day 0, not ST, on the day before d) by float cap, largest first."""
    listed = uni.ind >= 0
    rebal = rebalance_days(mkt)
    T = st.close.shape[0]
    for i, d in enumerate(rebal):
        sel = max(d - 1, 0)
        e = rebal[i + 1] if i + 1 < len(rebal) else T
        is_st = (uni.st_start >= 0) & (uni.st_start <= sel) & (sel <= uni.st_end)
        ok = listed[sel] & ((sel - uni.list_day > 60) | (uni.list_day == 0)) & ~is_st
        order = np.argsort(-np.where(ok, np.nan_to_num(uni.fs[sel] * st.close[sel]), -1.0), kind="stable")
        yield d, e, order[: int(ok.sum())]


def broad_members(mkt: Market, uni: Universe, st: Stocks) -> dict:
    """{code: (T, N) bool} members of the synthetic CSI 500 / CSI 1000 / SSE 50 (module doc)."""
    T, n = st.close.shape
    sh_main = np.array([c.endswith(".SH") for c in uni.codes]) & (uni.board == "main")
    members = {code: np.zeros((T, n), dtype=bool) for code, _ in BROAD}
    for d, e, ranked in review_ranks(mkt, uni, st):
        nl = len(ranked)
        members["000905.SH"][d:e, ranked[int(0.06 * nl): int(0.16 * nl)]] = True
        members["000852.SH"][d:e, ranked[int(0.16 * nl): int(0.36 * nl)]] = True
        shr = ranked[sh_main[ranked]]
        members["000016.SH"][d:e, shr[: max(3, int(0.05 * len(shr)))]] = True
    return members


def broad_indices(mkt: Market, uni: Universe, st: Stocks, members: dict | None = None) -> dict:
    """{code: {'open','high','low','close','volume'} (T,) arrays} for the synthetic CSI 500 / CSI 1000 / SSE 50."""
    listed = uni.ind >= 0
    if members is None:
        members = broad_members(mkt, uni, st)
    vol = np.where(listed, st.volume, 0.0)
    out = {}
    for code, base in BROAD:
        w = np.where(members[code], st.weight, 0.0)
        ws = w.sum(axis=1)
        ws[0] = 1.0
        ratio = {f: np.einsum("tn,tn->t", w, a) / ws for f, a in st.rel_px.items()}
        for f in ratio:
            ratio[f][0] = 1.0
        close = base * np.cumprod(ratio["close"])
        pl = np.r_[base, close[:-1]]
        o, h, lo = pl * ratio["open"], pl * ratio["high"], pl * ratio["low"]
        out[code] = {"open": o, "high": np.maximum(h, np.maximum(o, close)),
                     "low": np.minimum(lo, np.minimum(o, close)), "close": close,
                     "volume": np.where(members[code], vol, 0.0).sum(axis=1)}
    return out


def expiry_table(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Monthly contract expiries: third Friday of each month, moved to the next trading day when closed."""
    months = pd.period_range(dates[0], dates[-1] + pd.DateOffset(months=12), freq="M")
    out = []
    for p in months:
        first = p.start_time
        fri = first + pd.Timedelta(days=(4 - first.day_of_week) % 7 + 14)
        if fri <= dates[-1]:
            fri = dates[dates.searchsorted(fri)]
        out.append(fri)
    return pd.DatetimeIndex(out)


def _contracts(dates: pd.DatetimeIndex):
    """Per day: expiry dates of m0, m1, q0, q1 and trading days to m0's expiry."""
    exp = expiry_table(dates)
    i0 = exp.searchsorted(dates)
    m0, m1 = exp[i0], exp[i0 + 1]
    quarterly = exp[exp.month.isin([3, 6, 9, 12])]
    iq = quarterly.searchsorted(m1, side="right")
    q0, q1 = quarterly[iq], quarterly[iq + 1]
    td_to_m0 = dates.searchsorted(m0) - np.arange(len(dates))
    return m0, m1, q0, q1, td_to_m0


def _price(s, a, exp, dates, noise):
    days = (exp - dates).days.to_numpy()
    return np.round((s * (1.0 + a * days / 365.0 + noise * np.sqrt(np.maximum(days, 1) / 30.0))) / 0.2) * 0.2


def futures_if(mkt: Market, seed: int) -> pd.DataFrame:
    """CSI 300 futures main contract close and expiry, from 2010-04-16."""
    rng = stream(seed, "derivatives/if")
    d = mkt.dates
    m0, m1, _, _, td = _contracts(d)
    main = pd.DatetimeIndex(np.where(td < 3, m1, m0))
    season = np.where(d.month.isin([5, 6, 7, 8]), -0.03, 0.0)
    a = np.clip(0.04 * ar1(rng, (mkt.n,), 0.5 ** (1 / 40), 1.0) + 0.12 * np.tanh(mkt.ret60 / 0.15) + season, -0.2, 0.2)
    f = _price(mkt.csi300["close"].to_numpy(), a, main, d, 0.0006 * rng.standard_normal(mkt.n))
    df = pd.DataFrame({"close": f, "expiry": main}, index=d)
    return df.iloc[mkt.index_of(IF_START):]


def futures_by_maturity(mkt: Market, spot: np.ndarray, name: str, start: str, oi_path, seed: int) -> pd.DataFrame:
    """close_m0..q1, oi_m0..q1, expiry_m0..q1 for a CSI 500 (IC) or CSI 1000 (IM) future on ``spot``."""
    rng = stream(seed, f"derivatives/{name}")
    d = mkt.dates
    m0, m1, q0, q1, td = _contracts(d)
    ret60 = np.r_[np.zeros(60), np.log(spot[60:] / spot[:-60])]
    season = np.where(d.month.isin([5, 6, 7, 8]), -0.04, 0.0)
    a = -0.07 + 0.05 * ar1(rng, (mkt.n,), 0.5 ** (1 / 60), 1.0) + 0.08 * np.tanh(ret60 / 0.15) + season
    a = np.clip(a, -0.3, 0.15)
    out = {}
    for tag, exp in (("m0", m0), ("m1", m1), ("q0", q0), ("q1", q1)):
        out[f"close_{tag}"] = _price(spot, a, exp, d, 0.0006 * rng.standard_normal(mkt.n))
    yr = d.year.to_numpy() + d.day_of_year.to_numpy() / 366.0
    total = np.interp(yr, *zip(*oi_path)) * np.exp(ar1(rng, (mkt.n,), 0.98, 0.1))
    w0 = 0.45 * np.clip(td / 15.0, 0.1, 1.0)
    w = np.column_stack([w0, 0.2 + (0.45 - w0), np.full(mkt.n, 0.25), np.full(mkt.n, 0.1)])
    w /= w.sum(axis=1, keepdims=True)
    for j, tag in enumerate(("m0", "m1", "q0", "q1")):
        out[f"oi_{tag}"] = np.round(total * w[:, j])
    for tag, exp in (("m0", m0), ("m1", m1), ("q0", q0), ("q1", q1)):
        out[f"expiry_{tag}"] = exp
    return pd.DataFrame(out, index=d).iloc[mkt.index_of(start):]


def options_50etf(mkt: Market, seed: int) -> pd.DataFrame:
    """50ETF option put and call turnover (CNY) from 2015-02-09."""
    rng = stream(seed, "derivatives/options")
    d = mkt.dates
    yr = d.year.to_numpy() + d.day_of_year.to_numpy() / 366.0
    level = np.exp(np.interp(yr, [2015.1, 2016.0, 2018.0, 2020.0, 2022.0, 2026.0],
                             np.log([5e7, 3e8, 1e9, 2.5e9, 2.5e9, 2.2e9])))
    total = level * np.exp(0.5 * mkt.activity + 0.5 * np.log(mkt.sigma / 0.015) + ar1(rng, (mkt.n,), 0.9, 0.25))
    pcr = 0.9 * np.exp(0.18 * ar1(rng, (mkt.n,), 0.5 ** (1 / 20), 1.0) - 0.25 * np.tanh(rolling_sum(mkt.m, 5) / 0.03)
                       + 0.08 * rng.standard_normal(mkt.n))
    df = pd.DataFrame({"put_amount": total * pcr / (1 + pcr), "call_amount": total / (1 + pcr)}, index=d)
    return df.iloc[mkt.index_of(OPT_START):]


def index_enhanced(mkt: Market, seed: int) -> pd.DataFrame:
    """Daily mean excess return (fraction) of CSI 500 (from 2012) and CSI 1000 (from 2016) enhanced funds."""
    rng = stream(seed, "derivatives/enhanced")
    n = mkt.n
    common = ar1(rng, (n,), 0.5 ** (1 / 120), 1.0)
    out = {}
    for col, start in (("csi500_excess", "2012-01-04"), ("csi1000_excess", "2016-01-04")):
        own = ar1(rng, (n,), 0.5 ** (1 / 120), 1.0)
        mu = 0.0003 + 0.00015 * (0.7 * common + 0.7 * own) - 0.0004 * (mkt.sigma / 0.015 - 1)
        sd = 0.0025 * np.exp(0.3 * ar1(rng, (n,), 0.98, 1.0))
        x = mu + sd * student_t(rng, 5.0, (n,))
        x[: mkt.index_of(start)] = np.nan
        out[col] = x
    return pd.DataFrame(out, index=mkt.dates).iloc[mkt.index_of("2012-01-04"):]


def pe_ttm(mkt: Market, close: np.ndarray, pe_star: np.ndarray, rng) -> np.ndarray:
    """PE-TTM = close / TTM earnings; earnings update on the last trading day of Apr, Aug and Oct by
    ``log E += 0.35 (log P - log E - log PE*) + N(1.5%, 6%)`` (earnings catch up with prices, PE mean-reverts)."""
    T, C = close.shape
    mid = mkt.month_ids()
    upd = np.flatnonzero(np.isin(mkt.dates.month, [4, 8, 10]) & np.r_[mid[1:] != mid[:-1], True])
    logp = np.log(close)
    first = np.argmax(np.isfinite(logp), axis=0)
    loge = logp[first, np.arange(C)] - np.log(pe_star) + rng.normal(0.0, 0.2, C)
    out = np.full((T, C), np.nan)
    last = 0
    for u in list(upd) + [T - 1]:
        out[last : u + 1] = np.exp(logp[last : u + 1] - loge[None, :])
        step = 0.35 * (np.nan_to_num(logp[u], nan=0.0) - loge - np.log(pe_star)) + rng.normal(0.015, 0.06, C)
        loge = np.where(np.isfinite(logp[u]), loge + step, loge)
        last = u + 1
    return out
