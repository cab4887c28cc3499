"""The stock universe: codes, boards, listings, delistings, ST periods, reclassifications, float shares,
suspensions and price limits (all point in time, on the full calendar).

Rules (documented in docs/data.md, "The synthetic market"):

* ~25% of stocks are listed before the first day; the rest list on days drawn with the real yearly IPO counts
  (2006..2025) as weights. Each industry keeps 2-3 "anchor" stocks listed for the whole period.
* Boards follow the listing date: main board only before ChiNext (2009-10-30), STAR from 2019-07-22.
* ~2% of stocks delist (each is *ST for the 250 trading days before its last day). From 2012 any other
  non-anchor stock whose close stays below 1 CNY for 20 consecutive days delists on the 20th day (par-value
  rule, applied in ``stocks.py``; it keeps prices realistic without a mean-reverting, i.e. predictable, level).
* ~3% have an ST episode of 250-750 days; ~3% move to another industry at a Shenwan revision date
  (2014-02-21 or 2021-12-13). Anchors are never suspended, delisted, ST or reclassified.
* Price limits: 10% main board; ChiNext 10% before 2020-08-24 and 20% from; STAR 20%; ST 5% on the main board
  (and on ChiNext before 2020-08-24); no limit on the listing day.
* Float shares step up at lock-up expiries (250 and 750 days after an IPO), at the 2006-2009 split-share reform
  for stocks listed before 2006, and at random placements (0.2 a year).
* Suspensions: about one start per 600 listed days (85% last 1-5 days, 15% 10-90 days) plus the July 2015
  wave (35% of listed stocks suspended for 3-25 days from 2015-07-06..09).
* Float cap at listing scales with 1000 / n_stocks, so market totals (amount, margin, flows) have real-world
  magnitudes at every size: each synthetic stock stands for about 5,000 / n_stocks real ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.synthetic.industries import K, NAMES, SW_L1
from engine.data.synthetic.market import Market, stream

IPO_COUNTS = dict(zip(range(2006, 2026), (66, 120, 77, 99, 347, 282, 154, 0, 125, 223, 227, 438, 105, 203, 437,
                                          524, 428, 313, 100, 110)))
PRE_LISTED = 0.25
CHINEXT_OPEN, STAR_OPEN, CHINEXT_20PCT = "2009-10-30", "2019-07-22", "2020-08-24"
REVISIONS = ("2014-02-21", "2021-12-13")


@dataclass
class Universe:
    codes: list
    names: list
    board: np.ndarray        # (N,) 'main' | 'chinext' | 'star'
    ind0: np.ndarray         # (N,) industry before the reclassification day
    ind1: np.ndarray         # (N,) industry from the reclassification day (= ind0 when none)
    reclass: np.ndarray      # (N,) day index of the reclassification, -1 none
    list_day: np.ndarray     # (N,) first trading day
    last_day: np.ndarray     # (N,) last trading day (T-1 when not delisted)
    delisted: np.ndarray     # (N,) bool
    st_start: np.ndarray     # (N,) day index, -1 none
    st_end: np.ndarray       # (N,) last ST day, -1 none
    anchor: np.ndarray       # (N,) bool, kept listed all the time (2-3 per industry)
    size: np.ndarray         # (N,) relative size factor (mean 1)
    p_list: np.ndarray       # (N,) close on the listing day
    fs: np.ndarray           # (T, N) float shares (NaN when not listed)
    ind: np.ndarray          # (T, N) int64 industry, -1 when not listed
    susp: np.ndarray         # (T, N) bool
    lim: np.ndarray          # (T, N) price-limit fraction, 0 = none


def _allocate(n: int) -> np.ndarray:
    """Stocks per industry: proportional to the SW_L1 weights, at least 2 each, summing to n."""
    w = np.array([r[3] for r in SW_L1], dtype=float)
    cnt = np.maximum(2, np.floor(n * w / w.sum())).astype(int)
    while cnt.sum() < n:
        cnt[np.argmax(n * w / w.sum() - cnt)] += 1
    while cnt.sum() > n:
        cnt[np.argmax(np.where(cnt > 2, cnt - n * w / w.sum(), -np.inf))] -= 1
    return cnt


def _listing_days(mkt: Market, n: int, rng) -> np.ndarray:
    years = np.array(sorted(IPO_COUNTS))
    w = np.array([IPO_COUNTS[y] for y in years], dtype=float)
    yr = rng.choice(years, size=n, p=w / w.sum())
    out = np.empty(n, dtype=np.int64)
    dy = mkt.dates.year.to_numpy()
    for y in np.unique(yr):
        pos = np.flatnonzero(dy == y)
        pos = pos[pos > 0]
        sel = yr == y
        out[sel] = rng.choice(pos, size=sel.sum())
    return out


def build_universe(mkt: Market, n: int, seed: int) -> Universe:
    """Draw the whole universe for ``n`` stocks on the full calendar."""
    rng = stream(seed, "universe")
    T = mkt.n
    cnt = _allocate(n)
    ind0 = np.repeat(np.arange(K), cnt)
    n_anchor = 3 if n >= 500 else 2
    first = np.r_[0, np.cumsum(cnt)[:-1]]
    anchor = np.zeros(n, dtype=bool)
    for k in range(K):
        anchor[first[k] : first[k] + min(n_anchor, cnt[k])] = True
    pre = anchor | (rng.random(n) < PRE_LISTED)
    list_day = np.where(pre, 0, _listing_days(mkt, n, rng))
    # boards and codes, in listing order
    d_cx, d_star, d_cx20 = mkt.index_of(CHINEXT_OPEN), mkt.index_of(STAR_OPEN), mkt.index_of(CHINEXT_20PCT)
    u = rng.random(n)
    board = np.full(n, "main", dtype=object)
    exch = np.where(u < 0.55, "SH", "SZ").astype(object)
    era2 = (list_day >= d_cx) & (list_day < d_star)
    era3 = list_day >= d_star
    board[era2 & (u >= 0.65)] = "chinext"
    exch[era2] = np.where(u[era2] < 0.40, "SH", "SZ")
    board[era3 & (u >= 0.40) & (u < 0.70)] = "chinext"
    board[era3 & (u >= 0.70)] = "star"
    exch[era3] = np.where(u[era3] < 0.25, "SH", "SZ")
    exch[board == "star"] = "SH"
    order = np.lexsort((np.arange(n), list_day))
    nxt = {"SH": 600000, "SZ_old": 1, "SZ_new": 2001, "chinext": 300001, "star": 688001}
    codes = [""] * n
    for s in order:
        if board[s] != "main":
            key = board[s]
        else:
            key = "SH" if exch[s] == "SH" else ("SZ_old" if list_day[s] == 0 else "SZ_new")
        num = nxt[key]
        nxt[key] += 1
        codes[s] = f"{num:06d}." + ("SH" if key in ("SH", "star") else "SZ")
    names = [f"合成{NAMES[ind0[s]]}{s:04d}" for s in range(n)]
    perm = np.argsort(codes, kind="stable")  # columns in code order from here on
    codes, names = [codes[i] for i in perm], [names[i] for i in perm]
    ind0, anchor, pre, list_day, board = ind0[perm], anchor[perm], pre[perm], list_day[perm], board[perm]
    # delistings (with *ST for 250 days before), ST episodes, reclassifications
    last_day = np.full(n, T - 1, dtype=np.int64)
    st_start = np.full(n, -1, dtype=np.int64)
    st_end = np.full(n, -1, dtype=np.int64)
    free = np.flatnonzero(~anchor & (list_day < T - 800))
    n_del = min(len(free), max(2, round(0.02 * n)))
    dl = rng.choice(free, size=n_del, replace=False)
    last_day[dl] = [rng.integers(list_day[s] + 600, T - 1) for s in dl]
    st_start[dl] = last_day[dl] - 250
    st_end[dl] = last_day[dl]
    free = np.setdiff1d(free, dl)
    n_st = min(len(free), max(2, round(0.03 * n)))
    st = rng.choice(free, size=n_st, replace=False)
    st_start[st] = [rng.integers(list_day[s] + 250, T - 300) for s in st]
    st_end[st] = np.minimum(st_start[st] + rng.integers(250, 751, size=n_st), T - 1)
    reclass = np.full(n, -1, dtype=np.int64)
    ind1 = ind0.copy()
    rev_days = np.array([mkt.index_of(d) for d in REVISIONS])
    cand = np.flatnonzero(~anchor)
    n_re = min(len(cand), max(2, round(0.03 * n)))
    for s in rng.choice(cand, size=n_re, replace=False):
        ok = rev_days[(rev_days > list_day[s] + 20) & (rev_days < last_day[s] - 20)]
        if len(ok):
            reclass[s] = rng.choice(ok)
            ind1[s] = (ind0[s] + rng.integers(1, K)) % K
    # size, prices, float shares
    smult = np.array([r[4] for r in SW_L1])[ind0]
    size = np.exp(rng.normal(0.0, 1.0, n)) * smult
    size /= size.mean()
    p_list = np.where(pre, np.exp(rng.normal(np.log(8.0), 0.4, n)), np.exp(rng.normal(np.log(15.0), 0.4, n)))
    p_list = np.round(p_list, 2)
    yrs = (mkt.dates.year.to_numpy() - 2006) + mkt.dates.day_of_year.to_numpy() / 366.0
    # float cap at listing; scaled by 1000/n so that market totals do not depend on the number of stocks
    mcap0 = np.where(pre, 4.5e9, 2.0e9 * (1.0 + 0.15 * yrs[list_day])) * size * (1000.0 / n)
    fs0 = mcap0 / p_list
    logm = np.zeros((T, n))
    d_reform = (mkt.index_of("2006-06-01"), mkt.index_of("2009-12-31"))
    for s in range(n):
        if pre[s]:
            for d in rng.integers(*d_reform, size=2):
                logm[d, s] += np.log(rng.uniform(1.2, 1.7))
        else:
            for lag, lohi in ((250, (1.3, 2.2)), (750, (1.2, 1.8))):
                if list_day[s] + lag < T:
                    logm[list_day[s] + lag, s] += np.log(rng.uniform(*lohi))
    ev = (rng.random((T, n)) < 0.2 / 244) & (np.arange(T)[:, None] > list_day[None, :])
    logm[ev] += np.log(rng.uniform(1.05, 1.4, size=int(ev.sum())))
    tt = np.arange(T)[:, None]
    listed = (tt >= list_day[None, :]) & (tt <= last_day[None, :])
    fs = np.where(listed, np.round(fs0[None, :] * np.exp(np.cumsum(logm, axis=0))), np.nan)
    moved = (reclass[None, :] >= 0) & (tt >= reclass[None, :])
    ind = np.where(listed, np.where(moved, ind1, ind0), -1).astype(np.int64)
    susp = _suspensions(mkt, listed, list_day, rng)
    susp[:, anchor] = False  # anchors always trade, so every industry index has volume every day
    is_st = (st_start[None, :] >= 0) & (tt >= st_start[None, :]) & (tt <= st_end[None, :])
    limit = np.where(board == "main", 0.10, 0.20).astype(float)[None, :] * np.ones((T, 1))
    limit[:d_cx20, board == "chinext"] = 0.10
    st5 = is_st & ((board == "main")[None, :] | ((board == "chinext")[None, :] & (tt < d_cx20)))
    limit[st5] = 0.05
    limit[~listed] = 0.0
    limit[list_day, np.arange(n)] = 0.0
    return Universe(codes, names, board.astype(str), ind0, ind1, reclass, list_day, last_day, last_day < T - 1,
                    st_start, st_end, anchor, size, p_list, fs, ind, susp, limit)


def par_value_delistings(uni: Universe, close: np.ndarray, first_day: int, days: int = 20) -> dict:
    """{stock: last day} for non-anchor stocks whose close stays below 1 CNY for ``days`` consecutive days
    (the exchanges' par-value rule), counting only runs that end on or after ``first_day``."""
    with np.errstate(invalid="ignore"):
        cand = np.flatnonzero((close < 1.0).any(axis=0) & ~uni.anchor & ~uni.delisted)
        below = close[:, cand] < 1.0
    cs = np.cumsum(below, axis=0)
    run = cs - np.maximum.accumulate(np.where(below, 0, cs), axis=0)
    hit = (run >= days) & (np.arange(len(close))[:, None] >= first_day)
    return {int(cand[j]): int(np.argmax(hit[:, j])) for j in np.flatnonzero(hit.any(axis=0))}


def delist(uni: Universe, s: int, day: int) -> None:
    """Make ``day`` the last trading day of stock ``s`` (in place; reclassification and ST clipped to it)."""
    uni.last_day[s] = day
    uni.delisted[s] = True
    uni.fs[day + 1 :, s] = np.nan
    uni.ind[day + 1 :, s] = -1
    uni.susp[day + 1 :, s] = False
    uni.lim[day + 1 :, s] = 0.0
    if uni.reclass[s] > day:
        uni.reclass[s] = -1
        uni.ind1[s] = uni.ind0[s]
    if uni.st_start[s] > day:
        uni.st_start[s] = uni.st_end[s] = -1
    elif uni.st_end[s] > day:
        uni.st_end[s] = day


def _suspensions(mkt: Market, listed: np.ndarray, list_day: np.ndarray, rng) -> np.ndarray:
    T, n = listed.shape
    susp = np.zeros((T, n), dtype=bool)
    starts = np.argwhere((rng.random((T, n)) < 1.0 / 600) & listed)
    long = rng.random(len(starts)) < 0.15
    dur = np.where(long, rng.integers(10, 91, size=len(starts)), rng.integers(1, 6, size=len(starts)))
    d15 = mkt.index_of("2015-07-06")
    if d15 < T - 30:
        alive = np.flatnonzero(listed[d15])
        wave = alive[rng.random(len(alive)) < 0.35]
        extra = np.column_stack([d15 + rng.integers(0, 4, size=len(wave)), wave])
        starts = np.vstack([starts, extra])
        dur = np.r_[dur, rng.integers(3, 26, size=len(wave))]
    for (t, s), d in zip(starts, dur):
        susp[t : t + d, s] = True
    susp &= listed
    susp[list_day, np.arange(n)] = False
    return susp
