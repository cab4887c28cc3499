"""Rolling-window kernels: rank percentile, first-principal-component variance share, moving averages.

All functions take float64 ndarrays (rows = dates in ascending order, columns = series) and return float64
ndarrays of the same number of rows. NaN marks a missing observation. Row ``t`` of every output depends on
input rows ``<= t`` only (no look-ahead): the window at ``t`` is rows ``(t - window, t]``, i.e. the last
``window`` rows including ``t`` (fewer at the start of the sample).

NaN convention (shared by all kernels here):

* a NaN row is excluded from the window's count and statistics; the window is still the last ``window``
  *rows* (it does not reach further back to find ``window`` valid values);
* ``min_periods`` counts the valid observations in the window; below it the output is NaN.

The slow, obviously-correct twins of these kernels are in ``tests/naive_rolling.py``.
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit

_PCA_TOL = 1e-11          # power iteration stops when ||A v - lam v|| <= _PCA_TOL * lam
_PCA_MAX_ITER = 60        # then falls back to a full LAPACK eigen decomposition
_REFRESH = 1024          # the running sums are recomputed exactly every this many rows
_ZERO_VAR = 1e-12         # a column whose window variance is <= this * its mean square is treated as constant


@njit
def rolling_rank_pct(x, window, min_periods):
    """Rolling rank percentile, per column.

    ``out[t, j] = #{s in (t-window, t] : x[s, j] valid and x[s, j] <= x[t, j]} / #{valid x[s, j] in the window}``

    * Bounds: ``(0, 1]``; ``1`` means ``x_t`` is the window maximum. Ties count as ``<=`` (a tie with the
      maximum is 1). With a full window of valid values the result lies on the lattice ``k / window``; each
      NaN in the window lowers the denominator by one.
    * NaN when ``x[t, j]`` is NaN or the window holds fewer than ``min_periods`` valid values.
    * Warm-up: ``min_periods - 1`` rows (more if there are NaNs). Uses rows ``<= t`` only.
    * Cost ``O(rows * window * columns)``; fine for windows of a few thousand on a few dozen columns.
    """
    n, m = x.shape
    out = np.full((n, m), np.nan)
    mp = max(min_periods, 1)
    for j in range(m):
        for t in range(n):
            xt = x[t, j]
            if np.isnan(xt):
                continue
            lo = max(0, t - window + 1)
            cnt = 0
            le = 0
            for s in range(lo, t + 1):
                v = x[s, j]
                if not np.isnan(v):
                    cnt += 1
                    if v <= xt:
                        le += 1
            if cnt >= mp:
                out[t, j] = le / cnt
    return out


@njit
def mean_column(values, window, min_periods, out):
    """Trailing mean of one column ``values`` (T,) into ``out`` (T,), **bit for bit** pandas'
    ``Series.rolling(window, min_periods).mean()``: the same Kahan-compensated add/remove updates as pandas'
    ``roll_mean`` (one compensation for additions, one for removals), in the same order, with its guards (a window
    whose values are all equal returns that value; an all-non-negative window never returns a negative mean, an
    all-negative one never a positive mean; "negative" is the sign bit, as pandas tests it). NaNs are skipped; NaN
    where fewer than ``max(min_periods, 1)`` values are in the window. O(T) for any window."""
    T = values.shape[0]
    mp = max(min_periods, 1)
    nobs = 0
    sum_x = 0.0
    neg_ct = 0
    comp_add = 0.0
    comp_rem = 0.0
    n_same = 0
    prev = values[0] if T > 0 else np.nan
    for i in range(T):
        if i >= window:               # remove values[i - window] (pandas: start[i-1] .. start[i])
            val = values[i - window]
            if not np.isnan(val):
                nobs -= 1
                y = -val - comp_rem
                t = sum_x + y
                comp_rem = t - sum_x - y
                sum_x = t
                if np.signbit(val):
                    neg_ct -= 1
        val = values[i]               # add values[i]
        if not np.isnan(val):
            nobs += 1
            y = val - comp_add
            t = sum_x + y
            comp_add = t - sum_x - y
            sum_x = t
            if np.signbit(val):
                neg_ct += 1
            if val == prev:
                n_same += 1
            else:
                n_same = 1
            prev = val
        if nobs >= mp and nobs > 0:
            r = sum_x / nobs
            if n_same >= nobs:
                r = prev
            elif neg_ct == 0 and r < 0:
                r = 0.0
            elif neg_ct == nobs and r > 0:
                r = 0.0
            out[i] = r
        else:
            out[i] = np.nan


@njit
def rolling_mean(x, window, min_periods):
    """Rolling mean per column over rows ``(t-window, t]``, NaNs skipped: bit for bit pandas
    ``DataFrame.rolling(window, min_periods).mean()`` (:func:`mean_column` on each column).

    NaN where fewer than ``max(min_periods, 1)`` valid values are in the window (a NaN ``x_t`` itself still
    gets the mean of the other values, as in pandas). Bounds: within the window's min and max.
    Warm-up ``min_periods - 1`` rows. O(rows * columns).
    """
    n, m = x.shape
    out = np.empty((n, m))
    col = np.empty(n)
    for j in range(m):
        mean_column(np.ascontiguousarray(x[:, j]), window, min_periods, col)
        out[:, j] = col
    return out


@njit
def ema(x, span, min_periods):
    """Exponential moving average per column with ``alpha = 2 / (span + 1)``, recursive form
    ``y_t = alpha * x_t + (1 - alpha) * y_{t-1}`` started at the first valid value; NaN inputs are skipped
    (the state carries over them). Equals pandas ``ewm(span=span, adjust=False, ignore_na=True,
    min_periods=min_periods).mean()``.

    NaN until ``max(min_periods, 1)`` valid values have been seen. Bounds: within the range of the inputs
    seen so far. Uses rows ``<= t`` only.
    """
    n, m = x.shape
    out = np.full((n, m), np.nan)
    alpha = 2.0 / (span + 1.0)
    mp = max(min_periods, 1)
    for j in range(m):
        y = np.nan
        cnt = 0
        for t in range(n):
            v = x[t, j]
            if not np.isnan(v):
                cnt += 1
                if cnt == 1:
                    y = v
                else:
                    y = alpha * v + (1.0 - alpha) * y
            if cnt >= mp:
                out[t, j] = y
    return out


@njit
def _window_moments(z, lo, hi, mu, C):
    """Exact (two-pass) column means and centred co-moment matrix of rows [lo, hi) of z."""
    m = z.shape[1]
    nr = hi - lo
    for i in range(m):
        acc = 0.0
        for r in range(lo, hi):
            acc += z[r, i]
        mu[i] = acc / nr
    C[:, :] = 0.0
    dev = np.empty(m)
    for r in range(lo, hi):
        for i in range(m):
            dev[i] = z[r, i] - mu[i]
        for i in range(m):
            di = dev[i]
            if di != 0.0:
                for j in range(m):
                    C[i, j] += di * dev[j]


@njit
def _corr_of_kept(C, d, k):
    """The k x k correlation matrix D C D of the columns with d > 0 (d = 1 / sqrt(C_jj))."""
    idx = np.nonzero(d > 0.0)[0]
    R = np.empty((k, k))
    for a_ in range(k):
        ia = idx[a_]
        for b_ in range(k):
            ib = idx[b_]
            R[a_, b_] = C[ia, ib] * d[ia] * d[ib]
    return R


@njit
def _matvec_rows(C, u, js, nz, y):
    """``y[i] += C[j, i] * u[j]`` over the rows ``j = js[0 .. nz-1]``, adding the terms of each ``y[i]`` in the
    order of ``js`` (so the same additions in the same order as one row at a time), four rows per pass over ``y``
    (the pass is memory-bound: C does not fit in a core's L2 cache for a few hundred columns)."""
    m = y.shape[0]
    q = 0
    while q + 4 <= nz:
        j0, j1, j2, j3 = js[q], js[q + 1], js[q + 2], js[q + 3]
        u0, u1, u2, u3 = u[j0], u[j1], u[j2], u[j3]
        c0, c1, c2, c3 = C[j0], C[j1], C[j2], C[j3]
        for i in range(m):
            s = y[i]
            s += c0[i] * u0
            s += c1[i] * u1
            s += c2[i] * u2
            s += c3[i] * u3
            y[i] = s
        q += 4
    while q < nz:
        j = js[q]
        uj = u[j]
        cj = C[j]
        for i in range(m):
            y[i] += cj[i] * uj
        q += 1


@njit
def rolling_pca_share(r, window, min_periods, min_assets, top_k=1):
    """First principal component's share of variance of the correlation matrix, over a rolling window
    (``top_k > 1``: the share of the ``top_k`` largest components together).

    For each row ``t``: take rows ``(t-window, t]`` of ``r`` (a ``dates x assets`` array, e.g. returns);
    keep the columns with no NaN in those rows and non-zero variance; if at least ``max(min_assets, 1)``
    columns remain and the window has at least ``max(min_periods, 2)`` rows, ``out[t] = lambda_1(Corr) / k``
    where ``Corr`` is their ``k x k`` sample correlation matrix. Otherwise NaN. A column counts as constant
    when its window variance is <= 1e-12 x its mean square.

    * Bounds: ``[1/k, 1]``. Warm-up: ``min_periods - 1`` rows (a column joins once it has a complete window).
    * Uses rows ``<= t`` only (the warm start and the refresh schedule depend on ``t`` only).
    * Method: the window's column means and centred co-moment matrix are updated when row ``t`` enters and row
      ``t - window`` leaves (Welford up/down-dating, NaN entered as 0: exact for the complete columns, which
      are the only ones used), recomputed two-pass every 1024 rows to stop drift. ``lambda_1`` by power
      iteration on ``D^-1/2 Cov D^-1/2`` warm-started from the previous row's eigenvector, stopped when
      ``||A v - lambda v|| <= 1e-11 * lambda``; after 60 iterations without convergence (no spectral gap), or
      if the result is below 1 (so not the largest eigenvalue), a full ``np.linalg.eigvalsh`` of the
      correlation matrix is used instead. ``top_k > 1`` always uses ``eigvalsh`` and sums the ``min(top_k, k)``
      largest eigenvalues.
    * Accuracy: the co-moments carry an absolute error of about 1e-16 x the largest squared deviation since
      the last refresh, so ``out`` matches ``eigvalsh(np.corrcoef(...))`` to ~1e-12 relative for return windows;
      only a window whose variance collapses far below recent levels (e.g. 2 nearly equal values) loses digits.
    """
    n, m = r.shape
    out = np.full(n, np.nan)
    z = np.where(np.isnan(r), 0.0, r)
    isn = np.isnan(r)
    C = np.zeros((m, m))
    mu = np.zeros(m)
    da = np.zeros(m)
    dr = np.zeros(m)
    nan_cnt = np.zeros(m, np.int64)
    v = np.zeros(m)
    d = np.zeros(m)
    u = np.zeros(m)
    y = np.zeros(m)
    js = np.zeros(m, np.int64)
    mp = max(min_periods, 2)
    ma = max(min_assets, 1)
    for t in range(n):
        for j in range(m):
            if isn[t, j]:
                nan_cnt[j] += 1
        out_row = t - window
        if out_row >= 0:
            for j in range(m):
                if isn[out_row, j]:
                    nan_cnt[j] -= 1
        lo = max(0, t - window + 1)
        nw = t + 1 - lo
        if out_row >= 0 and (t + 1) % _REFRESH == 0:
            _window_moments(z, lo, t + 1, mu, C)
        else:
            n0 = t - max(0, t - window)          # rows in the window before row t enters
            ca = n0 / (n0 + 1.0)
            for i in range(m):
                da[i] = z[t, i] - mu[i]
                mu[i] += da[i] / (n0 + 1.0)
            if out_row >= 0:                     # n0 + 1 -> n0 rows
                cr = (n0 + 1.0) / n0
                for i in range(m):
                    dr[i] = z[out_row, i] - mu[i]
                    mu[i] -= dr[i] / n0
                for i in range(m):
                    ai = ca * da[i]
                    bi = cr * dr[i]
                    for j in range(m):
                        C[i, j] += ai * da[j] - bi * dr[j]
            else:
                for i in range(m):
                    ai = ca * da[i]
                    for j in range(m):
                        C[i, j] += ai * da[j]
        if nw < mp:
            continue
        k = 0
        for j in range(m):
            d[j] = 0.0
            if nan_cnt[j] == 0:
                var = C[j, j] / nw
                if var > 0.0 and var > _ZERO_VAR * (var + mu[j] * mu[j]):
                    d[j] = 1.0 / np.sqrt(C[j, j])
                    k += 1
        if k < ma:
            continue
        if k == 1:
            out[t] = 1.0
            continue
        if top_k > 1:
            ev = np.linalg.eigvalsh(_corr_of_kept(C, d, k))
            acc = 0.0
            for q in range(min(top_k, k)):
                acc += ev[k - 1 - q]
            out[t] = acc / k
            continue
        # warm start: the previous row's vector on today's columns plus 1e-6 x a fixed generic positive
        # vector (not the uniform one: that is an exact eigenvector of equicorrelated blocks, maybe not the top)
        nv = 0.0
        for j in range(m):
            if d[j] > 0.0:
                v[j] = v[j] + 1e-6 * (1.0 + 0.3 * np.cos(1.7 * j + 0.5)) / np.sqrt(k)
            else:
                v[j] = 0.0
            nv += v[j] * v[j]
        v /= np.sqrt(nv)
        lam = np.nan
        converged = False
        for _ in range(_PCA_MAX_ITER):
            # y = D C D v with D = diag(1 / sqrt(C_jj)): the correlation matrix times v; column-wise loop
            nz = 0
            for j in range(m):
                u[j] = d[j] * v[j]
                y[j] = 0.0
                if u[j] != 0.0:
                    js[nz] = j
                    nz += 1
            _matvec_rows(C, u, js, nz, y)
            lam = 0.0
            for i in range(m):
                y[i] = d[i] * y[i]
                lam += v[i] * y[i]
            res = 0.0
            ny = 0.0
            for i in range(m):
                e = y[i] - lam * v[i]
                res += e * e
                ny += y[i] * y[i]
            if ny == 0.0:
                break
            ny = np.sqrt(ny)
            for i in range(m):
                v[i] = y[i] / ny
            if np.sqrt(res) <= _PCA_TOL * lam:
                converged = True
                break
        if not converged or lam < 1.0 - 1e-9:    # a correlation matrix has lambda_1 >= trace / k = 1
            lam = np.linalg.eigvalsh(_corr_of_kept(C, d, k))[-1]
            v[:] = 0.0
        out[t] = lam / k
    return out
