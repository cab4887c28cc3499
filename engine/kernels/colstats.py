"""Per-column return statistics for sweeps (numba): the sums behind :mod:`engine.metrics_vec`.

``column_sums(returns, bench, costs, value, month_end, rf_d, use_costs)``

Inputs (base-row arrays as :func:`engine.backtest.run_backtest_many` returns them; row 0 = base day, excluded):
``returns`` (T, P), ``bench`` (T,), ``costs`` (T, P) currency, ``value`` (T, P) (cost return at row t =
``costs[t] / value[t - 1]``), ``month_end`` (T,) bool (row t is the last period row of its calendar month),
``rf_d`` (per-period risk-free rate), ``use_costs`` (False: costs/value are dummies, ``gross`` stays 1).

Output: (K, P) float64, rows named by :data:`SUMS`. Every sum runs strictly in row order, which is the order
bottleneck (used by empyrical) adds in, so the statistics built from them equal empyrical's to the last bit;
two-pass deviations use the sequential mean. Rows are the outer loop and columns the inner one (contiguous
access). ``bad`` = 1 for a column with a non-finite return (its other sums are meaningless).

``pairwise_cols(kind, returns, bench, turnover, mean, lo, n)`` sums rows ``lo .. lo + n - 1`` of each column in
numpy's pairwise order (8 accumulators within blocks of <= 128 rows, halves split at multiples of 8), which is what
``np.mean`` / ``np.std`` of a 1-D array do: ``kind`` 0 sums ``returns - bench`` (active return), 1 sums
``((returns - bench) - mean)^2``, 2 sums ``turnover``. So tracking error, information ratio and turnover match
:mod:`engine.metrics` bit for bit as well.
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit

PW_BLOCK = 128   # numpy's pairwise-summation block (numpy/_core/src/umath/loops_utils.h)

SUMS = ("growth", "gross", "sum_r", "ss_r", "sum_adj", "ss_adj", "adj_const", "sum_down2", "mdd", "best", "worst",
        "act_const", "beta", "alpha_sum", "win_days", "win_months", "m3", "m4", "bad")
WIN_TOL = 1e-12   # as engine.metrics.WIN_TOL


@njit
def column_sums(returns, bench, costs, value, month_end, rf_d, use_costs):
    """See the module docstring. Three passes over rows 1..T-1: sums, deviations around the means, alpha."""
    T, P = returns.shape
    n = T - 1
    K = 19
    out = np.zeros((K, P))
    growth = np.ones(P)
    gross = np.ones(P)
    cp = np.ones(P)
    peak = np.full(P, 100.0)
    mdd = np.zeros(P)
    mprod = np.ones(P)
    amax = np.full(P, -np.inf)
    amin = np.full(P, np.inf)
    xmax = np.full(P, -np.inf)
    xmin = np.full(P, np.inf)
    best = np.full(P, -np.inf)
    worst = np.full(P, np.inf)
    mb = 1.0
    sum_b = 0.0
    first_of_month = True
    for t in range(1, T):
        b = bench[t]
        sum_b += b
        mb = b + 1.0 if first_of_month else mb * (1.0 + b)
        for p in range(P):
            r = returns[t, p]
            if not np.isfinite(r):
                out[18, p] = 1.0
            g = 1.0 + r
            out[2, p] += r
            adj = r - rf_d
            out[4, p] += adj
            amax[p] = max(amax[p], adj)
            amin[p] = min(amin[p], adj)
            if adj < 0.0:
                out[7, p] += adj * adj
            if t == 1:
                growth[p] = g
                cp[p] = g
            else:
                growth[p] *= g
                cp[p] *= g
            if use_costs:
                c = costs[t, p] / value[t - 1, p]
                if t == 1:
                    gross[p] = g + c
                else:
                    gross[p] *= g + c
            e = cp[p] * 100.0
            peak[p] = max(peak[p], e)
            dd = (e - peak[p]) / peak[p]
            mdd[p] = min(mdd[p], dd)
            best[p] = max(best[p], r)
            worst[p] = min(worst[p], r)
            a = r - b
            xmax[p] = max(xmax[p], a)
            xmin[p] = min(xmin[p], a)
            if a > WIN_TOL:
                out[14, p] += 1.0
            mprod[p] = g if first_of_month else mprod[p] * g
            if month_end[t] and mprod[p] - mb > WIN_TOL:
                out[15, p] += 1.0
        first_of_month = month_end[t]
    mean_b = sum_b / n
    var_b = 0.0
    cov = np.zeros(P)
    for t in range(1, T):
        rb = bench[t] - mean_b
        var_b += rb * rb
        for p in range(P):
            r = returns[t, p]
            d = r - out[2, p] / n
            out[3, p] += d * d
            d2 = d * d
            out[16, p] += d2 * d
            out[17, p] += d2 * d2
            da = (r - rf_d) - out[4, p] / n
            out[5, p] += da * da
            cov[p] += rb * r
    var_b = var_b / n
    beta = np.empty(P)
    for p in range(P):
        beta[p] = (cov[p] / n) / var_b if var_b >= 1.0e-30 else np.nan
    for t in range(1, T):
        ab = bench[t] - rf_d
        for p in range(P):
            out[13, p] += (returns[t, p] - rf_d) - beta[p] * ab
    for p in range(P):
        out[0, p] = growth[p]
        out[1, p] = gross[p]
        out[6, p] = 1.0 if amax[p] == amin[p] else 0.0
        out[8, p] = mdd[p]
        out[9, p] = best[p]
        out[10, p] = worst[p]
        out[11, p] = 1.0 if xmax[p] == xmin[p] else 0.0
        out[12, p] = beta[p]
    return out


@njit
def _elem(kind, returns, bench, turnover, mean, t, p):
    if kind == 0:
        return returns[t, p] - bench[t]
    if kind == 1:
        d = (returns[t, p] - bench[t]) - mean[p]
        return d * d
    return turnover[t, p]


@njit
def _pw_leaf(kind, returns, bench, turnover, mean, lo, n):
    P = returns.shape[1]
    res = np.zeros(P)
    if n < 8:
        for i in range(n):
            for p in range(P):
                res[p] += _elem(kind, returns, bench, turnover, mean, lo + i, p)
        return res
    r = np.empty((8, P))
    for j in range(8):
        for p in range(P):
            r[j, p] = _elem(kind, returns, bench, turnover, mean, lo + j, p)
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            for p in range(P):
                r[j, p] += _elem(kind, returns, bench, turnover, mean, lo + i + j, p)
        i += 8
    for p in range(P):
        res[p] = ((r[0, p] + r[1, p]) + (r[2, p] + r[3, p])) + ((r[4, p] + r[5, p]) + (r[6, p] + r[7, p]))
    while i < n:
        for p in range(P):
            res[p] += _elem(kind, returns, bench, turnover, mean, lo + i, p)
        i += 1
    return res


@njit
def pairwise_cols(kind, returns, bench, turnover, mean, lo, n):
    """Per-column sums of rows lo .. lo+n-1 in numpy's pairwise order (see the module docstring). (P,) float64."""
    if n <= PW_BLOCK:
        return _pw_leaf(kind, returns, bench, turnover, mean, lo, n)
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_cols(kind, returns, bench, turnover, mean, lo, n2) + \
        pairwise_cols(kind, returns, bench, turnover, mean, lo + n2, n - n2)
