"""vectorbt as an independent oracle for engine.backtest (frictionless and symmetric proportional-fee cases).

Matching setup, worked out from vectorbt's ``portfolio/nb.py`` (``simulate_from_orders_nb``, ``buy_nb``, ``sell_nb``):

* ``size_type='targetpercent'``: the order size is ``pct * value / val_price - position`` with ``value`` the group
  value computed once per bar before any order (``update_value=False``) at ``val_price = price`` (default inf =
  the order price). Ours: desired shares = ``w * V / exec_price`` with V the pre-trade value at the exec price.
* ``call_seq='auto'`` with ``cash_sharing=True`` executes sells before buys, as we do.
* Fills at ``price * (1 +/- slippage)``; ``fees`` are charged on the filled value, from cash. When a buy's
  ``size * adj_price * (1 + fees)`` exceeds the cash, vectorbt buys what the cash allows:
  ``cash / (1 + fees) / adj_price`` (cash ends at 0). Our buys are scaled by the largest s that the cash can pay,
  which is the same number for a single buy; with several buys vectorbt truncates the last one while we scale all,
  so the multi-asset fee case keeps target sums <= 0.9 (cash always suffices, both fill every order in full).
* A NaN size = no order. Our all-NaN weight row = no new target; with threshold 0 an unchanged row trades nothing,
  so vectorbt gets the lag-shifted weights only on rows where they change (NaN elsewhere).
* Our lag-1 / close convention: the weights decided at close t-1 trade at close t, i.e. vectorbt's size is the
  weight frame shifted by one row. Our value row 0 is the anchor (initial cash): compared from row 1 on.

vectorbt's import and numba compilation are slow, so this module makes few calls.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest import run_backtest
from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
from engine.data.embedded import CSI300_CODE, csi300_panel, load_csi300
from engine.data.panel import Panel

vbt = pytest.importorskip("vectorbt")

CASH = 1e7
OFF = MarketRulesConfig(limits="off", lot_size=0)


def _costs(fee: float, slip_bps: float) -> CostConfig:
    return CostConfig(commission=fee, min_commission=0.0, stamp_duty="none", transfer_fee=0.0, slippage_bps=slip_bps)


def _vbt_value(close: pd.DataFrame, weights: pd.DataFrame, fee: float, slip_bps: float) -> pd.Series:
    size = weights.shift(1)                                        # lag 1 / close
    changed = size.ne(size.shift(1)).any(axis=1)
    size = size.where(changed, np.nan, axis=0)
    pf = vbt.Portfolio.from_orders(close, size=size, size_type="targetpercent", direction="longonly",
                                   fees=fee, slippage=slip_bps / 1e4, init_cash=CASH, cash_sharing=True,
                                   group_by=True, call_seq="auto", freq="D")
    return pf.value()


def _ours(close: pd.DataFrame, weights: pd.DataFrame, fee: float, slip_bps: float) -> pd.Series:
    panel = Panel("p", {"close": close}, "oracle")
    r = run_backtest(weights, panel, None, None, ExecutionConfig(lag=1, price="close", initial_cash=CASH),
                     _costs(fee, slip_bps), OFF)
    return r.value


def _assert_same(ours: pd.Series, theirs: pd.Series):
    assert ours.index.equals(theirs.index)
    np.testing.assert_allclose(ours.to_numpy()[1:], theirs.to_numpy()[1:], rtol=1e-9, atol=0)


@pytest.fixture(scope="module")
def csi_ma():
    df = load_csi300()
    close = csi300_panel()["close"]
    ma_s, ma_l = df["close"].rolling(10).mean(), df["close"].rolling(60).mean()
    w = (ma_s > ma_l).astype(float).to_frame(CSI300_CODE)
    return close, w


@pytest.fixture(scope="module")
def three_assets():
    rng = np.random.default_rng(2024)
    T = 400
    dates = pd.bdate_range("2015-01-05", periods=T, name="date")
    close = pd.DataFrame(np.exp(np.cumsum(rng.normal(0.0002, 0.02, (T, 3)), axis=0)) * [10.0, 35.0, 4.0],
                         index=dates, columns=["X", "Y", "Z"])
    w = pd.DataFrame(np.nan, index=dates, columns=close.columns)
    row = None
    for i in range(T):
        if i % 7 == 0 or rng.uniform() < 0.1:
            row = rng.dirichlet(np.ones(3)) * rng.choice([1.0, rng.uniform(0.3, 1.0)])
            row[rng.uniform(size=3) < 0.15] = 0.0
        w.iloc[i] = row
    return close, w


def test_csi300_ma_timing_frictionless(csi_ma):
    close, w = csi_ma
    ours, theirs = _ours(close, w, 0.0, 0.0), _vbt_value(close, w, 0.0, 0.0)
    _assert_same(ours, theirs)
    assert ours.iloc[-1] != CASH          # the strategy traded


def test_csi300_ma_timing_symmetric_fee_and_slippage(csi_ma):
    close, w = csi_ma
    _assert_same(_ours(close, w, 0.0005, 5.0), _vbt_value(close, w, 0.0005, 5.0))


def test_three_assets_frictionless(three_assets):
    close, w = three_assets
    assert np.nanmax(w.sum(axis=1)) == pytest.approx(1.0)    # fully invested rows are part of the case
    _assert_same(_ours(close, w, 0.0, 0.0), _vbt_value(close, w, 0.0, 0.0))


def test_three_assets_symmetric_fee(three_assets):
    close, w = three_assets
    w = w * 0.9
    _assert_same(_ours(close, w, 0.001, 3.0), _vbt_value(close, w, 0.001, 3.0))
