"""Per-column return statistics for sweeps (numba): the sums behind :mod:`engine.metrics.vector`.

``column_sums(returns, bench, costs, value, month_end, rf_d, use_costs)``

Inputs (base-row arrays as :func:`engine.backtest.run_backtest_many` returns them, **transposed**: one contiguous
row per portfolio, which is the kernel's own (P, T) layout; bar 0 = base day, excluded): ``returns`` (P, T),
``bench`` (T,), ``costs`` (P, T) currency, ``value`` (P, T) (cost return at bar t =
``costs[:, t] / value[:, t - 1]``), ``month_end`` (T,) bool (bar t is the last period bar of its calendar month),
``rf_d`` (per-period risk-free rate), ``use_costs`` (False: costs/value are dummies, ``gross`` stays 1).

Output: (K, P) float64, rows named by :data:`SUMS`. Every sum runs strictly in row order, which is the order
bottleneck (used by empyrical) adds in, so the statistics built from them equal empyrical's to the last bit;
two-pass deviations use the sequential mean. Portfolios are the outer loop and bars the inner one (contiguous
access); the benchmark's own running quantities are computed once. ``bad`` = 1 for a column with a non-finite
return (its other sums are meaningless).

``pairwise_cols(kind, returns, bench, turnover, mean, lo, n)`` (same (P, T) layout) sums bars ``lo .. lo + n - 1``
of each portfolio in
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
        "act_const", "beta", "alpha_sum", "win_days", "win_months", "m3", "m4", "bad", "loss_days", "loss_months")
WIN_TOL = 1e-12   # as engine.metrics.WIN_TOL


@njit
def column_sums(returns, bench, costs, value, month_end, rf_d, use_costs):
    """See the module docstring. Per portfolio, three passes over bars 1..T-1: sums, deviations around the means,
    alpha. Returns (K, P) float64."""
    P, T = returns.shape
    n = T - 1
    K = 21
    out = np.zeros((K, P))
    # the benchmark alone: compounded month-to-date return, first-bar-of-month flags, deviations from its mean
    mb = np.ones(T)
    first = np.zeros(T, dtype=np.bool_)
    sum_b = 0.0
    first_of_month = True
    for t in range(1, T):
        b = bench[t]
        sum_b += b
        first[t] = first_of_month
        mb[t] = b + 1.0 if first_of_month else mb[t - 1] * (1.0 + b)
        first_of_month = month_end[t]
    mean_b = sum_b / n
    var_b = 0.0
    rb = np.zeros(T)
    for t in range(1, T):
        rb[t] = bench[t] - mean_b
        var_b += rb[t] * rb[t]
    var_b = var_b / n
    for p in range(P):
        r_p = returns[p]
        growth = 1.0
        gross = 1.0
        cp = 1.0
        peak = 100.0
        mdd = 0.0
        mprod = 1.0
        amax = -np.inf
        amin = np.inf
        xmax = -np.inf
        xmin = np.inf
        best = -np.inf
        worst = np.inf
        bad = 0.0
        sum_r = 0.0
        sum_adj = 0.0
        down2 = 0.0
        win_d = 0.0
        win_m = 0.0
        loss_d = 0.0
        loss_m = 0.0
        for t in range(1, T):
            r = r_p[t]
            if not np.isfinite(r):
                bad = 1.0
            g = 1.0 + r
            sum_r += r
            adj = r - rf_d
            sum_adj += adj
            amax = max(amax, adj)
            amin = min(amin, adj)
            if adj < 0.0:
                down2 += adj * adj
            if t == 1:
                growth = g
                cp = g
            else:
                growth *= g
                cp *= g
            if use_costs:
                c = costs[p, t] / value[p, t - 1]
                if t == 1:
                    gross = g + c
                else:
                    gross *= g + c
            e = cp * 100.0
            peak = max(peak, e)
            dd = (e - peak) / peak
            mdd = min(mdd, dd)
            best = max(best, r)
            worst = min(worst, r)
            a = r - bench[t]
            xmax = max(xmax, a)
            xmin = min(xmin, a)
            win_d += 1.0 if a > WIN_TOL else 0.0          # branch-free counts (random signs mispredict)
            loss_d += 1.0 if a < -WIN_TOL else 0.0
            mprod = g if first[t] else mprod * g
            if month_end[t]:
                dm = mprod - mb[t]
                win_m += 1.0 if dm > WIN_TOL else 0.0
                loss_m += 1.0 if dm < -WIN_TOL else 0.0
        ss_r = 0.0
        m3 = 0.0
        m4 = 0.0
        ss_adj = 0.0
        cov = 0.0
        for t in range(1, T):
            r = r_p[t]
            d = r - sum_r / n
            ss_r += d * d
            d2 = d * d
            m3 += d2 * d
            m4 += d2 * d2
            da = (r - rf_d) - sum_adj / n
            ss_adj += da * da
            cov += rb[t] * r
        beta = (cov / n) / var_b if var_b >= 1.0e-30 else np.nan
        alpha_sum = 0.0
        for t in range(1, T):
            alpha_sum += (r_p[t] - rf_d) - beta * (bench[t] - rf_d)
        out[0, p] = growth
        out[1, p] = gross
        out[2, p] = sum_r
        out[3, p] = ss_r
        out[4, p] = sum_adj
        out[5, p] = ss_adj
        out[6, p] = 1.0 if amax == amin else 0.0
        out[7, p] = down2
        out[8, p] = mdd
        out[9, p] = best
        out[10, p] = worst
        out[11, p] = 1.0 if xmax == xmin else 0.0
        out[12, p] = beta
        out[13, p] = alpha_sum
        out[14, p] = win_d
        out[15, p] = win_m
        out[16, p] = m3
        out[17, p] = m4
        out[18, p] = bad
        out[19, p] = loss_d
        out[20, p] = loss_m
    return out


@njit
def _elem(kind, returns, bench, turnover, mean, p, t):
    if kind == 0:
        return returns[p, t] - bench[t]
    if kind == 1:
        d = (returns[p, t] - bench[t]) - mean[p]
        return d * d
    return turnover[p, t]


@njit
def _pw_sum(kind, returns, bench, turnover, mean, p, lo, n):
    """numpy's pairwise sum (8 accumulators, blocks of <= 128) of bars lo..lo+n-1 of portfolio p."""
    if n > PW_BLOCK:
        n2 = n // 2
        n2 -= n2 % 8
        return _pw_sum(kind, returns, bench, turnover, mean, p, lo, n2) + \
            _pw_sum(kind, returns, bench, turnover, mean, p, lo + n2, n - n2)
    res = 0.0
    if n < 8:
        for i in range(n):
            res += _elem(kind, returns, bench, turnover, mean, p, lo + i)
        return res
    r0 = _elem(kind, returns, bench, turnover, mean, p, lo)
    r1 = _elem(kind, returns, bench, turnover, mean, p, lo + 1)
    r2 = _elem(kind, returns, bench, turnover, mean, p, lo + 2)
    r3 = _elem(kind, returns, bench, turnover, mean, p, lo + 3)
    r4 = _elem(kind, returns, bench, turnover, mean, p, lo + 4)
    r5 = _elem(kind, returns, bench, turnover, mean, p, lo + 5)
    r6 = _elem(kind, returns, bench, turnover, mean, p, lo + 6)
    r7 = _elem(kind, returns, bench, turnover, mean, p, lo + 7)
    i = 8
    while i < n - (n % 8):
        r0 += _elem(kind, returns, bench, turnover, mean, p, lo + i)
        r1 += _elem(kind, returns, bench, turnover, mean, p, lo + i + 1)
        r2 += _elem(kind, returns, bench, turnover, mean, p, lo + i + 2)
        r3 += _elem(kind, returns, bench, turnover, mean, p, lo + i + 3)
        r4 += _elem(kind, returns, bench, turnover, mean, p, lo + i + 4)
        r5 += _elem(kind, returns, bench, turnover, mean, p, lo + i + 5)
        r6 += _elem(kind, returns, bench, turnover, mean, p, lo + i + 6)
        r7 += _elem(kind, returns, bench, turnover, mean, p, lo + i + 7)
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += _elem(kind, returns, bench, turnover, mean, p, lo + i)
        i += 1
    return res


@njit
def pairwise_cols(kind, returns, bench, turnover, mean, lo, n):
    """Per-portfolio sums of bars lo .. lo+n-1 in numpy's pairwise order (module docstring). (P,) float64."""
    P = returns.shape[0]
    out = np.empty(P)
    for p in range(P):
        out[p] = _pw_sum(kind, returns, bench, turnover, mean, p, lo, n)
    return out
