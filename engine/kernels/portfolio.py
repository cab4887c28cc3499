"""Target-weight portfolio simulation kernel (numba). ndarrays and scalars in, ndarrays out.

The slow twin that defines the semantics is ``tests/naive_portfolio.py`` (dense targets, :func:`simulate` is checked
against it); the pandas wrapper that applies the execution lag, the tradability masks and the cost model is
:mod:`engine.backtest`.

Targets are given as **events**: the kernel only needs to know when each portfolio's target changes.
``(ptr (P+1,) int64, bars (E,) int64, weights (E, N) float64)``: portfolio p's events are ``ptr[p]:ptr[p+1]``, in
increasing bar order; event e sets the target in force from bar ``bars[e]`` on to ``weights[e]`` (>= 0, summing to
<= 1; the rest is cash earning 0). :func:`dense_events` turns a dense (T, P, N) target array into events (an all-NaN
row = no new target, a NaN inside a row = 0, a repeated row = no event); signal kernels may emit events directly
(e.g. :func:`engine.kernels.ma.cross_events`), which spares a sweep the (T, P, N) array.

Market inputs (T bars, N assets; float64 unless stated):

* ``exec_price`` (T, N): fill price of bar i before slippage; NaN = the asset cannot trade at bar i.
* ``close`` (T, N): valuation price at the close of bar i, forward filled (finite wherever a position can exist);
  ``close_t``: its (N, T) C-contiguous transpose (the anchored mode's quiet stretches read one asset's row), or any
  (1, 1) array in raw mode or with ``record`` (not read then).
* ``can_buy`` / ``can_sell`` (T, N) bool: tradability (limit-up blocks buys, limit-down sells, suspension both).
* ``trade_bar0`` bool: False = no trade at bar 0 (open execution); an event at bar 0 is then ignored.
* ``commission`` (rate), ``min_commission`` (currency per order), ``slippage`` (fraction: buys fill at
  ``p * (1 + slippage)``, sells at ``p * (1 - slippage)``); per bar (T,): ``stamp_buy`` / ``stamp_sell`` and
  ``transfer`` (rates of traded value), ``tshare`` (currency per share) with ``tshare_min`` (currency per order),
  charged on the assets with ``sh_mask[k]`` = 1 (N,) (the pre-2015 Shanghai transfer fee, engine.backtest.costs).
* ``cash_g`` (T,): growth factor of cash held from close i-1 to bar i (1 + daily cash return; row 0 unused), or a
  (0,) array for none. ``div`` (T, N): cash paid per share held from close i-1 into bar i (distributions from an
  adjustment factor: ``close_i * (adj_i / adj_{i-1} - 1)``), or a (0, 0) array for none. Both accrue at the start
  of bar i, before its trades (so a rebalance can reinvest them).
* ``lot`` (float): 0 = fractional shares; > 0 = target shares rounded down to whole lots (a target of 0 sells all).
* ``initial_cash`` > 0; ``threshold`` >= 0; ``force`` (T,) bool: rebalance to the target in force at bar i even if
  it did not change (scheduled rebalances, e.g. back to equal weight each month).

A bar, per portfolio: V = cash + sum(pos * exec_price) (the previous close for an asset without exec price).

**The trading rule** (the statement ``tests/naive_portfolio.py`` implements and this kernel must match):

1. A bar *rebalances the book* when a target is in force and (a) no rebalance has happened yet, (b) the target
   changed and max_k |target_k - target of the last book rebalance_k| > threshold, or (c) ``force[i]``.
2. Rebalancing the book orders every leg k to desired shares target_k * V / exec_price_k (lot-rounded). A leg
   whose order cannot execute at this bar -- no exec price (while it is held or targeted), or the needed side not
   allowed (limit, suspension) -- keeps its position and becomes *pending*; every other leg stops pending.
3. On any other bar only the pending legs are retried, each to target_k * V / exec_price_k with this bar's V and
   the target in force; a retried leg that executes, or whose order is now zero, stops pending. **The other legs do
   not trade**: a blocked leg never makes the rest of the book re-trade; they trade again only on a target change
   (1b) or a scheduled rebalance (1c).
4. Orders of a bar: sells first; then buys, all scaled by the largest s in [0, 1] that the cash can pay including
   costs (then re-rounded to lots) when cash is short. Cash shortage does not make a leg pending.

Costs per order with traded value X = shares q * fill price > 0: ``max(commission * X, min_commission) +
(transfer + stamp) * X + max(tshare * q, tshare_min)`` (the last term only where ``sh_mask`` is 1 and tshare > 0);
slippage cost = q * price * slippage.

Outputs of :func:`simulate_events` are **(P, T)** (one contiguous row per portfolio; the kernel runs portfolio by
portfolio with its state in registers, which is what makes a 1,000-column sweep cheap), written only when asked:

* raw mode (``anchor`` False): ``value`` (cash + positions at close), ``pre_value`` (V), ``traded`` (sum of X),
  ``costs`` (commission + stamp + transfer + slippage cost);
* anchored mode (``anchor`` True, the backtester's base-row convention, see :mod:`engine.backtest`):
  ``value`` with row 0 = initial cash, ``returns`` (``value[i] / value[i-1] - 1``, row 0 = 0) when ``want_returns``,
  ``turnover`` (traded / V, or traded when V <= 0) and ``costs`` with row 0 booked on row 1 when ``want_flows``;
* ``cash`` (P, T) and ``positions`` (P, T, N) shares when ``record``; ``raw0`` (P,) the value at bar 0's close.

Unused outputs may be any (1, 1) / (1, 1, 1) arrays.
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit
from engine.kernels.events import dense_events


@njit
def _buy_need(s, buy_x, buy_f, buy_m, n_buys, rate, commission, min_commission):
    total = 0.0
    for j in range(n_buys):
        xs = s * buy_x[j]
        total += xs * (1.0 + rate) + max(commission * xs, min_commission) + max(buy_f[j] * xs, buy_m[j])
    return total


@njit
def _affordable_scale(buy_x, buy_f, buy_m, n_buys, cash, rate, commission, min_commission):
    """Largest s in [0, 1] with need(s) <= cash, need(s) = sum_j [s x_j (1 + rate) + max(commission s x_j,
    min_commission) + max(f_j s x_j, m_j)] (f_j, m_j: the per-share fee in units of x_j and its minimum; 0, 0 for
    none).

    need is piecewise linear and increasing. Start from the root with every fee proportional (an upper bound of the
    answer: each max is >= its proportional term); then repeatedly solve the linear piece where exactly the terms
    that are above their minimum at the current s pay the proportional rate (again <= need, so its root is still an
    upper bound). Each step lowers s and can only move terms to their minimum, so it stops after at most
    2 * n_buys steps at the exact crossing. No sort and no allocation (keeps compile time and the per-trade cost low).
    """
    if _buy_need(1.0, buy_x, buy_f, buy_m, n_buys, rate, commission, min_commission) <= cash:
        return 1.0
    fixed_all = 0.0
    total_x = 0.0
    total_f = 0.0
    for j in range(n_buys):
        fixed_all += min_commission + buy_m[j]
        total_x += buy_x[j]
        total_f += buy_f[j] * buy_x[j]
    if fixed_all >= cash:
        return 0.0
    slope_fixed = (1.0 + rate) * total_x
    s = cash / (slope_fixed + commission * total_x + total_f)
    last_n_min = -1
    for _ in range(2 * n_buys + 2):
        slope = slope_fixed
        fixed = 0.0
        n_min = 0
        for j in range(n_buys):
            if commission * s * buy_x[j] >= min_commission:
                slope += commission * buy_x[j]
            else:
                fixed += min_commission
                n_min += 1
            if buy_f[j] * s * buy_x[j] >= buy_m[j]:
                slope += buy_f[j] * buy_x[j]
            else:
                fixed += buy_m[j]
                n_min += 1
        if n_min == last_n_min:
            break
        last_n_min = n_min
        s = (cash - fixed) / slope
    return _fit(s, buy_x, buy_f, buy_m, n_buys, cash, rate, commission, min_commission)


@njit
def _fit(s, buy_x, buy_f, buy_m, n_buys, cash, rate, commission, min_commission):
    """Clamp s to [0, 1] and undo the last-bit rounding of a linear solve: need(s) must fit in cash."""
    s = min(max(s, 0.0), 1.0)
    for _ in range(16):
        if s <= 0.0 or _buy_need(s, buy_x, buy_f, buy_m, n_buys, rate, commission, min_commission) <= cash:
            break
        s = np.nextafter(s, 0.0)
    return s


def simulate(target, exec_price, close, can_buy, can_sell, trade_bar0, commission, min_commission, stamp_buy,
             stamp_sell, transfer, slippage, lot, initial_cash, threshold, force, record, tshare=None,
             tshare_min=None, sh_mask=None, cash_g=None, div=None):
    """Dense-target reference API: ``target`` (T, P, N) (module docstring), raw outputs laid out (T, P).
    ``transfer`` may be a number; ``tshare``/``tshare_min``/``sh_mask``, ``cash_g``, ``div`` None = none.

    Returns ``(value, cash, pre_value, traded, costs, positions)``: (T, P) arrays and (T, P, N) positions (cash and
    positions are (1, 1) / (1, 1, 1) dummies unless ``record``). Implemented as :func:`dense_events` +
    :func:`simulate_events`, i.e. exactly the code the backtester runs; ``tests/naive_portfolio.py`` checks it."""
    T, P, N = target.shape
    ptr, bars, w = dense_events(target, trade_bar0)
    value, pre_value, traded, costs = (np.empty((P, T)) for _ in range(4))
    dummy = np.zeros((1, 1))
    cash = np.zeros((P, T)) if record else dummy
    positions = np.zeros((P, T, N)) if record else np.zeros((1, 1, 1))
    fees = cost_arrays(T, N, transfer, tshare, tshare_min, sh_mask)
    simulate_events(ptr, bars, w, exec_price, close, np.zeros((1, 1)), can_buy, can_sell, trade_bar0, commission,
                    min_commission, stamp_buy, stamp_sell, *fees, slippage, lot, initial_cash, threshold, force,
                    np.zeros(0) if cash_g is None else cash_g, np.zeros((0, 0)) if div is None else div,
                    False, False, False, record, value, dummy, dummy, costs, pre_value, traded, cash, positions,
                    np.empty(P))
    if record:
        cash, positions = cash.T.copy(), positions.transpose(1, 0, 2).copy()
    return value.T.copy(), cash, pre_value.T.copy(), traded.T.copy(), costs.T.copy(), positions


def cost_arrays(T, N, transfer, tshare=None, tshare_min=None, sh_mask=None):
    """``(transfer (T,), tshare (T,), tshare_min (T,), sh_mask (N,))`` float64 kernel inputs; a number or None
    is broadcast (None = 0)."""
    def arr(a, n):
        return np.ascontiguousarray(np.broadcast_to(np.asarray(0.0 if a is None else a, dtype=np.float64), (n,)))

    return arr(transfer, T), arr(tshare, T), arr(tshare_min, T), arr(sh_mask, N)


@njit
def _fee(x, q, k, i, stamp, commission, min_commission, transfer, tshare, tshare_min, sh_mask):
    fee = max(commission * x, min_commission) + (stamp + transfer[i]) * x
    if sh_mask[k] != 0.0 and tshare[i] > 0.0:
        fee += max(tshare[i] * q, tshare_min[i])
    return fee


@njit
def simulate_events(ptr, bars, ev_w, exec_price, close, close_t, can_buy, can_sell, trade_bar0, commission,
                    min_commission, stamp_buy, stamp_sell, transfer, tshare, tshare_min, sh_mask, slippage, lot,
                    initial_cash, threshold, force, cash_g, div, anchor, want_returns, want_flows, record,
                    value, returns, turnover, costs_out, pre_value, traded_out, cash_out, positions, raw0):
    """Simulate P target-weight portfolios given as events; see the module docstring for inputs and outputs."""
    # the same argument types as simulate_events_log's call (int32 log arrays, flags computed, not literal
    # constants), so numba compiles _simulate once for both entries (one specialisation costs ~4 s cold)
    none = np.zeros(0, dtype=np.int32)
    no_log = none.shape[0] > 0
    _simulate(ptr, bars, ev_w, exec_price, close, close_t, can_buy, can_sell, trade_bar0, commission,
              min_commission, stamp_buy, stamp_sell, transfer, tshare, tshare_min, sh_mask, slippage, lot,
              initial_cash, threshold, force, cash_g, div, anchor, want_returns, want_flows, record,
              value, returns, turnover, costs_out, pre_value, traded_out, cash_out, positions, raw0,
              no_log, none, none, np.zeros(0))


@njit
def simulate_events_log(ptr, bars, ev_w, exec_price, close, close_t, can_buy, can_sell, trade_bar0, commission,
                        min_commission, stamp_buy, stamp_sell, transfer, tshare, tshare_min, sh_mask, slippage, lot,
                        initial_cash, threshold, force, cash_g, div, want_returns, want_flows,
                        value, returns, turnover, costs_out, cash_out, raw0, log_bar, log_k, log_q):
    """:func:`simulate_events` in anchored mode for one portfolio (P = 1) with its holdings as a change log instead
    of (T, N) positions: ``cash_out`` (1, T) as with ``record``, and each change of a position (a cell of
    ``positions`` that differs from the row before, row -1 = none) as ``(log_bar, log_k, log_q)`` = (bar, asset,
    shares from that bar on), in bar order. Returns the number of changes; only the first ``len(log_bar)`` are
    written (call again with larger arrays when it returns more). :func:`engine.kernels.prep.log_positions`
    rebuilds the positions."""
    dummy = np.zeros((1, 1))
    yes = ptr.shape[0] > 0                       # True, typed as a plain bool (see simulate_events)
    return _simulate(ptr, bars, ev_w, exec_price, close, close_t, can_buy, can_sell, trade_bar0, commission,
                     min_commission, stamp_buy, stamp_sell, transfer, tshare, tshare_min, sh_mask, slippage, lot,
                     initial_cash, threshold, force, cash_g, div, yes, want_returns, want_flows, not yes,
                     value, returns, turnover, costs_out, dummy, dummy, cash_out, np.zeros((1, 1, 1)), raw0,
                     yes, log_bar, log_k, log_q)


@njit
def _log_change(log_bar, log_k, log_q, n, i, k, shares):
    """Record change ``n`` of the position log (asset k holds ``shares`` from bar i on) if it fits; returns n + 1
    (the count goes on past the arrays' size, so the caller learns the size it needs)."""
    if n < log_bar.shape[0]:
        log_bar[n] = i
        log_k[n] = k
        log_q[n] = shares
    return n + 1


@njit
def _simulate(ptr, bars, ev_w, exec_price, close, close_t, can_buy, can_sell, trade_bar0, commission,
              min_commission, stamp_buy, stamp_sell, transfer, tshare, tshare_min, sh_mask, slippage, lot,
              initial_cash, threshold, force, cash_g, div, anchor, want_returns, want_flows, record,
              value, returns, turnover, costs_out, pre_value, traded_out, cash_out, positions, raw0,
              log, log_bar, log_k, log_q):
    """The body of :func:`simulate_events` (and, with ``log``, :func:`simulate_events_log`, which returns the
    number of position changes).

    Portfolios outer, bars inner: each portfolio's state (cash, shares, target in force, last book target, pending
    legs) stays hot and its outputs are one contiguous row. A bar is *active* when it may trade: its target
    changed, no rebalance yet, a leg is pending, or it is a forced rebalance. Between active bars nothing but the
    valuation changes, so such a quiet stretch (up to the next event or forced bar) is written by a tight loop
    (not when cash earns a return or distributions are paid: then every bar is stepped). The deviation from the
    last book target is checked only when the target changes: between changes it is constant. Serial on purpose:
    the 2-core target machine gains nothing from threads at sweep sizes (bench/bench_backtest.py)."""
    T, N = close.shape
    P = ptr.shape[0] - 1
    accrue = cash_g.shape[0] > 0 or div.shape[0] > 0
    has_g = cash_g.shape[0] > 0
    has_div = div.shape[0] > 0
    next_force = np.empty(T + 1, dtype=np.int64)     # next_force[i] = first j >= i with force[j], else T
    next_force[T] = T
    for i in range(T - 1, -1, -1):
        next_force[i] = i if force[i] else next_force[i + 1]
    pos = np.zeros(N)
    cur = np.zeros(N)
    last = np.zeros(N)
    pend = np.zeros(N, dtype=np.bool_)
    sell_q = np.zeros(N)
    buy_k = np.zeros(N, dtype=np.int64)
    buy_q = np.zeros(N)
    buy_x = np.zeros(N)
    buy_f = np.zeros(N)
    buy_m = np.zeros(N)
    held = np.zeros(N, dtype=np.int64)
    n_log = 0
    for p in range(P):
        for k in range(N):
            pos[k] = 0.0
            cur[k] = 0.0
            last[k] = 0.0
            pend[k] = False
        c = initial_cash
        has_target = False
        rebalanced = False
        n_pend = 0
        changed = False
        e = ptr[p]
        e_end = ptr[p + 1]
        v_prev = initial_cash
        flow0 = 0.0
        cost0 = 0.0
        i = 0
        while i < T:
            if i > 0:
                if has_g:
                    c *= cash_g[i]
                if has_div:
                    for k in range(N):
                        if pos[k] != 0.0:
                            c += pos[k] * div[i, k]
            may_trade = i > 0 or trade_bar0
            while e < e_end and bars[e] <= i:
                if bars[e] == i and may_trade:
                    has_target = True
                    changed = True
                    for k in range(N):
                        cur[k] = ev_w[e, k]
                e += 1
            active = may_trade and has_target and (changed or (not rebalanced) or n_pend > 0 or force[i])
            traded = 0.0
            cost = 0.0
            stop = i + 1
            if not active and not accrue:
                # quiet until the next event, or (once rebalanced) the next forced rebalance
                stop = bars[e] if e < e_end else T
                if has_target and next_force[i + 1] < stop:
                    stop = next_force[i + 1]
                stop = max(stop, i + 1)
            V = c
            if active or not anchor:
                for k in range(N):
                    if pos[k] != 0.0:
                        px = exec_price[i, k]
                        if np.isnan(px):
                            px = close[i - 1, k]
                        V += pos[k] * px
            book = active and ((not rebalanced) or force[i])
            if active and not book and changed:
                dev = 0.0
                for k in range(N):
                    dev = max(dev, abs(cur[k] - last[k]))
                book = dev > threshold
            changed = False
            if book or (active and n_pend > 0):
                n_buys = 0
                for k in range(N):
                    sell_q[k] = 0.0
                    if not book and not pend[k]:
                        continue                     # rule 3: only pending legs trade between book rebalances
                    if cur[k] == 0.0 and pos[k] == 0.0:
                        # nothing held or wanted: no order and not blocked whatever the price (0 * V / px is 0 or
                        # NaN), so the bar's price and masks (one cache line per asset) are not read
                        if pend[k]:
                            n_pend -= 1
                            pend[k] = False
                        continue
                    blocked = False
                    px = exec_price[i, k]
                    if np.isnan(px):
                        blocked = cur[k] != 0.0 or pos[k] != 0.0
                    else:
                        want = cur[k] * V / px
                        if lot > 0:
                            want = np.floor(want / lot) * lot
                        delta = want - pos[k]
                        if delta < 0:
                            if can_sell[i, k]:
                                sell_q[k] = -delta
                            else:
                                blocked = True
                        elif delta > 0:
                            if can_buy[i, k]:
                                buy_k[n_buys] = k
                                buy_q[n_buys] = delta
                                fill = px * (1.0 + slippage)
                                buy_x[n_buys] = delta * fill
                                if sh_mask[k] != 0.0 and tshare[i] > 0.0:
                                    buy_f[n_buys] = tshare[i] / fill
                                    buy_m[n_buys] = tshare_min[i]
                                else:
                                    buy_f[n_buys] = 0.0
                                    buy_m[n_buys] = 0.0
                                n_buys += 1
                            else:
                                blocked = True
                    if blocked != pend[k]:
                        n_pend += 1 if blocked else -1
                        pend[k] = blocked
                for k in range(N):
                    q = sell_q[k]
                    if q > 0.0:
                        px = exec_price[i, k]
                        x = q * px * (1.0 - slippage)
                        fee = _fee(x, q, k, i, stamp_sell[i], commission, min_commission, transfer, tshare,
                                   tshare_min, sh_mask)
                        c += x - fee
                        before = pos[k]
                        pos[k] -= q
                        if log and pos[k] != before:
                            n_log = _log_change(log_bar, log_k, log_q, n_log, i, k, pos[k])
                        traded += x
                        cost += fee + q * px * slippage
                if n_buys > 0:
                    rate = stamp_buy[i] + transfer[i]
                    s = _affordable_scale(buy_x, buy_f, buy_m, n_buys, c, rate, commission, min_commission)
                    for j in range(n_buys):
                        k = buy_k[j]
                        q = buy_q[j]
                        if s < 1.0:
                            q = q * s
                            if lot > 0:
                                q = np.floor(q / lot) * lot
                        if q <= 0.0:
                            continue
                        px = exec_price[i, k]
                        x = q * px * (1.0 + slippage)
                        fee = _fee(x, q, k, i, stamp_buy[i], commission, min_commission, transfer, tshare,
                                   tshare_min, sh_mask)
                        c -= x + fee
                        before = pos[k]
                        pos[k] += q
                        if log and pos[k] != before:
                            n_log = _log_change(log_bar, log_k, log_q, n_log, i, k, pos[k])
                        traded += x
                        cost += fee + q * px * slippage
                if book:
                    for k in range(N):
                        last[k] = cur[k]
                    rebalanced = True
            j_fast = stop                            # quiet bars >= 2 in the anchored mode: the lean loop below
            if anchor and not record and stop > max(i + 1, 2):
                j_fast = max(i + 1, 2)
            for j in range(i, j_fast):               # bar i (and the start of a quiet stretch)
                if j > i and not anchor:
                    V = c
                    for k in range(N):
                        if pos[k] != 0.0:
                            px = exec_price[j, k]
                            if np.isnan(px):
                                px = close[j - 1, k]
                            V += pos[k] * px
                v = c
                for k in range(N):
                    if pos[k] != 0.0:
                        v += pos[k] * close[j, k]
                if j == 0:
                    raw0[p] = v
                if record or log:
                    cash_out[p, j] = c
                if record:
                    for k in range(N):
                        positions[p, j, k] = pos[k]
                if not anchor:
                    value[p, j] = v
                    pre_value[p, j] = V
                    traded_out[p, j] = traded
                    costs_out[p, j] = cost
                    traded = 0.0
                    cost = 0.0
                    continue
                to = 0.0
                if want_flows and traded != 0.0:         # 0 / V = 0: divide only when something traded
                    to = traded / V if V > 0 else traded
                if j == 0:
                    value[p, 0] = initial_cash
                    v_prev = initial_cash
                    flow0 = to
                    cost0 = cost
                    if want_returns:
                        returns[p, 0] = 0.0
                    if want_flows:
                        turnover[p, 0] = 0.0
                        costs_out[p, 0] = 0.0
                else:
                    value[p, j] = v
                    if want_returns:
                        returns[p, j] = v / v_prev - 1.0
                        v_prev = v
                    if want_flows:
                        if j == 1:
                            to = to + flow0
                            cost = cost + cost0
                        turnover[p, j] = to
                        costs_out[p, j] = cost
                traded = 0.0
                cost = 0.0
            n_held = 0                               # the held assets, in k order (the valuation's sum order)
            for k in range(N):
                if pos[k] != 0.0:
                    held[n_held] = k
                    n_held += 1
            if j_fast < stop:
                if log:
                    for j in range(j_fast, stop):
                        cash_out[p, j] = c
                vrow = value[p]
                if n_held == 0:
                    for j in range(j_fast, stop):
                        vrow[j] = c
                elif n_held == 1:                    # the common case: one contiguous price row, vectorisable
                    k0 = held[0]
                    q0 = pos[k0]
                    crow = close_t[k0]
                    for j in range(j_fast, stop):
                        vrow[j] = c + q0 * crow[j]
                else:
                    for j in range(j_fast, stop):
                        v = c
                        for h in range(n_held):
                            v += pos[held[h]] * close[j, held[h]]
                        vrow[j] = v
                if want_returns:                     # j_fast >= 2: vrow[j - 1] is the previous close's value
                    rrow = returns[p]
                    for j in range(j_fast, stop):
                        rrow[j] = vrow[j] / vrow[j - 1] - 1.0
                    v_prev = vrow[stop - 1]
                if want_flows:
                    for j in range(j_fast, stop):
                        turnover[p, j] = 0.0
                        costs_out[p, j] = 0.0
            i = stop
    return n_log
