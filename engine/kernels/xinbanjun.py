"""Kernels of the 新半军 indicators (seed report 004, methodology §4): constrained rolling regressions and
zigzag drawdown episodes.

* :func:`capped_nnls` solves ``min ||y - X w||^2`` subject to ``w >= 0`` and ``sum(w) <= cap`` from the normal
  equations ``G = X'X``, ``c = X'y``: a Lawson-Hanson active-set NNLS (Bro & de Jong's Gram-matrix form); when its
  solution sums to more than ``cap``, the sum constraint is active and the solution is ``nnls(G, c - lam 1)`` for
  the multiplier ``lam > 0`` at which the sum equals ``cap`` (the sum is continuous and non-increasing in ``lam``),
  found by a safeguarded Newton/bisection search and polished by solving the KKT system on the free set exactly.
* :func:`rolling_capped_nnls` applies it to the rows ``(t - window, t]`` of every date (rows <= t only).
* :func:`zigzag_drawdowns` marks, causally, the peak of the current drawdown and completed corrections.

Naive twins: ``tests/naive_xinbanjun.py`` (all active sets enumerated; a from-scratch zigzag per date).
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit

_TOL = 1e-13          # relative tolerance of the KKT checks (times the scale of G and c)
_MAX_OUTER = 200      # active-set iterations (n <= a few dozen regressors)
_MAX_LAM = 200        # multiplier search iterations


@njit
def _solve_free(G, c, free, k):
    """Solve G[F, F] s = c[F] for the first k indices in ``free``; returns the full-length s (0 off F)."""
    n = G.shape[0]
    A = np.empty((k, k))
    b = np.empty(k)
    for a in range(k):
        b[a] = c[free[a]]
        for e in range(k):
            A[a, e] = G[free[a], free[e]]
    s = np.zeros(n)
    if k == 0:
        return s
    x = np.linalg.solve(A, b)
    for a in range(k):
        s[free[a]] = x[a]
    return s


@njit
def nnls_gram(G, c):
    """``argmin 0.5 w'Gw - c'w`` subject to ``w >= 0`` (G symmetric positive definite), Lawson-Hanson."""
    n = G.shape[0]
    w = np.zeros(n)
    passive = np.zeros(n, dtype=np.bool_)
    scale = 0.0
    for i in range(n):
        scale = max(scale, abs(c[i]), G[i, i])
    tol = _TOL * max(scale, 1e-300) * n
    free = np.empty(n, dtype=np.int64)
    for _ in range(_MAX_OUTER):
        grad = c - G @ w
        j = -1
        best = tol
        for i in range(n):
            if not passive[i] and grad[i] > best:
                best = grad[i]
                j = i
        if j < 0:
            break
        passive[j] = True
        for _inner in range(_MAX_OUTER):
            k = 0
            for i in range(n):
                if passive[i]:
                    free[k] = i
                    k += 1
            s = _solve_free(G, c, free, k)
            ok = True
            for a in range(k):
                if s[free[a]] <= 0.0:
                    ok = False
                    break
            if ok:
                w = s
                break
            alpha = 1.0
            for a in range(k):
                i = free[a]
                if s[i] <= 0.0:
                    r = w[i] / (w[i] - s[i])
                    if r < alpha:
                        alpha = r
            for i in range(n):
                w[i] = w[i] + alpha * (s[i] - w[i])
                if passive[i] and w[i] <= tol * 1e-3:
                    passive[i] = False
                    w[i] = 0.0
    return w


@njit
def _positive_set(w, free):
    """Write the indices with ``w > 0`` to the front of ``free``; return their count."""
    k = 0
    for i in range(w.shape[0]):
        if w[i] > 0.0:
            free[k] = i
            k += 1
    return k


@njit
def _kkt_sum_active(G, c, cap, w_guess):
    """Exact solution of the sum-active problem on the free set of ``w_guess``; (w, lam, ok)."""
    n = G.shape[0]
    free = np.empty(n, dtype=np.int64)
    k = _positive_set(w_guess, free)
    w = np.zeros(n)
    if k == 0:
        return w, 0.0, False
    A = np.zeros((k + 1, k + 1))
    b = np.zeros(k + 1)
    for a in range(k):
        b[a] = c[free[a]]
        A[a, k] = 1.0
        A[k, a] = 1.0
        for e in range(k):
            A[a, e] = G[free[a], free[e]]
    b[k] = cap
    x = np.linalg.solve(A, b)
    lam = x[k]
    for a in range(k):
        if x[a] < 0.0:
            return w, lam, False
        w[free[a]] = x[a]
    if lam < 0.0:
        return w, lam, False
    grad = c - lam - G @ w
    scale = 0.0
    for i in range(n):
        scale = max(scale, abs(c[i]), G[i, i])
    for i in range(n):
        if w[i] == 0.0 and grad[i] > 1e-9 * max(scale, 1e-300):
            return w, lam, False
    return w, lam, True


@njit
def capped_nnls(G, c, cap):
    """``argmin 0.5 w'Gw - c'w`` subject to ``w >= 0``, ``sum(w) <= cap`` (see the module doc)."""
    n = G.shape[0]
    w = nnls_gram(G, c)
    if w.sum() <= cap * (1.0 + 1e-14):
        return w
    lo = 0.0
    hi = 0.0
    for i in range(n):
        hi = max(hi, c[i])
    lam = 0.0
    s = w.sum()
    free = np.empty(n, dtype=np.int64)
    shifted = np.empty(n)
    for _ in range(_MAX_LAM):
        # Newton step on the current free set: d sum / d lam = -1' G_FF^-1 1
        k = _positive_set(w, free)
        ones = np.zeros(n)
        for a in range(k):
            ones[free[a]] = 1.0
        d = _solve_free(G, ones, free, k).sum()
        nxt = lam + (s - cap) / d if d > 0.0 else 0.5 * (lo + hi)
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        lam = nxt
        for i in range(n):
            shifted[i] = c[i] - lam
        w = nnls_gram(G, shifted)
        s = w.sum()
        if abs(s - cap) <= 1e-15 * max(cap, 1.0):
            break
        if s > cap:
            lo = lam
        else:
            hi = lam
        if hi - lo <= 1e-17 * max(hi, 1e-300):
            break
    we, _lam, ok = _kkt_sum_active(G, c, cap, w)
    if ok:
        return we
    return w


@njit
def rolling_capped_nnls(y, X, window, min_periods, cap):
    """(T, n) weights: row t solves the capped NNLS of ``y`` on ``X`` over rows ``(t-window, t]`` that have no NaN
    in ``y`` or ``X``; NaN when fewer than ``max(min_periods, n)`` such rows. No intercept (the rest is cash)."""
    T, n = X.shape
    out = np.full((T, n), np.nan)
    mp = max(min_periods, n)
    for t in range(T):
        lo = max(0, t - window + 1)
        G = np.zeros((n, n))
        c = np.zeros(n)
        cnt = 0
        for s in range(lo, t + 1):
            bad = np.isnan(y[s])
            for i in range(n):
                if np.isnan(X[s, i]):
                    bad = True
            if bad:
                continue
            cnt += 1
            for i in range(n):
                c[i] += X[s, i] * y[s]
                for j in range(i, n):
                    G[i, j] += X[s, i] * X[s, j]
        if cnt < mp:
            continue
        for i in range(n):
            for j in range(i):
                G[i, j] = G[j, i]
        out[t] = capped_nnls(G, c, cap)
    return out


@njit
def zigzag_drawdowns(price, min_depth, rebound):
    """Causal drawdown state of a price series with NaN gaps (a NaN day keeps the previous state).

    Two states. UP: ``peak`` is the highest close since the last correction ended; when the close falls to
    ``<= peak * (1 - min_depth)`` a correction starts (state DOWN). DOWN: ``trough`` is the lowest close since the
    peak; when the close rises to ``>= trough * (1 + rebound)`` the correction ends on that day (it is recorded with
    its peak, trough and end row) and the state returns to UP with that day as the new peak.

    Returns ``peak_row`` (T,) int64: row of the current drawdown's peak (the day itself at a new high; -1 before
    the first valid close), ``down`` (T,) bool: inside a correction, and ``episodes`` (E, 3) int64 rows
    ``(peak, trough, end)`` of completed corrections in order of their end. Row t uses closes <= t only.
    """
    T = price.shape[0]
    peak_row = np.full(T, -1, dtype=np.int64)
    down = np.zeros(T, dtype=np.bool_)
    eps = np.empty((T, 3), dtype=np.int64)
    ne = 0
    peak = -1
    trough = -1
    state_down = False
    for t in range(T):
        p = price[t]
        if not np.isnan(p):
            if peak < 0:
                peak = t
            elif not state_down:
                if p > price[peak]:
                    peak = t
                elif p <= price[peak] * (1.0 - min_depth):
                    state_down = True
                    trough = t
            else:
                if p < price[trough]:
                    trough = t
                elif p >= price[trough] * (1.0 + rebound):
                    eps[ne, 0] = peak
                    eps[ne, 1] = trough
                    eps[ne, 2] = t
                    ne += 1
                    state_down = False
                    peak = t
        peak_row[t] = peak
        down[t] = state_down
    return peak_row, down, eps[:ne].copy()
