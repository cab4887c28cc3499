"""Turnover rotation (财信 行业轮动系列1): kernel vs naive twins, ranks, the Nov-2023 printed table, timing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.kernels.industry import group_ols_slope
from engine.signals import turnover_rotation as tr
from engine.signals.industry_common import (NAME_TO_CODE, equal_weight, month_bounds, month_end_positions,
                                            rank_ascending)
from tests import naive_industry as naive
from tests.lookahead import assert_no_lookahead

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def ds():
    return naive.make_dataset()


# ----------------------------------------------------------------------------------------------- kernels, ranks
def test_slope_exact_line_and_gaps():
    y = np.array([[1.0, 5.0], [3.0, np.nan], [5.0, 3.0], [7.0, 2.0], [2.0, 2.0], [2.0, 9.0]])
    out = group_ols_slope(y, np.array([0, 4, 6]), 2)
    # col 0, month 1: 1 + 2x exactly; col 1: points (0,5),(2,3),(3,2) -> slope -1 (missing day keeps its x)
    assert out[0, 0] == pytest.approx(2.0, abs=1e-14)
    assert out[0, 1] == pytest.approx(-1.0, abs=1e-14)
    assert out[1, 0] == 0.0 and out[1, 1] == pytest.approx(7.0)
    assert np.isnan(group_ols_slope(y, np.array([0, 4, 6]), 3)[1]).all()   # 2 rows < min_obs 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slope_kernel_matches_naive(seed):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-01", periods=130, name="date")
    y = pd.DataFrame(rng.normal(size=(130, 4)), index=dates)
    y[rng.random(y.shape) < 0.2] = np.nan
    y.iloc[20:40, 2] = np.nan                                  # a month with almost nothing
    ends = month_end_positions(dates)
    got = group_ols_slope(y.to_numpy(), month_bounds(dates, ends), 5)
    want = naive.monthly_slope(y, 5).loc[dates[ends]].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_month_end_calendar():
    dates = pd.DatetimeIndex(["2023-10-30", "2023-10-31", "2023-11-01", "2023-11-30", "2023-12-01", "2023-12-05"])
    assert list(month_end_positions(dates)) == [1, 3]            # December unfinished -> no signal
    assert list(month_end_positions(dates[:4])) == [1, 3]        # 11-30 is November's last weekday
    assert list(month_bounds(dates, np.array([1, 3]))) == [0, 2, 4]


def test_ranks_ascending_ties_and_nan():
    df = pd.DataFrame([[3.0, 1.0, 3.0, np.nan, 0.5]])
    assert rank_ascending(df).iloc[0].tolist()[:3] == [3.0, 2.0, 4.0]
    assert np.isnan(rank_ascending(df).iloc[0, 3]) and rank_ascending(df).iloc[0, 4] == 1.0
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.integers(0, 6, (40, 9)).astype(float))
    x[rng.random(x.shape) < 0.15] = np.nan
    want = [naive.rank_first(row) for row in x.to_numpy()]
    np.testing.assert_array_equal(rank_ascending(x).to_numpy(), np.array(want))


def test_monthly_factors_match_naive(ds):
    mon = tr.rotation_monthly(ds, {"norm": "none", "slope_min_obs": 10})
    turn = ds.panel("sw_l1")["turnover"]
    want_slope = naive.monthly_slope(turn, 10).loc[mon["slope"].index]
    np.testing.assert_allclose(mon["slope"].to_numpy(), want_slope.to_numpy(), rtol=1e-9, equal_nan=True)
    want_mean = turn.groupby([turn.index.year, turn.index.month]).mean().to_numpy()[: len(mon["mean"])]
    np.testing.assert_allclose(mon["mean"].to_numpy(), want_mean, rtol=1e-12)
    for m in range(len(mon["slope"])):
        assert mon["slope_rank"].iloc[m].tolist() == naive.rank_first(mon["slope"].iloc[m].to_numpy())
        assert mon["mean_rank"].iloc[m].tolist() == naive.rank_first(mon["mean"].iloc[m].to_numpy())


def test_trailing_normalisation_by_hand(ds):
    """y_d = TR_d / mean(TR over the 250 days before d): check one month's slope from an explicit loop."""
    mon = tr.rotation_monthly(ds, {"norm": "trailing", "norm_window": 250, "norm_min_periods": 250})
    turn = ds.panel("sw_l1")["turnover"]
    dates = turn.index
    month = mon["slope"].index[-1]
    rows = np.flatnonzero((dates.year == month.year) & (dates.month == month.month))
    col = 3
    y = [turn.iloc[d, col] / np.mean(turn.iloc[d - 250:d, col]) for d in rows]
    assert mon["slope"].loc[month].iloc[col] == pytest.approx(np.polyfit(np.arange(len(y)), y, 1)[0], rel=1e-9)
    assert mon["slope"].iloc[:11].isna().all().all()           # < 250 days of history before month 12


def test_turnover_fallback_equals_field():
    with_field = naive.make_dataset(with_turnover=True, with_float_shares=True)
    without = naive.make_dataset(with_turnover=False, with_float_shares=True)
    a, b = tr.compute(with_field, {}), tr.compute(without, {})
    pd.testing.assert_frame_equal(a.weights, b.weights)
    pd.testing.assert_frame_equal(a.indicators, b.indicators, rtol=1e-12)
    holes = naive.make_dataset()
    t = holes.panel("sw_l1").fields["turnover"]
    t.iloc[::7, 2] = np.nan                                    # missing cells come from volume / float_shares
    np.testing.assert_allclose(tr.turnover_rate(holes).to_numpy(), tr.turnover_rate(with_field).to_numpy(), rtol=1e-12)


def test_turnover_errors():
    bare = naive.make_dataset(with_turnover=False, with_float_shares=False)
    with pytest.raises(DataError, match="neither 'turnover' nor 'volume' \\+ 'float_shares'"):
        tr.compute(bare, {})
    ds = naive.make_dataset()
    ds.panel("sw_l1").fields["turnover"].iloc[5, 1] = -1.0
    with pytest.raises(DataError, match="turnover is negative"):
        tr.compute(ds, {})


# ----------------------------------------------------------------------------------------------- Nov 2023
def _printed_rotation():
    t = pd.read_csv(DATA / "caixin_202311_rotation.csv", comment="#", dtype={"提示": str}).fillna({"提示": ""})
    t.index = [NAME_TO_CODE[n] for n in t["行业"]]
    return t


def test_nov2023_printed_table_structure():
    t = _printed_rotation()
    assert sorted(t["换手率均值排名"]) == list(range(1, 32)) and sorted(t["换手率斜率排名"]) == list(range(1, 32))
    printed_flag = t["提示"].str.startswith(tr.FLAG_TEXT)
    # 1) flag rule 'upper_half' on the printed slope ranks flags exactly the printed 16 (ranks 16..31)
    slope_rank = t["换手率斜率排名"].astype(float).to_frame().T
    flag = slope_rank.ge((31 + 1) / 2.0, axis=0).iloc[0]
    assert flag.sum() == 16 and (flag == printed_flag).all()
    # 2) trend states implied by the printed lists under the 2x2 rule; unflagged industries get every
    #    combination (incl. down/down and up/up) so the test fails if the flag did not gate the instruction
    buy = t["提示"].str.contains(tr.BUY_TEXT)
    sell = t["提示"].str.contains(tr.SELL_TEXT)
    combos = [(-1, -1), (1, 1), (-1, 1), (1, -1)]
    st, mt = pd.Series(0.0, index=t.index), pd.Series(0.0, index=t.index)
    for i, c in enumerate(t.index):
        s, m = (-1, -1) if buy[c] else (1, 1) if sell[c] else (-1, 1) if printed_flag[c] else combos[i % 4]
        st[c], mt[c] = s, m
    names = t["行业"]
    for variant in ("A", "B"):
        b, s = tr.turnover_instructions(flag, st, mt, variant)
        got = tr.rotation_table(names, t["换手率均值排名"], t["换手率斜率排名"], flag, b, s)
        assert list(got.index) == list(t.index)                # printed order = slope rank ascending
        assert got["提示"].tolist() == t["提示"].tolist()
        assert got["换手率均值排名"].tolist() == t["换手率均值排名"].tolist()
    footer = tr.rotation_footer(got, "11月")
    assert footer == ["11月量能买入信号：计算机、社会服务、房地产、电力设备、美容护理", "11月量能卖出信号：煤炭、汽车、医药生物"]


def test_instruction_rule_variants_and_gating():
    rng = np.random.default_rng(0)
    flag = pd.DataFrame(rng.random((50, 31)) < 0.5)
    st = pd.DataFrame(rng.choice([-1.0, 0.0, 1.0, np.nan], (50, 31)))
    mt = pd.DataFrame(rng.choice([-1.0, 0.0, 1.0, np.nan], (50, 31)))
    for v in ("A", "B"):
        b, s = tr.turnover_instructions(flag, st, mt, v)
        assert not (b & ~flag).to_numpy().any() and not (s & ~flag).to_numpy().any()
        assert not (b & s).to_numpy().any()
    a_buy, _ = tr.turnover_instructions(flag, st, mt, "A")
    b_buy, _ = tr.turnover_instructions(flag, st, mt, "B")
    for f, s_, m_, ba, bb in zip(*(x.to_numpy().ravel() for x in (flag, st, mt, a_buy, b_buy))):
        assert ba == (f and m_ < 0 and s_ < 0) and bb == (f and m_ < 0)
    assert tr.hint_text(True, False, False) == "中期趋势反转可能" and tr.hint_text(False, True, False) == ""


# ----------------------------------------------------------------------------------------------- weights, timing
def test_weights_follow_buy_list_monthly(ds):
    res = tr.compute(ds, {"variant": "B"})
    w = res.weights
    buy = res.indicators["buy"]
    ends = w.index[month_end_positions(w.index)]
    assert (w.diff().abs().sum(axis=1)[~w.index.isin(ends)].iloc[1:] == 0).all()   # changes only at month ends
    checked = 0
    for d in buy.index:
        n = buy.loc[d].sum()
        row = w.loc[d]
        if n > 0:
            checked += 1
            np.testing.assert_allclose(row[buy.loc[d] == 1], 1.0 / n)
            assert (row[buy.loc[d] == 0] == 0).all()
        else:
            assert (row == 0).all()                                                 # empty: cash
    assert checked >= 2
    ew = tr.compute(ds, {"variant": "B", "empty": "equal_weight"}).weights
    assert np.allclose(ew.loc[buy.index[-1]].sum(), 1.0)


def test_no_lookahead(ds):
    d = ds.panel("sw_l1").dates
    cuts = [d[month_end_positions(d)[14]], d[300], d[month_end_positions(d)[-2]]]
    assert d[300] not in d[month_end_positions(d)] and d[300].month == d[301].month      # a mid-month cut
    assert_no_lookahead(tr.compute, ds, {"relative": "csi300"}, cuts)
    assert_no_lookahead(tr.compute, ds, {"relative": "equal_weight", "trend": "ma", "norm": "month_start",
                                         "flag": "upper_half"}, cuts[:2], seeds=(0,))


def test_equal_weight_signal(ds):
    w = equal_weight(ds, {}).weights
    ends = w.index[month_end_positions(w.index)]
    assert (w.loc[: ends[0]].iloc[:-1] == 0).all().all()
    np.testing.assert_allclose(w.loc[ends[0]:].to_numpy(), 1.0 / 6)


def test_tables_of_last_month(ds):
    from engine.signals import crowding as cr

    res = tr.compute(ds, {})
    mon = tr.rotation_monthly(ds, {})
    assert set(res.tables) == {"rotation", "crowding"}
    rot = res.tables["rotation"]
    assert list(rot.columns) == tr.ROTATION_COLUMNS and len(rot) == 6
    last = mon["slope_rank"].iloc[-1]
    assert rot["换手率斜率排名"].tolist() == sorted(last.astype(int).tolist())
    assert (rot["提示"].str.startswith(tr.FLAG_TEXT) == mon["flag"].iloc[-1].reindex(rot.index)).all()
    want = cr.crowding_table_for(ds, cr.crowding_monthly(ds, {}), -1)
    pd.testing.assert_frame_equal(res.tables["crowding"], want)
    assert "crowding" not in tr.compute(ds, {"crowding_table": False}).tables


# ----------------------------------------------------------------------------------------------- planted effect
def _forward_excess(ds, res):
    """Monthly close-to-close check, independent of the backtester: for each signal month m with a non-empty
    buy list, mean next-month return of the buy list minus that of all industries (equal weight)."""
    close = ds.panel("sw_l1")["close"]
    ends = res.indicators.index
    px = close.loc[ends]
    fwd = px.shift(-1) / px - 1.0
    buy = res.indicators["buy"].astype(bool) & res.indicators["slope_rank"].notna()
    ok = (buy.sum(axis=1) > 0) & fwd.notna().any(axis=1)
    ex = (fwd.where(buy).mean(axis=1) - fwd.mean(axis=1))[ok]
    return ex.mean(), ex.mean() / (ex.std(ddof=1) / np.sqrt(len(ex))), len(ex)


@pytest.fixture(scope="module")
def synthetic_pair():
    from engine.data.synthetic import load_synthetic

    return (load_synthetic(seed=7, size="small", effects={"turnover_reversal": 0.5}),
            load_synthetic(seed=7, size="small"))


def test_planted_turnover_reversal_beats_equal_weight(synthetic_pair):
    planted, plain = synthetic_pair
    res = tr.compute(planted, {"crowding_table": False})
    mean, t, n = _forward_excess(planted, res)
    assert n >= 60 and mean > 0 and t > 3, (mean, t, n)
    mean0, t0, n0 = _forward_excess(plain, tr.compute(plain, {"crowding_table": False}))
    assert n0 >= 60 and abs(t0) < 2.5, (mean0, t0, n0)
    # the same through the backtester (frictionless): the strategy ends above the equal-weight portfolio
    from engine.backtest import run_backtest
    from engine.config_schema import CostConfig, MarketRulesConfig

    panel = planted.panel("sw_l1")
    free, rules = CostConfig(0.0, 0.0, "none", 0.0, 0.0), MarketRulesConfig(limits="off")
    strat = run_backtest(res.weights, panel, costs=free, rules=rules)
    bench = run_backtest(equal_weight(planted, {}).weights, panel, costs=free, rules=rules)
    assert strat.value.iloc[-1] > bench.value.iloc[-1]
