"""About 280 CITIC level-3-like sub-industry indices (closes), for the first-PC concentration measure (情绪浓度).

Sub-industry j under SW L1 parent k(j)::

    r[j,t] = beta_j m[t] + lam_j s[k(j),t] + e[j,t]
    e[j,t] = vol_j * comove[t]^1.5 * (sigma_m[t]/1.5%)^0.25 * garch[j,t] * z,   z ~ unit t(6)

m is the real CSI 300 log return, s the parent's industry-specific return (industries.py). The common part
follows the real market volatility while the idiosyncratic part follows it only weakly and moves with the
co-movement regime, so the first-PC variance share of 250-day correlation matrices swings between dispersed
(~0.3) and crowded (~0.9) regimes. About 10% of the indices start later (new sub-industries at a 2014-2020
revision) and about 5% stop (merged away), as in a point-in-time index list.
"""
from __future__ import annotations

import numpy as np

from engine.data.synthetic.industries import NAMES, SW_L1, Industries
from engine.data.synthetic.market import Market, stream, student_t
from engine.kernels.synthetic import garch_sigma


def simulate_citic_l3(mkt: Market, ind: Industries, n_l3: int, seed: int) -> dict:
    """Returns {'close': (T, J) with NaN outside each index's life, 'codes', 'names', 'start', 'end' (day idx)}."""
    rng = stream(seed, "citic_l3")
    T, K = ind.ell.shape
    w = np.array([r[3] for r in SW_L1], dtype=float)
    cnt = np.maximum(1, np.round(n_l3 * w / w.sum())).astype(int)
    while cnt.sum() > n_l3:
        cnt[np.argmax(cnt)] -= 1
    while cnt.sum() < n_l3:
        cnt[np.argmin(cnt / w)] += 1
    parent = np.repeat(np.arange(K), cnt)
    J = len(parent)
    beta = ind.beta[parent] * np.exp(rng.normal(0.0, 0.08, J))
    lam = rng.uniform(0.6, 1.2, J)
    vol = 0.008 * np.exp(rng.normal(0.0, 0.2, J))
    z = student_t(rng, 6.0, (T, J))
    scale = (mkt.comove**1.5 * (mkt.sigma / 0.015) ** 0.25)[:, None]
    e = vol[None, :] * scale * garch_sigma(z, 0.05, 0.93) * z
    r = beta[None, :] * mkt.m[:, None] + lam[None, :] * ind.spec[:, parent] + e
    base = 1000.0 * np.exp(rng.normal(0.0, 0.3, J))
    close = base[None, :] * np.exp(np.cumsum(r, axis=0))
    start = np.zeros(J, dtype=np.int64)
    end = np.full(J, T - 1, dtype=np.int64)
    late = rng.random(J) < 0.10
    start[late] = rng.integers(mkt.index_of("2014-01-01"), mkt.index_of("2020-12-31"), size=late.sum())
    gone = (~late) & (rng.random(J) < 0.05)
    end[gone] = rng.integers(mkt.index_of("2012-01-01"), T - 250, size=gone.sum())
    tt = np.arange(T)[:, None]
    close = np.where((tt >= start[None, :]) & (tt <= end[None, :]), np.round(close, 3), np.nan)
    codes = [f"CI3{j + 1:03d}.SYN" for j in range(J)]
    seq = np.r_[0, np.flatnonzero(parent[1:] != parent[:-1]) + 1]
    names = [f"{NAMES[parent[j]]}-细分{j - seq[parent[j]] + 1}" for j in range(J)]
    return {"close": close, "codes": codes, "names": names, "start": start, "end": end, "parent": parent}
