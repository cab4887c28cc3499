"""The numba portfolio kernel against its naive pure-Python twin (tests/naive_portfolio.py), plus direct checks."""
from __future__ import annotations

import numpy as np
import pytest

from engine.kernels.portfolio import _affordable_scale, _buy_need, simulate
from tests.naive_portfolio import _buy_need as naive_need
from tests.naive_portfolio import _largest_affordable_scale, simulate_naive

OUTPUTS = ("value", "cash", "pre_value", "traded", "costs")
EXTRA = ("tshare", "tshare_min", "sh_mask", "cash_g", "div")


def _random_case(rng, T=None, P=None, N=None):
    T = T or int(rng.integers(2, 40))
    P = P or int(rng.integers(1, 4))
    N = N or int(rng.integers(1, 6))
    # prices: random walks around 5..50; some assets list late (leading NaN), suspension runs (exec NaN)
    close = np.exp(np.cumsum(rng.normal(0, 0.03, (T, N)), axis=0)) * rng.uniform(5, 50, N)
    for k in range(N):
        if rng.uniform() < 0.3:
            close[: int(rng.integers(1, max(2, T // 2))), k] = np.nan
    exec_price = close * np.exp(rng.normal(0, 0.005, (T, N)))     # e.g. an open that differs from the close
    if rng.uniform() < 0.5:
        exec_price = close.copy()
    for _ in range(int(rng.integers(0, 4))):
        k, a = int(rng.integers(N)), int(rng.integers(T))
        exec_price[a:a + int(rng.integers(1, 5)), k] = np.nan
    # forward-filled valuation close, as the wrapper hands it over
    close_ff = close.copy()
    for i in range(1, T):
        miss = np.isnan(close_ff[i])
        close_ff[i, miss] = close_ff[i - 1, miss]
    can_buy = rng.uniform(size=(T, N)) > rng.choice([0.0, 0.15, 0.4])
    can_sell = rng.uniform(size=(T, N)) > rng.choice([0.0, 0.15, 0.4])
    # targets: random rows with sums in [0, 1], repeated / slightly perturbed rows, all-NaN rows, NaN cells
    target = np.empty((T, P, N))
    for p in range(P):
        row = rng.dirichlet(np.ones(N)) * rng.choice([1.0, rng.uniform(0, 1)])
        for i in range(T):
            u = rng.uniform()
            if u < 0.3:
                row = rng.dirichlet(np.ones(N)) * rng.choice([1.0, rng.uniform(0, 1)])
                row[rng.uniform(size=N) < 0.2] = 0.0
            elif u < 0.45:
                row = np.clip(row + rng.normal(0, 0.03, N), 0, None)
                row = row / max(1.0, row.sum())
            target[i, p] = row
            if rng.uniform() < 0.3:
                target[i, p] = np.nan
            elif rng.uniform() < 0.1:
                target[i, p, int(rng.integers(N))] = np.nan
    stamp_buy = np.where(np.arange(T) < T // 2, rng.choice([0.0, 0.001]), 0.0)
    stamp_sell = np.where(np.arange(T) < T // 2, 0.001, 0.0005) * rng.choice([0.0, 1.0])
    kw = dict(
        trade_bar0=bool(rng.uniform() < 0.7),
        commission=float(rng.choice([0.0, 0.00025, 0.003])),
        min_commission=float(rng.choice([0.0, 5.0, 200.0])),
        transfer=float(rng.choice([0.0, 0.00001])),
        slippage=float(rng.choice([0.0, 0.001])),
        lot=float(rng.choice([0.0, 1.0, 100.0])),
        initial_cash=float(rng.choice([1e4, 1e5, 1e6])),
        threshold=float(rng.choice([0.0, 0.0, 0.05])),
        force=rng.uniform(size=T) < rng.choice([0.0, 0.1, 0.3]),
    )
    if rng.uniform() < 0.3:                                  # dated transfer fee, pre-2015 Shanghai per-share fee
        kw["transfer"] = np.where(np.arange(T) < T // 3, 0.0, 0.00002)
        kw["tshare"] = np.where(np.arange(T) < T // 3, 0.001, 0.0)
        kw["tshare_min"] = np.where(np.arange(T) < T // 3, 1.0, 0.0)
        kw["sh_mask"] = (rng.uniform(size=N) < 0.5).astype(float)
    if rng.uniform() < 0.25:                                 # cash earns a return
        kw["cash_g"] = 1.0 + rng.uniform(0, 2e-4, T)
    if rng.uniform() < 0.25:                                 # distributions on a few ex-dates
        div = np.zeros((T, N))
        ex = rng.uniform(size=(T, N)) < 0.05
        div[ex] = close_ff[ex] * rng.uniform(0.005, 0.05, ex.sum())
        kw["div"] = np.nan_to_num(div)
    return (target, exec_price, close_ff, can_buy, can_sell, stamp_buy, stamp_sell), kw


def _run_both(arrays, kw):
    target, exec_price, close, can_buy, can_sell, stamp_buy, stamp_sell = arrays
    args = (target, exec_price, close, can_buy, can_sell, kw["trade_bar0"], kw["commission"], kw["min_commission"],
            stamp_buy, stamp_sell, kw["transfer"], kw["slippage"], kw["lot"], kw["initial_cash"], kw["threshold"],
            kw["force"])
    extra = {k: kw[k] for k in EXTRA if k in kw}
    return simulate(*args, True, **extra), simulate_naive(*args, **extra)


def _assert_match(fast, slow, initial_cash, tol=1e-10):
    """Money outputs to tol relative to the portfolio's scale; positions to tol relative to each asset's scale."""
    scale = max(initial_cash, float(np.nanmax(np.abs(slow[0]))))
    for name, a, b in zip(OUTPUTS, fast[:5], slow[:5]):
        err = float(np.max(np.abs(a - b)))
        assert err <= tol * scale, f"{name}: max abs diff {err:.3g} vs scale {scale:.3g}"
    pos_scale = np.maximum(np.abs(slow[5]).max(axis=(0, 1)), 1.0)
    rel = np.abs(fast[5] - slow[5]) / pos_scale
    assert rel.max() <= tol, f"positions: max relative diff {rel.max():.3g}"


@pytest.mark.parametrize("seed", range(80))
def test_kernel_matches_naive_random(seed):
    rng = np.random.default_rng(seed)
    arrays, kw = _random_case(rng)
    fast, slow = _run_both(arrays, kw)
    _assert_match(fast, slow, kw["initial_cash"])
    # buys never overdraw cash (only a sell whose minimum commission exceeds its proceeds can, by that excess)
    if kw["min_commission"] == 0.0:
        assert (fast[1] >= -1e-9 * kw["initial_cash"]).all()


def test_kernel_matches_naive_larger_multi_portfolio():
    rng = np.random.default_rng(1234)
    arrays, kw = _random_case(rng, T=120, P=4, N=8)
    kw.update(commission=0.0003, min_commission=5.0, lot=100.0, initial_cash=1e6, threshold=0.02)
    fast, slow = _run_both(arrays, kw)
    _assert_match(fast, slow, kw["initial_cash"])
    assert np.count_nonzero(fast[3]) > 20, "the case must actually trade"


def test_portfolios_are_independent():
    rng = np.random.default_rng(7)
    arrays, kw = _random_case(rng, T=50, P=3, N=4)
    fast, _ = _run_both(arrays, kw)
    for p in range(3):
        one = list(arrays)
        one[0] = np.ascontiguousarray(arrays[0][:, p:p + 1])
        single, _ = _run_both(tuple(one), kw)
        for a, b in zip(fast[:5], single[:5]):
            np.testing.assert_array_equal(a[:, p], b[:, 0])


def _simple(target, price, **over):
    """One- or few-asset helper with every cost off unless overridden; close execution at the given prices."""
    price = np.asarray(price, float)
    if price.ndim == 1:
        price = price[:, None]
    target = np.asarray(target, float)
    if target.ndim == 2:
        target = target[:, None, :]
    T, N = price.shape
    kw = dict(trade_bar0=True, commission=0.0, min_commission=0.0, stamp_buy=np.zeros(T), stamp_sell=np.zeros(T),
              transfer=0.0, slippage=0.0, lot=0.0, initial_cash=1e5, threshold=0.0,
              can_buy=np.ones((T, N), bool), can_sell=np.ones((T, N), bool), force=np.zeros(T, bool))
    kw.update(over)
    out = simulate(np.ascontiguousarray(target), price, price.copy(), kw["can_buy"], kw["can_sell"], kw["trade_bar0"],
                   kw["commission"], kw["min_commission"], kw["stamp_buy"], kw["stamp_sell"], kw["transfer"],
                   kw["slippage"], kw["lot"], kw["initial_cash"], kw["threshold"], kw["force"], True)
    return dict(zip(OUTPUTS + ("positions",), out))


def test_zero_weights_are_exactly_flat():
    out = _simple(np.zeros((6, 2)), np.array([[10, 20], [11, 19], [12, 18], [9, 21], [10, 20], [13, 22.0]]),
                  commission=0.001, min_commission=5.0, transfer=1e-5, slippage=0.002)
    assert (out["value"] == 1e5).all() and (out["costs"] == 0).all() and (out["traded"] == 0).all()


def test_min_commission_binds_on_small_order():
    # buy 10% of 10,000 at 10: 1,000 notional; 0.03% would be 0.30, the minimum 5 applies
    out = _simple([[0.1], [np.nan]], [10.0, 10.0], commission=0.0003, min_commission=5.0, initial_cash=1e4)
    assert out["positions"][0, 0, 0] == 100.0
    assert out["costs"][0, 0] == 5.0 and out["cash"][0, 0] == 1e4 - 1000.0 - 5.0


def test_full_investment_is_scaled_to_cash():
    # 100% at price 10 with 0.1% commission: s * 10,000 * 1.001 = 10,000 -> 999.000999 shares, cash 0
    out = _simple([[1.0]], [10.0], commission=0.001, initial_cash=1e4)
    assert out["positions"][0, 0, 0] == pytest.approx(1e4 / 10.0 / 1.001, rel=1e-14)
    assert abs(out["cash"][0, 0]) < 1e-9 and out["cash"][0, 0] >= 0.0


def test_blocked_order_stays_pending_until_tradable():
    # target at bar 0 only; buys blocked at bars 0 and 1 (limit up); executed at bar 2 with bar-2 value
    can_buy = np.array([[False], [False], [True], [True]])
    out = _simple([[0.5], [np.nan], [np.nan], [np.nan]], [10.0, 11.0, 12.5, 13.0], can_buy=can_buy)
    pos = out["positions"][:, 0, 0]
    assert pos[0] == 0 and pos[1] == 0 and pos[2] == pytest.approx(0.5 * 1e5 / 12.5) and pos[3] == pos[2]
    assert out["traded"][3, 0] == 0.0        # no longer pending: no churn afterwards


def test_threshold_skips_small_changes_and_constant_target_drifts():
    # constant 50/50 target: bought once, then positions drift (no rebalance); a 3% change under a 5% threshold
    price = np.array([[10, 10], [12, 8], [12, 8], [12, 8.0]])
    target = np.array([[0.5, 0.5], [0.5, 0.5], [0.53, 0.47], [0.6, 0.4]])
    out = _simple(target, price, threshold=0.05)
    pos = out["positions"][:, 0, :]
    np.testing.assert_array_equal(pos[0], [5000.0, 5000.0])
    np.testing.assert_array_equal(pos[1], pos[0])
    np.testing.assert_array_equal(pos[2], pos[0])
    np.testing.assert_allclose(pos[3], [0.6 * 1e5 / 12, 0.4 * 1e5 / 8], rtol=1e-14)


def test_lots_round_down_and_sell_to_zero_sells_everything():
    out = _simple([[0.5], [0.0]], [3.0, 3.0], lot=100.0, initial_cash=1e4)
    # 0.5 * 10,000 / 3 = 1666.67 -> 1600 shares; then target 0 sells all 1600
    assert out["positions"][0, 0, 0] == 1600.0 and out["positions"][1, 0, 0] == 0.0


@pytest.mark.parametrize("seed", range(60))
def test_affordable_scale_is_the_largest_feasible(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7)) if seed % 2 else int(rng.integers(7, 40))
    x = rng.uniform(100, 1e5, n) * rng.choice([1.0, 0.01], n)
    rate = float(rng.choice([0.0, 0.00001, 0.001]))
    comm = float(rng.choice([0.0, 0.0003, 0.003]))
    minc = float(rng.choice([0.0, 5.0, 50.0]))
    cash = float(rng.uniform(0.0, 1.2) * x.sum())
    # a per-share fee on some orders (the pre-2015 Shanghai transfer fee: 0.001 yuan a share, minimum 1 yuan)
    px = rng.uniform(2, 80, n)
    on = (rng.uniform(size=n) < 0.5) & (seed % 3 == 0)
    f = np.where(on, 0.001 / px, 0.0)                       # per unit of traded value
    m = np.where(on, 1.0, 0.0)
    buys = [(0, v / px[j], v) for j, v in enumerate(x)]
    fees = [(0.001, 1.0) if on[j] else (0.0, 0.0) for j in range(n)]
    s = _affordable_scale(x, f, m, n, cash, rate, comm, minc)
    s_naive = _largest_affordable_scale(buys, cash, rate, comm, minc, fees)
    assert 0.0 <= s <= 1.0
    assert s == pytest.approx(s_naive, rel=1e-12, abs=1e-15)
    if s > 0:
        assert _buy_need(s, x, f, m, n, rate, comm, minc) <= cash
        assert naive_need(s, buys, rate, comm, minc, fees) <= cash * (1 + 1e-15)
    if s < 1.0 and s > 0:
        assert _buy_need(s * (1 + 1e-9), x, f, m, n, rate, comm, minc) > cash


@pytest.mark.parametrize("seed", range(40))
def test_affordable_scale_many_orders_crossing_the_minimum(seed):
    # order values spread over three decades, so several orders switch to the minimum commission as s falls
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 40))
    x = np.exp(rng.uniform(np.log(100.0), np.log(1e5), n))
    cash = float(rng.uniform(0.2, 1.0) * x.sum())
    s = _affordable_scale(x, np.zeros(n), np.zeros(n), n, cash, 0.0005, 0.003, 50.0)
    s_naive = _largest_affordable_scale([(0, 0.0, v) for v in x], cash, 0.0005, 0.003, 50.0)
    assert s == pytest.approx(s_naive, rel=1e-12)


def test_affordable_scale_needs_a_second_refinement():
    # designed so that the first linear piece (solved at the all-proportional root) is not the final one
    x = np.geomspace(17_000.0, 60_000.0, 30)
    cash = 0.45 * x.sum()
    s = _affordable_scale(x, np.zeros(30), np.zeros(30), 30, cash, 0.0005, 0.003, 50.0)
    s_naive = _largest_affordable_scale([(0, 0.0, v) for v in x], cash, 0.0005, 0.003, 50.0)
    assert s == pytest.approx(s_naive, rel=1e-13)


def test_forced_rebalance_resets_drift_to_target():
    """Equal weight on two assets whose prices diverge: without force the portfolio drifts (trades once); with a
    forced rebalance at bar 2 it trades back to 50/50 at bar 2's prices (by hand)."""
    price = np.array([[10.0, 10.0], [20.0, 10.0], [20.0, 10.0], [40.0, 10.0]])
    target = np.full((4, 2), 0.5)
    drift = _simple(target, price)
    assert np.count_nonzero(drift["traded"]) == 1
    forced = _simple(target, price, force=np.array([False, False, True, False]))
    # bar 0: 5000 shares of each (1e5 cash); bar 2: value 150,000 -> 3,750 / 7,500 shares
    np.testing.assert_allclose(forced["positions"][2, 0], [3750.0, 7500.0])
    assert forced["value"][3] == 3750 * 40 + 7500 * 10
    assert forced["traded"][2] == 2 * 1250 * 20.0
