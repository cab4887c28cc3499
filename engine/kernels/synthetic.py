"""numba kernels of the synthetic market generator (:mod:`engine.data.synthetic`).

Recursions that cannot be vectorised over time:

* :func:`ar1_filter`: an AR(1) filter per column.
* :func:`garch_sigma`: a unit-variance GARCH(1,1) volatility multiplier per column.
* :func:`stock_path`: the daily price path of every stock, with exchange rounding to 0.01 CNY, board price
  limits, suspensions (price frozen, the missed industry move is caught up on resumption, within the limit) and
  the cap-weighted constraint that ties stocks to their industry.

Numpy arrays and scalars in, arrays out. Slow pure-Python twins live in ``tests/test_synthetic_kernels.py``.
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit


@njit
def garch_sigma(z, alpha, beta):
    """Volatility multiplier ``s[t, j] = sqrt(h[t, j])`` of a unit-variance GARCH(1,1) driven by shocks ``z``.

    ``h[0] = 1``; ``h[t+1] = (1 - alpha - beta) + alpha * h[t] * z[t]**2 + beta * h[t]`` so that, for unit-variance
    shocks, the unconditional mean of ``h`` is 1. ``z`` is (T, N) float64 (NaN-free); ``alpha + beta < 1``.
    ``s[t]`` depends on ``z`` up to ``t-1`` only. Returns (T, N) float64, all > 0.
    """
    n_t, n_c = z.shape
    out = np.empty((n_t, n_c))
    omega = 1.0 - alpha - beta
    for j in range(n_c):
        h = 1.0
        for t in range(n_t):
            out[t, j] = np.sqrt(h)
            h = omega + alpha * h * z[t, j] * z[t, j] + beta * h
    return out


@njit
def ar1_filter(eps, phi):
    """``y[0] = eps[0]``; ``y[t] = phi * y[t-1] + eps[t]`` down each column of the (T, N) array ``eps``."""
    n_t, n_c = eps.shape
    out = np.empty((n_t, n_c))
    for j in range(n_c):
        y = 0.0
        for t in range(n_t):
            y = phi * y + eps[t, j]
            out[t, j] = y
    return out


@njit
def round_cent(v):
    """Exchange rounding of a price to 0.01 (half up); the 1e-6 guards against binary representation error."""
    return np.floor(v * 100.0 + 0.5 + 1e-6) / 100.0


@njit
def stock_path(g, x, ind, susp, lim, fs, p_list):
    """Daily closes and limit flags of all stocks.

    Inputs (T days, N stocks, K industries):
      g (T, K)      industry target simple return of day t
      x (T, N)      raw stock dispersion (simple return units) before the cap-weighted demeaning
      ind (T, N)    int64 industry of stock s on day t, -1 when not listed
      susp (T, N)   bool, suspended (only meaningful where listed and not on the listing day)
      lim (T, N)    price-limit fraction (0.1, 0.2, 0.05); <= 0 means no limit
      fs (T, N)     float shares
      p_list (N,)   close on the listing day (the first day with ind >= 0)
    Rule per day t, for a stock listed on t-1 and t ("in the index"), weights w = fs[t-1] * close[t-1]:
      xbar_k = sum(w * x) / sum(w) over in-index, not suspended members of industry k;
      R = acc * (1 + g_k) * (1 + x - xbar_k) - 1, with acc the product of (1 + g_k) over the suspended days just
      before (1 when none); close = round_cent(prev * (1 + R)) clipped to [lo, hi] = round_cent(prev * (1 -/+ lim)),
      never below 0.01; limit_up = close >= hi, limit_down = close <= lo. Suspended: close = prev, flags False.
    So, without limits, suspension and rounding, the cap-weighted mean of member returns is exactly g_k.
    Returns close (T, N) float64 (NaN when not listed), limit_up (T, N) bool, limit_down (T, N) bool.
    """
    n_t, n_s = x.shape
    n_k = g.shape[1]
    close = np.full((n_t, n_s), np.nan)
    up = np.zeros((n_t, n_s), dtype=np.bool_)
    down = np.zeros((n_t, n_s), dtype=np.bool_)
    acc = np.ones(n_s)
    wsum = np.zeros(n_k)
    xsum = np.zeros(n_k)
    for t in range(n_t):
        wsum[:] = 0.0
        xsum[:] = 0.0
        if t > 0:
            for s in range(n_s):
                k = ind[t, s]
                if k >= 0 and ind[t - 1, s] >= 0 and not susp[t, s]:
                    w = fs[t - 1, s] * close[t - 1, s]
                    wsum[k] += w
                    xsum[k] += w * x[t, s]
        for s in range(n_s):
            k = ind[t, s]
            if k < 0:
                continue
            if t == 0 or ind[t - 1, s] < 0:
                close[t, s] = p_list[s]
                acc[s] = 1.0
                continue
            prev = close[t - 1, s]
            if susp[t, s]:
                close[t, s] = prev
                acc[s] *= 1.0 + g[t, k]
                continue
            xbar = xsum[k] / wsum[k] if wsum[k] > 0.0 else 0.0
            r = acc[s] * (1.0 + g[t, k]) * (1.0 + x[t, s] - xbar) - 1.0
            acc[s] = 1.0
            new = round_cent(prev * (1.0 + r))
            if lim[t, s] > 0.0:
                hi = round_cent(prev * (1.0 + lim[t, s]))
                lo = round_cent(prev * (1.0 - lim[t, s]))
                if new >= hi:
                    new = hi
                    up[t, s] = True
                elif new <= lo:
                    new = lo
                    down[t, s] = True
            if new < 0.01:
                new = 0.01
            close[t, s] = new
    return close, up, down
