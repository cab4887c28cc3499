"""Sparse rebalancing targets (engine.backtest.weightpaths.SparsePaths) against the dense path they stand for.

A SparsePaths is a compact spelling of a dense (T, P, N) weight array (rows between decisions all NaN, or the
decision forward filled with ``carry``). Its events and every backtest output must equal those of that dense array
bit for bit, under lag, open/close execution, a later start, suspensions, limit flags, the board rule and lots.
The dense side runs the dense code path (``DensePaths`` / a DataFrame), which the naive twin and vectorbt tests
check independently."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest import run_backtest, run_backtest_many
from engine.backtest.weightpaths import SparsePaths
from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
from engine.data.panel import Panel
from engine.errors import DataError
from engine.kernels.events import lagged_events

A_SHARE = CostConfig(commission=0.00025, min_commission=5.0)


def _market(seed, T=90, N=14):
    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(pd.bdate_range("2014-06-03", periods=T), name="date")
    codes = [f"60{k:04d}.SH" if k % 2 else f"00{k:04d}.SZ" for k in range(N)]
    close = np.round(np.exp(np.cumsum(rng.normal(0, 0.04, (T, N)), axis=0)) * rng.uniform(3, 60, N), 2)
    close = np.maximum(close, 0.01)
    for k in rng.choice(N, 3, replace=False):          # late listings
        close[:int(rng.integers(5, T // 2)), k] = np.nan
    susp = np.zeros((T, N), dtype=bool)
    for _ in range(4):                                  # suspensions: a flag and no price
        k, a = int(rng.integers(N)), int(rng.integers(1, T - 3))
        susp[a:a + int(rng.integers(1, 6)), k] = True
    close[susp] = np.nan
    opn = np.round(close * rng.uniform(0.97, 1.03, (T, N)), 2)
    frame = lambda a: pd.DataFrame(a, index=dates, columns=codes)  # noqa: E731
    up = rng.uniform(size=(T, N)) < 0.05
    fields = {"close": frame(close), "open": frame(opn), "suspended": frame(susp), "limit_up": frame(up)}
    return Panel("stocks", fields, "synthetic"), rng


def _targets(rng, panel, P, carry):
    """Random sparse decisions: per portfolio 6-15 decision dates, each holding 0-6 codes (an empty one = cash),
    weights summing to at most 1 (some exactly 1), a few NaN and tiny negative weights."""
    dates, codes = panel.dates, panel.codes
    per = []
    for _ in range(P):
        rows = np.sort(rng.choice(len(dates), int(rng.integers(6, 16)), replace=False))
        dec = {}
        for r in rows:
            k = rng.choice(len(codes), int(rng.integers(0, 7)), replace=False)
            w = rng.dirichlet(np.ones(len(k))) * rng.choice([1.0, 0.95, 0.5]) if len(k) else np.zeros(0)
            w = w.tolist()
            if len(w) > 2 and rng.uniform() < 0.2:
                w[0], w[1] = np.nan, -1e-13
            dec[dates[r]] = dict(zip(codes[k], w))
        per.append(dec)
    return SparsePaths.from_dicts(per, dates, codes, carry=carry)


CASES = [dict(lag=1, price="close", start=None, lot=0, limits="off"),
         dict(lag=0, price="close", start=None, lot=100, limits="data"),
         dict(lag=2, price="open", start=10, lot=100, limits="auto"),
         dict(lag=1, price="close", start=25, lot=0, limits="board"),
         dict(lag=3, price="open", start=40, lot=0, limits="auto")]


@pytest.mark.parametrize("carry", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_sparse_equals_dense_bit_for_bit(case, carry):
    c = CASES[case]
    panel, rng = _market(100 + case)
    sp = _targets(rng, panel, P=7, carry=carry)
    dense = sp.dense()
    assert dense.shape == (len(panel.dates), 7, len(panel.codes))
    start = None if c["start"] is None else panel.dates[c["start"]]
    ex = ExecutionConfig(lag=c["lag"], price=c["price"], initial_cash=1e6, allow_same_close=True)
    rules = MarketRulesConfig(limits=c["limits"], lot_size=c["lot"])
    i0 = 0 if start is None else c["start"] - 1
    T = len(panel.dates) - i0
    # events: those of the dense array, exactly
    got = sp.events(panel.dates, i0, len(panel.dates) - 1, c["lag"], c["price"] == "close")
    want = lagged_events(dense, i0 - c["lag"], T, c["price"] == "close", True)
    assert want[3]
    for g, w in zip(got, want[:3]):
        np.testing.assert_array_equal(g, w)
    # the whole backtest, P columns at once
    a = run_backtest_many(sp, panel, start, None, ex, A_SHARE, rules)
    b = run_backtest_many(dense, panel, start, None, ex, A_SHARE, rules)
    for k in ("returns", "value", "turnover", "costs"):
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert np.ptp(a["value"][-1]) > 0 and (a["turnover"] > 0).sum() > 7     # the columns really trade
    # one path through run_backtest, against the dense DataFrame
    for p in (0, 3):
        one = sp.take([p])
        r1 = run_backtest(one, panel, start, None, ex, A_SHARE, rules)
        r2 = run_backtest(pd.DataFrame(dense[:, p, :], index=panel.dates, columns=panel.codes), panel, start, None,
                          ex, A_SHARE, rules)
        for k in ("returns", "value", "turnover", "costs", "cost_returns", "cash"):
            np.testing.assert_array_equal(getattr(r1, k).to_numpy(), getattr(r2, k).to_numpy(), err_msg=k)
        for k in ("positions", "weights_held"):
            pd.testing.assert_frame_equal(getattr(r1, k), getattr(r2, k), check_exact=True)
        assert r1.trades_count == r2.trades_count
        np.testing.assert_array_equal(r1.value.to_numpy(), a["value"][:, p])


def test_from_long_equals_from_dicts_and_restrict():
    panel, rng = _market(7)
    sp = _targets(rng, panel, P=3, carry=False)
    rows = []
    for p in range(3):
        for d in range(sp.ptr[p], sp.ptr[p + 1]):
            z = slice(sp.row_ptr[d], sp.row_ptr[d + 1])
            for k, w in zip(sp.codes[z], sp.weights[z]):
                rows.append((f"P{p}", panel.dates[sp.rows[d]], panel.codes[k], w))
    long = pd.DataFrame(rows, columns=["portfolio", "date", "code", "weight"]).sample(frac=1, random_state=1) \
        .sort_values("portfolio", kind="stable")      # rows in any order; portfolios in order of first appearance
    lg = SparsePaths.from_long(long, panel.dates, panel.codes)
    d1, d2 = sp.dense(), lg.dense()
    empty = np.diff(sp.row_ptr) == 0          # a cash-only decision has no row in a long frame
    for d in np.flatnonzero(empty):
        p = int(np.searchsorted(sp.ptr, d, side="right") - 1)
        d1[sp.rows[d], p, :] = np.nan
    np.testing.assert_array_equal(d1, d2)
    used = lg.codes_used()
    r = lg.restrict(used)
    np.testing.assert_array_equal(r.dense(), d2[:, :, used])


def test_sparse_checks_weights_like_the_dense_path():
    panel, _ = _market(3)
    d, c = panel.dates, panel.codes
    with pytest.raises(DataError, match="sum above 1"):
        SparsePaths.from_dicts({d[5]: {c[0]: 0.7, c[1]: 0.4}}, d, c)
    with pytest.raises(DataError, match="negative"):
        SparsePaths.from_dicts({d[5]: {c[0]: -0.1}}, d, c)
    with pytest.raises(DataError, match="infinite"):
        SparsePaths.from_dicts([{}, {d[5]: {c[0]: np.inf}}], d, c)
    with pytest.raises(DataError, match="not a trading day"):
        SparsePaths.from_dicts({pd.Timestamp("2014-06-07"): {c[0]: 0.5}}, d, c)
    with pytest.raises(DataError, match="twice"):
        SparsePaths.from_long(pd.DataFrame({"date": [d[3], d[3]], "code": [c[1], c[1]], "weight": [0.1, 0.2]}), d, c)
    # 1 + 1e-9 exactly as the dense check (numpy's row sum) decides: accepted
    ok = SparsePaths.from_dicts({d[5]: {c[0]: 0.5, c[1]: 0.5 + 1e-9}}, d, c)
    assert ok.shape == (len(d), 1, len(c))


def test_memory_is_proportional_to_the_decisions():
    """P = 100 monthly top-10% portfolios over 1,000 codes and 4,857 days: the dense (T, P, N) array would be
    3.9 GB; the sparse form holds 100 x ~232 decisions x 100 codes."""
    T, P, N = 4857, 100, 1000
    dates = pd.bdate_range("2005-01-04", periods=T)
    month_end = np.flatnonzero(dates.to_period("M")[1:] != dates.to_period("M")[:-1])
    rng = np.random.default_rng(0)
    D = len(month_end) * P
    ks = np.concatenate([np.sort(rng.choice(N, 100, replace=False)) for _ in range(D)])
    sp = SparsePaths(np.arange(P + 1) * len(month_end), np.tile(month_end, P), np.arange(D + 1) * 100, ks,
                     np.full(D * 100, 0.01), T, N)
    nbytes = sum(a.nbytes for a in (sp.ptr, sp.rows, sp.row_ptr, sp.codes, sp.weights))
    assert sp.shape == (T, P, N)
    assert nbytes < T * P * N * 8 / 100       # ~37 MB against 3.9 GB


def test_weights_file_long_layout_uses_the_compact_path(tmp_path):
    """weights_file with layout: long on a stock panel hands the backtester a SparsePaths (decisions forward held,
    cash before the first); its result equals the dense weight frame's bit for bit, from any start."""
    from engine.data.panel import Dataset
    from engine.signals.basic import weights_file

    panel, rng = _market(11, T=120, N=12)
    d, c = panel.dates, panel.codes
    rows = []
    for r in (7, 30, 31, 64, 90):
        k = rng.choice(len(c), 4, replace=False)
        for code, wt in zip(c[k], rng.dirichlet(np.ones(4)) * 0.98):
            rows.append((f"{d[r]:%Y-%m-%d}", code, f"{wt:.6f}"))
    rows.append((f"{d[50]:%Y-%m-%d}", c[0], "0"))               # an all-cash decision
    pd.DataFrame(rows, columns=["date", "code", "weight"]).sort_values("date", kind="stable") \
        .to_csv(tmp_path / "w.csv", index=False)
    ds = Dataset(panels={"stocks": panel}, meta={"synthetic": True})
    sig = weights_file(ds, {"path": str(tmp_path / "w.csv"), "panel": "stocks", "layout": "long",
                            "timing": "decided"})
    assert isinstance(sig.targets, SparsePaths) and sig.targets.shape[1] == 1
    assert sig.targets.codes.nbytes + sig.targets.weights.nbytes < sig.weights.to_numpy().nbytes / 10
    for start, ex in ((None, ExecutionConfig(lag=1)), (d[40], ExecutionConfig(lag=1)),
                      (d[65], ExecutionConfig(lag=2, price="open"))):
        a = run_backtest(sig.targets, panel, start, None, ex, A_SHARE, MarketRulesConfig(lot_size=100))
        b = run_backtest(sig.weights, panel, start, None, ex, A_SHARE, MarketRulesConfig(lot_size=100))
        for k in ("returns", "value", "turnover", "costs", "cash"):
            np.testing.assert_array_equal(getattr(a, k).to_numpy(), getattr(b, k).to_numpy(), err_msg=k)
        for k in ("positions", "weights_held"):
            pd.testing.assert_frame_equal(getattr(a, k), getattr(b, k), check_exact=True)
        assert a.trades_count == b.trades_count > 0


def test_dense_codes_used_by_a_naive_loop():
    """DensePaths.codes_used (a numba pass, no (T, P, N) copy) = the codes with a non-zero, non-NaN weight in some
    row of some column, by a plain Python loop; -0.0 and NaN do not count, inf does; C-ordered, a column slice
    (a strided view) and Fortran order alike."""
    from engine.backtest.weightpaths import DensePaths

    rng = np.random.default_rng(7)
    w = rng.random((40, 4, 9))
    w[w < 0.93] = 0.0
    w[rng.random(w.shape) < 0.1] = np.nan
    w[:, :, 2] = np.nan
    w[:, :, 3] = -0.0
    w[:, :, 5] = 0.0
    w[17, 2, 5] = np.inf
    for arr in (w, w[:, 1:3, :], np.asfortranarray(w)):
        T, P, N = arr.shape
        naive = [j for j in range(N) if any(arr[t, p, j] != 0 and not np.isnan(arr[t, p, j])
                                            for t in range(T) for p in range(P))]
        assert DensePaths(arr).codes_used().tolist() == naive
    assert 5 in DensePaths(w).codes_used() and 2 not in DensePaths(w).codes_used()


@pytest.mark.parametrize("carry", [False, True])
def test_take_selects_portfolios_as_the_dense_array_does(carry):
    """``take`` (vectorised: no loop over decisions) = the dense array's columns, for any order, repeats and an
    empty selection; a portfolio with no decision stays one."""
    panel, rng = _market(11)
    per = [dict() for _ in range(6)]
    sp = _targets(rng, panel, 6, carry)
    none = SparsePaths.from_dicts(per[:1], panel.dates, panel.codes, carry=carry)
    assert none.shape[1] == 1 and len(none.rows) == 0
    dense = sp.dense()
    for cols in ([3], [5, 0, 2], [1, 1, 4], list(range(6)), []):
        got = sp.take(cols)
        assert got.shape == (len(panel.dates), len(cols), len(panel.codes)) and got.carry == carry
        np.testing.assert_array_equal(got.dense(), dense[:, cols, :])
    assert none.take([0, 0]).dense().shape[1] == 2 and np.isnan(none.take([0, 0]).dense()).all()
