"""dashboard_timing: no look-ahead (tests/lookahead.py), the T+1 publication of margin data (the margin rows dated t
itself must not move the weight decided at t), and the rule against a hand computation from the weekly series."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.dashboard.common import DashboardParams
from engine.dashboard.series import weekly
from engine.data.panel import Dataset
from engine.signals.dashboard_timing import DEFAULTS, compute, rank_pct
from tests.lookahead import assert_no_lookahead, perturb_after
from tests.test_synthetic_support import small

CUTS = ["2016-06-17", "2020-03-20", "2024-11-08"]   # Fridays (week ends)


@pytest.fixture(scope="module")
def ds():
    full = small()
    keep = ("margin", "market", "market_mcap", "northbound", "flows")
    return Dataset(panels={"index": full.panel("index")}, series={k: full.series[k] for k in keep},
                   tables={}, meta=full.meta, source=full.source)


@pytest.mark.parametrize("series", ["margin_share", "margin_balance_ratio", "northbound_share", "mainforce_net"])
def test_no_lookahead(ds, series):
    assert_no_lookahead(compute, ds, {**DEFAULTS, "series": series}, CUTS)


def test_margin_rows_dated_t_do_not_move_the_weight_at_t(ds):
    """Margin data are published T+1: perturbing the margin (and market) rows dated t and later leaves every weight up
    to t unchanged; with margin_lag 0 (the week's own rows) it does move them, so the test can fail."""
    params = {**DEFAULTS, "threshold": 0.5}
    base = compute(ds, params)
    cal = ds.series["market"].index
    moved_lag0 = False
    for t in CUTS:
        prev = cal[cal.get_loc(pd.Timestamp(t)) - 1]
        pert = perturb_after(ds, prev, seed=3, scale=0.5)
        alt = Dataset(panels=ds.panels, series={**ds.series, "margin": pert.series["margin"],
                                                "market": pert.series["market"]}, tables={}, meta=ds.meta,
                      source=ds.source)
        pd.testing.assert_frame_equal(base.weights.loc[:t], compute(alt, params).weights.loc[:t])
        lag0 = {**params, "margin_lag": 0}
        a, b = compute(ds, lag0).indicators.loc[:t], compute(alt, lag0).indicators.loc[:t]
        moved_lag0 |= not np.allclose(a["margin_share"].to_numpy(), b["margin_share"].to_numpy(), equal_nan=True)
    assert moved_lag0


def test_rule_by_hand(ds):
    x = weekly(ds, "margin_share", DashboardParams())
    res = compute(ds, {**DEFAULTS, "window": 10, "min_periods": 5, "threshold": 0.3, "low": 0.0})
    w = res.weights["000300.SH"]
    for i in (40, 41, 200, len(x) - 1):
        hist = x.iloc[max(0, i - 9): i + 1].to_numpy()
        pct = (hist <= x.iloc[i]).mean()
        assert res.indicators.at[x.index[i], "pct"] == pytest.approx(pct, abs=0)
        assert w.at[x.index[i]] == (0.0 if pct <= 0.3 else 1.0)
    # held between decisions, `high` before the first decision with min_periods values
    d = x.index[41]
    nxt = w.index[(w.index > d) & (w.index < x.index[42])]
    assert (w.loc[nxt] == w.at[d]).all()
    assert (w.loc[: x.index[3]] == 1.0).all()
    assert rank_pct(pd.Series([3.0, 1.0, 2.0, np.nan, 0.5]), 3, 2).tolist()[1:3] == [0.5, 2 / 3]


def test_weekly_margin_share_groups_rows_by_publication_week(ds):
    m, mk = ds.series["margin"], ds.series["market"]
    x = weekly(ds, "margin_share", DashboardParams())
    d = pd.Timestamp("2024-11-08")                     # Friday: rows published Mon 11-04..Fri 11-08 = 11-01..11-07
    rows = pd.date_range("2024-11-01", "2024-11-07", freq="B")
    want = (m.loc[rows, "margin_buy"] + m.loc[rows, "short_sell"]).sum() / mk.loc[rows, "amount"].sum()
    assert x.at[d] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("series", ["quant_excess_500", "basis_ic_q0"])
def test_no_lookahead_fund_and_futures_series(series):
    full = small()
    ds = Dataset(panels={k: full.panel(k) for k in ("index", "enhanced_funds")},
                 series={k: full.series[k] for k in ("market", "futures_ic")},
                 tables={"enhanced_funds_info": full.table("enhanced_funds_info")}, meta=full.meta, source=full.source)
    assert_no_lookahead(compute, ds, {**DEFAULTS, "series": series, "threshold": 0.5}, CUTS[1:])


def test_shipped_strategy_runs_and_holds_only_its_two_exposures():
    """strategies/dashboard_margin_timing.yaml end to end on the small market (same seed), frictionless: the daily
    returns equal a naive simulation that trades to the target decided at close t-1 at the close of t, only when the
    target changes, and lets the weight drift in between."""
    from engine.config import load_config
    from engine.pipeline import run_strategy

    cfg = load_config("strategies/dashboard_margin_timing.yaml",
                      ["data.size=small", "costs.commission=0", "costs.min_commission=0"])
    run = run_strategy(cfg, small())
    w = run.signal.weights["000300.SH"]
    assert set(np.unique(w.to_numpy())) == {0.5, 1.0}
    r = run.backtest.value.pct_change().fillna(0.0)
    rb = small().panel("index")["close"]["000300.SH"].pct_change()
    decided = w.shift(1)
    hold, cash, last, want = 0.0, 1.0, None, []
    for i, d in enumerate(r.index):
        v0 = hold + cash
        if i:
            hold *= 1.0 + rb[d]
        v = hold + cash
        want.append(v / v0 - 1.0 if i else 0.0)
        if decided[d] != last:
            hold, cash, last = decided[d] * v, v - decided[d] * v, decided[d]
    np.testing.assert_allclose(r.to_numpy(), np.array(want), atol=1e-12)
