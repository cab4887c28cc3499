"""Backtest input preparation (numba): the price window, tradability masks, weight checks and result rows of
:mod:`engine.backtest.core`, computed straight from the panel's arrays without pandas round trips.

Every function reads its (T_all, N_all) inputs in whatever layout pandas hands out (a frame's ``to_numpy()`` is
usually a read-only Fortran-ordered view: each code's column contiguous) through ``cols`` (int64 indices of the
columns wanted) and a row window ``i0..i0+T-1``, column by column, and writes Fortran-ordered (T, n) outputs, so
reads and writes run along contiguous columns (the backtest kernel reads them in that layout too: per bar it
touches only the held codes, and a held code's next bars are in the same cache line). The arithmetic is the numpy reference's, operation for operation (no
fastmath), so the results are the same to the last bit: ``tests/test_backtest_prep.py`` checks each against the
pandas/numpy code it replaces.
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit

@njit
def price_window(close_all, px_all, cols, i0, T, same, want_px=True):
    """``(close, exec_price, prev)``: ``close`` (T, n) F-ordered = the forward-filled close of rows i0..i0+T-1
    (filled from row 0 on, as ``DataFrame.ffill``), ``exec_price`` (T, n) = ``px_all`` where that close is known,
    else NaN (``same``: ``px_all`` is ``close_all``, i.e. the raw close), ``prev`` (n,) = the filled close of row
    i0-1 (NaN when i0 = 0 or none yet). ``want_px`` False: ``exec_price`` is a (0, 0) array (not needed)."""
    n = cols.shape[0]
    close = np.empty((n, T)).T
    px = np.empty((n, T)).T if want_px else np.empty((0, 0)).T
    prev = np.full(n, np.nan)
    price_window_into(close_all, px_all, cols, i0, T, same, want_px, close, px, prev)
    return close, px, prev


@njit
def price_window_into(close_all, px_all, cols, i0, T, same, want_px, close, px, prev):
    """:func:`price_window` writing into given outputs: ``close`` and (``want_px``) ``px`` (T, n) in any layout
    (Fortran order reads and writes along columns), ``prev`` (n,) filled with NaN. The caller allocates them with
    numpy, whose large arrays get transparent huge pages (numba's allocator does not: its fresh (T, N) output
    costs several times as much in page faults as the loop itself)."""
    for c in range(cols.shape[0]):
        _window_col(close_all, px_all, cols[c], i0, T, same, want_px, close, px, prev, c)


@njit
def _window_col(close_all, px_all, k, i0, T, same, want_px, close, px, prev, c):
    """Column c (code index k) of :func:`price_window_into`."""
    for r in range(i0 - 1, -1, -1):          # the carry into row i0: the last known close before it
        v = close_all[r, k]
        if not np.isnan(v):
            prev[c] = v
            break
    v_last = prev[c]
    for r in range(T):
        v = close_all[i0 + r, k]
        if np.isnan(v):
            v = v_last
        else:
            v_last = v
        close[r, c] = v
        if not want_px:
            continue
        if np.isnan(v):
            px[r, c] = np.nan
        elif same:
            px[r, c] = close_all[i0 + r, k]
        else:
            px[r, c] = px_all[i0 + r, k]


@njit
def _round_half_up(x, k):
    return np.floor(x * k + 0.5 + 1e-9) / k


@njit
def limit_masks_into(px, close, prev, board, board_pct, st, st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up, ipo_down,
                     flag_up, flag_down, cols, i0, mode_board, mode_flags, flags_only, susp, has_susp, can_buy,
                     can_sell):
    """``can_buy`` / ``can_sell`` (T, n) bool, written into the given arrays (any layout; the caller allocates
    them with numpy, Fortran-ordered, see :func:`price_window_into`), for trades at ``px`` (T, n) (NaN = halted),
    the rule of :func:`engine.backtest.limits.tradability`:

    * board rule (``mode_board``): limit price = round half up of ``prev close x (1 +/- pct)`` to the tick (``k =
      round(1 / tick)`` per column, ``tick_k``), pct = ``board_pct[board[c], r]``, replaced by ``st_pct[r]`` on
      ST days (``st`` (T, n) bool when ``has_st``) where it is 10% (``np.isclose``); no limit where pct <= 0 or
      the previous close (``close[r-1]``, ``prev`` for row 0) is unknown; rows ``ipo_lo[c] <= r < ipo_hi[c]`` use
      ``ipo_up`` / ``ipo_down`` (NaN = no limit) instead. Buys are blocked at ``px >= up - 1e-6``, sells at
      ``px <= down + 1e-6``;
    * data flags (``mode_flags``; ``flag_up`` / ``flag_down`` (T_all, N_all) through ``cols`` and rows from i0, or
      (0, 0) when the panel has none): where given (not NaN), ``flag > 0.5`` decides; where not given, the board
      rule stands, or no block when ``flags_only``;
    * halted: ``px`` NaN, or ``susp`` (T_all, N_all) > 0.5 when ``has_susp``.

    With no limit rule (neither ``mode_board`` nor ``mode_flags``) both masks are "not halted", and ``can_sell`` may be the same
    array as ``can_buy``.

    Shortcuts that give the same masks: a halted cell is blocked on both sides whatever its limits; under the board
    rule a price further than one tick (plus the 1e-6 tolerance) inside ``prev close x (1 +/- pct)`` cannot reach
    either limit price (rounding moves a limit price by at most half a tick), so the rounding is skipped there."""
    for c in range(px.shape[1]):
        _masks_col(px, close, prev, board, board_pct, st, st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up, ipo_down,
                   flag_up, flag_down, cols[c], i0, mode_board, mode_flags, flags_only, susp, has_susp, can_buy,
                   can_sell, c)


@njit
def window_masks_into(close_all, px_all, cols, i0, T, same, want_px, close, px, prev, px_read, board, board_pct, st,
                      st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up, ipo_down, flag_up, flag_down, mode_board,
                      mode_flags, flags_only, susp, has_susp, can_buy, can_sell):
    """:func:`price_window_into` and :func:`limit_masks_into` in one pass, column by column (a column's filled
    closes and prices are still in cache when its masks read them). The masks read the execution prices from
    ``px_read``: ``px`` itself, or (``want_px`` False) the raw close ``close_all`` when that is the window."""
    for c in range(cols.shape[0]):
        k = cols[c]
        _window_col(close_all, px_all, k, i0, T, same, want_px, close, px, prev, c)
        _masks_col(px_read, close, prev, board, board_pct, st, st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up,
                   ipo_down, flag_up, flag_down, k, i0, mode_board, mode_flags, flags_only, susp, has_susp, can_buy,
                   can_sell, c)


@njit
def window_open_masks_into(close_all, px_all, cols, i0, T, same, want_px, close, px, prev, px_read, susp, has_susp,
                           can_trade):
    """:func:`window_masks_into` for ``limits: off``: one mask ``can_trade`` (= can_buy = can_sell: the price is
    there and, with ``has_susp``, the day is not flagged suspended). The same values as the general kernel's
    no-rule branch; a kernel of its own because compiling the board and flag rules costs about 3 s on an empty
    numba cache, and every shipped strategy trades with ``limits: off``."""
    for c in range(cols.shape[0]):
        k = cols[c]
        _window_col(close_all, px_all, k, i0, T, same, want_px, close, px, prev, c)
        _open_col(px_read, susp, has_susp, k, i0, can_trade, c)


@njit
def _open_col(px, susp, has_susp, k, i0, can_trade, c):
    """Column c (code index k) with no limit rule: tradable where the price is there and, with ``has_susp``, the
    day is not flagged suspended."""
    for r in range(can_trade.shape[0]):
        ok = not np.isnan(px[r, c])
        if has_susp and float(susp[i0 + r, k]) > 0.5:
            ok = False
        can_trade[r, c] = ok


@njit
def _masks_col(px, close, prev, board, board_pct, st, st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up, ipo_down,
               flag_up, flag_down, k, i0, mode_board, mode_flags, flags_only, susp, has_susp, can_buy, can_sell, c):
    """Column c (code index k) of :func:`limit_masks_into`."""
    T = can_buy.shape[0]
    if not mode_board and not mode_flags:
        _open_col(px, susp, has_susp, k, i0, can_buy, c)
        for r in range(T):                  # may be the same array (limits: off): then a no-op
            can_sell[r, c] = can_buy[r, c]
        return
    no_flags = not mode_flags or (flag_up.shape[0] == 0 and flag_down.shape[0] == 0 and not flags_only)
    if mode_board and no_flags and T > 1 and not (has_st and st[:, c].any()):
        _board_col(px, close, prev, board_pct[board[c]], tick_k[c], k, i0, susp, has_susp, can_buy, can_sell, c,
                   ipo_lo[c], ipo_hi[c], ipo_up[c], ipo_down[c])
        return
    for r in range(T):
        b, s = _mask_cell(px, close, prev, board, board_pct, st, st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up,
                          ipo_down, flag_up, flag_down, k, i0, mode_board, mode_flags, flags_only, susp, has_susp, c,
                          r)
        can_buy[r, c] = b
        can_sell[r, c] = s


@njit
def _board_col(px, close, prev, pct_row, tk, k, i0, susp, has_susp, can_buy, can_sell, c, lo, hi, ipo_u, ipo_d):
    """The board rule alone (no flags, no ST day) on column c: one branch-free pass decides every halted cell and
    every cell whose price is more than a tick (plus the 1e-6 tolerance) inside ``prev close x (1 +/- pct)``,
    where rounding to the tick (at most half a tick) cannot reach it; the other cells (near or beyond a limit, no
    limit in force, row 0, the listing-day rows ``lo..hi-1``) are then decided by :func:`_mask_cell`'s exact
    rule."""
    T = can_buy.shape[0]
    one_tick = 1.0 / tk
    fix = np.empty(T, dtype=np.int64)
    n_fix = 0
    for r in range(1, T):
        p = px[r, c]
        pct = pct_row[r]
        pc = close[r - 1, c]
        halted = np.isnan(p)
        if has_susp:
            halted = halted | (float(susp[i0 + r, k]) > 0.5)
        clear_up = p < pc * (1 + pct) - one_tick - 1e-6
        clear_down = p > pc * (1 - pct) + one_tick + 1e-6
        can_buy[r, c] = clear_up & (not halted)
        can_sell[r, c] = clear_down & (not halted)
        fix[n_fix] = r
        n_fix += (not halted) & (not (clear_up & clear_down))
    zero = np.zeros(1, dtype=np.int64)
    nan1 = np.full(1, np.nan)
    bp = pct_row.reshape(1, -1)
    no_st = np.zeros((1, 1), dtype=np.bool_)
    noflag = np.zeros((0, 0))
    tks = np.full(1, tk)
    los = np.full(1, lo)
    his = np.full(1, hi)
    ups = np.full(1, ipo_u)
    downs = np.full(1, ipo_d)
    for f in range(-1, n_fix + max(min(hi, T) - max(lo, 1), 0)):
        if f < 0:
            r = 0
        elif f < n_fix:
            r = fix[f]
        else:
            r = max(lo, 1) + f - n_fix
        b, s = _mask_cell(px, close, prev, zero, bp, no_st, nan1, False, tks, los, his, ups, downs, noflag, noflag,
                          k, i0, True, False, False, susp, has_susp, c, r, 0)
        can_buy[r, c] = b
        can_sell[r, c] = s


@njit
def _mask_cell(px, close, prev, board, board_pct, st, st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up, ipo_down,
               flag_up, flag_down, k, i0, mode_board, mode_flags, flags_only, susp, has_susp, c, r, cc=-1):
    """``(can_buy, can_sell)`` of cell (r, c) (code index k) by the rule of :func:`limit_masks_into`; the per-code
    inputs ``board, tick_k, ipo_*`` are read at ``cc`` (default c)."""
    if cc < 0:
        cc = c
    p = px[r, c]
    halted = np.isnan(p)
    if has_susp and float(susp[i0 + r, k]) > 0.5:
        halted = True
    if halted:
        return False, False
    up = False
    down = False
    if mode_board:
        if ipo_lo[cc] <= r < ipo_hi[cc]:
            up = p >= ipo_up[cc] - 1e-6
            down = p <= ipo_down[cc] + 1e-6
        else:
            pc = prev[c] if r == 0 else close[r - 1, c]
            pct = board_pct[board[cc], r]
            if has_st and st[r, c] and abs(pct - 0.10) <= 1e-8 + 1e-5 * 0.10:
                pct = st_pct[r]
            if pct > 0:
                up = p >= _round_half_up(pc * (1 + pct), tick_k[cc]) - 1e-6
                down = p <= _round_half_up(pc * (1 - pct), tick_k[cc]) + 1e-6
    if mode_flags:
        up = _flag_locked(flag_up, i0 + r, k, flags_only, up)
        down = _flag_locked(flag_down, i0 + r, k, flags_only, down)
    return not up, not down


@njit
def _flag_locked(flag, row, k, flags_only, board_says):
    """One side of a limit-locked cell by the data's flag: the flag where present (> 0.5); a missing flag (no
    field, or NaN) leaves the board rule's ``board_says``, or (``flags_only``: limits 'data') means not locked."""
    if flag.shape[0] > 0:
        f = float(flag[row, k])
        if not np.isnan(f):
            return f > 0.5
    return False if flags_only else board_says


@njit
def event_codes(ev_w):
    """(N,) bool: the codes some event gives a non-zero weight."""
    E, N = ev_w.shape
    out = np.zeros(N, dtype=np.bool_)
    for e in range(E):
        for k in range(N):
            if ev_w[e, k] != 0.0:
                out[k] = True
    return out


@njit
def held_and_trades(pos, close, v_close):
    """``(held, trades)``: held (T, N) = ``pos * where(pos != 0, close, 0) / v_close[:, None]`` (actual end-of-day
    weights) and the number of cells where ``pos`` differs from the row before (row -1 = no position)."""
    T, N = pos.shape
    held = np.empty((T, N))
    trades = 0
    for r in range(T):
        v = v_close[r]
        for k in range(N):
            q = pos[r, k]
            px = close[r, k] if q != 0 else 0.0
            held[r, k] = q * px / v
            before = pos[r - 1, k] if r > 0 else 0.0
            if q != before:
                trades += 1
    return held, trades


@njit
def log_positions(log_bar, log_k, log_q, out):
    """Fill ``out`` (T, n) (any layout, every cell written) with the positions of a change log of
    :func:`engine.kernels.portfolio.simulate_events_log`: asset ``log_k[e]`` holds ``log_q[e]`` shares from bar
    ``log_bar[e]`` until its next change (0 before its first); entries in bar order."""
    T, n = out.shape
    last_bar = np.zeros(n, dtype=np.int64)
    last_q = np.zeros(n)
    for e in range(log_bar.shape[0]):
        k = log_k[e]
        j = log_bar[e]
        q = last_q[k]
        for r in range(last_bar[k], j):
            out[r, k] = q
        last_bar[k] = j
        last_q[k] = log_q[e]
    for k in range(n):
        q = last_q[k]
        for r in range(last_bar[k], T):
            out[r, k] = q


@njit
def trade_count(pos):
    """The number of cells of ``pos`` (T, N) that differ from the row before (row -1 = no position): the
    ``trades`` of :func:`held_and_trades` without the weights."""
    T, N = pos.shape
    trades = 0
    for r in range(T):
        for k in range(N):
            before = pos[r - 1, k] if r > 0 else 0.0
            if pos[r, k] != before:
                trades += 1
    return trades


@njit
def weight_events(w, first, T, trade_bar0):
    """Target events of one dense weight path, :func:`engine.kernels.events.lagged_events` for ``w`` (T_all, N)
    in any layout (a frame's Fortran-ordered values without a copy), bar j trading row ``first + j``, with its check
    extended to every row of ``w`` (traded or not). One pass down the columns finds the rows that are not all NaN
    and checks them; only those rows are then read across. Returns ``(ptr, bars, weights, ok)``; ``ok`` False =
    some row is not clearly valid (infinite, w <= -1e-12, NaN-as-0 sum within 1e-12 of exceeding 1 + 1e-9) and the
    caller must check with numpy (which names the rows) and use the reference path."""
    T_all, N = w.shape
    start = 0 if trade_bar0 else 1
    lo = first + max(start, -first)                  # rows lo..first+T-1 are traded (those inside the data)
    hi = min(first + T, T_all)
    seen = np.zeros(T_all, dtype=np.bool_)
    total = np.zeros(T_all)
    ptr = np.zeros(2, dtype=np.int64)
    for k in range(N):
        for r in range(T_all):
            v = w[r, k]
            if np.isnan(v):
                continue
            seen[r] = True
            if np.isinf(v) or v <= -1e-12:
                return ptr, np.zeros(0, dtype=np.int64), np.zeros((0, N)), False
            if v > 0.0:
                total[r] += v
    for r in range(T_all):
        if total[r] > 1.0 + 1e-9 - 1e-12:
            return ptr, np.zeros(0, dtype=np.int64), np.zeros((0, N)), False
    cur = np.zeros(N)
    ev_rows = np.empty(max(hi - lo, 0), dtype=np.int64)
    E = 0
    has = False
    for r in range(max(lo, 0), hi):
        if not seen[r]:
            continue
        diff = not has
        for k in range(N):
            v = w[r, k]
            if np.isnan(v) or v < 0.0:
                v = 0.0
            if v != cur[k]:
                diff = True
            cur[k] = v
        if diff:
            has = True
            ev_rows[E] = r
            E += 1
    bars = np.empty(E, dtype=np.int64)
    weights = np.empty((E, N))
    for e in range(E):
        r = ev_rows[e]
        bars[e] = r - first
        for k in range(N):
            v = w[r, k]
            weights[e, k] = 0.0 if (np.isnan(v) or v < 0.0) else v
    ptr[1] = E
    return ptr, bars, weights, True


@njit
def sparse_events(ptr, rows, row_ptr, codes, wts, N, first, T, trade_bar0, carry):
    """Target events of P sparse paths (:class:`engine.backtest.weightpaths.SparsePaths`): portfolio p's decisions
    are ``ptr[p]:ptr[p+1]`` (rows increasing), decision d sets ``codes[row_ptr[d]:row_ptr[d+1]]`` to ``wts`` and
    every other code to 0. Bar j trades row ``first + j`` (bar 0 only when ``trade_bar0``). The events equal
    :func:`engine.kernels.events.lagged_events` of the dense form: rows between decisions all NaN, or (``carry``)
    each decision repeated until the next. Returns ``(ptr, bars, weights)``."""
    P = ptr.shape[0] - 1
    start = 0 if trade_bar0 else 1
    j0 = max(start, -first)
    row = np.zeros(N)
    cur = np.zeros(N)
    out_ptr = np.zeros(P + 1, dtype=np.int64)
    for rep in range(2):                     # count, then write
        if rep == 1:
            bars = np.empty(out_ptr[P], dtype=np.int64)
            weights = np.empty((out_ptr[P], N))
        else:
            bars = np.empty(0, dtype=np.int64)
            weights = np.empty((0, N))
        for p in range(P):
            e = out_ptr[p]
            has = False
            for k in range(N):
                cur[k] = 0.0
            d0 = ptr[p]
            d1 = ptr[p + 1]
            for d in range(d0, d1):
                r = rows[d]
                j = r - first
                if j >= T:
                    break
                if j < j0:
                    if not carry or (d + 1 < d1 and rows[d + 1] - first <= j0):
                        continue
                    j = j0                           # in force when the window opens
                for k in range(N):
                    row[k] = 0.0
                for z in range(row_ptr[d], row_ptr[d + 1]):
                    v = wts[z]
                    row[codes[z]] = 0.0 if (np.isnan(v) or v < 0.0) else v
                diff = not has
                for k in range(N):
                    if row[k] != cur[k]:
                        diff = True
                    cur[k] = row[k]
                if diff:
                    has = True
                    if rep == 1:
                        bars[e] = j
                        for k in range(N):
                            weights[e, k] = cur[k]
                    e += 1
            if rep == 0:
                out_ptr[p + 1] = e
    return out_ptr, bars, weights
