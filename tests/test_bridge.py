"""engine.backtest.bridge: a finished backtest replayed in vectorbt reproduces our values (vectorbt as an independent
cash-and-position ledger: it only replays our fills and fees, none of our rules)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt

from engine.backtest import run_backtest
from engine.backtest.bridge import portfolio_from_backtest, replay_orders
from engine.config import config_from_dict
from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
from engine.data.embedded import load_embedded
from engine.data.panel import Panel
from engine.pipeline import run_strategy


def _market(seed=0, T=160, N=4):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-06-01", periods=T)
    codes = [f"60000{k}.SH" for k in range(N)]
    close = np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0)) * rng.uniform(3, 40, N)
    open_ = close * np.exp(rng.normal(0, 0.004, (T, N)))
    close[50:55, 1] = np.nan                       # a suspension: no prices
    open_[50:55, 1] = np.nan
    up = rng.uniform(size=(T, N)) < 0.05           # limit flags block buys / sells on some days
    down = rng.uniform(size=(T, N)) < 0.05
    frame = lambda a: pd.DataFrame(a, index=dates, columns=codes)  # noqa: E731
    panel = Panel("stocks", {"close": frame(close), "open": frame(open_), "limit_up": frame(up.astype(float)),
                             "limit_down": frame(down.astype(float))}, "test")
    w = rng.dirichlet(np.ones(N), size=T) * rng.choice([0.6, 1.0], size=(T, 1))
    w[rng.uniform(size=T) < 0.8] = np.nan          # a new target about once a week
    return panel, frame(w)


@pytest.mark.parametrize("price", ["close", "open"])
def test_vectorbt_charging_its_own_fees_reproduces_our_values(price):
    """The independent oracle (issue 12 item 11): vectorbt is given only our order sizes and fill prices and charges
    its own proportional ``fees``, set per cell from the published rates written out here (commission 0.03%,
    transfer fee 0.002% until 2022-04-28 then 0.001%, sell-side stamp duty 0.1% then 0.05% from 2023-08-28); no
    minimum commission (vectorbt has none: the minimum is checked by hand in tests/test_backtest.py). Its cash and
    value must equal ours."""
    panel, weights = _market(1, T=400)
    idx0 = pd.bdate_range("2022-04-20", periods=len(panel.dates))          # crosses both dated changes
    panel = Panel("stocks", {k: v.set_axis(idx0) for k, v in panel.fields.items()}, "test")
    weights = weights.set_axis(idx0)
    ex = ExecutionConfig(lag=1, price=price, initial_cash=1e6)
    costs = CostConfig(commission=0.0003, min_commission=0.0, stamp_duty="a_share", transfer_fee="a_share",
                       slippage_bps=5.0)
    rules = MarketRulesConfig(limits="data", lot_size=100)
    bt = run_backtest(weights, panel, "2022-04-22", None, ex, costs, rules)
    dq = bt.positions.diff()
    dq.iloc[0] = bt.positions.iloc[0]
    d = dq.index.to_numpy()[:, None]
    transfer = np.where(d >= np.datetime64("2022-04-29"), 0.00001, 0.00002)
    stamp_sell = np.where(d >= np.datetime64("2023-08-28"), 0.0005, 0.001)
    fees = 0.0003 + transfer + np.where(dq.to_numpy() < 0, stamp_sell, 0.0)
    px = panel[price].reindex(index=dq.index, columns=dq.columns)
    fill = px * np.where(dq > 0, 1.0005, 0.9995)
    size = dq.where(dq != 0)
    pf = vbt.Portfolio.from_orders(close=panel["close"].ffill().reindex(dq.index), size=size, size_type="amount",
                                   price=fill, fees=fees, init_cash=1e6, cash_sharing=True, group_by=True,
                                   call_seq="auto", direction="longonly", freq="D")
    assert int(pf.orders.count()) == int(size.notna().sum().sum()) > 40
    assert (size.loc["2023-08-28":] < 0).to_numpy().any() and (size.loc[:"2022-04-28"] != 0).to_numpy().any()
    np.testing.assert_allclose(pf.value().to_numpy()[1:], bt.value.to_numpy()[1:], rtol=1e-9, atol=0)
    np.testing.assert_allclose(pf.cash().to_numpy()[1:], bt.cash.to_numpy()[1:], rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("price", ["close", "open"])
def test_replayed_orders_reproduce_our_values(price):
    """The bridge's plumbing (engine.backtest.bridge replays our fills with our per-order fees as vectorbt fixed fees): the
    values it shows are ours. Fees themselves are checked independently above and by hand in test_backtest."""
    panel, weights = _market(1)
    ex = ExecutionConfig(lag=1, price=price, initial_cash=1e6)
    costs = CostConfig(commission=0.0003, min_commission=5.0, stamp_duty="a_share", transfer_fee=0.00001,
                       slippage_bps=5.0)
    rules = MarketRulesConfig(limits="data", lot_size=100)
    bt = run_backtest(weights, panel, "2023-06-05", None, ex, costs, rules)
    orders = replay_orders(bt, panel, ex, costs)
    n_orders = int(orders["size"].notna().sum().sum())
    assert n_orders > 40 and (orders["fixed_fees"] >= 5.0).to_numpy()[orders["size"].notna().to_numpy()].all()
    sells_2023_08 = orders["size"].loc["2023-08-28":] < 0
    assert sells_2023_08.to_numpy().any(), "the case must cross the stamp-duty change with sells"
    pf = portfolio_from_backtest(bt, panel, ex, costs)
    ours = bt.value.to_numpy()
    theirs = pf.value().to_numpy()
    np.testing.assert_allclose(theirs[1:], ours[1:], rtol=1e-9, atol=0)
    assert int(pf.orders.count()) == n_orders                 # vectorbt accepted every order as given
    np.testing.assert_allclose(pf.cash().to_numpy()[1:], bt.cash.to_numpy()[1:], rtol=1e-9, atol=1e-6)


def test_run_to_vectorbt_on_the_ma_timing_strategy():
    cfg = config_from_dict({"name": "ma", "data": {"source": "embedded", "start": "2015-01-01", "end": "2018-12-31"},
                            "signal": {"name": "ma_timing", "params": {"short": 10, "long": 60}},
                            "costs": {"commission": 0.0003, "min_commission": 5.0, "slippage_bps": 2}})
    run = run_strategy(cfg, load_embedded())
    pf = run.to_vectorbt()
    np.testing.assert_allclose(pf.value().to_numpy()[1:], run.backtest.value.to_numpy()[1:], rtol=1e-9, atol=0)
    assert int(pf.orders.count()) == run.backtest.trades_count > 10
