"""The slow, obviously-correct twin of :func:`engine.kernels.portfolio.simulate` -- written first; it is the spec.

Pure-Python loops over portfolios, bars and assets, Python floats only. Same arguments and outputs as the kernel:

* ``target`` (T, P, N): target weights per bar and portfolio; an all-NaN row = no new target; NaN inside a row = 0.
* ``exec_price`` (T, N): fill price before slippage (NaN = no trade); ``close`` (T, N): valuation price (forward
  filled). ``can_buy`` / ``can_sell`` (T, N): tradability masks. ``trade_bar0``: False = never trade at bar 0.
* costs per order with q shares and traded value X = q * fill price: ``max(commission * X, min_commission)``,
  ``transfer[i] * X``, ``stamp_buy[i] * X`` / ``stamp_sell[i] * X``, and where ``sh_mask[k]`` and ``tshare[i] > 0``
  ``max(tshare[i] * q, tshare_min[i])``; fills at ``p * (1 +/- slippage)``. ``transfer`` may be a number.
* ``cash_g[i]``: cash held from close i-1 grows by this factor into bar i; ``div[i, k]``: cash per share held
  paid into bar i. Both before bar i's trades. None = no cash return / no distributions.
* ``lot`` > 0: target shares are rounded down to whole lots (a target of 0 sells everything).

The trading rule, as stated in the kernel's docstring (engine/kernels/portfolio.py):

1. A bar rebalances the book when a target is in force and (a) no rebalance has happened yet, (b) the target
   changed and max |target - target of the last book rebalance| > threshold, or (c) force[i].
2. A book rebalance orders every leg to target_k * V / exec_price_k (lot-rounded); a leg whose order cannot execute
   (no exec price while held or targeted, or its side blocked) keeps its position and is pending; others are not.
3. Any other bar retries only the pending legs (target in force, this bar's V); a leg that executes or needs no
   order stops pending. No other leg trades.
4. Sells first, then buys, every buy scaled by the largest s in [0, 1] that the cash can pay with costs (found here
   by bisection), then re-rounded to lots.

Returns value (at close), cash, pre-trade value, traded value, costs (incl. slippage), positions.
"""
from __future__ import annotations

import math

import numpy as np


def _buy_need(s, buys, rate, commission, min_commission, share_fees=None):
    """Cash needed to execute every buy scaled by s (continuous; no lot rounding). ``share_fees``: per buy
    ``(fee per share, minimum)`` or None."""
    total = 0.0
    for j, (_, q, x) in enumerate(buys):
        xs = s * x
        total += xs * (1.0 + rate) + max(commission * xs, min_commission)
        if share_fees is not None and share_fees[j][0] > 0:
            total += max(share_fees[j][0] * s * q, share_fees[j][1])
    return total


def _largest_affordable_scale(buys, cash, rate, commission, min_commission, share_fees=None):
    if _buy_need(1.0, buys, rate, commission, min_commission, share_fees) <= cash:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _buy_need(mid, buys, rate, commission, min_commission, share_fees) <= cash:
            lo = mid
        else:
            hi = mid
    return lo


def simulate_naive(target, exec_price, close, can_buy, can_sell, trade_bar0, commission, min_commission,
                   stamp_buy, stamp_sell, transfer, slippage, lot, initial_cash, threshold, force=None,
                   tshare=None, tshare_min=None, sh_mask=None, cash_g=None, div=None):
    T, P, N = target.shape
    transfer = np.broadcast_to(np.asarray(transfer, dtype=float), (T,))
    value = np.zeros((T, P))
    cash_out = np.zeros((T, P))
    pre_value = np.zeros((T, P))
    notional_out = np.zeros((T, P))
    costs_out = np.zeros((T, P))
    positions = np.zeros((T, P, N))

    def share_fee(i, k):
        """(fee per share, minimum per order) of asset k at bar i; (0, 0) when none."""
        if tshare is None or not sh_mask[k] or tshare[i] <= 0:
            return 0.0, 0.0
        return float(tshare[i]), float(tshare_min[i])

    def fee_of(i, k, q, x, stamp):
        f, m = share_fee(i, k)
        fee = max(commission * x, min_commission) + stamp * x + float(transfer[i]) * x
        return fee + (max(f * q, m) if f > 0 else 0.0)

    for p in range(P):
        cash = float(initial_cash)
        pos = [0.0] * N
        cur = None            # the target in force (list of N floats), None before the first target
        last = None           # the target of the last book rebalance
        pending = [False] * N
        for i in range(T):
            if i > 0 and cash_g is not None:
                cash *= float(cash_g[i])
            if i > 0 and div is not None:
                for k in range(N):
                    if pos[k] != 0.0:
                        cash += pos[k] * float(div[i, k])
            may_trade = i > 0 or trade_bar0
            row = [float(target[i, p, k]) for k in range(N)]
            changed = False
            if may_trade and not all(math.isnan(w) for w in row):
                new = [0.0 if math.isnan(w) else w for w in row]
                changed = cur is None or new != cur
                cur = new
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
                book = (last is None or (force is not None and force[i])
                        or (changed and max(abs(cur[k] - last[k]) for k in range(N)) > threshold))
                legs = range(N) if book else [k for k in range(N) if pending[k]]
                sells, buys = [], []
                for k in legs:
                    px = float(exec_price[i, k])
                    blocked = False
                    if math.isnan(px):
                        blocked = cur[k] != 0.0 or pos[k] != 0.0
                    else:
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
                    pending[k] = blocked
                for k, q in sells:
                    px = float(exec_price[i, k])
                    x = q * px * (1.0 - slippage)
                    fee = fee_of(i, k, q, x, stamp_sell[i])
                    cash += x - fee
                    pos[k] -= q
                    traded += x
                    cost += fee + q * px * slippage
                rate = stamp_buy[i] + float(transfer[i])
                s = _largest_affordable_scale(buys, cash, rate, commission, min_commission,
                                              [share_fee(i, k) for k, _, _ in buys])
                for k, q, _ in buys:
                    if s < 1.0:
                        q = q * s
                        if lot > 0:
                            q = math.floor(q / lot) * lot
                    if q <= 0.0:
                        continue
                    px = float(exec_price[i, k])
                    x = q * px * (1.0 + slippage)
                    fee = fee_of(i, k, q, x, stamp_buy[i])
                    cash -= x + fee
                    pos[k] += q
                    traded += x
                    cost += fee + q * px * slippage
                if book:
                    last = list(cur)
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


def naive_events(target, trade_bar0):
    """Target events (engine.kernels.portfolio docstring) of dense targets (T, P, N), by the written rule: per
    portfolio, the first row (from bar 0, or bar 1 when not ``trade_bar0``) that is not all NaN, then every later
    such row that differs from the target in force; NaN cells count as 0. Returns ``(ptr, bars, weights)``."""
    T, P, N = target.shape
    ptr, bars, weights = [0], [], []
    for p in range(P):
        cur = None
        for i in range(0 if trade_bar0 else 1, T):
            row = [float(target[i, p, k]) for k in range(N)]
            if all(math.isnan(w) for w in row):
                continue
            row = [0.0 if math.isnan(w) else w for w in row]
            if row != cur:
                bars.append(i)
                weights.append(row)
                cur = row
        ptr.append(len(bars))
    return (np.array(ptr, dtype=np.int64), np.array(bars, dtype=np.int64),
            np.array(weights, dtype=float).reshape(len(bars), N))
