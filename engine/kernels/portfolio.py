"""Target-weight portfolio simulation kernel (numba). ndarrays and scalars in, ndarrays out.

The slow twin that defines the semantics is ``tests/naive_portfolio.py``; the pandas wrapper that applies the
execution lag, the tradability masks and the cost model is :mod:`engine.backtest`.

``simulate(target, exec_price, close, can_buy, can_sell, trade_bar0, commission, min_commission, stamp_buy,
stamp_sell, transfer, slippage, lot, initial_cash, threshold, force, record)``

Inputs (T bars, P independent portfolios = sweep columns, N assets; float64 unless stated):

* ``target`` (T, P, N): row ``target[i, p]`` is the weight vector to execute at bar i (already lag-shifted by the
  caller); weights are fractions of the pre-trade portfolio value, >= 0, summing to <= 1 (rest is cash, earning 0).
  An all-NaN row = no new target (keep positions); a NaN inside a row counts as 0.
* ``exec_price`` (T, N): fill price of bar i before slippage; NaN = the asset cannot trade at bar i.
* ``close`` (T, N): valuation price at the close of bar i, forward filled (finite wherever a position can exist).
* ``can_buy`` / ``can_sell`` (T, N) bool: tradability (limit-up blocks buys, limit-down sells, suspension both).
* ``trade_bar0`` bool: False = no trade at bar 0 and bar 0's target row is ignored (open execution).
* ``commission`` (rate), ``min_commission`` (currency per order), ``transfer`` (rate), ``slippage`` (fraction:
  buys fill at ``p * (1 + slippage)``, sells at ``p * (1 - slippage)``), ``stamp_buy`` / ``stamp_sell`` (T,) rates.
* ``lot`` (float): 0 = fractional shares; > 0 = target shares rounded down to whole lots (a target of 0 sells all).
* ``initial_cash`` > 0; ``threshold`` >= 0; ``force`` (T,) bool: rebalance to the target in force at bar i even if
  it did not change (scheduled rebalances, e.g. back to equal weight each month); ``record`` bool (also output
  cash and positions).

A bar, per portfolio: V = cash + sum(pos * exec_price) (the previous close for an asset without exec price).
Rebalance when this is the first target, when max_k |target_k - last traded target_k| > threshold, when
``force[i]``, or when the last rebalance left an order blocked (pending). Desired shares = target_k * V / exec_price_k (lot-rounded).
Sells first; then buys, all scaled by the largest s in [0, 1] that the cash can pay including costs (then
re-rounded to lots) when cash is short. A blocked asset (no price, or the needed side not allowed) keeps its
position and keeps the portfolio pending. Costs per order with traded value X = shares * fill price > 0:
``max(commission * X, min_commission) + transfer * X + stamp * X``; slippage cost = shares * price * slippage.

Outputs, each (T, P) float64: ``value`` (cash + positions at close), ``cash``, ``pre_value`` (V, the pre-trade
value at execution), ``traded`` (sum of X), ``costs`` (commission + stamp + transfer + slippage cost); and
``positions`` (T, P, N) shares. ``cash`` and ``positions`` only when ``record`` (else (1, 1) / (1, 1, 1) zero
dummies: sweeps skip them, because writing fresh (T, P) arrays dominates the run time).
"""
from __future__ import annotations

import numpy as np

from engine.kernels._jit import njit


@njit
def _buy_need(s, buy_x, n_buys, rate, commission, min_commission):
    total = 0.0
    for j in range(n_buys):
        xs = s * buy_x[j]
        total += xs * (1.0 + rate) + max(commission * xs, min_commission)
    return total


@njit
def _affordable_scale(buy_x, n_buys, cash, rate, commission, min_commission):
    """Largest s in [0, 1] with need(s) = sum_j [s x_j (1 + rate) + max(commission s x_j, min_commission)] <= cash.

    need is piecewise linear and increasing. Start from the root with every commission proportional (an upper
    bound of the answer); then repeatedly solve the linear piece where exactly the orders with
    commission * s * x_j >= min_commission pay the proportional rate. Each step lowers s (still an upper bound) and
    can only move orders to the minimum, so it stops, after at most n_buys steps, at the exact crossing.
    No sort and no allocation (keeps compile time and the per-trade cost low).
    """
    if _buy_need(1.0, buy_x, n_buys, rate, commission, min_commission) <= cash:
        return 1.0
    if n_buys * min_commission >= cash:
        return 0.0
    total_x = 0.0
    for j in range(n_buys):
        total_x += buy_x[j]
    slope_fixed = (1.0 + rate) * total_x
    s = cash / (slope_fixed + commission * total_x)
    last_n_min = -1
    for _ in range(n_buys + 2):
        prop_x = 0.0
        n_min = 0
        for j in range(n_buys):
            if commission * s * buy_x[j] >= min_commission:
                prop_x += buy_x[j]
            else:
                n_min += 1
        if n_min == last_n_min:
            break
        last_n_min = n_min
        s = (cash - min_commission * n_min) / (slope_fixed + commission * prop_x)
    return _fit(s, buy_x, n_buys, cash, rate, commission, min_commission)


@njit
def _fit(s, buy_x, n_buys, cash, rate, commission, min_commission):
    """Clamp s to [0, 1] and undo the last-bit rounding of a linear solve: need(s) must fit in cash."""
    s = min(max(s, 0.0), 1.0)
    for _ in range(16):
        if s <= 0.0 or _buy_need(s, buy_x, n_buys, rate, commission, min_commission) <= cash:
            break
        s = np.nextafter(s, 0.0)
    return s


@njit
def simulate(target, exec_price, close, can_buy, can_sell, trade_bar0, commission, min_commission, stamp_buy,
             stamp_sell, transfer, slippage, lot, initial_cash, threshold, force, record):
    """Simulate P target-weight portfolios; see the module docstring for the contract.

    Returns ``(value, cash, pre_value, traded, costs, positions)``: (T, P) float64 arrays and (T, P, N) positions;
    cash and positions are (1, 1) / (1, 1, 1) dummies unless ``record``. Bars outer, portfolios inner
    (contiguous memory access).
    Serial on purpose: a prange over portfolio blocks was slower on the 2-core target machine (OpenMP launch
    overhead of 2-30 ms per call, and the loop is bound by writing the (T, P) outputs), see bench/bench_backtest.py.
    """
    T, P, N = target.shape
    value = np.empty((T, P))
    pre_value = np.empty((T, P))
    traded_out = np.empty((T, P))
    costs_out = np.empty((T, P))
    if record:
        cash_out = np.zeros((T, P))
        positions = np.zeros((T, P, N))
    else:
        cash_out = np.zeros((1, 1))
        positions = np.zeros((1, 1, 1))
    simulate_into(target, exec_price, close, can_buy, can_sell, trade_bar0, commission, min_commission, stamp_buy,
                  stamp_sell, transfer, slippage, lot, initial_cash, threshold, force, record,
                  value, cash_out, pre_value, traded_out, costs_out, positions)
    return value, cash_out, pre_value, traded_out, costs_out, positions


@njit
def simulate_into(target, exec_price, close, can_buy, can_sell, trade_bar0, commission, min_commission, stamp_buy,
                  stamp_sell, transfer, slippage, lot, initial_cash, threshold, force, record,
                  value, cash_out, pre_value, traded_out, costs_out, positions):
    """:func:`simulate` writing into caller-allocated outputs ((T, P) arrays; cash (T, P) and positions (T, P, N)
    only read when ``record``, else any (1, 1) / (1, 1, 1) arrays). Lets the caller allocate with numpy, whose
    large arrays get transparent huge pages: page faults on fresh (T, P) outputs were most of a 1,000-column
    run's time on the 2-core VM."""
    T, P, N = target.shape
    # per-portfolio state: shares held, target in force, target of the last rebalance, cash,
    # flags[p] = (has a target, has rebalanced once, an order is pending because it was blocked)
    pos = np.zeros((P, N))
    cur = np.zeros((P, N))
    last = np.zeros((P, N))
    cash = np.full(P, initial_cash)
    flags = np.zeros((P, 3), dtype=np.bool_)
    # per-rebalance scratch: sell quantities, and the buys (asset, shares, value at the fill price)
    sell_q = np.zeros(N)
    buy_k = np.zeros(N, dtype=np.int64)
    buy_q = np.zeros(N)
    buy_x = np.zeros(N)
    for i in range(T):
        may_trade = i > 0 or trade_bar0
        for p in range(P):
            if may_trade:
                all_nan = True
                for k in range(N):
                    if not np.isnan(target[i, p, k]):
                        all_nan = False
                        break
                if not all_nan:
                    flags[p, 0] = True
                    for k in range(N):
                        w = target[i, p, k]
                        cur[p, k] = 0.0 if np.isnan(w) else w
            c = cash[p]
            V = c
            for k in range(N):
                if pos[p, k] != 0.0:
                    px = exec_price[i, k]
                    if np.isnan(px):
                        px = close[i - 1, k]
                    V += pos[p, k] * px
            pre_value[i, p] = V
            traded = 0.0
            cost = 0.0
            if may_trade and flags[p, 0]:
                do = (not flags[p, 1]) or flags[p, 2] or force[i]
                if not do:
                    dev = 0.0
                    for k in range(N):
                        dev = max(dev, abs(cur[p, k] - last[p, k]))
                    do = dev > threshold
                if do:
                    blocked = False
                    n_buys = 0
                    for k in range(N):
                        sell_q[k] = 0.0
                        px = exec_price[i, k]
                        if np.isnan(px):
                            if cur[p, k] != 0.0 or pos[p, k] != 0.0:
                                blocked = True
                            continue
                        want = cur[p, k] * V / px
                        if lot > 0:
                            want = np.floor(want / lot) * lot
                        delta = want - pos[p, k]
                        if delta < 0:
                            if can_sell[i, k]:
                                sell_q[k] = -delta
                            else:
                                blocked = True
                        elif delta > 0:
                            if can_buy[i, k]:
                                buy_k[n_buys] = k
                                buy_q[n_buys] = delta
                                buy_x[n_buys] = delta * px * (1.0 + slippage)
                                n_buys += 1
                            else:
                                blocked = True
                    for k in range(N):
                        q = sell_q[k]
                        if q > 0.0:
                            px = exec_price[i, k]
                            x = q * px * (1.0 - slippage)
                            fee = max(commission * x, min_commission) + stamp_sell[i] * x + transfer * x
                            c += x - fee
                            pos[p, k] -= q
                            traded += x
                            cost += fee + q * px * slippage
                    if n_buys > 0:
                        rate = stamp_buy[i] + transfer
                        s = _affordable_scale(buy_x, n_buys, c, rate, commission, min_commission)
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
                            fee = max(commission * x, min_commission) + stamp_buy[i] * x + transfer * x
                            c -= x + fee
                            pos[p, k] += q
                            traded += x
                            cost += fee + q * px * slippage
                    for k in range(N):
                        last[p, k] = cur[p, k]
                    flags[p, 1] = True
                    flags[p, 2] = blocked
            cash[p] = c
            v = c
            for k in range(N):
                if pos[p, k] != 0.0:
                    v += pos[p, k] * close[i, k]
            value[i, p] = v
            traded_out[i, p] = traded
            costs_out[i, p] = cost
            if record:
                cash_out[i, p] = c
                for k in range(N):
                    positions[i, p, k] = pos[p, k]
    return value, cash_out, pre_value, traded_out, costs_out, positions
