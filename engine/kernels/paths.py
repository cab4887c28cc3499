"""Kernels over dense weight paths (T, P, N) (engine.backtest.weightpaths)."""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit


@njit
def codes_held(w):
    """Indices of the codes (last axis of ``w``, any layout) that hold a non-zero, non-NaN weight in some row of
    some column: ``np.flatnonzero(np.nan_to_num(w).any(axis=(0, 1)))`` without the (T, P, N) copy (an infinite
    weight counts as held, as it does there)."""
    T, P, N = w.shape
    used = np.zeros(N, np.bool_)
    for t in range(T):
        for p in range(P):
            for j in range(N):
                x = w[t, p, j]
                if x != 0.0 and x == x:
                    used[j] = True
    return np.flatnonzero(used)
