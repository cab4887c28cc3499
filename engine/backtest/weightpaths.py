"""Weight paths: the target weights of P portfolios (sweep columns) in the form the backtest kernel consumes.

:func:`engine.backtest.run_backtest_many` takes either a dense ``(T_all, P, N)`` float array (wrapped in
:class:`DensePaths`) or any object with this interface:

* ``shape`` = ``(T_all, P, N)``: aligned to ``panel.dates`` x (portfolio) x ``panel.codes``;
* ``take(cols)``: the paths of columns ``cols``; ``codes_used()``: indices of codes some column ever holds;
  ``restrict(idx)``: the same paths on the codes ``idx`` only (every code used must be in ``idx``);
* ``events(dates, i0, i1, lag, trade_bar0)``: the kernel's target events (``engine.kernels.portfolio``) for bars
  ``i0..i1`` of ``dates``, bar j trading the weights decided at row ``i0 + j - lag``; checks the weight values
  (finite, >= 0, row sums <= 1) and raises :class:`~engine.errors.DataError` naming the dates otherwise;
* ``dense()``: the ``(T_all, P, N)`` array (tests, small sweeps).

:class:`CrossPaths` is the compact form of ``ma_timing`` sweeps: all columns are crossovers of a few shared moving
averages, so their events come straight from the means (:func:`engine.kernels.ma.cross_events`) and no
``T x P x N`` array is ever written; its events equal those of its dense form exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import _fmt_dates
from engine.errors import DataError
from engine.kernels.ma import cross_events, cross_weights
from engine.kernels.portfolio import dense_events, lagged_events


def clean_targets(target: np.ndarray, where) -> np.ndarray:
    """In place on (T, P, N): NaN -> 0 in rows that are not all NaN; reject inf, negative weights and row sums
    above 1 (``where(mask (T, P))`` names the rows); -1e-12 < w < 0 rounding noise -> 0."""
    inf = np.isinf(target).any(axis=-1)
    if inf.any():
        raise DataError(f"weights: infinite values decided on {where(inf)}; weights must be finite or empty")
    nan = np.isnan(target)
    nan &= ~nan.all(axis=-1, keepdims=True)
    target[nan] = 0.0
    neg = (target < -1e-12).any(axis=-1)
    if neg.any():
        raise DataError(f"weights: negative weights decided on {where(neg)}; short positions are not supported")
    over = target.sum(axis=-1) > 1.0 + 1e-9
    if over.any():
        raise DataError(f"weights: weights sum above 1 on {where(over)}; leverage is not supported (rest is cash)")
    np.maximum(target, 0.0, out=target)      # NaN stays NaN
    return target


def lagged_targets(w_all: np.ndarray, dates: pd.DatetimeIndex, i0: int, i1: int, lag: int) -> np.ndarray:
    """Dense kernel targets (T, P, N) for bars i0..i1 from weights (T_all, P, N) aligned to ``dates``: one fresh
    array. Bar j trades the weights decided at row j - lag (NaN = no target before the data); cleaned by
    :func:`clean_targets`."""
    T = i1 - i0 + 1
    target = np.full((T,) + w_all.shape[1:], np.nan)
    first = i0 - lag
    lo = max(0, -first)
    target[lo:] = w_all[first + lo:first + T]

    def where(mask):   # mask (T, P) over target rows -> decision dates (and sweep columns)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        return _fmt_dates(dates[first + rows]) + (f" (columns {cols[:5].tolist()})" if mask.shape[1] > 1 else "")

    return clean_targets(target, where)


class DensePaths:
    """Weight paths held as a dense (T_all, P, N) float64 array (module docstring)."""

    def __init__(self, w: np.ndarray):
        self.w = w
        self.shape = w.shape

    def take(self, cols) -> "DensePaths":
        if isinstance(cols, range) and cols.step == 1:
            return DensePaths(self.w[:, cols.start:cols.stop, :])       # a view
        return DensePaths(self.w[:, list(cols), :])

    def codes_used(self) -> np.ndarray:
        return np.flatnonzero(np.nan_to_num(self.w).any(axis=(0, 1)))

    def restrict(self, idx) -> "DensePaths":
        return DensePaths(np.ascontiguousarray(self.w[:, :, idx]))

    def events(self, dates, i0, i1, lag, trade_bar0):
        w = self.w
        if w.dtype == np.float64 and w.ndim == 3:                   # one numba pass, no (T, P, N) copy
            ptr, bars, weights, ok = lagged_events(w, i0 - lag, i1 - i0 + 1, trade_bar0, True)
            if ok:
                return ptr, bars, weights
        # invalid or borderline rows: the reference path checks with numpy and names them
        return dense_events(lagged_targets(w, dates, i0, i1, lag), trade_bar0)

    def dense(self) -> np.ndarray:
        return self.w


class CrossPaths:
    """``ma_timing`` columns as crossovers: weight 1.0 on code ``code`` where MA(short) > MA(long) at close t, else
    0.0 (NaN means compare False), decided on every row of the panel.

    ``means`` (T_all, W) from :func:`engine.kernels.ma.rolling_means`; ``short_idx`` / ``long_idx`` (P,) int64 index
    its columns; ``n_codes`` = the panel's code count; ``valid`` (P,) bool (default all): an invalid column (a
    parameter set the sweep skips) has no target at all (all NaN in :meth:`dense`). Values are 0/1 by
    construction, so there is nothing to check."""

    def __init__(self, means: np.ndarray, short_idx: np.ndarray, long_idx: np.ndarray, code: int, n_codes: int,
                 valid: np.ndarray | None = None, means_t: np.ndarray | None = None):
        self.means = means
        self.valid = np.ones(len(short_idx), dtype=np.bool_) if valid is None else np.asarray(valid, dtype=np.bool_)
        self.means_t = np.ascontiguousarray(means.T) if means_t is None else means_t
        self.short_idx = np.ascontiguousarray(short_idx, dtype=np.int64)
        self.long_idx = np.ascontiguousarray(long_idx, dtype=np.int64)
        self.code, self.n_codes = int(code), int(n_codes)
        self.shape = (means.shape[0], len(self.short_idx), self.n_codes)

    def take(self, cols) -> "CrossPaths":
        cols = np.asarray(list(cols), dtype=np.int64)
        return CrossPaths(self.means, self.short_idx[cols], self.long_idx[cols], self.code, self.n_codes,
                          self.valid[cols], self.means_t)

    def codes_used(self) -> np.ndarray:
        return np.array([self.code])

    def restrict(self, idx) -> "CrossPaths":
        idx = list(np.asarray(idx).tolist())
        if self.code not in idx:
            raise ValueError(f"CrossPaths.restrict: code index {self.code} is used and must be kept")
        return CrossPaths(self.means, self.short_idx, self.long_idx, idx.index(self.code), len(idx), self.valid,
                          self.means_t)

    def events(self, dates, i0, i1, lag, trade_bar0):
        return cross_events(self.means_t, self.short_idx, self.long_idx, self.valid, i0 - lag, i1 - i0 + 1, trade_bar0,
                            self.code, self.n_codes)

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape)
        cross_weights(self.means, self.short_idx, self.long_idx, out, np.arange(self.shape[1], dtype=np.int64),
                      self.code)
        out[:, ~self.valid, :] = np.nan
        return out


def as_paths(weights) -> DensePaths | CrossPaths:
    """A weight-paths object for ``weights`` (an ndarray is wrapped in :class:`DensePaths`)."""
    if hasattr(weights, "events"):
        return weights
    return DensePaths(np.asarray(weights, dtype=float))
