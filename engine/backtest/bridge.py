"""A bridge to vectorbt for users who want its interactive analytics: :func:`to_vectorbt` rebuilds a finished run
as a ``vectorbt.Portfolio`` made of exactly the orders our backtest executed.

Our kernel is the simulation (minimum commission, dated sell-side stamp duty, lots, limit and suspension blocks,
pending orders; vectorbt has none of these rules); vectorbt only replays its fills. Each executed order becomes one
vectorbt order at the same bar: ``size`` = shares traded (``size_type="amount"``), ``price`` = our fill price
(execution price times ``1 +/- slippage``), ``fixed_fees`` = our fee for that order in currency
(``max(commission * X, min_commission) + stamp * X + transfer * X``, X = shares * fill price), ``fees = 0``, one
shared cash balance, sells before buys (``call_seq="auto"``), valued at the forward-filled close. So the
portfolio's ``value()`` equals :attr:`BacktestResult.value` from the first period day on (tests: 1e-9), and
trades, drawdowns, returns statistics, plots etc. are vectorbt's.

Conventions differ in one place: our row 0 (the base day) is anchored at the initial cash and its trades are
booked on row 1 (engine.backtest); vectorbt books them on row 0, so ``value()`` differs on row 0 only. vectorbt's
own statistics use its own conventions (e.g. ``freq`` and 365-day years unless told otherwise), not ours.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.backtest.costs import sh_share_mask, stamp_duty_schedule, transfer_schedule
from engine.errors import ConfigError


def replay_orders(bt, panel, execution, costs) -> dict[str, pd.DataFrame]:
    """The orders a :class:`engine.backtest.BacktestResult` executed on ``panel`` under ``execution`` / ``costs``
    (the configs it was run with) as date x code frames: ``size`` (shares, + buy / - sell, NaN = no order),
    ``price`` (fill price incl. slippage), ``fixed_fees`` (currency) and ``close`` (forward-filled valuation
    prices), over the backtest's rows (base day .. end)."""
    idx, codes = bt.positions.index, bt.positions.columns
    pos = bt.positions.to_numpy(dtype=float)
    dq = np.diff(pos, axis=0, prepend=np.zeros((1, pos.shape[1])))
    px = panel[execution.price].reindex(index=idx, columns=codes).to_numpy(dtype=float, na_value=np.nan)
    slip = float(costs.slippage_bps) / 1e4
    traded = dq != 0
    fill = np.where(dq > 0, px * (1.0 + slip), px * (1.0 - slip))
    x = np.where(traded, np.abs(dq) * fill, 0.0)
    buy, sell = stamp_duty_schedule(idx, costs.stamp_duty)
    stamp = np.where(dq > 0, buy[:, None], sell[:, None])
    tf = transfer_schedule(idx, costs.transfer_fee)
    per_share = tf["sh_per_share"][:, None] * sh_share_mask(codes)[None, :]
    share_fee = np.where(per_share > 0, np.maximum(per_share * np.abs(dq), tf["sh_min"][:, None]), 0.0)
    fee = (np.maximum(costs.commission * x, costs.min_commission) + stamp * x + tf["rate"][:, None] * x
           + share_fee)
    close = panel["close"].ffill().reindex(index=idx, columns=codes)

    def frame(a):
        return pd.DataFrame(a, index=idx, columns=codes)

    return {"size": frame(np.where(traded, dq, np.nan)), "price": frame(np.where(traded, fill, np.nan)),
            "fixed_fees": frame(np.where(traded, fee, 0.0)), "close": close}


def portfolio_from_backtest(bt, panel, execution, costs, freq: str = "D"):
    """``vectorbt.Portfolio`` replaying the orders of backtest ``bt`` (see the module docstring and
    :func:`replay_orders`). ``freq`` is passed to vectorbt for its annualised statistics."""
    try:
        import vectorbt as vbt
    except ImportError:
        raise ConfigError("to_vectorbt needs vectorbt: pip install vectorbt") from None
    if costs.cash_return != 0 or "adj_factor" in panel:
        raise ConfigError("to_vectorbt replays orders only: a run with costs.cash_return or an adj_factor field "
                          "(interest and distributions credited to cash) cannot be replayed; set cash_return: 0 and "
                          "drop adj_factor to compare with vectorbt")
    o = replay_orders(bt, panel, execution, costs)
    return vbt.Portfolio.from_orders(
        close=o["close"], size=o["size"], size_type="amount", price=o["price"], fees=0.0,
        fixed_fees=o["fixed_fees"], init_cash=bt.initial_cash, cash_sharing=True, group_by=True,
        call_seq="auto", direction="longonly", freq=freq)


def to_vectorbt(run, freq: str = "D"):
    """The strategy's backtest in a finished run (:class:`engine.pipeline.RunOutput`) as a ``vectorbt.Portfolio``."""
    from engine.signals import REGISTRY

    cfg = run.cfg
    panel = run.dataset.panel(REGISTRY[cfg.signal.name].universe_for(cfg.signal.params))
    return portfolio_from_backtest(run.backtest, panel, cfg.execution, cfg.costs, freq)
