"""Property-based tests of the backtester (issue 12 item 10): for random prices, weights, costs, masks and lots,
the identities and invariances that any correct simulation must satisfy. Example counts are modest so the suite
stays fast; every example runs the real wrapper (masks, lag, events, kernel, result assembly)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest import run_backtest
from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
from engine.data.panel import Panel

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FREE = CostConfig(commission=0.0, min_commission=0.0, stamp_duty="none", transfer_fee=0.0, slippage_bps=0.0)


@st.composite
def markets(draw, flags=True):
    """(panel, weights, start): T x N random walks quoted at the 0.01 tick, suspensions (NaN closes), limit flags,
    sparse random target rows (sums <= 1)."""
    seed = draw(st.integers(0, 2**31 - 1))
    T = draw(st.integers(5, 45))
    N = draw(st.integers(1, 5))
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-06-03", periods=T)
    close = np.round(np.exp(np.cumsum(rng.normal(0, 0.03, (T, N)), axis=0)) * rng.uniform(3, 60, N), 2)
    close = np.maximum(close, 0.01)
    for _ in range(int(rng.integers(0, 3))):
        k, a = int(rng.integers(N)), int(rng.integers(1, T))
        close[a:a + int(rng.integers(1, 6)), k] = np.nan
    codes = [f"60{k:04d}.SH" for k in range(N)]
    frame = lambda a: pd.DataFrame(a, index=dates, columns=codes)  # noqa: E731
    fields = {"close": frame(close)}
    if flags:
        fields["limit_up"] = frame((rng.uniform(size=(T, N)) < 0.1).astype(float))
        fields["limit_down"] = frame((rng.uniform(size=(T, N)) < 0.1).astype(float))
    w = rng.dirichlet(np.ones(N), T) * rng.choice([1.0, 0.5, 0.9], size=(T, 1))
    w[rng.uniform(size=(T, N)) < 0.2] = 0.0
    w[rng.uniform(size=T) < 0.6] = np.nan
    return Panel("stocks", fields, "hypothesis"), frame(w), dates[1]


costs_st = st.builds(
    lambda c, m, s, t, sl: CostConfig(commission=c, min_commission=m,
                                      stamp_duty=[{"from": "2000-01-01", "buy": s / 2, "sell": s}],
                                      transfer_fee=t, slippage_bps=sl),
    st.sampled_from([0.0, 0.00025, 0.003]), st.sampled_from([0.0, 5.0]), st.sampled_from([0.0, 0.001]),
    st.sampled_from([0.0, 0.00002]), st.sampled_from([0.0, 5.0]))
lots = st.sampled_from([0, 100])


def _run(panel, w, start, costs=FREE, lot=0, cash=1e6, limits="data", **ex):
    return run_backtest(w, panel, start, None, ExecutionConfig(initial_cash=cash, **ex), costs,
                        MarketRulesConfig(limits=limits, lot_size=lot))


@SETTINGS
@given(markets(), costs_st, lots)
def test_value_identity_nonnegative_costs_lots_and_limits(m, costs, lot):
    panel, w, start = m
    r = _run(panel, w, start, costs, lot)
    close = panel["close"].ffill().reindex(r.value.index)
    held = (r.positions * close.where(r.positions != 0, 0.0)).sum(axis=1)
    np.testing.assert_allclose(r.value.iloc[1:], (r.cash + held).iloc[1:], rtol=1e-12)     # every day
    assert (r.costs >= 0).all() and (r.cash >= -1e-6).all() and (r.positions >= 0).all().all()
    if lot:
        assert (np.mod(r.positions.to_numpy(), lot) == 0).all()
    dq = r.positions.diff().iloc[1:]
    up = panel["limit_up"].reindex(dq.index) > 0.5
    down = panel["limit_down"].reindex(dq.index) > 0.5
    halted = panel["close"].reindex(dq.index).isna()
    assert not ((dq > 0) & (up | halted)).to_numpy().any(), "a buy on a limit-up or suspended day"
    assert not ((dq < 0) & (down | halted)).to_numpy().any(), "a sell on a limit-down or suspended day"


@SETTINGS
@given(markets(), st.sampled_from(["commission", "stamp", "transfer", "slippage"]), st.floats(1.5, 4.0))
def test_raising_any_cost_never_raises_final_value(m, which, k):
    """Fractional shares and no minimum commission (with lots or a fixed minimum, paying more can change which
    shares are bought, so a later price move can favour the dearer run: not a property)."""
    panel, w, start = m
    base = dict(commission=0.0003, stamp=0.001, transfer=0.00002, slippage=3.0)
    dear = dict(base, **{which: base[which] * k})

    def final(c):
        costs = CostConfig(commission=c["commission"], min_commission=0.0, transfer_fee=c["transfer"],
                           stamp_duty=[{"from": "2000-01-01", "buy": c["stamp"], "sell": c["stamp"]}],
                           slippage_bps=c["slippage"])
        return _run(panel, w, start, costs).value.iloc[-1]

    assert final(dear) <= final(base) * (1 + 1e-12)


@SETTINGS
@given(markets(flags=True), costs_st, st.floats(0.01, 100.0))
def test_scaling_all_prices_changes_no_return(m, costs, c):
    """Proportional costs only (a fixed minimum commission is not scale free), fractional shares."""
    panel, w, start = m
    costs = CostConfig(commission=costs.commission, min_commission=0.0, stamp_duty=costs.stamp_duty,
                       transfer_fee=costs.transfer_fee, slippage_bps=costs.slippage_bps)
    scaled = Panel(panel.name, {**panel.fields, "close": panel["close"] * c}, panel.source)
    a = _run(panel, w, start, costs)
    b = _run(scaled, w, start, costs)
    np.testing.assert_allclose(b.returns, a.returns, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.positions * c, a.positions, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(markets(), costs_st, lots, st.randoms(use_true_random=False))
def test_permuting_assets_permutes_positions(m, costs, lot, rnd):
    panel, w, start = m
    perm = list(panel.codes)
    rnd.shuffle(perm)
    p2 = Panel(panel.name, {k: v[perm] for k, v in panel.fields.items()}, panel.source)
    a = _run(panel, w, start, costs, lot)
    b = _run(p2, w[perm], start, costs, lot)
    np.testing.assert_allclose(b.value, a.value, rtol=1e-12)
    np.testing.assert_allclose(b.positions[list(panel.codes)], a.positions, rtol=1e-12, atol=1e-9)


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(3, 60), st.sampled_from([0.0, 0.00025, 0.003]),
       st.sampled_from([0.0, 0.00002]))
def test_holding_the_benchmark_returns_it_minus_its_costs(seed, T, commission, transfer):
    """100% of one index, lag 1 at the close: every day's return is the index's, except the first, which pays the
    entry: (1 + r) = (1 - cost / cash) (1 + r_index), cost = cash (commission + transfer) / (1 + commission +
    transfer) (full investment scaled to the cash)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-02", periods=T)
    px = np.round(np.exp(np.cumsum(rng.normal(0, 0.015, T))) * 3000, 2)
    panel = Panel("index", {"close": pd.DataFrame({"000300.SH": px}, index=dates)}, "hypothesis")
    w = pd.DataFrame({"000300.SH": 1.0}, index=dates)
    costs = CostConfig(commission=commission, min_commission=0.0, stamp_duty="none", transfer_fee=transfer)
    r = run_backtest(w, panel, dates[2], None, ExecutionConfig(lag=1, initial_cash=1e7), costs,
                     MarketRulesConfig(limits="off"))
    rb = px[2:] / px[1:-1] - 1                      # index returns from the base day (dates[1]) on
    entry = (commission + transfer) / (1 + commission + transfer)
    assert abs(r.returns.iloc[1] - ((1 - entry) * (1 + rb[0]) - 1)) < 1e-14
    np.testing.assert_allclose(r.returns.to_numpy()[2:], rb[1:], rtol=0, atol=1e-14)
    assert r.costs.iloc[2:].eq(0).all()
