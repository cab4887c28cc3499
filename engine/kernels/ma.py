"""Batched moving-average timing kernels (numba): every window's trailing mean once, then the weights of all
(short, long) combinations of a sweep at once. ndarrays and scalars in, ndarrays out.

``rolling_means(values, windows)`` reproduces pandas' ``Series.rolling(n, min_periods=n).mean()`` **bit for bit**
(:func:`engine.kernels.rolling.mean_column`: the same Kahan-compensated add/remove updates as pandas' rolling mean,
including its guards), so a sweep's
weights equal those of :func:`engine.signals.basic.ma_timing` exactly, not just to rounding: a crossover decided
by the last bit of a mean cannot flip between a sweep row and a single run. The O(T) update per window makes all
windows together cost ``O(T * n_windows)`` regardless of window length.

``cross_weights(means, short_idx, long_idx, out, cols, code)`` writes the crossovers into a dense (T, P, N)
target-weight array: ``1.0`` where ``MA_short > MA_long`` at close t, else ``0.0`` (NaN means during the warm-up
compare False, i.e. cash), exactly ``(ma_s > ma_l).astype(float)``. ``cross_events(...)`` gives the same crossovers,
lagged, directly as the portfolio kernel's target events (only the bars where a column's target changes), which is
what a sweep uses (:class:`engine.backtest.weightpaths.CrossPaths`): no (T, P, N) array is written.

No look-ahead: row t of every output uses input rows <= t only. The slow twin is pandas' rolling mean itself
(``tests/test_sweep_ma.py`` compares on random data with NaN gaps and constant runs).
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit
from engine.kernels.rolling import mean_column


@njit
def rolling_means(values, windows):
    """Trailing means of ``values`` (T,) float64 for each window length in ``windows`` (W,) int64 (each >= 1).

    Returns (T, W) float64 (a Fortran-ordered view: each window's column is contiguous, so ``.T`` is a C-contiguous
    (W, T) array for free): ``out[t, j]`` = mean of ``values[t - windows[j] + 1 .. t]`` when all ``windows[j]``
    values of that window are present (pandas ``min_periods = window``), else NaN. Warm-up: ``windows[j] - 1`` rows
    of NaN. NaN inputs are skipped in the running sums exactly like pandas does: each column is
    :func:`engine.kernels.rolling.mean_column`, the one rolling-mean implementation of the project.
    """
    T = values.shape[0]
    W = windows.shape[0]
    out = np.empty((W, T))                  # one contiguous row per window; returned transposed
    for j in range(W):
        mean_column(values, windows[j], windows[j], out[j])
    return out.T


@njit
def cross_weights(means, short_idx, long_idx, out, cols, code):
    """Fill ``out[:, cols[p], code]`` (out: (T, P_all, N) float64) with ``1.0`` where
    ``means[t, short_idx[p]] > means[t, long_idx[p]]``, else ``0.0``; other entries are left as they are.

    ``means`` (T, W) from :func:`rolling_means`; ``short_idx`` / ``long_idx`` / ``cols`` (P,) int64. A NaN on
    either side compares False (0.0, cash), as ``(ma_s > ma_l).astype(float)`` does.
    """
    T = means.shape[0]
    P = short_idx.shape[0]
    for i in range(T):
        for p in range(P):
            out[i, cols[p], code] = 1.0 if means[i, short_idx[p]] > means[i, long_idx[p]] else 0.0
    return out


@njit
def _cross_column(means_t, s, lo, first, j0, T, bars, vals, e):
    """Append the events of one (short, long) column from bar j0 on at index e; returns the new end."""
    prev = means_t[s, first + j0] > means_t[lo, first + j0]
    bars[e] = j0
    vals[e] = 1.0 if prev else 0.0
    e += 1
    for j in range(j0 + 1, T):
        now = means_t[s, first + j] > means_t[lo, first + j]
        if now != prev:
            bars[e] = j
            vals[e] = 1.0 if now else 0.0
            e += 1
            prev = now
    return e


@njit
def cross_events(means_t, short_idx, long_idx, valid, first, T, trade_bar0, code, n_codes):
    """Crossover weights as portfolio-kernel events (``engine.kernels.portfolio`` module docstring), without the
    dense (T, P, N) array: exactly ``dense_events`` of the targets :func:`cross_weights` + the backtester's lag give.

    ``means_t`` (W, T_all): :func:`rolling_means` transposed (one contiguous row per window). Bar j (0..T-1) trades
    the weight decided at row ``first + j`` (``first = i0 - lag``; a row < 0 is before the data: no target):
    ``1.0`` on ``code`` (of ``n_codes``) where ``MA_short > MA_long`` there, else ``0.0``. An event is the first
    decided row, then every change. Bar 0 is skipped unless ``trade_bar0``. A column with ``valid[p]``
    False has no events (no target). Returns ``(ptr, bars, weights)``. One pass; the event buffers grow by
    doubling (the column loop is a separate function: inlined next to the growth, it ran 8x slower)."""
    P = short_idx.shape[0]
    j0 = max(0 if trade_bar0 else 1, -first)
    ptr = np.zeros(P + 1, dtype=np.int64)
    cap = max(16, 8 * P)
    bars = np.empty(cap, dtype=np.int64)
    vals = np.empty(cap)
    e = 0
    for p in range(P):
        if valid[p] and j0 < T:
            if e + T - j0 > cap:                     # room for the worst case of this column
                cap = max(2 * cap, e + T - j0)
                nb = np.empty(cap, dtype=np.int64)
                nv = np.empty(cap)
                nb[:e] = bars[:e]
                nv[:e] = vals[:e]
                bars, vals = nb, nv
            e = _cross_column(means_t, short_idx[p], long_idx[p], first, j0, T, bars, vals, e)
        ptr[p + 1] = e
    weights = np.zeros((e, n_codes))
    weights[:, code] = vals[:e]
    return ptr, bars[:e].copy(), weights
