"""The numba preparation of the backtest inputs (engine.kernels.prep) against the pandas/numpy code it replaced:
forward-filled close, execution prices, adjustment-factor distributions, tradability on a row window and a column
subset, held weights and the trade count; equal to the last bit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest.core import _distributions
from engine.backtest.limits import board_limit_prices, tradability, tradability_arrays
from engine.config_schema import MarketRulesConfig
from engine.data.panel import Panel
from engine.kernels.prep import held_and_trades, price_window, trade_count, weight_events


def _panel(seed=0, T=300, N=9):
    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(pd.bdate_range("2019-01-02", periods=T), name="date")
    codes = ["600001.SH", "000002.SZ", "300003.SZ", "688004.SH", "510300.SH", "830005.BJ", "000007.SZ",
             "600008.SH", "300009.SZ"][:N]
    close = np.round(np.exp(np.cumsum(rng.normal(0, 0.05, (T, N)), axis=0)) * rng.uniform(3, 60, N), 2)
    close[rng.uniform(size=(T, N)) < 0.05] = np.nan
    close[:40, 2] = np.nan
    opn = np.round(close * rng.uniform(0.9, 1.1, (T, N)), 2)
    opn[rng.uniform(size=(T, N)) < 0.03] = np.nan
    adj = np.cumprod(np.where(rng.uniform(size=(T, N)) < 0.02, 1.05, 1.0), axis=0)
    adj[:10, 4] = np.nan
    flag = np.where(rng.uniform(size=(T, N)) < 0.1, rng.uniform(size=(T, N)) < 0.5, np.nan)
    f = lambda a: pd.DataFrame(a, index=dates, columns=codes)  # noqa: E731
    return Panel("stocks", {"close": f(close), "open": f(opn), "adj_factor": f(adj), "limit_up": f(flag),
                            "suspended": f(rng.uniform(size=(T, N)) < 0.02), "st": f(rng.uniform(size=(T, N)) < 0.1)})


@pytest.mark.parametrize("field", ["close", "open"])
def test_price_window_equals_pandas(field):
    p = _panel()
    cols = np.array([4, 0, 2, 7], dtype=np.int64)
    i0, i1 = 55, 250
    ff = p["close"].ffill()
    close, px, prev = price_window(p["close"].to_numpy(), p[field].to_numpy(), cols, i0, i1 - i0 + 1,
                                   field == "close")
    want_c = ff.to_numpy()[i0:i1 + 1][:, cols]
    want_px = np.where(np.isnan(ff.to_numpy()), np.nan, p[field].to_numpy())[i0:i1 + 1][:, cols]
    np.testing.assert_array_equal(close, want_c)
    np.testing.assert_array_equal(px, want_px)
    np.testing.assert_array_equal(prev, ff.to_numpy()[i0 - 1, cols])
    assert close.flags.f_contiguous and px.flags.f_contiguous      # column by column, as the kernel reads them


def test_distributions_equal_the_pandas_formula():
    p = _panel()
    cols = np.arange(9, dtype=np.int64)
    for i0 in (0, 1, 120):
        T = 300 - i0
        close, _, _ = price_window(p["close"].to_numpy(), p["close"].to_numpy(), cols, i0, T, True)
        a = p["adj_factor"].ffill()
        ratio = (a / a.shift(1)).to_numpy()
        want = np.nan_to_num(p["close"].ffill().to_numpy() * (ratio - 1.0), nan=0.0, posinf=0.0, neginf=0.0)[i0:]
        np.testing.assert_array_equal(_distributions(p, cols, i0, T, close), want)


def _reference_tradability(p, rules, field, info):
    """The numpy implementation the kernel replaced (board limit prices as (T, N) arrays, flags, suspension)."""
    px = p[field].to_numpy(dtype=float, na_value=np.nan)
    up = np.zeros(px.shape, dtype=bool)
    down = np.zeros(px.shape, dtype=bool)
    if rules.limits in ("auto", "board"):
        lu, ld = board_limit_prices(p, rules, info)
        with np.errstate(invalid="ignore"):
            up, down = px >= lu - 1e-6, px <= ld + 1e-6
    if rules.limits in ("auto", "data"):
        f = p["limit_up"].to_numpy(dtype=float, na_value=np.nan)
        given = ~np.isnan(f)
        up[given] = f[given] > 0.5
        if rules.limits == "data":
            up[~given] = False
            down[:] = False
    halted = np.isnan(px) | (p["suspended"].to_numpy(dtype=float) > 0.5)
    return ~up & ~halted, ~down & ~halted


@pytest.mark.parametrize("limits", ["auto", "board", "data", "off"])
@pytest.mark.parametrize("field", ["close", "open"])
def test_tradability_window_and_subset_equal_the_full_frames(limits, field):
    p = _panel(1)
    rules = MarketRulesConfig(limits=limits, ipo_free_days=True)
    info = pd.DataFrame({"code": p.codes, "list_date": [None, "2019-03-01", "2019-02-27", None, None, "2019-01-02",
                                                        "2015-01-05", None, "2020-09-01"],
                         "issue_price": [np.nan, 8.0, np.nan, np.nan, np.nan, np.nan, 5.0, np.nan, np.nan]})
    full_b, full_s = tradability(p, rules, field, info)
    ref_b, ref_s = _reference_tradability(p, rules, field, info)
    np.testing.assert_array_equal(full_b.to_numpy(), ref_b)
    np.testing.assert_array_equal(full_s.to_numpy(), ref_s)
    cols = np.array([8, 1, 2, 5, 6], dtype=np.int64)
    i0, i1 = 35, 260
    ff = p["close"].ffill().to_numpy()
    px = p[field].to_numpy()[i0:i1 + 1][:, cols]
    b, s = tradability_arrays(p, rules, info, cols, i0, i1, np.ascontiguousarray(px),
                              np.ascontiguousarray(ff[i0:i1 + 1][:, cols]), ff[i0 - 1, cols])
    np.testing.assert_array_equal(b, full_b.to_numpy()[i0:i1 + 1][:, cols])
    np.testing.assert_array_equal(s, full_s.to_numpy()[i0:i1 + 1][:, cols])
    assert not full_b.to_numpy().all()


def test_held_weights_and_trade_count():
    rng = np.random.default_rng(2)
    pos = np.where(rng.uniform(size=(50, 6)) < 0.5, 0.0, np.round(rng.uniform(0, 1000, (50, 6)), -2))
    pos[10:20] = pos[9]
    close = rng.uniform(1, 20, (50, 6))
    v = rng.uniform(1e4, 2e4, 50)
    held, n = held_and_trades(pos, close, v)
    np.testing.assert_array_equal(held, pos * np.where(pos != 0, close, 0.0) / v[:, None])
    prev = np.vstack([np.zeros((1, 6)), pos[:-1]])
    assert n == int((pos != prev).sum())
    assert trade_count(pos) == int((pos != prev).sum())
    assert trade_count(np.zeros((4, 3))) == 0


def test_weight_events_reads_fortran_values_and_flags_bad_rows():
    rng = np.random.default_rng(3)
    w = rng.dirichlet(np.ones(7), 80) * 0.9
    w[rng.uniform(size=80) < 0.7] = np.nan
    f = np.asfortranarray(w)
    from engine.kernels.events import lagged_events
    for first, T, bar0 in ((-1, 80, True), (5, 70, False), (0, 80, True)):
        got = weight_events(f, first, T, bar0)
        want = lagged_events(np.ascontiguousarray(w[:, None, :]), first, T, bar0, True)
        assert got[3] and want[3]
        for g, x in zip(got[:3], want[:3]):
            np.testing.assert_array_equal(g, x)
    bad = f.copy()
    bad[2, 3] = 0.5 + np.nan_to_num(bad[2]).sum()      # a row outside the traded window still counts
    assert not weight_events(bad, 10, 60, True)[3]


def test_weights_held_on_first_access_equals_positions_times_filled_close_over_value():
    """``weights_held`` is computed when first read; it equals positions x forward-filled close / value at each
    close (pandas), over all the weight frame's codes (0 for codes never traded), and is then kept."""
    from engine.backtest import run_backtest
    p = Panel("stocks", {"close": _panel()["close"]})
    codes = p.codes
    w = pd.DataFrame(np.nan, index=p.dates, columns=codes)
    w.iloc[60, :] = 0.0
    w.iloc[60, [0, 3]] = [0.3, 0.5]          # two of nine codes ever held: the run gathers only those
    w.iloc[150, :] = 0.0
    w.iloc[150, [0, 5]] = [0.6, 0.3]
    r = run_backtest(w, p, start=p.dates[50])
    idx = r.positions.index
    ff = p["close"].ffill().reindex(idx)
    v_close = r.value.copy()
    v_close.iloc[0] = r.cash.iloc[0] + (r.positions.iloc[0] * ff.iloc[0].fillna(0.0)).sum()
    expect = r.positions * ff.where(r.positions != 0, 0.0)
    expect = expect.div(v_close, axis=0)
    held = r.weights_held
    assert isinstance(held, pd.DataFrame) and list(held.columns) == list(codes) and held.index.equals(idx)
    np.testing.assert_allclose(held.to_numpy(), expect.to_numpy(), rtol=1e-14, atol=0)
    assert (held[codes[[1, 2, 4, 6, 7, 8]]] == 0).all().all() and (held.iloc[-1][codes[[0, 5]]] > 0).all()
    assert r.weights_held is held
