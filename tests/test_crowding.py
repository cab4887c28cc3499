"""Crowding (财信 行业轮动系列2): kernels vs naive twins, percentiles, the Nov-2023 printed table, overlay, timing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataError
from engine.kernels.industry import industry_avg_corr, industry_concentration
from engine.signals import crowding as cr
from engine.signals.industry_common import (NAME_TO_CODE, SW_L1_NAMES, membership_matrix, month_end_positions,
                                            rolling_pct)
from tests import naive_industry as naive
from tests.lookahead import assert_no_lookahead

DATA = Path(__file__).parent / "data"
FAST = {"pct_min_periods": 60, "pct_long": 250, "pct_short": 120, "flag_when": "any_day"}


@pytest.fixture(scope="module")
def ds():
    return naive.make_dataset()


def _random_membership(rng, T, S, K):
    ind = np.repeat(rng.integers(-1, K, S)[None, :], T, axis=0)
    for s in rng.choice(S, 3, replace=False):                 # a few switches mid-sample
        ind[rng.integers(1, T):, s] = rng.integers(-1, K)
    return ind.astype(np.int16)


# ----------------------------------------------------------------------------------------------- kernels
def test_avg_corr_exact_cases():
    rng = np.random.default_rng(1)
    a = rng.normal(size=30)
    ret = np.column_stack([a, 2 * a + 1, -a, rng.normal(size=30)])
    ind = np.array([[0, 0, 1, 1]] * 30, dtype=np.int16)
    out = industry_avg_corr(ret, ind, 2, 10, 10)
    assert np.isnan(out[:9]).all()
    np.testing.assert_allclose(out[9:, 0], 1.0, atol=1e-12)                  # identical up to scale
    ind2 = np.array([[0, 1, 0, 1]] * 30, dtype=np.int16)
    np.testing.assert_allclose(industry_avg_corr(ret, ind2, 2, 10, 10)[9:, 0], -1.0, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_avg_corr_matches_naive(seed):
    rng = np.random.default_rng(seed)
    T, S, K = 60, 25, 4
    ret = rng.normal(size=(T, S)) + rng.normal(size=(T, 1))
    ret[rng.random((T, S)) < 0.15] = np.nan
    ret[:, 5] = 0.0                                                          # zero variance: excluded
    ind = _random_membership(rng, T, S, K)
    got = industry_avg_corr(ret, ind, K, 12, 9)
    want = naive.avg_corr(ret, ind, K, 12, 9)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    assert np.isfinite(got).sum() > 100


@pytest.mark.parametrize("seed", [0, 1])
def test_concentration_matches_naive(seed):
    rng = np.random.default_rng(seed)
    T, S, K = 30, 40, 5
    amt = np.exp(rng.normal(10, 1.5, (T, S)))
    amt[rng.random((T, S)) < 0.1] = np.nan
    ind = _random_membership(rng, T, S, K)
    for frac in (0.1, 0.25, 0.5):
        np.testing.assert_allclose(industry_concentration(amt, ind, K, frac, 0),
                                   naive.concentration(amt, ind, K, frac, False), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(industry_concentration(amt, ind, K, 0.1, 1),
                               naive.concentration(amt, ind, K, 0.1, True), rtol=1e-12, equal_nan=True)


def test_concentration_by_hand():
    amt = np.array([[1.0, 2.0, 3.0, 4.0, 0.0]])
    ind = np.array([[0, 0, 0, 0, 0]], dtype=np.int16)
    assert industry_concentration(amt, ind, 1, 0.25, 0)[0, 0] == pytest.approx(0.4)      # top 1 of 4
    assert industry_concentration(amt, ind, 1, 0.5, 0)[0, 0] == pytest.approx(0.7)       # top 2 of 4
    assert industry_concentration(amt, ind, 1, 0.1, 1)[0, 0] == pytest.approx(0.3)       # (1+4+9+16)/100


def test_rolling_pct_matches_naive():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.integers(0, 8, (80, 3)).astype(float))
    x[rng.random(x.shape) < 0.1] = np.nan
    np.testing.assert_allclose(rolling_pct(x, 20, 10).to_numpy(), naive.rank_pct(x.to_numpy(), 20, 10), equal_nan=True)


def test_membership_point_in_time(ds):
    st = ds.panel("stocks")
    codes = ds.panel("sw_l1").codes
    ind = membership_matrix(ds, st.dates, st.codes, codes)
    mid = len(st.dates) // 2
    assert (ind[:mid, 0] == 0).all() and (ind[mid:, 0] == 1).all()           # stock 0 moves 801010 -> 801030
    assert (ind[:, 1] == 1).all()
    bad = naive.make_dataset()
    bad.tables["membership"].loc[0, "industry"] = "不存在"
    with pytest.raises(DataError, match="industries not in panel 'sw_l1': 不存在"):
        membership_matrix(bad, st.dates, st.codes, codes)


# ----------------------------------------------------------------------------------------------- Nov 2023
def test_nov2023_printed_crowding_table():
    t = pd.read_csv(DATA / "caixin_202311_crowding.csv", comment="#")
    assert list(t["行业"]) == list(SW_L1_NAMES.values())      # printed row order = SW L1 code order
    t.index = [NAME_TO_CODE[n] for n in t["行业"]]
    cols = ["行业收盘价乖离率", "行业内部关联度", "行业成交集中度"]
    combined = cr.combine_flags(t[cols[0]], t[cols[1]], t[cols[2]])
    assert (combined.astype(int) == t["拥挤度组合信号"]).all()                # combined = OR, as printed
    assert set(t.index[combined]) == {NAME_TO_CODE[n] for n in ("医药生物", "银行", "汽车")}
    got = cr.crowding_table(pd.Series(SW_L1_NAMES), t[cols[0]], t[cols[1]], t[cols[2]])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), t.reset_index(drop=True),
                                  check_dtype=False)
    # sell needs all three trends up: pharma is "处于长期底部区间" (LT down) -> no sell, as printed ("无");
    # banks/autos: any trend not up suffices; the same flags with all trends up would sell.
    lt = pd.Series(1.0, index=t.index)
    lt[NAME_TO_CODE["医药生物"]] = -1.0
    st = pd.Series(1.0, index=t.index)
    st[[NAME_TO_CODE["银行"], NAME_TO_CODE["汽车"]]] = -1.0
    assert not cr.crowding_sell(combined, lt, 1.0, st).any()
    assert cr.crowding_sell(combined, 1.0, 1.0, 1.0).sum() == 3
    assert not cr.crowding_sell(~combined, -1.0, 1.0, 1.0).any()
    full = cr.crowding_table(pd.Series(SW_L1_NAMES), t[cols[0]], t[cols[1]], t[cols[2]],
                             cr.crowding_sell(combined, lt, 1.0, st))
    assert cr.crowding_footer(full, "11月") == ["11月触发拥挤或踩踏信号：医药生物、银行、汽车", "11月拥挤度卖出信号：无"]


# ----------------------------------------------------------------------------------------------- signals
def test_monthly_flags_from_daily(ds):
    p = {**FAST, "share_variant": "top"}
    daily = cr.crowding_daily(ds, p)
    mon = cr.crowding_monthly(ds, p)
    dates = daily["bias"].index
    pct = naive.rank_pct(daily["rho"].to_numpy(), 250, 60)
    hot = pd.DataFrame(pct >= 0.95, index=dates, columns=daily["rho"].columns)
    for d in mon["rho"].index:
        m = hot[(dates.year == d.year) & (dates.month == d.month)].any()
        assert (mon["rho"].loc[d] == m).all()
    assert mon["rho"].to_numpy().any() and mon["share"].to_numpy().any() and mon["bias"].to_numpy().any()
    assert (mon["crowd"] == (mon["bias"] | mon["rho"] | mon["share"])).all().all()
    end = cr.crowding_monthly(ds, {**p, "flag_when": "month_end"})
    for k in cr.FLAG_KEYS:
        assert not (end[k] & ~mon[k]).to_numpy().any()                       # month-end hits are any-day hits


def test_share_variant_market(ds):
    daily = cr.crowding_daily(ds, {**FAST, "correlation": False})
    sw = ds.panel("sw_l1")
    raw = sw["amount"].div(ds.get_series("market")["amount"], axis=0)
    np.testing.assert_allclose(daily["share"].iloc[-1], raw.iloc[-20:].mean(), rtol=1e-12)
    assert "rho" not in daily


def test_overlay_drops_crowding_sells(ds):
    res = cr.compute(ds, {**FAST, "base": "equal_weight"})
    sell = res.indicators["sell"].astype(bool)
    assert sell.to_numpy().sum() >= 2                                        # the test is not vacuous
    for d in sell.index:
        row = res.weights.loc[d]
        assert (row[sell.loc[d]] == 0).all()
        n_keep = (~sell.loc[d]).sum()
        np.testing.assert_allclose(row[~sell.loc[d]], 1.0 / n_keep)
    cash = cr.compute(ds, {**FAST, "base": "equal_weight", "dropped": "cash"})
    np.testing.assert_allclose(cash.weights.loc[sell.index].sum(axis=1), 1 - sell.sum(axis=1) / 6)


def test_rotation_crowding_is_buy_list_minus_sells(ds):
    p = {**cr.SPEC_ROTATION_CROWDING.defaults, **FAST, "variant": "B", "portfolio": "buy_list"}
    res = cr.SPEC_ROTATION_CROWDING.compute(ds, p)
    buy = res.indicators["rot_buy"].astype(bool) & res.indicators["rot_slope_rank"].notna()
    keep = buy & ~res.indicators["sell"].astype(bool)
    for d in keep.index:
        row = res.weights.loc[d]
        n = keep.loc[d].sum()
        np.testing.assert_allclose(row, np.where(keep.loc[d], 1.0 / max(n, 1), 0.0))
    assert set(res.tables) == {"rotation", "crowding"}


def test_no_lookahead(ds):
    d = ds.panel("sw_l1").dates
    cuts = [d[month_end_positions(d)[15]], d[310]]
    assert d[310].month == d[311].month                                       # a mid-month cut
    assert_no_lookahead(cr.compute, ds, {**FAST, "base": "equal_weight"}, cuts)
    assert_no_lookahead(cr.compute, ds, {**cr.SPEC_ROTATION_CROWDING.defaults, **FAST, "share_variant": "hhi",
                                         "crowd_relative": "csi300"}, cuts, seeds=(0,))


def test_monthly_tables_asof_and_text(ds):
    dates = ds.panel("sw_l1").dates
    ends = dates[month_end_positions(dates)]
    tabs = cr.monthly_tables(ds, FAST, ends[-2] + pd.Timedelta(days=10))      # mid-month -> previous month end
    full = cr.compute(ds, {**FAST, "base": "turnover_rotation"})
    ind = full.indicators.loc[ends[-2]]
    assert (tabs["crowding"]["行业内部关联度"] == ind["rho"].astype(int)).all()
    assert (tabs["rotation"]["换手率斜率排名"].sort_index() == ind["rot_slope_rank"].sort_index().astype(int)).all()
    text = cr.format_monthly_tables(tabs, ends[-2])
    assert "图2" in text and "图3" in text and f"{ends[-2].month}月量能买入信号" in text
    with pytest.raises(DataError, match="before the first complete month"):
        cr.monthly_tables(ds, FAST, dates[3])
    nostocks = naive.make_dataset()
    del nostocks.panels["stocks"]
    assert set(cr.monthly_tables(nostocks, FAST, ends[-1])) == {"rotation"}
    with pytest.raises(DataError, match="no panel 'stocks'"):
        cr.compute(nostocks, FAST)


def test_format_table_cjk_alignment():
    from engine.signals.industry_common import format_table

    df = pd.DataFrame({"行业": ["钢铁", "计算机"], "x": [1.0, np.nan]})
    assert format_table(df, "T", ["f"]) == "T\n行业    x\n钢铁    1\n计算机  -\nf"
