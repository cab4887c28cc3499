"""The event form of targets: dense -> events, MA crossovers -> events, and the anchored outputs of the kernel.

The naive twin (tests/naive_portfolio.py) checks the kernel in its raw mode (tests/test_kernel.py). The backtester
runs the anchored mode, whose quiet stretches take a separate lean loop; here it must reproduce, bit for bit, the
raw outputs passed through the base-row formulas written out below with numpy.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest import run_backtest_many
from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
from engine.data.embedded import load_embedded
from engine.kernels.ma import rolling_means
from engine.kernels.events import dense_events, lagged_events
from engine.kernels.portfolio import cost_arrays, simulate, simulate_events
from engine.backtest.weightpaths import CrossPaths, lagged_targets
from tests.naive_portfolio import naive_events, simulate_naive
from tests.test_kernel import _random_case


def _anchored_by_numpy(raw, initial_cash):
    """Base-row conventions (engine.backtest docstring) applied to raw (T, P) outputs, with plain numpy."""
    value, _, pre_value, traded, costs, _ = (np.array(a, dtype=float) for a in raw)
    turnover = traded.copy()
    np.divide(traded, pre_value, out=turnover, where=pre_value > 0)
    for a in (turnover, costs):
        a[1] += a[0]
        a[0] = 0.0
    value[0] = initial_cash
    returns = np.zeros_like(value)
    returns[1:] = value[1:] / value[:-1] - 1.0
    return value, returns, turnover, costs


def _anchored(arrays, kw, want_returns=True, want_flows=True, record=False):
    target, exec_price, close, can_buy, can_sell, stamp_buy, stamp_sell = arrays
    T, P, N = target.shape
    ptr, bars, w = dense_events(target, kw["trade_bar0"])
    dummy = np.zeros((1, 1))
    out = {k: np.full((P, T), -7.0) for k in ("value", "returns", "turnover", "costs", "cash")}
    pos = np.zeros((P, T, N)) if record else np.zeros((1, 1, 1))
    raw0 = np.empty(P)
    fees = cost_arrays(T, N, kw["transfer"], kw.get("tshare"), kw.get("tshare_min"), kw.get("sh_mask"))
    cash_g = kw.get("cash_g", np.zeros(0))
    div = kw.get("div", np.zeros((0, 0)))
    simulate_events(ptr, bars, w, exec_price, close, np.ascontiguousarray(close.T), can_buy, can_sell,
                    kw["trade_bar0"], kw["commission"], kw["min_commission"], stamp_buy, stamp_sell, *fees,
                    kw["slippage"], kw["lot"], kw["initial_cash"], kw["threshold"], kw["force"], cash_g, div,
                    True, want_returns, want_flows, record,
                    out["value"], out["returns"] if want_returns else dummy,
                    out["turnover"] if want_flows else dummy, out["costs"] if want_flows else dummy,
                    dummy, dummy, out["cash"] if record else dummy, pos, raw0)
    return out, pos, raw0


@pytest.mark.parametrize("seed", range(60))
def test_anchored_mode_equals_raw_mode_plus_base_row_formulas(seed):
    rng = np.random.default_rng(1000 + seed)
    arrays, kw = _random_case(rng, T=int(rng.integers(2, 60)))
    target, exec_price, close, can_buy, can_sell, stamp_buy, stamp_sell = arrays
    raw = simulate(target, exec_price, close, can_buy, can_sell, kw["trade_bar0"], kw["commission"],
                   kw["min_commission"], stamp_buy, stamp_sell, kw["transfer"], kw["slippage"], kw["lot"],
                   kw["initial_cash"], kw["threshold"], kw["force"], True,
                   **{k: kw[k] for k in ("tshare", "tshare_min", "sh_mask", "cash_g", "div") if k in kw})
    value, returns, turnover, costs = _anchored_by_numpy(raw, kw["initial_cash"])
    for record in (False, True):
        out, pos, raw0 = _anchored(arrays, kw, record=record)
        np.testing.assert_array_equal(out["value"].T, value)
        np.testing.assert_array_equal(out["returns"].T, returns)
        np.testing.assert_array_equal(out["turnover"].T, turnover)
        np.testing.assert_array_equal(out["costs"].T, costs)
        np.testing.assert_array_equal(raw0, raw[0][0])
        if record:
            np.testing.assert_array_equal(out["cash"].T, raw[1])
            np.testing.assert_array_equal(pos.transpose(1, 0, 2), raw[5])
    only_value, _, _ = _anchored(arrays, kw, want_returns=False, want_flows=False)
    np.testing.assert_array_equal(only_value["value"].T, value)
    assert (only_value["returns"] == -7.0).all() and (only_value["turnover"] == -7.0).all()


def test_dense_events_by_hand():
    nan = np.nan
    # one asset pair, P = 2: column 0 starts with an all-NaN row, repeats, changes; column 1 is zero, then NaN cell
    t = np.array([[[nan, nan], [0.0, 0.0]],
                  [[0.5, 0.5], [0.0, 0.0]],
                  [[0.5, 0.5], [nan, nan]],
                  [[nan, nan], [0.3, nan]],
                  [[0.5, 0.4], [0.3, 0.0]],
                  [[0.5, 0.4], [0.3, 0.0]]])
    ptr, bars, w = dense_events(t, True)
    assert ptr.tolist() == [0, 2, 4]
    assert bars.tolist() == [1, 4, 0, 3]
    np.testing.assert_array_equal(w, [[0.5, 0.5], [0.5, 0.4], [0.0, 0.0], [0.3, 0.0]])
    ptr, bars, _ = dense_events(t, False)      # bar 0 ignored (open execution): column 1 starts at bar 1
    assert ptr.tolist() == [0, 2, 4] and bars.tolist() == [1, 4, 1, 3]


@pytest.mark.parametrize("seed", range(6))
def test_cross_events_equal_dense_events_of_the_lagged_crossovers(seed):
    rng = np.random.default_rng(seed)
    T_all = int(rng.integers(30, 120))
    x = 10 + np.cumsum(rng.normal(0, 1, T_all))
    x[rng.uniform(size=T_all) < 0.05] = np.nan
    x[10:14] = 7.0                                               # a constant run: equal means
    windows = np.array(sorted(rng.choice(np.arange(1, 25), 6, replace=False)), dtype=np.int64)
    means = rolling_means(x, windows)
    P = 12
    s_idx, l_idx = rng.integers(0, len(windows), P), rng.integers(0, len(windows), P)
    valid = rng.uniform(size=P) < 0.8
    n_codes = int(rng.integers(1, 4))
    code = int(rng.integers(n_codes))
    paths = CrossPaths(means, s_idx, l_idx, code, n_codes, valid)
    dense = paths.dense()
    assert np.isnan(dense[:, ~valid]).all()
    dates = np.arange(T_all)
    for lag in (0, 1, 3):
        for i0, i1 in ((0, T_all - 1), (5, T_all - 3), (int(rng.integers(1, T_all // 2)), T_all - 1)):
            for trade_bar0 in (True, False):
                want = dense_events(lagged_targets(dense, dates, i0, i1, lag), trade_bar0)
                got = paths.events(dates, i0, i1, lag, trade_bar0)
                for a, b in zip(got, want):
                    np.testing.assert_array_equal(a, b)


def test_compact_ma_paths_backtest_like_their_dense_form():
    ds = load_embedded()
    panel = ds.panel("index")
    x = panel["close"].iloc[:, 0].to_numpy()
    windows = np.array([3, 5, 10, 20, 60], dtype=np.int64)
    paths = CrossPaths(rolling_means(x, windows), np.array([0, 1, 2, 0, 3]), np.array([2, 3, 4, 4, 4]), 0, 1)
    ex = ExecutionConfig(lag=1, initial_cash=1e6)
    costs = CostConfig(commission=0.0003, min_commission=5.0)
    rules = MarketRulesConfig(limits="off", lot_size=100)
    a = run_backtest_many(paths, panel, "2015-01-01", "2020-12-31", ex, costs, rules)
    b = run_backtest_many(paths.dense(), panel, "2015-01-01", "2020-12-31", ex, costs, rules)
    assert (np.abs(a["turnover"]).sum(axis=0) > 1).all(), "every column must trade"
    for k in ("returns", "value", "turnover", "costs"):
        np.testing.assert_array_equal(a[k], b[k])
    v = run_backtest_many(paths, panel, "2015-01-01", "2020-12-31", ex, costs, rules, outputs=("value",))
    assert set(v) == {"value"}
    np.testing.assert_array_equal(v["value"], a["value"])


def test_thread_split_is_bit_identical(monkeypatch):
    """Column blocks in threads (engine.backtest.kernel_threads) compute exactly what one thread computes."""
    from engine.backtest import core as backtest
    from engine.errors import ConfigError

    ds = load_embedded()
    panel = ds.panel("index")
    x = panel["close"].iloc[:, 0].to_numpy()
    windows = np.arange(2, 40, dtype=np.int64)
    rng = np.random.default_rng(3)
    P = 3 * backtest.MIN_COLS_PER_THREAD + 5
    s_idx, l_idx = rng.integers(0, 10, P), rng.integers(10, len(windows), P)
    paths = CrossPaths(rolling_means(x, windows), s_idx, l_idx, 0, 1)
    ex, costs = ExecutionConfig(lag=1), CostConfig(commission=0.0003, min_commission=5.0)
    runs = {}
    for n in ("1", "3"):
        monkeypatch.setenv("JINGONG_THREADS", n)
        assert backtest.kernel_threads() == int(n)
        runs[n] = run_backtest_many(paths, panel, "2010-01-01", None, ex, costs, MarketRulesConfig(lot_size=100))
        dense = run_backtest_many(paths.dense(), panel, "2010-01-01", None, ex, costs, MarketRulesConfig(lot_size=100))
        for k in runs[n]:
            np.testing.assert_array_equal(dense[k], runs[n][k])
    for k in runs["1"]:
        np.testing.assert_array_equal(runs["1"][k], runs["3"][k])
    for bad in ("0", "two"):
        monkeypatch.setenv("JINGONG_THREADS", bad)
        with pytest.raises(ConfigError, match="JINGONG_THREADS"):
            backtest.kernel_threads()


def test_forked_child_gets_its_own_kernel_threads(monkeypatch):
    """A process forked after a multi-column backtest must not wait forever on the parent's (absent) threads."""
    import multiprocessing as mp

    from engine.backtest import core as backtest

    monkeypatch.setenv("JINGONG_THREADS", "2")
    ds = load_embedded()
    panel = ds.panel("index")
    x = panel["close"].iloc[:, 0].to_numpy()
    P = 2 * backtest.MIN_COLS_PER_THREAD
    paths = CrossPaths(rolling_means(x, np.array([5, 20, 60], dtype=np.int64)), np.zeros(P, dtype=np.int64),
                       np.full(P, 2, dtype=np.int64), 0, 1)
    want = run_backtest_many(paths, panel, "2020-01-01", None, outputs=("value",))["value"]   # parent's pool exists
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_child_values, (paths, panel)).get(timeout=120)
    np.testing.assert_array_equal(got, want)


def _child_values(paths, panel):
    return np.asarray(run_backtest_many(paths, panel, "2020-01-01", None, outputs=("value",))["value"])


def _lagged_by_hand(w, i0, i1, lag):
    """Bar j of i0..i1 trades the row decided at i0 + j - lag (NaN before the data); in rows that are not all NaN,
    NaN cells and -1e-12 < w < 0 rounding noise are 0. Plain loops, independent of engine.backtest.weightpaths."""
    T_all, P, N = w.shape
    out = np.full((i1 - i0 + 1, P, N), np.nan)
    for j in range(i1 - i0 + 1):
        r = i0 + j - lag
        for p in range(P):
            if r < 0 or np.isnan(w[r, p]).all():
                continue
            for k in range(N):
                v = w[r, p, k]
                out[j, p, k] = 0.0 if np.isnan(v) or -1e-12 < v < 0 else v
    return out


@pytest.mark.parametrize("seed", range(40))
def test_one_pass_events_equal_the_naive_events_and_twin(seed):
    """DensePaths.events (numba, one pass) against independent oracles (issue 12 item 11): the events listed by
    the written rule (tests/naive_portfolio.naive_events) of the targets lagged by hand, and the naive twin's
    simulation of those dense targets against the kernel run on the one-pass events."""
    from engine.backtest.weightpaths import DensePaths

    rng = np.random.default_rng(500 + seed)
    T_all, P, N = int(rng.integers(3, 40)), int(rng.integers(1, 5)), int(rng.integers(1, 12))
    w = rng.dirichlet(np.ones(N), size=(T_all, P)) * rng.choice([1.0, 0.7], size=(T_all, P, 1))
    w[rng.uniform(size=(T_all, P)) < 0.3] = np.nan                  # no new target
    w[rng.uniform(size=(T_all, P, N)) < 0.1] = np.nan               # NaN cells = 0
    w[rng.uniform(size=(T_all, P, N)) < 0.05] = -1e-13              # rounding noise = 0
    rep = rng.uniform(size=(T_all, P)) < 0.3                        # repeated rows: no event
    w[1:][rep[1:]] = w[:-1][rep[1:]]
    dates = pd.bdate_range("2020-01-01", periods=T_all)
    paths = DensePaths(w)
    price = np.exp(np.cumsum(rng.normal(0, 0.02, (T_all, N)), axis=0)) * 10
    for lag in (0, 1, 2):
        i0 = int(rng.integers(0, T_all - 1))
        i1 = int(rng.integers(i0 + 1, T_all))
        target = _lagged_by_hand(w, i0, i1, lag)
        for trade_bar0 in (True, False):
            want = naive_events(target, trade_bar0)
            assert lagged_events(w, i0 - lag, i1 - i0 + 1, trade_bar0, True)[3], "the one-pass path must be taken"
            got = paths.events(dates, i0, i1, lag, trade_bar0)
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)
            for a, b in zip(paths.take(range(0, P)).events(dates, i0, i1, lag, trade_bar0), want):
                np.testing.assert_array_equal(a, b)
            T = i1 - i0 + 1
            px = np.ascontiguousarray(price[i0:i1 + 1])
            ok = np.ones((T, N), bool)
            z = np.zeros(T)
            slow = simulate_naive(target, px, px, ok, ok, trade_bar0, 0.0003, 5.0, z, z + 0.001, 0.00001, 0.0,
                                  100.0, 1e6, 0.0, np.zeros(T, bool))
            value = np.empty((P, T))
            fees = cost_arrays(T, N, 0.00001)
            d1, d3 = np.zeros((1, 1)), np.zeros((1, 1, 1))
            simulate_events(*got, px, px, d1, ok, ok, trade_bar0, 0.0003, 5.0, z, z + 0.001, *fees, 0.0, 100.0,
                            1e6, 0.0, np.zeros(T, bool), np.zeros(0), np.zeros((0, 0)), False, False, False, False,
                            value, d1, d1, np.empty((P, T)), np.empty((P, T)), np.empty((P, T)), d1, d3, np.empty(P))
            np.testing.assert_allclose(value.T, slow[0], rtol=1e-12)


@pytest.mark.parametrize("bad, msg", [(np.inf, "infinite"), (-0.01, "negative"), (0.8, "sum above 1")])
def test_one_pass_dense_events_report_bad_weights_like_numpy(bad, msg):
    from engine.errors import DataError
    from engine.backtest.weightpaths import DensePaths

    w = np.full((10, 2, 2), 0.3)
    w[6, 1, 0] = bad
    dates = pd.bdate_range("2021-03-01", periods=10)
    with pytest.raises(DataError, match=msg) as exc:
        DensePaths(w).events(dates, 2, 9, 1, True)
    assert "2021-03-09" in str(exc.value) and "columns [1]" in str(exc.value)
