"""The fast paths of the stock-level backtest (issue 17 item 3) against the general ones, on a market with
suspensions, late listings, limit-locked days and ST names:

* the filled close and tradability masks of one fused pass (``window_masks_into``, whose board rule skips the tick
  rounding for prices clearly inside the band) against the numpy limit prices of ``board_limit_prices``;
* the positions change log of ``run_backtest`` (``simulate_events_log``) against the kernel's dense record of
  positions and cash, the trade count against a count of changed cells, also when the log must be re-sized or
  falls back to the dense record;
* ``run_backtest_many`` on a frame's Fortran-ordered (T, 1, N) view against ``run_backtest``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest import run_backtest, run_backtest_many
from engine.backtest import core
from engine.backtest.limits import board_limit_prices, round_half_up
from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
from engine.data.panel import Panel


def _market(seed=3, T=260, N=12):
    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(pd.bdate_range("2019-01-02", periods=T), name="date")
    codes = ["600001.SH", "000002.SZ", "300003.SZ", "688004.SH", "510300.SH", "000006.SZ", "600007.SH",
             "000008.SZ", "600009.SH", "300010.SZ", "000011.SZ", "600012.SH"][:N]
    close = np.round(np.exp(np.cumsum(rng.normal(0, 0.03, (T, N)), axis=0)) * rng.uniform(3, 40, N), 2)
    close[:60, 2] = np.nan                                    # late listings
    close[:130, 7] = np.nan
    susp = np.zeros((T, N), dtype=bool)
    susp[100:112, 1] = True                                  # suspensions (no close, flagged)
    susp[150:153, 5] = True
    close[susp] = np.nan
    st = np.zeros((T, N), dtype=bool)
    st[:, 6] = True                                          # ST names (5% limit)
    st[80:200, 10] = True
    for k, rows, up in ((0, range(40, 46), True), (6, range(90, 94), False), (10, range(120, 123), True),
                        (3, range(170, 173), False), (8, range(200, 204), True)):
        for r in rows:                                       # locked at the limit for a few days
            pct = 0.05 if st[r, k] else (0.2 if k in (2, 3, 9) else 0.1)
            close[r, k] = round_half_up(close[r - 1, k] * (1 + pct if up else 1 - pct), 0.01)
    close[60, 4] = round_half_up(close[59, 4] * 1.1, 0.001) - 0.001     # one fund tick below its limit
    close[61, 0] = round_half_up(close[60, 0] * 1.1, 0.01) - 0.01       # one tick below
    f = lambda a: pd.DataFrame(a, index=dates, columns=codes)  # noqa: E731
    panel = Panel("stocks", {"close": f(close), "suspended": f(susp), "st": f(st)}, "test market")
    w = np.full((T, N), np.nan)
    for i in range(5, T, 7):                                 # weekly: equal weight on a rotating half
        w[i] = 0.0
        pick = rng.choice(N, N // 2, replace=False)
        w[i, pick] = 0.95 / len(pick)
    return panel, f(w)


def _reference_masks(p, rules, info=None):
    px = p["close"].to_numpy()
    lu, ld = board_limit_prices(p, rules, info)
    with np.errstate(invalid="ignore"):
        up, down = px >= lu - 1e-6, px <= ld + 1e-6
    halted = np.isnan(px) | p["suspended"].to_numpy()
    return ~up & ~halted, ~down & ~halted


@pytest.mark.parametrize("limits,listing", [("board", False), ("board", True), ("off", False)])
def test_fused_window_and_masks_equal_the_numpy_limits(limits, listing):
    p, _ = _market()
    rules = MarketRulesConfig(limits=limits, lot_size=100, ipo_free_days=listing)
    info = None
    if listing:     # listing-day rules: 5 free days (ChiNext, registration), the +44% / -36% band, no limit
        info = pd.DataFrame({"code": p.codes, "list_date": [None, None, str(p.dates[60].date()), None, None, None,
                                                            None, str(p.dates[130].date()), None, None, None, None],
                             "issue_price": [np.nan] * 7 + [9.0] + [np.nan] * 4})
        info.loc[3, "list_date"], info.loc[9, "list_date"] = str(p.dates[100].date()), "2014-03-03"
        # a listing date inside the closes' history: its band (issue price x 1.44 below the close) blocks buys where
        # the board rule would not
        info.loc[8, "list_date"] = str(p.dates[150].date())
        info.loc[8, "issue_price"] = round(float(p["close"].iloc[150, 8]) / 2, 2)
    T = len(p.dates)
    prep = core._prepare(p, 0, T - 1, ExecutionConfig(lag=1), CostConfig(), rules, info)
    np.testing.assert_array_equal(prep["close"], p["close"].ffill().to_numpy())
    if limits == "off":
        want_b = want_s = ~np.isnan(p["close"].to_numpy()) & ~p["suspended"].to_numpy()
    else:
        want_b, want_s = _reference_masks(p, rules, info)
        assert (~want_b & ~np.isnan(p["close"].to_numpy())).sum() >= 15       # limit-up days (locked or beyond)
        assert (~want_s & ~np.isnan(p["close"].to_numpy())).sum() >= 7
    if listing:
        assert not want_b[150, 8] and want_s[150, 8]
    np.testing.assert_array_equal(prep["can_buy"], want_b)
    np.testing.assert_array_equal(prep["can_sell"], want_s)
    # a window and a column subset: the same cells
    cols = np.array([10, 2, 6, 0, 4], dtype=np.int64)
    sub = core._prepare(p, 30, 220, ExecutionConfig(lag=1), CostConfig(), rules, info, cols=cols)
    np.testing.assert_array_equal(sub["can_buy"], want_b[30:221][:, cols])
    np.testing.assert_array_equal(sub["can_sell"], want_s[30:221][:, cols])
    np.testing.assert_array_equal(sub["exec_price"], p["close"].to_numpy()[30:221][:, cols])


def _dense_record(w, p, execution, costs, rules, rebalance_dates):
    """The general path: the kernel's dense record of positions and cash (``record=True``)."""
    T = len(p.dates)
    i0, i1, ptr, bars, ew = core._frame_events(w, p, None, None, execution)
    prep = core._prepare(p, i0, i1, execution, costs, rules, None)
    force = core._force(p.dates, i0, i1, execution.lag, rebalance_dates)
    out = core._run_kernel(lambda a, b: (ptr, bars, ew), prep, force, 1, record=True)
    return out, (ptr, bars, ew), prep, force, T


@pytest.mark.parametrize("a_share", [True, False])
def test_position_log_equals_the_dense_record(a_share):
    p, w = _market()
    ex = ExecutionConfig(lag=1, initial_cash=1e6)
    if a_share:
        costs, rules = CostConfig(commission=0.00025), MarketRulesConfig(limits="board", lot_size=100)
    else:
        costs = CostConfig(commission=0.00025, min_commission=0.0, stamp_duty="none", transfer_fee="none")
        rules = MarketRulesConfig(limits="off", lot_size=0)
    ends = p.dates[5::21]
    r = run_backtest(w, p, execution=ex, costs=costs, rules=rules, rebalance_dates=ends)
    out, events, prep, force, T = _dense_record(w, p, ex, costs, rules, ends)
    pos = out["positions"][0]
    np.testing.assert_array_equal(r.positions.to_numpy(), pos)
    np.testing.assert_array_equal(r.cash.to_numpy(), out["cash"][0])
    for k in ("value", "returns", "turnover", "costs"):
        np.testing.assert_array_equal(getattr(r, k).to_numpy(), out[k][0])
    before = np.vstack([np.zeros((1, pos.shape[1])), pos[:-1]])
    assert r.trades_count == int((pos != before).sum()) > 50
    held = pos * np.where(pos != 0, prep["close"], 0.0) / np.r_[out["raw0"][0], out["value"][0][1:]][:, None]
    np.testing.assert_array_equal(r.weights_held.to_numpy(), held)
    if a_share:                                              # the rules did block some orders
        assert (pos[1:] != pos[:-1]).any(axis=1).sum() > len(ends)
    # a log sized too small is re-run at its exact size; past the limit the dense record is used
    for cap, limit in ((1, None), (1, 1)):
        got, log = core._run_logged(events, prep, force, cap=cap, limit=limit)
        np.testing.assert_array_equal(log.array(), pos)
        assert log.trades() == r.trades_count
        for k in ("value", "returns", "turnover", "costs", "cash"):
            np.testing.assert_array_equal(got[k][0], out[k][0])


def test_many_on_a_frames_fortran_view_equals_run_backtest():
    p, w = _market()
    ex = ExecutionConfig(lag=1, initial_cash=1e6)
    costs, rules = CostConfig(commission=0.00025), MarketRulesConfig(limits="board", lot_size=100)
    ends = p.dates[5::21]
    view = w.to_numpy()[:, None, :]
    assert not view.flags.c_contiguous
    m = run_backtest_many(view, p, execution=ex, costs=costs, rules=rules, rebalance_dates=ends)
    c = run_backtest_many(np.ascontiguousarray(view), p, execution=ex, costs=costs, rules=rules, rebalance_dates=ends)
    r = run_backtest(w, p, execution=ex, costs=costs, rules=rules, rebalance_dates=ends)
    for k in ("returns", "value", "turnover", "costs"):
        np.testing.assert_array_equal(m[k][:, 0], getattr(r, k).to_numpy())
        np.testing.assert_array_equal(c[k][:, 0], getattr(r, k).to_numpy())


@pytest.mark.parametrize("price", ["close", "open"])
def test_limits_off_kernel_equals_the_general_one(price):
    """``limits: off`` runs its own small kernel (window_open_masks_into: the board and flag rules cost ~3 s of
    compilation on an empty numba cache); its filled close, execution prices and one mask equal the general fused
    kernel's in the same mode (mask_args of limits: off), with and without suspension, on the full panel and on a
    column subset of a later window; and the mask is, by hand, 'price present and not flagged suspended'."""
    from engine.backtest.limits import mask_args, values
    from engine.kernels.prep import window_masks_into, window_open_masks_into

    panel, _ = _market()
    close_all = values(panel["close"])
    rng = np.random.default_rng(5)
    opn = close_all * rng.uniform(0.98, 1.02, close_all.shape)
    panel = Panel("stocks", {**{k: panel[k] for k in ("close", "suspended")},
                             "open": pd.DataFrame(opn, index=panel.dates, columns=panel.codes)}, "test market")
    close_all = values(panel["close"])
    px_all = close_all if price == "close" else values(panel["open"])
    same = price == "close"
    Tall, Nall = close_all.shape
    for susp_on in (True, False):
        rules = MarketRulesConfig(limits="off", suspension=susp_on)
        for cols, i0, i1 in ((np.arange(Nall), 0, Tall - 1), (np.array([1, 4, 5, 9]), 90, 200)):
            T, n = i1 - i0 + 1, len(cols)
            rule = mask_args(panel, rules, None, cols, i0, i1)
            out = []
            for fast in (True, False):
                close, px, prev = np.empty((n, T)).T, np.empty((n, T)).T, np.full(n, np.nan)
                cb, cs = np.empty((n, T), dtype=bool).T, np.empty((n, T), dtype=bool).T
                if fast:
                    window_open_masks_into(close_all, px_all, cols, i0, T, same, True, close, px, prev, px,
                                           rule[-2], rule[-1], cb)
                    cs = cb
                else:
                    window_masks_into(close_all, px_all, cols, i0, T, same, True, close, px, prev, px, *rule, cb, cs)
                out.append((close, px, prev, cb, cs))
            for a, b in zip(*out):
                np.testing.assert_array_equal(a, b)
            px_win = px_all[i0:i1 + 1][:, cols]
            susp = panel["suspended"].to_numpy(dtype=float)[i0:i1 + 1][:, cols] > 0.5
            np.testing.assert_array_equal(out[0][3], ~np.isnan(px_win) & (~susp if susp_on else True))
