"""The slow, obviously-correct twin of :func:`engine.kernels.portfolio.simulate` -- written first; it is the spec.

Pure-Python loops over portfolios, bars and assets, Python floats only. Same arguments and outputs as the kernel:

* ``target`` (T, P, N): target weights per bar and portfolio; an all-NaN row = no new target; NaN inside a row = 0.
* ``exec_price`` (T, N): fill price before slippage (NaN = no trade); ``close`` (T, N): valuation price (forward
  filled). ``can_buy`` / ``can_sell`` (T, N): tradability masks. ``trade_bar0``: False = never trade at bar 0.
* costs per order with traded value X = shares * fill price: ``max(commission * X, min_commission)``,
  ``transfer * X``, ``stamp_buy[i] * X`` / ``stamp_sell[i] * X``; fills at ``p * (1 +/- slippage)``.
* ``lot`` > 0: target shares are rounded down to whole lots (a target of 0 sells everything).

Order of a bar: pre-trade value V = cash + sum(pos * price) (price = exec price, or the previous close when the
exec price is NaN); rebalance when this is the first target, when max |target - last traded target| > threshold,
or when the previous rebalance left a blocked order. Sells first, then buys; if cash cannot pay all buys with
their costs, every buy is scaled by the largest s in [0, 1] that it can pay (found here by bisection), then
re-rounded to lots. Returns value (at close), cash, pre-trade value, traded value, costs (incl. slippage), positions.
"""
from __future__ import annotations

import math

import numpy as np


def _buy_need(s, buys, rate, commission, min_commission):
    """Cash needed to execute every buy scaled by s (continuous; no lot rounding)."""
    total = 0.0
    for _, _, x in buys:
        xs = s * x
        total += xs * (1.0 + rate) + max(commission * xs, min_commission)
    return total


def _largest_affordable_scale(buys, cash, rate, commission, min_commission):
    if _buy_need(1.0, buys, rate, commission, min_commission) <= cash:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _buy_need(mid, buys, rate, commission, min_commission) <= cash:
            lo = mid
        else:
            hi = mid
    return lo


def simulate_naive(target, exec_price, close, can_buy, can_sell, trade_bar0, commission, min_commission,
                   stamp_buy, stamp_sell, transfer, slippage, lot, initial_cash, threshold, force=None):
    T, P, N = target.shape
    value = np.zeros((T, P))
    cash_out = np.zeros((T, P))
    pre_value = np.zeros((T, P))
    notional_out = np.zeros((T, P))
    costs_out = np.zeros((T, P))
    positions = np.zeros((T, P, N))
    for p in range(P):
        cash = float(initial_cash)
        pos = [0.0] * N
        cur = None            # the target in force (list of N floats), None before the first target
        last = None           # the target of the last rebalance
        pending = False
        for i in range(T):
            may_trade = i > 0 or trade_bar0
            row = [float(target[i, p, k]) for k in range(N)]
            if may_trade and not all(math.isnan(w) for w in row):
                cur = [0.0 if math.isnan(w) else w for w in row]
            # pre-trade value
            V = cash
            for k in range(N):
                if pos[k] != 0.0:
                    px = float(exec_price[i, k])
                    if math.isnan(px):
                        px = float(close[i - 1, k])
                    V += pos[k] * px
            pre_value[i, p] = V
            traded = 0.0
            cost = 0.0
            if may_trade and cur is not None:
                if last is None or pending or (force is not None and force[i]):
                    do = True
                else:
                    do = max(abs(cur[k] - last[k]) for k in range(N)) > threshold
                if do:
                    blocked = False
                    sells, buys = [], []
                    for k in range(N):
                        px = float(exec_price[i, k])
                        if math.isnan(px):
                            if cur[k] != 0.0 or pos[k] != 0.0:
                                blocked = True
                            continue
                        want = cur[k] * V / px
                        if lot > 0:
                            want = math.floor(want / lot) * lot
                        delta = want - pos[k]
                        if delta < 0:
                            if can_sell[i, k]:
                                sells.append((k, -delta))
                            else:
                                blocked = True
                        elif delta > 0:
                            if can_buy[i, k]:
                                buys.append((k, delta, delta * px * (1.0 + slippage)))
                            else:
                                blocked = True
                    for k, q in sells:
                        px = float(exec_price[i, k])
                        x = q * px * (1.0 - slippage)
                        fee = max(commission * x, min_commission) + stamp_sell[i] * x + transfer * x
                        cash += x - fee
                        pos[k] -= q
                        traded += x
                        cost += fee + q * px * slippage
                    rate = stamp_buy[i] + transfer
                    s = _largest_affordable_scale(buys, cash, rate, commission, min_commission)
                    for k, q, _ in buys:
                        if s < 1.0:
                            q = q * s
                            if lot > 0:
                                q = math.floor(q / lot) * lot
                        if q <= 0.0:
                            continue
                        px = float(exec_price[i, k])
                        x = q * px * (1.0 + slippage)
                        fee = max(commission * x, min_commission) + stamp_buy[i] * x + transfer * x
                        cash -= x + fee
                        pos[k] += q
                        traded += x
                        cost += fee + q * px * slippage
                    last = list(cur)
                    pending = blocked
            v = cash
            for k in range(N):
                if pos[k] != 0.0:
                    v += pos[k] * float(close[i, k])
            value[i, p] = v
            cash_out[i, p] = cash
            notional_out[i, p] = traded
            costs_out[i, p] = cost
            for k in range(N):
                positions[i, p, k] = pos[k]
    return value, cash_out, pre_value, notional_out, costs_out, positions
