"""Slow, obviously-correct twins of ``engine/kernels/xinbanjun.py`` (the specification of the kernels)."""
from __future__ import annotations

import itertools

import numpy as np


def capped_ls_enumerate(X, y, cap):
    """``argmin ||y - Xw||^2`` s.t. ``w >= 0``, ``sum(w) <= cap`` by trying every free set F twice (sum constraint
    inactive: w_F = G_FF^-1 c_F; active: the KKT system with sum(w_F) = cap) and keeping the feasible candidate
    with the smallest objective. Exact for a positive definite ``X'X``; exponential in n (n <= 8)."""
    G, c = X.T @ X, X.T @ y
    n = G.shape[0]
    best, best_f = np.zeros(n), float(y @ y)
    for k in range(1, n + 1):
        for F in itertools.combinations(range(n), k):
            F = list(F)
            cands = [np.linalg.solve(G[np.ix_(F, F)], c[F])]
            A = np.zeros((k + 1, k + 1))
            A[:k, :k] = G[np.ix_(F, F)]
            A[:k, k] = A[k, :k] = 1.0
            cands.append(np.linalg.solve(A, np.r_[c[F], cap])[:k])
            for wf in cands:
                if (wf < -1e-12).any() or wf.sum() > cap * (1 + 1e-12):
                    continue
                w = np.zeros(n)
                w[F] = np.maximum(wf, 0.0)
                f = float(((y - X @ w) ** 2).sum())
                if f < best_f - 1e-15 * max(best_f, 1.0):
                    best, best_f = w, f
    return best


def rolling_capped_ls(y, X, window, min_periods, cap, solver=capped_ls_enumerate):
    T, n = X.shape
    out = np.full((T, n), np.nan)
    for t in range(T):
        rows = [s for s in range(max(0, t - window + 1), t + 1) if not (np.isnan(y[s]) or np.isnan(X[s]).any())]
        if len(rows) < max(min_periods, n):
            continue
        out[t] = solver(X[rows], y[rows], cap)
    return out


def zigzag_asof(price, t, min_depth, rebound):
    """The zigzag state at row t recomputed from scratch on ``price[:t+1]``: pivots as a list of (kind, row)."""
    valid = [s for s in range(t + 1) if not np.isnan(price[s])]
    if not valid:
        return -1, False, []
    pivots = []                    # completed corrections (peak, trough, end)
    peak, mode, trough = valid[0], "up", None
    for s in valid[1:]:
        p = price[s]
        if mode == "up":
            if p > price[peak]:
                peak = s
            elif p / price[peak] - 1.0 <= -min_depth:
                mode, trough = "down", s
        else:
            if p < price[trough]:
                trough = s
            elif p / price[trough] - 1.0 >= rebound:
                pivots.append((peak, trough, s))
                mode, peak = "up", s
    return peak, mode == "down", pivots
