"""Share capital, broad-index memberships, northbound quarterly holdings and the per-stock short side: the inputs
of the 中泰 fund-behaviour dashboard (seed 000) that the rest of the synthetic market does not draw.

Every block draws from its own stream (``market.stream``), so none of them changes a number of the older blocks.

* ``total_shares`` (总股本) >= ``float_shares`` (流通股本) >= ``free_float_shares`` (自由流通股本), shares::

      total = float * (1 + n_s) * lock[t]    n_s = 0.12 * lognormal(0, 0.8): never-floated state / strategic stakes
                                              lock = 2.2 in the first 250 trading days after a post-2006 IPO, 1.4
                                              until day 750, 1 after (the lock-up expiries of ``universe.py``)
      free = float * f_s                      f_s = clip(0.55 - 0.08 log size_s + 0.08 N(0,1), 0.25, 0.95):
                                              large caps have large holders (banks ~0.3); cap-weighted ~0.5

* ``index_membership`` (table code, index, start, end): the synthetic CSI 500 / CSI 1000 / SSE 50 of
  ``derivatives.broad_members`` plus, with the same June/December reviews on float-cap ranks: CSI 300 (ranks
  0-6% of eligible stocks: 300 of ~5,000), ChiNext 399006.SZ (largest 7% of ChiNext stocks, at least 3; from
  2010-06-01) and STAR 50 000688.SH (largest 9% of STAR stocks, at least 3; from 2020-07-23).
* ``northbound_holdings`` (table date, published, code, shares, value): quarterly holdings at each quarter's last
  trading day from 2017; ``published`` = 5 trading days later (an assumption: HKEX discloses quarterly since
  2024-08). Holdings ratio of float shares ``h = 1.2% * size^0.3 * tilt_k * exp(AR(1) across quarters)``,
  consumer, financial and power-equipment industries tilted up; only stocks listed a year and not ST.
* per-stock ``short_sell`` / ``short_balance`` (融券卖出额 / 融券余额): the market short side of ``flows.margin_market``
  allocated to margin-eligible stocks (``margin_balance > 0``) with weights ``margin_balance * exp(AR(1))``
  (balance) and ``amount * exp(AR(1))`` (sell), so the stock sums equal the market columns (to float rounding).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.synthetic.derivatives import BROAD, review_ranks
from engine.data.synthetic.industries import NAMES
from engine.data.synthetic.market import Market, ar1, stream
from engine.data.synthetic.stocks import Stocks
from engine.data.synthetic.universe import Universe

INDEX_NAMES = {"000016.SH": "SSE 50", "000300.SH": "CSI 300", "000905.SH": "CSI 500", "000852.SH": "CSI 1000",
               "399006.SZ": "ChiNext", "000688.SH": "STAR 50"}
CHINEXT_INDEX_START, STAR50_START = "2010-06-01", "2020-07-23"
NB_HOLDINGS_FROM, NB_PUBLISH_LAG = "2017-01-01", 5
NB_TILT = {"食品饮料": 2.5, "家用电器": 2.5, "银行": 1.6, "非银金融": 1.5, "电力设备": 1.8, "医药生物": 1.3,
           "电子": 1.2, "美容护理": 1.5}


def share_capital(mkt: Market, uni: Universe, seed: int) -> dict:
    """{'total_shares', 'free_float_shares'}: (T, N) whole shares, NaN where not listed (module doc)."""
    rng = stream(seed, "capital/shares")
    T, n = uni.fs.shape
    nonfloat = 0.12 * np.exp(rng.normal(0.0, 0.8, n))
    f = np.clip(0.55 - 0.08 * np.log(uni.size) + 0.08 * rng.standard_normal(n), 0.25, 0.95)
    age = np.arange(T)[:, None] - uni.list_day[None, :]
    ipo = (uni.list_day > 0)[None, :]
    lock = np.where(ipo & (age < 250), 2.2, np.where(ipo & (age < 750), 1.4, 1.0))
    total = np.round(uni.fs * (1.0 + nonfloat)[None, :] * lock)
    free = np.round(uni.fs * f[None, :])
    return {"total_shares": total, "free_float_shares": free}


def index_members(mkt: Market, uni: Universe, st: Stocks, broad: dict) -> dict:
    """{index code: (T, N) bool}: ``broad`` (CSI 500 / 1000 / SSE 50) plus CSI 300, ChiNext and STAR 50."""
    T, n = st.close.shape
    out = {c: np.zeros((T, n), dtype=bool) for c in ("000300.SH", "399006.SZ", "000688.SH")}
    starts = {"399006.SZ": mkt.index_of(CHINEXT_INDEX_START), "000688.SH": mkt.index_of(STAR50_START)}
    for d, e, ranked in review_ranks(mkt, uni, st):
        out["000300.SH"][d:e, ranked[: int(0.06 * len(ranked))]] = True
        for code, board, frac in (("399006.SZ", "chinext", 0.07), ("000688.SH", "star", 0.09)):
            sub = ranked[uni.board[ranked] == board]
            if len(sub) >= 3:
                out[code][d:e, sub[: max(3, int(frac * len(sub)))]] = True
    for code, d0 in starts.items():
        out[code][:d0] = False
    members = {**{c: broad[c] for c, _ in BROAD}, **out}
    listed = uni.ind >= 0
    return {c: m & listed for c, m in members.items()}


def membership_table(dates: pd.DatetimeIndex, codes, members: dict) -> pd.DataFrame:
    """Runs of membership as rows (code, index, start, end), ``end`` empty while still a member at the last day."""
    rows = []
    T = len(dates)
    for idx, m in members.items():
        pad = np.vstack([np.zeros((1, m.shape[1]), bool), m, np.zeros((1, m.shape[1]), bool)]).astype(np.int8)
        dm = np.diff(pad, axis=0)
        for s in range(m.shape[1]):
            on, off = np.flatnonzero(dm[:, s] == 1), np.flatnonzero(dm[:, s] == -1) - 1
            for a, b in zip(on, off):
                rows.append((codes[s], idx, dates[a], dates[b] if b < T - 1 else pd.NaT))
    df = pd.DataFrame(rows, columns=["code", "index", "start", "end"])
    for c in ("start", "end"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
    return df.sort_values(["index", "code", "start"], kind="stable").reset_index(drop=True)


def northbound_holdings(mkt: Market, uni: Universe, st: Stocks, seed: int) -> pd.DataFrame:
    """Quarter-end northbound holdings (module doc): columns date, published, code, shares, value (CNY)."""
    rng = stream(seed, "capital/northbound_holdings")
    T, n = st.close.shape
    q = mkt.dates.year * 4 + (mkt.dates.month - 1) // 3
    ends = np.flatnonzero(np.r_[q[1:] != q[:-1], False] & (mkt.dates >= pd.Timestamp(NB_HOLDINGS_FROM)))
    tilt = np.array([NB_TILT.get(NAMES[k], 1.0) for k in range(len(NAMES))])
    base = 0.012 * uni.size ** 0.3 * np.exp(rng.normal(0.0, 0.4, n))
    noise = ar1(rng, (len(ends), n), 0.8, 0.35)
    rows = []
    for j, e in enumerate(ends):
        if e + NB_PUBLISH_LAG >= T:
            continue
        k = uni.ind[e]
        is_st = (uni.st_start >= 0) & (uni.st_start <= e) & (e <= uni.st_end)
        ok = (k >= 0) & (e - uni.list_day >= 250) & ~is_st & np.isfinite(st.close[e])
        h = np.clip(base * tilt[np.maximum(k, 0)] * np.exp(noise[j]), 0.0, 0.3)
        shares = np.round(uni.fs[e] * h / 100.0) * 100.0
        for s in np.flatnonzero(ok & (shares > 0)):
            rows.append((mkt.dates[e], mkt.dates[e + NB_PUBLISH_LAG], uni.codes[s], shares[s], shares[s] * st.close[e, s]))
    df = pd.DataFrame(rows, columns=["date", "published", "code", "shares", "value"])
    for c in ("date", "published"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
    return df


def short_side(mkt: Market, per_stock_margin: dict, amount: np.ndarray, market_margin: pd.DataFrame, seed: int) -> dict:
    """{'short_sell', 'short_balance'}: (T, N) CNY per stock summing to the market columns (module doc)."""
    rng = stream(seed, "capital/short_side")
    bal = per_stock_margin["margin_balance"]
    T, n = bal.shape
    listed = np.isfinite(bal)
    elig = np.nan_to_num(bal) > 0
    d0 = T - len(market_margin)
    out = {}
    for col, base in (("short_balance", np.nan_to_num(bal)), ("short_sell", np.nan_to_num(amount))):
        w = np.where(elig, base * np.exp(ar1(rng, (T, n), 0.97, 0.5)), 0.0)
        tot = np.r_[np.zeros(d0), market_margin[col].to_numpy()]
        ws = w.sum(axis=1, keepdims=True)
        x = np.divide(w, ws, out=np.zeros_like(w), where=ws > 0) * tot[:, None]
        out[col] = np.where(listed, x, np.nan)
    return out
