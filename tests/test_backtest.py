"""engine.backtest: hand-computed cases, timing convention, masks, stamp duty, errors, metamorphic properties."""
from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from engine.backtest import backtest_dates, run_backtest, run_backtest_many, stamp_duty_schedule, tradability
from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
from engine.data.embedded import CSI300_CODE, CSI300_CSV, csi300_panel
from engine.data.panel import Panel
from engine.errors import ConfigError, DataError

FREE = CostConfig(commission=0.0, min_commission=0.0, stamp_duty="none", transfer_fee=0.0, slippage_bps=0.0)
OFF = MarketRulesConfig(limits="off")


def _panel(fields: dict, dates, codes=("A", "B")) -> Panel:
    idx = pd.DatetimeIndex(pd.to_datetime(dates), name="date")
    flags = ("suspended", "limit_up", "limit_down")
    return Panel("stocks", {k: pd.DataFrame(np.asarray(v, dtype=bool if k in flags else float), index=idx,
                                            columns=list(codes)) for k, v in fields.items()}, "test")


# ------------------------------------------------------------------------------------------ hand-computed case
HAND_DATES = ["2023-08-23", "2023-08-24", "2023-08-25", "2023-08-28"]


def test_hand_case_two_assets_stamp_switch_and_min_commission():
    """Lag 1 / close, lot 100, commission 0.1% min 5, A-share stamp duty (sell 0.1% -> 0.05% on 2023-08-28).

    base 08-23; 08-24: buy A 4000 @10, B 2000 @20 (commission 40 + 40)            -> cash 19,920, value 99,920
    08-25 (A 10.5, B 19.5, V 100,920): target A .2 -> floor(1922.3) = 1900, sell 2100 = 22,050 (comm 22.05,
    stamp 0.1% 22.05); B .41 -> floor(2121.9) = 2100, buy 100 = 1,950 (min comm 5)  -> cash 39,970.9
    08-28 (A 11, B 20, V 102,870.9): A 0 -> sell 1900 = 20,900 (comm 20.9, stamp 0.05% 10.45);
    B .4 -> floor(2057.4) = 2000, sell 100 = 2,000 (min comm 5, stamp 1.00)           -> cash 62,833.55
    """
    p = _panel({"close": [[10, 20], [10, 20], [10.5, 19.5], [11, 20]]}, HAND_DATES)
    w = pd.DataFrame([[0.4, 0.4], [0.2, 0.41], [0.0, 0.4]], index=pd.to_datetime(HAND_DATES[:3]), columns=["A", "B"])
    costs = CostConfig(commission=0.001, min_commission=5.0, stamp_duty="a_share", transfer_fee=0.0)
    r = run_backtest(w, p, "2023-08-24", "2023-08-28", ExecutionConfig(lag=1, price="close", initial_cash=100_000.0),
                     costs, MarketRulesConfig(lot_size=100))
    assert list(r.returns.index) == list(pd.to_datetime(HAND_DATES))
    value = [100_000.0, 99_920.0, 100_870.9, 102_833.55]
    np.testing.assert_allclose(r.value, value, rtol=1e-13)
    np.testing.assert_allclose(r.cash, [100_000.0, 19_920.0, 39_970.9, 62_833.55], rtol=1e-13)
    np.testing.assert_allclose(r.costs, [0.0, 80.0, 49.1, 37.35], rtol=1e-12)
    np.testing.assert_allclose(r.returns, [0.0, 99_920 / 100_000 - 1, 100_870.9 / 99_920 - 1,
                                           102_833.55 / 100_870.9 - 1], rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(r.cost_returns, [0.0, 80 / 100_000, 49.1 / 99_920, 37.35 / 100_870.9], rtol=1e-12)
    np.testing.assert_allclose(r.turnover, [0.0, 0.8, (22_050 + 1_950) / 100_920, (20_900 + 2_000) / 102_870.9],
                               rtol=1e-12)
    np.testing.assert_array_equal(r.positions["A"], [0, 4000, 1900, 0])
    np.testing.assert_array_equal(r.positions["B"], [0, 2000, 2100, 2000])
    np.testing.assert_allclose(r.weights_held.iloc[-1], [0.0, 40_000 / 102_833.55], rtol=1e-13)
    assert r.trades_count == 6 and r.base_date == pd.Timestamp("2023-08-23")


def test_hand_case_open_execution():
    """price: open, lag 1: decided at close d0 -> bought at the open of d1; sold at the open of d3."""
    dates = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    p = _panel({"close": [[10.0], [11.0], [12.0], [11.0]], "open": [[9.0], [10.5], [11.5], [12.5]]}, dates, ["A"])
    w = pd.DataFrame({"A": [1.0, 1.0, 0.0, 0.0]}, index=pd.to_datetime(dates))
    r = run_backtest(w, p, "2024-01-03", None, ExecutionConfig(lag=1, price="open", initial_cash=1e5), FREE, OFF)
    np.testing.assert_allclose(r.returns, [0.0, 11 / 10.5 - 1, 12 / 11 - 1, 12.5 / 12 - 1], rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(r.value.iloc[-1], 1e5 / 10.5 * 12.5, rtol=1e-14)
    np.testing.assert_allclose(r.positions["A"], [0, 1e5 / 10.5, 1e5 / 10.5, 0], rtol=1e-14)


def test_lag_two_delays_the_trade():
    dates = pd.bdate_range("2024-01-01", periods=6)
    p = _panel({"close": np.full((6, 1), 10.0)}, dates, ["A"])
    w = pd.DataFrame({"A": [0, 1.0, 1, 1, 1, 1]}, index=dates)
    r = run_backtest(w, p, None, None, ExecutionConfig(lag=2), FREE, OFF)
    np.testing.assert_array_equal(r.positions["A"].to_numpy() > 0, [False, False, False, True, True, True])


def test_nan_rows_keep_positions_and_partial_nan_is_zero():
    dates = pd.bdate_range("2024-01-01", periods=5)
    p = _panel({"close": [[10, 10], [11, 9], [12, 8], [13, 7], [14, 6.0]]}, dates)
    w = pd.DataFrame([[0.5, 0.5], [np.nan, np.nan], [np.nan, np.nan], [0.5, np.nan], [np.nan, np.nan]],
                     index=dates, columns=["A", "B"])
    r = run_backtest(w, p, None, None, ExecutionConfig(lag=0, allow_same_close=True), FREE, OFF)
    pos = r.positions.to_numpy()
    np.testing.assert_array_equal(pos[1], pos[0])
    np.testing.assert_array_equal(pos[2], pos[0])
    assert pos[3, 1] == 0.0 and pos[3, 0] == pytest.approx(0.5 * r.value.iloc[3] / 13)


# ------------------------------------------------------------------------------------------ masks and schedule
def test_stamp_duty_schedule_a_share_dates():
    d = pd.to_datetime(["2007-05-29", "2007-05-30", "2008-09-18", "2008-09-19", "2023-08-25", "2023-08-28"])
    buy, sell = stamp_duty_schedule(d, "a_share")
    np.testing.assert_array_equal(buy, [0.001, 0.003, 0.001, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(sell, [0.001, 0.003, 0.001, 0.001, 0.001, 0.0005])
    assert not stamp_duty_schedule(d, "none")[1].any()
    custom = [{"from": "2008-01-01", "sell": 0.002}, {"from": "2023-01-01", "buy": 0.1, "sell": 0.0}]
    b, s = stamp_duty_schedule(d, custom)
    np.testing.assert_array_equal(s, [0, 0, 0.002, 0.002, 0, 0])
    np.testing.assert_array_equal(b, [0, 0, 0, 0, 0.1, 0.1])
    with pytest.raises(ConfigError, match="stamp_duty"):
        stamp_duty_schedule(d, "china")
    with pytest.raises(ConfigError, match="sorted"):
        stamp_duty_schedule(d, [{"from": "2020-01-01", "sell": 0.001}, {"from": "2010-01-01", "sell": 0.001}])


def test_tradability_board_rule_at_the_tick():
    # real quotes: 2.03 -> 2.23 (+9.85%) and 5.01 -> 5.51 (+9.98%) are limit-up closes (2.233 -> 2.23, 5.511 ->
    # 5.51); 2.22 is not; 10.00 -> 9.00 is limit-down; B on ChiNext (20% from 2020-08-24): 11.50 / 10.00 is not
    close = [[2.03, 10.00], [2.23, 11.50], [2.45, 11.50], [2.21, 11.50]]
    p = _panel({"close": close}, pd.bdate_range("2024-01-01", periods=4))
    b, s = tradability(p, MarketRulesConfig(limits="board"), "close", pd.Series({"B": "chinext"}))
    # day 2: limit-up from 2.23 = round(2.453) = 2.45; day 3: limit-down from 2.45 = round(2.205) = 2.21 (half up)
    np.testing.assert_array_equal(b["A"], [True, False, False, True])
    np.testing.assert_array_equal(s["A"], [True, True, True, False])
    assert b["B"].all() and s["B"].all()
    b2, _ = tradability(p, MarketRulesConfig(limits="board"), "close", None)      # B as main board: +15% blocks
    assert not b2["B"].iloc[1]
    p2 = _panel({"close": [[5.01, 2.03], [5.51, 2.22]]}, pd.bdate_range("2024-01-01", periods=2))
    b4, _ = tradability(p2, MarketRulesConfig(limits="board"), "close")
    np.testing.assert_array_equal(b4.iloc[1], [False, True])
    b3, s3 = tradability(p, MarketRulesConfig(limits="off"), "close")
    assert b3.all().all() and s3.all().all()
    with pytest.raises(ConfigError, match="nasdaq"):
        tradability(p, MarketRulesConfig(limits="board"), "close", pd.Series({"A": "nasdaq"}))


def test_tradability_open_compares_open_with_previous_close():
    p = _panel({"close": [[10.0], [10.5]], "open": [[10.0], [11.0]]}, pd.bdate_range("2024-01-01", periods=2), ["A"])
    b, _ = tradability(p, MarketRulesConfig(limits="board"), "open")
    np.testing.assert_array_equal(b["A"], [True, False])


def test_tradability_data_flags_and_suspension():
    f = {"close": [[10.0], [np.nan], [11.0], [12.0]], "suspended": [[False], [True], [False], [False]],
         "limit_up": [[False], [False], [True], [False]], "limit_down": [[False], [False], [False], [True]]}
    p = _panel(f, pd.bdate_range("2024-01-01", periods=4), ["A"])
    for mode in ("data", "auto"):
        b, s = tradability(p, MarketRulesConfig(limits=mode), "close")
        np.testing.assert_array_equal(b["A"], [True, False, False, True])
        np.testing.assert_array_equal(s["A"], [True, False, True, False])
    with pytest.raises(DataError, match="limit_up"):
        tradability(_panel({"close": [[1.0]]}, ["2024-01-01"], ["A"]), MarketRulesConfig(limits="data"), "close")


def test_limit_up_blocks_buy_until_next_day():
    dates = pd.bdate_range("2024-01-01", periods=4)
    p = _panel({"close": [[10.0], [11.0], [11.5], [11.0]]}, dates, ["A"])      # +10% on day 1: limit up
    w = pd.DataFrame({"A": [1.0, 1.0, 1.0, 1.0]}, index=dates)
    # base day = day 1 (the limit-up day): the lag-0 buy at its close is blocked, done at day 2's close instead
    r = run_backtest(w, p, "2024-01-03", None, ExecutionConfig(lag=0, allow_same_close=True), FREE, MarketRulesConfig(limits="board"))
    np.testing.assert_allclose(r.positions["A"], [0, 1e7 / 11.5, 1e7 / 11.5], rtol=1e-14)
    r_off = run_backtest(w, p, "2024-01-03", None, ExecutionConfig(lag=0, allow_same_close=True), FREE, OFF)
    np.testing.assert_allclose(r_off.positions["A"], [1e7 / 11, 1e7 / 11, 1e7 / 11], rtol=1e-14)


def test_suspended_stock_with_filled_close_is_not_sold_until_it_resumes():
    # A is suspended on days 2-3 (flag set, close carried at 12); the sell due at day 2 waits until day 4
    dates = pd.bdate_range("2024-01-01", periods=5)
    f = {"close": [[10.0, 5.0], [11.0, 5.0], [12.0, 5.0], [12.0, 5.0], [9.0, 5.0]],
         "suspended": [[False, False], [False, False], [True, False], [True, False], [False, False]]}
    p = _panel(f, dates)
    w = pd.DataFrame([[0.5, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], index=dates, columns=["A", "B"])
    r = run_backtest(w, p, None, None, ExecutionConfig(lag=1, initial_cash=1e4), FREE, OFF)
    q = 5000 / 11                         # bought at day 1's close (lag 1), 50% of 10,000 at 11
    np.testing.assert_allclose(r.positions["A"], [0, q, q, q, 0], rtol=1e-14)
    np.testing.assert_allclose(r.value, [1e4, 1e4, 5000 + q * 12, 5000 + q * 12, 5000 + q * 9], rtol=1e-14)


# ------------------------------------------------------------------------------------------ errors
def test_errors_name_codes_dates_and_keys():
    dates = pd.bdate_range("2024-01-01", periods=3)
    p = _panel({"close": np.ones((3, 2))}, dates)
    with pytest.raises(DataError, match="ZZZ"):
        run_backtest(pd.DataFrame({"ZZZ": [1.0]}, index=dates[:1]), p)
    with pytest.raises(DataError, match="2024-01-06"):
        run_backtest(pd.DataFrame({"A": [1.0]}, index=pd.to_datetime(["2024-01-06"])), p)
    with pytest.raises(DataError, match="negative.*2024-01-02"):
        run_backtest(pd.DataFrame({"A": [0.5, -0.1]}, index=dates[:2]), p)
    with pytest.raises(DataError, match="sum above 1.*2024-01-03"):
        run_backtest(pd.DataFrame({"A": [0.5, 0.5, 0.7], "B": [0.5, 0.5, 0.7]}, index=dates), p)
    with pytest.raises(ConfigError, match="execution.lag"):
        run_backtest(pd.DataFrame({"A": [1.0]}, index=dates[:1]), p, execution=ExecutionConfig(lag=0, price="open"))
    with pytest.raises(DataError, match="period"):
        run_backtest(pd.DataFrame({"A": [1.0]}, index=dates[:1]), p, "2025-01-01", None)
    with pytest.raises(DataError, match="open"):
        run_backtest(pd.DataFrame({"A": [1.0]}, index=dates[:1]), p, execution=ExecutionConfig(price="open"))


# ------------------------------------------------------------------------------------------ metamorphic
def _random_setup(seed, T=60, N=4):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2022-01-03", periods=T)
    close = np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0)) * rng.uniform(5, 50, N)
    codes = [f"S{k}" for k in range(N)]
    w = pd.DataFrame(rng.dirichlet(np.ones(N), T) * rng.uniform(0.5, 1.0, (T, 1)), index=dates, columns=codes)
    w[rng.uniform(size=T) < 0.6] = np.nan
    return _panel({"close": close}, dates, codes), w


@pytest.mark.parametrize("seed", range(4))
def test_higher_costs_never_raise_final_value(seed):
    p, w = _random_setup(seed)
    finals = []
    for k in range(5):
        c = CostConfig(commission=0.0002 * k, min_commission=5.0 * k, stamp_duty=[{"from": "2000-01-01",
                       "buy": 0.0005 * k, "sell": 0.001 * k}], transfer_fee=0.00001 * k, slippage_bps=5.0 * k)
        finals.append(run_backtest(w, p, "2022-01-10", None, ExecutionConfig(initial_cash=1e6), c, OFF).value.iloc[-1])
    assert all(a > b for a, b in zip(finals, finals[1:])), finals


@pytest.mark.parametrize("seed", range(3))
def test_price_scaling_changes_no_return(seed):
    p, w = _random_setup(seed)
    costs = CostConfig(commission=0.0003, min_commission=0.0, stamp_duty="a_share", slippage_bps=3.0)
    base = run_backtest(w, p, "2022-01-10", None, ExecutionConfig(), costs, MarketRulesConfig(limits="board"))
    scaled = Panel(p.name, {"close": p["close"] * 7.3}, p.source)
    r = run_backtest(w, scaled, "2022-01-10", None, ExecutionConfig(), costs, MarketRulesConfig(limits="board"))
    np.testing.assert_allclose(r.returns, base.returns, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(r.weights_held, base.weights_held, rtol=1e-9, atol=1e-13)


def test_permuting_assets_permutes_positions_only():
    p, w = _random_setup(5)
    costs = CostConfig(min_commission=5.0)
    ex = ExecutionConfig(initial_cash=1e6)
    base = run_backtest(w, p, "2022-01-10", None, ex, costs, MarketRulesConfig(lot_size=100))
    perm = list(reversed(p.codes))
    p2 = Panel(p.name, {"close": p["close"][perm]}, p.source)
    r = run_backtest(w[perm], p2, "2022-01-10", None, ex, costs, MarketRulesConfig(lot_size=100))
    np.testing.assert_allclose(r.value, base.value, rtol=1e-12)
    pd.testing.assert_frame_equal(r.positions[list(p.codes)], base.positions, rtol=1e-12)


def test_zero_weights_flat_equity():
    p, w = _random_setup(6)
    r = run_backtest(w * 0.0, p, None, None, ExecutionConfig(), CostConfig(slippage_bps=10), MarketRulesConfig())
    assert (r.value == ExecutionConfig().initial_cash).all() and (r.returns == 0).all() and r.trades_count == 0


def _csv_closes():
    with open(CSI300_CSV, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["date"] for r in rows], [float(r["close"]) for r in rows]


def test_hold_csi300_zero_cost_equals_index_from_base_close():
    dates, closes = _csv_closes()
    p = csi300_panel()
    w = pd.DataFrame(1.0, index=p.dates, columns=[CSI300_CODE])
    r = run_backtest(w, p, "2015-06-01", "2016-12-30", ExecutionConfig(lag=1), FREE, MarketRulesConfig())
    i0 = dates.index("2015-05-29")       # base day: the last trading day before 2015-06-01
    i1 = dates.index("2016-12-30")
    expect = [0.0] + [closes[i] / closes[i - 1] - 1 for i in range(i0 + 1, i1 + 1)]
    assert r.returns.index[0] == pd.Timestamp("2015-05-29") and len(r.returns) == len(expect)
    np.testing.assert_allclose(r.returns.to_numpy(), expect, rtol=0, atol=2e-15)


def test_hold_csi300_with_costs_charges_entry_on_first_day_only():
    dates, closes = _csv_closes()
    p = csi300_panel()
    w = pd.DataFrame(1.0, index=p.dates, columns=[CSI300_CODE])
    r = run_backtest(w, p, "2020-01-02", "2020-03-31", ExecutionConfig(lag=1, initial_cash=1e7), CostConfig(),
                     MarketRulesConfig())
    i0 = dates.index("2019-12-31")
    # entry at the base close 2019-12-31: X (1 + transfer 0.002%, the CSDC rate of 2015-08-01..2022-04-28) +
    # 0.025% X = cash  ->  X = 1e7 / 1.00027
    x = 1e7 / (1 + 0.00002 + 0.00025)
    assert r.costs.iloc[1] == pytest.approx(1e7 - x, rel=1e-9)
    assert r.returns.iloc[1] == pytest.approx(x / 1e7 * closes[i0 + 1] / closes[i0] - 1, rel=1e-9)
    expect = [closes[i] / closes[i - 1] - 1 for i in range(i0 + 2, i0 + len(r.returns))]
    np.testing.assert_allclose(r.returns.to_numpy()[2:], expect, rtol=0, atol=2e-15)
    assert (r.costs.iloc[2:] == 0).all() and r.trades_count == 1


def test_many_equals_single_runs():
    p, _ = _random_setup(8, N=3)
    rng = np.random.default_rng(9)
    W = rng.dirichlet(np.ones(3), (len(p.dates), 4)) * 0.95
    W[rng.uniform(size=W.shape[:2]) < 0.5] = np.nan
    ex, costs = ExecutionConfig(lag=1, rebalance_threshold=0.01), CostConfig(min_commission=5.0)
    many = run_backtest_many(W, p, "2022-01-20", "2022-03-15", ex, costs, MarketRulesConfig())
    idx = backtest_dates(p.dates, "2022-01-20", "2022-03-15")
    assert many["value"].shape == (len(idx), 4)
    for j in range(4):
        one = run_backtest(pd.DataFrame(W[:, j, :], index=p.dates, columns=p.codes), p, "2022-01-20", "2022-03-15",
                           ex, costs, MarketRulesConfig())
        assert one.returns.index.equals(idx)
        for key, s in (("returns", one.returns), ("value", one.value), ("turnover", one.turnover),
                       ("costs", one.costs)):
            np.testing.assert_array_equal(many[key][:, j], s.to_numpy(), err_msg=key)
        np.testing.assert_array_equal(many["costs"][1:, j] / many["value"][:-1, j], one.cost_returns.to_numpy()[1:])


def test_outputs_are_float64_and_deterministic():
    p, w = _random_setup(10)
    rules = replace(MarketRulesConfig(), lot_size=100)
    a = run_backtest(w, p, "2022-01-10", None, ExecutionConfig(), CostConfig(), rules)
    b = run_backtest(w, p, "2022-01-10", None, ExecutionConfig(), CostConfig(), rules)
    for f in ("returns", "value", "turnover", "costs", "cost_returns"):
        assert getattr(a, f).dtype == np.float64
        pd.testing.assert_series_equal(getattr(a, f), getattr(b, f), check_exact=True)
    assert (a.weights_held.dtypes == np.float64).all()


def test_rebalance_dates_reset_drift_after_lag():
    """Constant 50/50 weights: without rebalance dates the portfolio buys once and drifts; with a rebalance date at
    decision day 2 (lag 1 -> traded at the close of day 3) it returns to 50/50 at day 3's prices (by hand)."""
    dates = pd.bdate_range("2024-01-01", periods=5)
    close = pd.DataFrame({"A": [10.0, 10, 20, 20, 40], "B": [10.0, 10, 10, 10, 10]}, index=dates)
    panel = _panel({"close": close}, dates)
    w = pd.DataFrame(0.5, index=dates, columns=["A", "B"])
    ex = ExecutionConfig(lag=1, initial_cash=1e5)
    free = dict(costs=CostConfig(commission=0.0, min_commission=0.0, stamp_duty="none", transfer_fee=0.0),
                rules=MarketRulesConfig(limits="off"))
    drift = run_backtest(w, panel, start=dates[1], execution=ex, **free)
    assert drift.trades_count == 2                          # the initial buy of A and B at the base close only
    forced = run_backtest(w, panel, start=dates[1], execution=ex, rebalance_dates=[dates[2]], **free)
    # base day 0: 5,000 shares each. Day 3 (close A=20, B=10): value 150,000 -> 3,750 A and 7,500 B
    assert forced.positions.loc[dates[3]].tolist() == [3750.0, 7500.0]
    assert forced.value.iloc[-1] == 3750 * 40 + 7500 * 10
    assert drift.value.iloc[-1] == 5000 * 40 + 5000 * 10
    with pytest.raises(DataError, match="rebalance dates 2024-01-06"):
        run_backtest(w, panel, start=dates[1], execution=ex, rebalance_dates=[pd.Timestamp("2024-01-06")], **free)
