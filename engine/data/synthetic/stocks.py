"""Constituent stocks (prices, limits, volume, turnover) and the SW L1 indices aggregated from them.

Stock model (stock s in industry k, day t)::

    x[s,t]   = (b_s - 1) * M[t] + idio[s,t]            M = real CSI 300 simple return, b_s ~ N(1, 0.2)
    idio     = vol_s * comove[t] * sqrt(sigma_m[t]/1.5%) * exp(-0.3 heat[k,t]) * garch[s,t] * z,  z ~ t(6)
    R[s,t]   = (1 + g[k,t]) * (1 + x[s,t] - xbar[k,t]) - 1  (kernel ``stock_path``: cap-weighted xbar, limits,
                                                             rounding to 0.01 CNY, suspensions)
    TO[s,t]  = TO_k[t] * rel[s,t] * c[k,t]                rel: small caps and big own moves trade more; c makes
                                                             the float-share-weighted member turnover = TO_k
    volume   = round(TO/100 * float_shares); turnover = volume / float_shares * 100 (4 decimals);
    amount   = volume * (O+H+L+C)/4 rounded to whole CNY

SW L1 index k ("in the index" = member on t by ``membership`` and listed on t-1), weights w = float_shares[t-1] *
close[t-1]: return = sum(w R)/sum(w) (suspended members count with R = 0); open/high/low = previous index close
times the weighted mean of the members' open/prev, high/prev, low/prev; volume, amount, float_mcap = sums over
members; turnover = sum(volume) / sum(float_shares) * 100.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.synthetic.industries import K, Industries
from engine.data.synthetic.market import Market, ar1, stream, student_t
from engine.data.synthetic.universe import Universe, delist, par_value_delistings
from engine.kernels.synthetic import garch_sigma, stock_path


PAR_RULE_FROM = "2012-01-01"


@dataclass
class Stocks:
    """All (T, N) stock arrays and the (T, K) SW L1 aggregates."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    amount: np.ndarray
    turnover: np.ndarray
    limit_up: np.ndarray
    limit_down: np.ndarray
    ret: np.ndarray          # simple return vs the previous close (NaN on the listing day)
    in_index: np.ndarray     # bool: counts in its industry index on t
    sw: dict                 # SW L1 fields, each (T, K)
    weight: np.ndarray       # index weight float_shares[t-1] * close[t-1] (0 on day 0, listing days, unlisted)
    rel_px: dict             # open/high/low/close over the previous close (0 where weight is 0)


def _round_cent(v: np.ndarray) -> np.ndarray:
    return np.floor(v * 100.0 + 0.5 + 1e-6) / 100.0


def simulate_stocks(mkt: Market, ind_blk: Industries, uni: Universe, seed: int) -> Stocks:
    """Run the stock kernel and derive OHLCV, turnover and the SW L1 aggregates."""
    rng = stream(seed, "stocks")
    T, n = uni.fs.shape
    b = np.clip(rng.normal(1.0, 0.2, n), 0.4, 1.8)
    vol_s = 0.015 * np.exp(rng.normal(0.0, 0.25, n)) * uni.size ** -0.08
    z = student_t(rng, 6.0, (T, n))
    heat = ind_blk.heat[np.arange(T)[:, None], np.maximum(uni.ind, 0)]
    isd = (vol_s[None, :] * (mkt.comove * np.sqrt(mkt.sigma / 0.015))[:, None]
           * np.exp(-0.3 * heat) * garch_sigma(z, 0.06, 0.92))
    x = np.clip((b[None, :] - 1.0) * np.expm1(mkt.m)[:, None] + isd * z, -0.5, 0.5)
    g = ind_blk.g
    while True:  # par-value delistings change the weights, so rerun until no new one appears (monotone)
        close, up, down = stock_path(g, x, uni.ind, uni.susp, uni.lim, np.nan_to_num(uni.fs), uni.p_list)
        gone = par_value_delistings(uni, close, mkt.index_of(PAR_RULE_FROM))
        if not gone:
            break
        for s, day in gone.items():
            delist(uni, s, day)
    listed = uni.ind >= 0
    prev = np.vstack([np.full((1, n), np.nan), close[:-1]])
    with np.errstate(invalid="ignore"):
        ret = close / prev - 1.0
    in_index = listed & np.vstack([listed[:1], listed[:-1]])  # day 0: every listed stock counts
    in_index[0] = listed[0]
    active = in_index & ~uni.susp
    tt = np.arange(T)[:, None]
    indz = np.maximum(uni.ind, 0)
    # open / high / low inside the limits
    has_lim = uni.lim > 0
    hi = np.where(has_lim, _round_cent(prev * (1 + uni.lim)), np.inf)
    lo = np.where(has_lim, _round_cent(prev * (1 - uni.lim)), 0.01)
    sd = np.sqrt(isd**2 + ind_blk.sig[tt, indz] ** 2)
    e = rng.standard_normal((3, T, n))
    moved = in_index & (tt > 0)
    op = np.where(moved, prev * (1 + 0.25 * np.where(moved, ret, 0.0) + 0.35 * sd * e[0]), close * (1 + 0.05 * e[0]))
    op = np.maximum(np.clip(_round_cent(op), lo, hi), 0.01)
    hg = np.minimum(_round_cent(np.maximum(op, close) * (1 + 0.5 * sd * np.abs(e[1]))), hi)
    lw = np.maximum(_round_cent(np.minimum(op, close) * (1 - 0.5 * sd * np.abs(e[2]))), np.maximum(lo, 0.01))
    frozen = uni.susp & in_index
    op[frozen] = hg[frozen] = lw[frozen] = close[frozen]
    # turnover, volume, amount
    fs = np.where(listed, uni.fs, 0.0)
    rel = np.exp(-0.25 * np.log(uni.size)[None, :] + ar1(rng, (T, n), 0.98, 0.3)
                 + 0.3 * (np.abs(x) / isd - 0.8) + 0.15 * rng.standard_normal((T, n)))
    grp_in, grp_act = Grouper(indz, in_index), Grouper(indz, active)
    num, den = grp_in.sum(fs), grp_act.sum(fs * rel)
    c = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    to = ind_blk.turnover[tt, indz] * rel * c[tt, indz]
    first = listed & ~in_index  # listing days (after day 0)
    to[first] = np.minimum(5.0 * to[first], 80.0)
    to[~listed | frozen] = 0.0
    volume = np.round(to / 100.0 * fs)
    with np.errstate(invalid="ignore", divide="ignore"):
        turnover = np.where(listed, np.round(volume / fs * 100.0, 4), np.nan)
    amount = np.round(volume * (op + hg + lw + close) / 4.0)
    for arr in (op, hg, lw, volume, amount):
        arr[~listed] = np.nan
    # member price relatives (0 outside the index) and previous-day weights, shared with the broad indices
    with np.errstate(invalid="ignore"):
        rel_px = {f: np.where(moved, a / prev, 0.0)
                  for f, a in (("close", close), ("open", op), ("high", hg), ("low", lw))}
    w = np.where(moved, np.vstack([np.zeros((1, n)), fs[:-1]]) * np.where(moved, prev, 0.0), 0.0)
    sw = _aggregate(grp_in, w, rel_px, volume, amount, fs, close, rng)
    return Stocks(op, hg, lw, close, volume, amount, turnover, up, down, ret, in_index, sw, w, rel_px)


class Grouper:
    """(T, K) sums over the stocks of each industry where ``mask`` holds (bincount on t*K + industry).

    Values outside ``mask`` go to a discarded bucket, so they may be NaN."""

    def __init__(self, ind: np.ndarray, mask: np.ndarray):
        T = ind.shape[0]
        self.shape = (T, K)
        self.key = np.where(mask, np.arange(T)[:, None] * K + ind, T * K).ravel()

    def sum(self, vals: np.ndarray) -> np.ndarray:
        out = np.bincount(self.key, weights=vals.ravel(), minlength=self.shape[0] * K + 1)
        return out[:-1].reshape(self.shape)


def _aggregate(grp, w, rel_px, volume, amount, fs, close, rng) -> dict:
    wsum = grp.sum(w)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = {f: grp.sum(w * a) / wsum for f, a in rel_px.items()}
    for f in ratio:
        ratio[f][0] = 1.0
    base = np.round(1000.0 * np.exp(rng.normal(0.3, 0.3, K)), 3)
    level = base[None, :] * np.cumprod(ratio["close"], axis=0)
    prev_level = np.vstack([base[None, :], level[:-1]])
    vol = grp.sum(volume)
    fsum = grp.sum(fs)
    out = {
        "open": prev_level * ratio["open"],
        "high": prev_level * ratio["high"],
        "low": prev_level * ratio["low"],
        "close": level,
        "volume": vol,
        "amount": grp.sum(amount),
        "turnover": vol / fsum * 100.0,
        "float_mcap": grp.sum(fs * close),
    }
    out["high"] = np.maximum(out["high"], np.maximum(out["open"], out["close"]))
    out["low"] = np.minimum(out["low"], np.minimum(out["open"], out["close"]))
    return out
