"""Numba kernels for the Shenwan L1 rotation and crowding signals (numpy in, numpy out).

* :func:`group_ols_slope` -- OLS slope of y on the position 0..n-1 inside each row group (a calendar month).
* :func:`industry_avg_corr` -- average pairwise Pearson correlation of constituent returns per industry per day,
  over a trailing window, with point-in-time membership.
* :func:`industry_concentration` -- per industry per day: share of the industry's amount traded by its top
  ``top_frac`` constituents, or the Herfindahl index of constituent amount shares.

The slow, obviously-correct twins are in ``tests/naive_industry.py``.
"""
from __future__ import annotations

import math

import numpy as np

from engine.kernels._jit import njit


@njit
def group_ols_slope(y, bounds, min_obs):
    """Slope of ``y[r, j]`` on ``x = r - bounds[g]`` over the rows ``bounds[g] <= r < bounds[g+1]`` of group g.

    ``y``: float64 (T, N), NaN = missing (skipped; the other rows keep their position x, so a missing day does not
    shift the time axis). ``bounds``: int64 (G+1,), increasing, ``bounds[0] >= 0``, ``bounds[G] <= T``.
    Output float64 (G, N): the OLS slope per unit of x, NaN where fewer than ``max(min_obs, 2)`` valid rows or
    where all valid rows share one x.
    """
    G = bounds.shape[0] - 1
    N = y.shape[1]
    out = np.full((G, N), np.nan)
    need = max(min_obs, 2)
    for g in range(G):
        a = bounds[g]
        b = bounds[g + 1]
        for j in range(N):
            n = 0
            sx = 0.0
            sy = 0.0
            for r in range(a, b):
                v = y[r, j]
                if not math.isnan(v):
                    n += 1
                    sx += r - a
                    sy += v
            if n < need:
                continue
            mx = sx / n
            my = sy / n
            sxx = 0.0
            sxy = 0.0
            for r in range(a, b):
                v = y[r, j]
                if not math.isnan(v):
                    dx = (r - a) - mx
                    sxx += dx * dx
                    sxy += dx * (v - my)
            if sxx > 0.0:
                out[g, j] = sxy / sxx
    return out


@njit
def industry_avg_corr(ret, ind, n_ind, window, min_valid):
    """Average pairwise correlation of constituent returns per industry, per day.

    ``ret``: float64 (T, S) daily returns, NaN = missing. ``ind``: int (T, S), the industry index 0..n_ind-1 of
    stock s on day t (point-in-time membership), -1 = not a member of any industry. On day t the constituents are
    the members *on day t*; each uses its returns over rows ``t-window+1 .. t``. A constituent needs at least
    ``min_valid`` valid returns in that window and a non-zero variance; its missing days are filled with its own
    window mean (so, with no missing days, every pair is an exact Pearson correlation over the window).
    Identity used (O(m * window) per industry instead of O(m^2 * window)): with unit-norm centred vectors z_i,
    ``sum_{i != j} corr_ij = ||sum_i z_i||^2 - m``, so the average over pairs is ``(||sum z||^2 - m) / (m (m-1))``.
    Output float64 (T, n_ind) in [-1, 1]; NaN for the first ``window-1`` rows and where fewer than 2 constituents
    qualify.
    """
    T, S = ret.shape
    out = np.full((T, n_ind), np.nan)
    sumz = np.zeros((n_ind, window))
    cnt = np.zeros(n_ind, np.int64)
    rt = np.ascontiguousarray(ret.T)          # (S, T): a stock's window is contiguous in memory
    for t in range(window - 1, T):
        sumz[:, :] = 0.0
        cnt[:] = 0
        a = t - window + 1
        for s in range(S):
            k = ind[t, s]
            if k < 0:
                continue
            x = rt[s, a:t + 1]
            n = 0
            tot = 0.0
            for r in range(window):
                v = x[r]
                if not math.isnan(v):
                    n += 1
                    tot += v
            if n < min_valid or n < 2:
                continue
            mu = tot / n
            ss = 0.0
            for r in range(window):
                v = x[r]
                if not math.isnan(v):
                    ss += (v - mu) * (v - mu)
            if not ss > 0.0:
                continue
            inv = 1.0 / math.sqrt(ss)
            for r in range(window):
                v = x[r]
                if not math.isnan(v):
                    sumz[k, r] += (v - mu) * inv
            cnt[k] += 1
        for k in range(n_ind):
            m = cnt[k]
            if m < 2:
                continue
            q = 0.0
            for w in range(window):
                q += sumz[k, w] * sumz[k, w]
            val = (q - m) / (m * (m - 1.0))
            out[t, k] = min(1.0, max(-1.0, val))
    return out


@njit
def industry_concentration(amount, ind, n_ind, top_frac, method):
    """Intra-industry trading concentration per day.

    ``amount``: float64 (T, S) constituent traded value, NaN or <= 0 = not traded (ignored). ``ind``: int (T, S)
    industry index on day t, -1 = none. ``method`` 0: share of the industry's total amount traded by its
    ``ceil(top_frac * m)`` largest constituents (m = traded constituents that day; at least 1); ``method`` 1:
    Herfindahl index sum_i (a_i / sum a)^2. Output float64 (T, n_ind) in (0, 1]; NaN where no constituent traded.
    No window: day t uses day t only.
    """
    T, S = amount.shape
    out = np.full((T, n_ind), np.nan)
    counts = np.zeros(n_ind + 1, np.int64)
    buf = np.empty(S)
    fill = np.zeros(n_ind, np.int64)
    for t in range(T):
        counts[:] = 0
        for s in range(S):
            k = ind[t, s]
            v = amount[t, s]
            if k >= 0 and v > 0.0:
                counts[k + 1] += 1
        for k in range(n_ind):
            counts[k + 1] += counts[k]
        fill[:] = 0
        for s in range(S):
            k = ind[t, s]
            v = amount[t, s]
            if k >= 0 and v > 0.0:
                buf[counts[k] + fill[k]] = v
                fill[k] += 1
        for k in range(n_ind):
            a = counts[k]
            b = counts[k + 1]
            m = b - a
            if m == 0:
                continue
            seg = buf[a:b]
            tot = 0.0
            for i in range(m):
                tot += seg[i]
            if method == 1:
                h = 0.0
                for i in range(m):
                    h += (seg[i] / tot) * (seg[i] / tot)
                out[t, k] = h
            else:
                top = int(math.ceil(top_frac * m - 1e-12))
                if top < 1:
                    top = 1
                srt = np.sort(seg)
                part = 0.0
                for i in range(m - top, m):
                    part += srt[i]
                out[t, k] = part / tot
    return out
