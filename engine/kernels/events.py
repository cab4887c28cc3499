"""Target events of dense weight arrays for the simulation kernel (:mod:`engine.kernels.portfolio`).

``dense_events(target (T, P, N), trade_bar0)`` and ``lagged_events(w_all, first, T, trade_bar0, check)`` give
``(ptr (P+1,), bars (E,), weights (E, N))``: the bars where each portfolio's target changes and the target from
then on (an all-NaN row = no new target, a NaN inside a row = 0, a repeated row = no event); ``lagged_events`` reads
rows ``first ..`` of a larger array in place (the lag) and, with ``check``, validates each row as it goes.
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit


@njit
def _seen_rows(w_all, first, T, start):
    """(T, P) bool: bar j of column p reads a row of ``w_all`` (T_all, P, N) that is not all NaN, found down each
    code's column, when the codes are not the array's fastest axis (a frame's Fortran-ordered values: reading
    across a row would touch one cache line and page per code); else a (0, 0) array (the scan checks each row
    itself, stopping at its first value)."""
    _, P, N = w_all.shape
    if not (N > 1 and w_all.strides[2] > w_all.strides[0]):
        return np.zeros((0, 0), dtype=np.bool_)
    seen = np.zeros((T, P), dtype=np.bool_)
    j0 = max(start, -first)
    for p in range(P):
        for k in range(N):
            for j in range(j0, T):
                if not np.isnan(w_all[first + j, p, k]):
                    seen[j, p] = True
    return seen


@njit
def _scan_column(w_all, p, first, T, start, check, cur, bars, weights, e, write, seen):
    """Events of column p from bar ``start`` on (index e on; stored only if ``write``): bar j reads row
    ``first + j`` of ``w_all`` (T_all, P, N) (none before the data); its first row that is not all NaN
    (``seen[j, p]`` when :func:`_seen_rows` gave one, else checked here), then every later such row that differs from the target in force; NaN
    cells count as 0. With ``check``: -1e-12 < w < 0 counts as 0, and the scan returns -1 when a row is not clearly
    valid (an infinite value, w <= -1e-12, or a sum within 1e-12 of exceeding 1 + 1e-9), for the caller to check
    with numpy and report the rows."""
    N = w_all.shape[2]
    has = False
    for k in range(N):
        cur[k] = 0.0
    by_seen = seen.shape[0] > 0
    for j in range(max(start, -first), T):
        r = first + j
        if by_seen:
            if not seen[j, p]:
                continue
        else:
            all_nan = True
            for k in range(N):
                if not np.isnan(w_all[r, p, k]):
                    all_nan = False
                    break
            if all_nan:
                continue
        diff = not has
        total = 0.0
        for k in range(N):
            w = w_all[r, p, k]
            if np.isnan(w):
                w = 0.0
            elif check:
                if np.isinf(w) or w <= -1e-12:
                    return -1
                if w < 0.0:
                    w = 0.0
            total += w
            if w != cur[k]:
                diff = True
            cur[k] = w
        if check and total > 1.0 + 1e-9 - 1e-12:
            return -1
        if diff:
            has = True
            if write:
                bars[e] = j
                for k in range(N):
                    weights[e, k] = cur[k]
            e += 1
    return e


@njit
def lagged_events(w_all, first, T, trade_bar0, check):
    """Target events (module docstring) for T bars of dense weights ``w_all`` (T_all, P, N), bar j trading row
    ``first + j``, without a (T, P, N) copy (the rows that are not all NaN found first, in the array's memory order). With ``check`` they equal ``dense_events`` of
    ``engine.backtest.weightpaths.lagged_targets`` (the numpy clean and check), or ``ok`` is False: some row needs the numpy
    check (invalid or borderline) and the events are not usable. Bar 0 is skipped unless ``trade_bar0``.
    Returns ``(ptr, bars, weights, ok)``."""
    _, P, N = w_all.shape
    start = 0 if trade_bar0 else 1
    ptr = np.zeros(P + 1, dtype=np.int64)
    cur = np.zeros(N)
    bars = np.zeros(1, dtype=np.int64)
    weights = np.zeros((1, N))
    seen = _seen_rows(w_all, first, T, start)
    for p in range(P):
        e = _scan_column(w_all, p, first, T, start, check, cur, bars, weights, ptr[p], False, seen)
        if e < 0:
            return ptr, bars, weights, False
        ptr[p + 1] = e
    bars = np.empty(ptr[P], dtype=np.int64)
    weights = np.empty((ptr[P], N))
    for p in range(P):
        _scan_column(w_all, p, first, T, start, check, cur, bars, weights, ptr[p], True, seen)
    return ptr, bars, weights, True


@njit
def dense_events(target, trade_bar0):
    """Events ``(ptr, bars, weights)`` (module docstring) of dense (T, P, N) targets, row i = bar i, taken as they
    are: per column its first row that is not all NaN, then every later such row that differs from the target in
    force (NaN cells count as 0). Rows of bar 0 are skipped unless ``trade_bar0``."""
    ptr, bars, weights, _ = lagged_events(target, 0, target.shape[0], trade_bar0, False)
    return ptr, bars, weights
