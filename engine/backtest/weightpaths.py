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
``T x P x N`` array is ever written; its events equal those of its dense form exactly. :class:`SparsePaths` is the
compact form of sparse rebalancing (stock portfolios): per portfolio its decision dates and the codes held, events
by :func:`engine.kernels.prep.sparse_events`, equal to its dense form's (tests/test_backtest_sparse.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import _fmt_dates
from engine.errors import DataError
from engine.kernels.ma import cross_events, cross_weights
from engine.kernels.paths import codes_held
from engine.kernels.events import dense_events, lagged_events
from engine.kernels.prep import sparse_events


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
        if self.w.dtype == np.float64 and self.w.ndim == 3:
            return codes_held(self.w)
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


class SparsePaths:
    """Sparse rebalancing targets: per portfolio, its decision dates and on each the codes held with their weights
    (every other code 0). Memory is proportional to the decisions x codes held, not T x P x N.

    Arrays (CSR-like): ``ptr`` (P+1,) -> portfolio p's decisions ``ptr[p]:ptr[p+1]``; ``rows`` (D,) their row
    indices into the panel's dates, strictly increasing per portfolio; ``row_ptr`` (D+1,) -> decision d's entries
    ``row_ptr[d]:row_ptr[d+1]`` of ``codes`` (Z,) int64 (indices into the panel's codes, unique per decision) and
    ``weights`` (Z,) float64. ``carry``: False = the dense form has all-NaN rows between decisions (no new target;
    what a signal deciding on month ends emits), True = each decision stays the target until the next (the dense
    form forward filled; a backtest starting later trades the decision in force when it opens).

    Weights are checked on construction as :func:`clean_targets` checks a dense row: finite, no w <= -1e-12 (smaller
    negatives count as 0), NaN = 0, sums at most 1 + 1e-9. Build with :meth:`from_long`, :meth:`from_dicts` or
    :meth:`from_rows`. ``columns``: the code labels of the code indices when they are a subset of the panel's codes
    (as a weight frame's columns; :func:`engine.backtest.run_backtest` then reports those columns), else None.
    """

    def __init__(self, ptr, rows, row_ptr, codes, weights, n_dates: int, n_codes: int, carry: bool = False,
                 dates=None, columns=None):
        self.ptr = np.ascontiguousarray(ptr, dtype=np.int64)
        self.rows = np.ascontiguousarray(rows, dtype=np.int64)
        self.row_ptr = np.ascontiguousarray(row_ptr, dtype=np.int64)
        self.codes = np.ascontiguousarray(codes, dtype=np.int64)
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.carry = bool(carry)
        self.shape = (int(n_dates), len(self.ptr) - 1, int(n_codes))
        self._dates = dates
        self.columns = None if columns is None else pd.Index(columns)   # code labels when not the panel's own
        self._check()

    def _where(self, d) -> str:
        row = int(self.rows[d])
        p = int(np.searchsorted(self.ptr, d, side="right") - 1)
        when = _fmt_dates([self._dates[row]]) if self._dates is not None else f"row {row}"
        return when + (f" (portfolio {p})" if self.shape[1] > 1 else "")

    def _check(self) -> None:
        T, P, N = self.shape
        w = self.weights
        if len(self.rows) and (self.rows.min() < 0 or self.rows.max() >= T):
            raise DataError(f"weights: decision rows must be in 0..{T - 1}")
        if len(self.codes) and (self.codes.min() < 0 or self.codes.max() >= N):
            raise DataError(f"weights: code indices must be in 0..{N - 1}")
        for p in range(P):
            r = self.rows[self.ptr[p]:self.ptr[p + 1]]
            if np.any(np.diff(r) <= 0):
                raise DataError(f"weights: portfolio {p}'s decision dates must be unique and increasing")
        dec = np.repeat(np.arange(len(self.rows)), np.diff(self.row_ptr))
        if len(dec):
            pair = dec * N + self.codes
            if len(np.unique(pair)) < len(pair):
                _, first = np.unique(pair, return_index=True)
                d = int(dec[np.setdiff1d(np.arange(len(pair)), first)[0]])
                raise DataError(f"weights: a code appears twice in the decision of {self._where(d)}")
        bad = np.isinf(w)
        if bad.any():
            raise DataError(f"weights: infinite values decided on {self._where(int(dec[np.flatnonzero(bad)[0]]))}; "
                            "weights must be finite or empty")
        bad = w < -1e-12
        if bad.any():
            raise DataError(f"weights: negative weights decided on {self._where(int(dec[np.flatnonzero(bad)[0]]))}; "
                            "short positions are not supported")
        clean = np.nan_to_num(w, nan=0.0)
        sums = np.zeros(len(self.rows))
        np.add.at(sums, dec, clean)
        for d in np.flatnonzero(sums > 1.0 + 1e-9 - 1e-12):        # borderline: the dense row's own numpy sum
            row = np.zeros(N)
            z = slice(self.row_ptr[d], self.row_ptr[d + 1])
            row[self.codes[z]] = clean[z]
            if row.sum() > 1.0 + 1e-9:
                raise DataError(f"weights: weights sum above 1 on {self._where(int(d))}; leverage is not supported "
                                "(rest is cash)")

    @classmethod
    def from_long(cls, frame: pd.DataFrame, dates, codes, carry: bool = False) -> "SparsePaths":
        """From a long frame with columns ``date, code, weight`` and optionally ``portfolio`` (any labels, in
        order of first appearance): one row per (decision, code held). ``dates`` / ``codes``: the panel's."""
        dates, codes = pd.DatetimeIndex(dates), pd.Index(codes)
        miss = {"date", "code", "weight"} - set(frame.columns)
        if miss:
            raise DataError(f"weights: a long frame needs columns date, code, weight (missing: {', '.join(sorted(miss))})")
        d = pd.DatetimeIndex(pd.to_datetime(frame["date"]))
        r = dates.get_indexer(d)
        if (r < 0).any():
            raise DataError(f"weights: dates {_fmt_dates(d[r < 0].unique())} are not trading days of the panel")
        k = codes.get_indexer(frame["code"])
        if (k < 0).any():
            raise DataError(f"weights: codes {', '.join(map(str, pd.unique(frame['code'][k < 0])[:5]))} are not in "
                            "the panel")
        port = pd.factorize(frame["portfolio"])[0] if "portfolio" in frame.columns else np.zeros(len(frame), int)
        try:
            w = pd.to_numeric(frame["weight"]).to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise DataError("weights: values must be numbers (fractions of portfolio value, 0.5 = 50%)") from None
        order = np.lexsort((k, r, port))
        port, r, k, w = port[order], r[order], k[order], w[order]
        P = int(port.max()) + 1 if len(port) else 1
        new = np.ones(len(r), dtype=bool)
        new[1:] = (port[1:] != port[:-1]) | (r[1:] != r[:-1])
        starts = np.flatnonzero(new)
        row_ptr = np.append(starts, len(r))
        ptr = np.searchsorted(port[starts], np.arange(P + 1), side="left")
        return cls(ptr, r[starts], row_ptr, k, w, len(dates), len(codes), carry, dates)

    @classmethod
    def from_dicts(cls, targets, dates, codes, carry: bool = False) -> "SparsePaths":
        """From one ``{date: {code: weight}}`` per portfolio (a list, or a single dict for one portfolio); an empty
        inner dict is a decision to hold only cash."""
        dates, codes = pd.DatetimeIndex(dates), pd.Index(codes)
        if isinstance(targets, dict):
            targets = [targets]
        ptr, rows, row_ptr, ks, ws = [0], [], [0], [], []
        for p, per in enumerate(targets):
            items = sorted((pd.Timestamp(d), dict(v)) for d, v in per.items())
            for d, held in items:
                r = dates.get_indexer([d])[0]
                if r < 0:
                    raise DataError(f"weights: date {_fmt_dates([d])} is not a trading day of the panel")
                k = codes.get_indexer(list(held))
                if (k < 0).any():
                    raise DataError(f"weights: codes {', '.join(map(str, np.asarray(list(held))[k < 0][:5]))} are "
                                    "not in the panel")
                rows.append(r)
                ks.extend(k.tolist())
                ws.extend(float(v) for v in held.values())
                row_ptr.append(len(ks))
            ptr.append(len(rows))
        return cls(ptr, rows, row_ptr, ks, ws, len(dates), len(codes), carry, dates)

    @classmethod
    def from_rows(cls, frame: pd.DataFrame, dates, carry: bool = True) -> "SparsePaths":
        """One portfolio from a decisions x codes frame: each row (a trading day of ``dates``) is a decision over
        the frame's columns (``columns``), 0 / NaN = not held, an all-zero row = cash; all-NaN rows are no
        decision. ``carry`` (default): each decision holds until the next, like the forward-filled frame."""
        dates = pd.DatetimeIndex(dates)
        r = dates.get_indexer(frame.index)
        if (r < 0).any():
            raise DataError(f"weights: dates {_fmt_dates(frame.index[r < 0])} are not trading days of the panel")
        keep, counts, k, w = decision_entries(frame.to_numpy(dtype=float, na_value=np.nan))
        row_ptr = np.concatenate([[0], np.cumsum(counts)])
        return cls([0, int(keep.sum())], r[keep], row_ptr, k, w, len(dates), frame.shape[1], carry, dates,
                   frame.columns)

    def take(self, cols) -> "SparsePaths":
        cols = np.asarray(list(cols), dtype=np.int64).reshape(-1)
        n_dec = self.ptr[cols + 1] - self.ptr[cols]
        dec = _ranges(self.ptr[cols], n_dec)               # the kept decisions, portfolio by portfolio
        n_ent = self.row_ptr[dec + 1] - self.row_ptr[dec]
        ent = _ranges(self.row_ptr[dec], n_ent)            # and their entries
        return SparsePaths(np.concatenate([[0], np.cumsum(n_dec)]), self.rows[dec],
                           np.concatenate([[0], np.cumsum(n_ent)]), self.codes[ent], self.weights[ent],
                           self.shape[0], self.shape[2], self.carry, self._dates, self.columns)

    def codes_used(self) -> np.ndarray:
        return np.unique(self.codes[np.nan_to_num(self.weights) > 0])

    def restrict(self, idx) -> "SparsePaths":
        idx = np.asarray(idx, dtype=np.int64)
        where = np.full(self.shape[2], -1, dtype=np.int64)
        where[idx] = np.arange(len(idx))
        new = where[self.codes]
        keep = new >= 0
        if (np.nan_to_num(self.weights[~keep]) > 0).any():
            raise ValueError("SparsePaths.restrict: a code that is held must be kept")
        row_ptr = np.concatenate([[0], np.cumsum(keep)])[self.row_ptr]
        return SparsePaths(self.ptr, self.rows, row_ptr, new[keep], self.weights[keep], self.shape[0], len(idx),
                           self.carry, self._dates, None if self.columns is None else self.columns[idx])

    def events(self, dates, i0, i1, lag, trade_bar0):
        return sparse_events(self.ptr, self.rows, self.row_ptr, self.codes, self.weights, self.shape[2], i0 - lag,
                             i1 - i0 + 1, trade_bar0, self.carry)

    def dense(self) -> np.ndarray:
        T, P, N = self.shape
        out = np.full((T, P, N), np.nan)
        for p in range(P):
            for d in range(self.ptr[p], self.ptr[p + 1]):
                r = self.rows[d]
                r1 = self.rows[d + 1] if (self.carry and d + 1 < self.ptr[p + 1]) else (T if self.carry else r + 1)
                z = slice(self.row_ptr[d], self.row_ptr[d + 1])
                row = np.zeros(N)
                row[self.codes[z]] = self.weights[z]
                out[r:r1, p, :] = row
        return out


def decision_entries(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A (decisions x codes) weight array as sparse entries, read as a dense weight frame is read: an all-NaN row
    is no decision (positions kept), a NaN or 0 cell is not held. Returns (kept rows mask, entries per kept row,
    column of each entry, its weight), row-major: per decision, codes in column order."""
    keep = ~np.isnan(vals).all(axis=1)
    vals = vals[keep]
    held = np.nan_to_num(vals, nan=0.0) != 0
    d, k = np.nonzero(held)
    return keep, held.sum(axis=1), k, vals[d, k]


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, s + n)`` for every (s, n), as one int64 array."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.repeat(starts - first, lengths) + np.arange(total, dtype=np.int64)


def as_paths(weights) -> DensePaths | CrossPaths | SparsePaths:
    """A weight-paths object for ``weights`` (an ndarray is wrapped in :class:`DensePaths`)."""
    if hasattr(weights, "events"):
        return weights
    return DensePaths(np.asarray(weights, dtype=float))
