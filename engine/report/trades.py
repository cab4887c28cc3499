"""Round trips (交易) from the kernel's executed orders.

The kernel records positions (shares held per code per day); :func:`engine.backtest.bridge.replay_orders` turns their
changes into executed orders with fill prices (slippage included) and fees. A round trip of one code starts on the
day its position goes from zero to positive and ends on the day it returns to zero; adds and partial sells in
between belong to the same trip (a position-level trip, as vectorbt's ``Portfolio.positions``). Its profit is the
sum of the cash flows of its orders (sells minus buys minus every fee); its return is that profit over the total
bought. A trip still open on the last day is valued at that day's close and counted apart (not in the win rate).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["code", "entry", "exit", "holding_days", "bought", "sold", "fees", "pnl", "return", "open"]


def round_trips(size: pd.DataFrame, price: pd.DataFrame, fees: pd.DataFrame, close: pd.DataFrame) -> pd.DataFrame:
    """One row per round trip from order frames (date x code: ``size`` signed shares, NaN = no order; ``price``
    fill price; ``fees`` currency; ``close`` forward-filled close for open trips). ``holding_days`` counts trading
    days (rows) from entry to exit."""
    idx = size.index
    s = np.nan_to_num(size.to_numpy(dtype=float))
    px = price.to_numpy(dtype=float)
    fe = np.nan_to_num(fees.to_numpy(dtype=float))
    cl = close.to_numpy(dtype=float)
    rows = []
    for j, code in enumerate(size.columns):
        ev = np.flatnonzero(s[:, j])
        if not len(ev):
            continue
        pos, scale = 0.0, np.abs(s[ev, j]).max()
        trip = None
        for i in ev:
            q = s[i, j]
            if trip is None:
                if q <= 0:
                    continue             # a sell with no position (cannot happen long-only): ignored
                trip = {"code": code, "i0": i, "bought": 0.0, "sold": 0.0, "fees": 0.0}
            value = abs(q) * px[i, j]
            trip["bought" if q > 0 else "sold"] += value
            trip["fees"] += fe[i, j]
            pos += q
            if abs(pos) <= 1e-9 * scale:
                rows.append(_close(trip, idx, i, False))
                trip, pos = None, 0.0
        if trip is not None:
            last = len(idx) - 1
            trip["sold"] += pos * cl[last, j]          # valued at the last close, not sold
            rows.append(_close(trip, idx, last, True))
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.sort_values(["entry", "code"], kind="stable").reset_index(drop=True)


def _close(t: dict, idx, i: int, is_open: bool) -> dict:
    pnl = t["sold"] - t["bought"] - t["fees"]
    return {"code": t["code"], "entry": idx[t["i0"]], "exit": idx[i], "holding_days": int(i - t["i0"]),
            "bought": t["bought"], "sold": t["sold"], "fees": t["fees"], "pnl": pnl,
            "return": pnl / t["bought"] if t["bought"] > 0 else np.nan, "open": is_open}


def trade_stats(trips: pd.DataFrame, n_orders: int | None = None) -> dict:
    """交易次数 (closed round trips), 胜率 (share with profit > 0), 盈亏比 (mean profit of winners / |mean loss of
    losers|), 平均持仓天数 (mean trading days held), plus the open trips and the executed order count."""
    closed = trips[~trips["open"]] if len(trips) else trips
    pnl = closed["pnl"].to_numpy(dtype=float) if len(closed) else np.array([])
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    return {
        "n_trades": int(len(pnl)),
        "win_rate": float(len(wins) / len(pnl)) if len(pnl) else None,
        "profit_loss_ratio": float(wins.mean() / -losses.mean()) if len(wins) and len(losses) else None,
        "avg_holding_days": float(closed["holding_days"].mean()) if len(pnl) else None,
        "open_trades": int(trips["open"].sum()) if len(trips) else 0,
        "n_orders": n_orders,
    }


def run_trades(run) -> tuple[pd.DataFrame, dict]:
    """Round trips and their statistics of a finished run (:class:`engine.pipeline.RunOutput`)."""
    from engine.backtest.bridge import replay_orders
    from engine.signals import REGISTRY

    cfg = run.cfg
    panel = run.dataset.panel(REGISTRY[cfg.signal.name].universe)
    o = replay_orders(run.backtest, panel, cfg.execution, cfg.costs)
    trips = round_trips(o["size"], o["price"], o["fixed_fees"], o["close"])
    return trips, trade_stats(trips, int(o["size"].notna().to_numpy().sum()))
