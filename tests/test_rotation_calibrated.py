"""Rotation and crowding after the real-data calibration (methodology §9.2, §9.3): variant C on hand-made inputs
shaped like the Nov-2023 table, the turnover source label, the crowding trend legs, the combined strategy."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.panel import Dataset, Panel
from engine.errors import DataError
from engine.signals import crowding as cr
from engine.signals import turnover_rotation as tr
from engine.signals.industry_common import NAME_TO_CODE, SW_L1_NAMES, month_end_positions, trend_state
from tests import naive_industry as naive
from tests.lookahead import assert_no_lookahead

DATA = Path(__file__).parent / "data"
FAST = {"pct_min_periods": 60, "pct_long": 250, "pct_short": 120, "flag_when": "any_day"}


def _printed():
    t = pd.read_csv(DATA / "caixin_202311_rotation.csv", comment="#", dtype={"提示": str}).fillna({"提示": ""})
    t.index = [NAME_TO_CODE[n] for n in t["行业"]]
    return t


def _nov2023_dataset() -> Dataset:
    """31 SW L1 industries, 2023-01-02..2023-11-30, whose Nov-2023 turnover gives the printed mean and slope ranks
    exactly (turnover = 10 * mean rank + 0.001 * slope rank * day of month) and whose closes have the trend states
    §9.2 implies: CSI 300 falls 20% over the last 120 days; buys fall 30% (below MA120, behind the CSI 300), of
    which 计算机 and 社会服务 rebound 5% in the last 20 days (they rose over 20 days, as on real data); sells rise
    10% (above MA120, ahead of the CSI 300); the 8 neutral flagged fall 5% (below MA120, ahead of the CSI 300);
    the 15 unflagged industries get every combination."""
    t = _printed()
    dates = pd.bdate_range("2023-01-02", "2023-11-30", name="date")
    n = len(dates)
    x = np.arange(n, dtype=float)
    ramp = np.clip((x - (n - 121)) / 120.0, 0.0, 1.0)          # 0 before the last 120 days, 1 at the end

    def path(total, rebound=0.0):
        p = 1000.0 * (1.0 + total * ramp)
        if rebound:
            k = n - 21
            p[k:] = p[k] * (1.0 + rebound * (x[k:] - k) / 20.0)
        return p

    closes, turn = {}, {}
    nov = dates.month == 11
    day = np.cumsum(nov) * nov
    unflagged = [-0.30, 0.10, -0.05, 0.02]
    for i, (c, row) in enumerate(t.iterrows()):
        hint = row["提示"]
        if tr.BUY_TEXT in hint:
            closes[c] = path(-0.30, 0.05 if row["行业"] in ("计算机", "社会服务") else 0.0)
        elif tr.SELL_TEXT in hint:
            closes[c] = path(0.10)
        elif hint:
            closes[c] = path(-0.05)
        else:
            closes[c] = path(unflagged[i % 4])
        turn[c] = 10.0 * row["换手率均值排名"] + 0.001 * row["换手率斜率排名"] * day
    codes = list(SW_L1_NAMES)
    sw = {"close": pd.DataFrame(closes, index=dates)[codes], "turnover": pd.DataFrame(turn, index=dates)[codes]}
    idx = pd.DataFrame({"000300.SH": 4000.0 * (1.0 - 0.20 * ramp)}, index=dates)
    return Dataset(panels={"sw_l1": Panel("sw_l1", sw), "index": Panel("index", {"close": idx})}, series={},
                   tables={}, meta={}, source="<nov2023>")


PRINTED_BUYS = "11月量能买入信号：计算机、社会服务、房地产、电力设备、美容护理"
PRINTED_SELLS = "11月量能卖出信号：煤炭、汽车、医药生物"


def test_variant_c_reproduces_printed_lists_and_a_b_do_not():
    ds = _nov2023_dataset()
    t = _printed()
    p = {"norm": "none", "slope_min_obs": 10, "crowding_table": False}
    mon = tr.rotation_monthly(ds, {**p, "variant": "C"})
    assert mon["slope"].index[-1] == pd.Timestamp("2023-11-30")
    # the hand-made legs really have the §9.2 states (checked against the closes, not the code under test)
    close = ds.panel("sw_l1")["close"]
    csi = ds.panel("index")["close"]["000300.SH"]
    below_ma120 = close.iloc[-1] < close.iloc[-120:].mean()
    behind = close.iloc[-1] / close.iloc[-121] - 1 < csi.iloc[-1] / csi.iloc[-121] - 1
    assert (mon["st"].iloc[-1] < 0).equals(below_ma120) and (mon["mt"].iloc[-1] < 0).equals(behind)
    got = tr.rotation_table_for(ds, mon, -1)
    assert got["换手率斜率排名"].tolist() == t["换手率斜率排名"].tolist()
    assert got.loc[t.index, "换手率均值排名"].tolist() == t["换手率均值排名"].tolist()
    assert got.loc[t.index, "提示"].tolist() == t["提示"].tolist()
    assert tr.rotation_footer(got, "11月") == [PRINTED_BUYS, PRINTED_SELLS]
    for variant in ("A", "B"):
        other = tr.rotation_table_for(ds, tr.rotation_monthly(ds, {**p, "variant": variant}), -1)
        assert tr.rotation_footer(other, "11月")[0] != PRINTED_BUYS, variant
    # A misses 计算机 and 社会服务 (they rose over 20 days) and buys neutral ones; B buys all 8 neutral ones
    a = tr.rotation_table_for(ds, tr.rotation_monthly(ds, {**p, "variant": "A"}), -1)
    a_buys = set(a.loc[a["提示"].str.contains(tr.BUY_TEXT), "行业"])
    assert not a_buys & {"计算机", "社会服务"} and {"房地产", "电力设备", "美容护理"} <= a_buys
    b = tr.rotation_table_for(ds, tr.rotation_monthly(ds, {**p, "variant": "B"}), -1)
    assert b["提示"].str.contains(tr.BUY_TEXT).sum() == 13


def test_variant_c_rule_by_hand():
    flag = np.array([True, True, True, True, True, False])
    ab = np.array([-1.0, -1.0, 1.0, 1.0, np.nan, -1.0])       # absolute leg (close vs MA)
    rel = np.array([-1.0, 1.0, 0.0, -1.0, -1.0, -1.0])         # relative leg (return minus CSI 300's)
    buy, sell = tr.turnover_instructions(flag, ab, rel, "C")
    assert buy.tolist() == [True, False, False, False, False, False]
    assert sell.tolist() == [False, False, True, False, False, False]   # rel = 0 counts for the sell (>= 0)
    with pytest.raises(DataError, match="variant must be"):
        tr.turnover_instructions(flag, ab, rel, "D")


def test_default_flag_is_upper_half():
    ds = naive.make_dataset()
    mon = tr.rotation_monthly(ds, {})
    n = mon["slope_rank"].notna().sum(axis=1)
    want = mon["slope_rank"].ge((n + 1) / 2.0, axis=0)
    assert tr.DEFAULTS["flag"] == "upper_half" and mon["flag"].equals(want)


# ----------------------------------------------------------------------------------------------- turnover source
def test_turnover_sources_and_labels():
    ds = naive.make_dataset()
    sw = ds.panel("sw_l1")
    pd.testing.assert_frame_equal(tr.turnover_rate(ds, "volume"), sw["volume"].astype(float))
    pd.testing.assert_frame_equal(tr.turnover_rate(ds, "amount"), sw["amount"].astype(float))
    np.testing.assert_allclose(tr.turnover_rate(ds, "volume_float").to_numpy(),
                               (sw["volume"] / sw["float_shares"] * 100).to_numpy(), rtol=1e-12)
    tabs = cr.monthly_tables(ds, {**FAST, "turnover_source": "volume"}, sw.dates[-1])
    text = cr.format_monthly_tables(tabs, tabs["rotation"].attrs["month_end"])
    assert "PROXY" in text and "成交量" in text
    text = cr.format_monthly_tables(cr.monthly_tables(ds, FAST, sw.dates[-1]), tabs["rotation"].attrs["month_end"])
    assert "PROXY" not in text and "换手率 = field 'turnover'" in text


def test_turnover_source_error_suggests_only_working_sources():
    bare = naive.make_dataset(with_turnover=False, with_float_shares=False)      # volume and amount only
    with pytest.raises(DataError) as e:
        tr.compute(bare, {"crowding_table": False})
    msg = str(e.value)
    assert "\n" not in msg and "amount_float_mcap" not in msg and "float_mcap" not in msg
    suggested = msg.split("turnover_source to ")[1].split(" (")[0].split(" or ")
    assert suggested == ["volume", "amount"]
    for s in suggested:                                                           # every suggestion works
        assert len(tr.compute(bare, {"turnover_source": s, "crowding_table": False}).weights)
    with pytest.raises(DataError, match="has no field 'turnover'"):
        tr.compute(bare, {"turnover_source": "turnover", "crowding_table": False})


# ----------------------------------------------------------------------------------------------- crowding legs
def test_auto_nov2023_trend_states_give_no_crowding_sell():
    """§9.3: 汽车 had positive 20/60/120/250-day returns but closed below its MA20; it was flagged (关联度).
    With ST = sign(ret_20) the sell rule would sell it; with the default close > MA_n legs it does not."""
    n = 300
    p = 1000.0 * 1.001 ** np.arange(n)                     # steady rise
    top = p[n - 21]
    p[n - 20:n - 5] = top * 1.10                           # jump, then give most of it back
    p[n - 5:] = top * 1.02
    close = pd.DataFrame({"801880.SI": p}, index=pd.bdate_range("2022-09-01", periods=n))
    c = close.iloc[:, 0]
    for w in (20, 60, 120, 250):
        assert c.iloc[-1] / c.iloc[-1 - w] - 1 > 0                           # every return positive
    assert c.iloc[-1] < c.iloc[-20:].mean()                                  # below MA20
    assert c.iloc[-1] > c.iloc[-60:].mean() and c.iloc[-1] > c.iloc[-250:].mean()
    legs = {m: [trend_state(close, w, m).iloc[-1] for w in (250, 60, 20)] for m in ("return", "ma")}
    assert cr.crowding_sell(pd.Series([True]), *legs["return"]).all()        # the wrong sell
    assert not cr.crowding_sell(pd.Series([True]), *legs["ma"]).any()        # the printed "无"
    assert cr.CROWD_DEFAULTS["crowd_trend"] == "ma"


def test_bias_relative_to_benchmark_and_min_days():
    ds = naive.make_dataset()
    close = ds.panel("sw_l1")["close"]
    ratio = close.div(ds.panel("index")["close"]["000300.SH"], axis=0)
    d = cr.crowding_daily(ds, {**FAST, "bias_relative_to": "benchmark", "bias_window": 30, "correlation": False})
    t = 200
    want = ratio.iloc[t] / ratio.iloc[t - 29:t + 1].mean() - 1
    np.testing.assert_allclose(d["bias"].iloc[t], want, rtol=1e-12)
    p = {**FAST, "correlation": False}
    daily = cr.crowding_daily(ds, p)
    hot = pd.DataFrame(naive.rank_pct(daily["share"].to_numpy(), 120, 60) >= 0.95, index=close.index,
                       columns=close.columns)
    for k in (1, 2, 4):
        mon = cr.crowding_monthly(ds, {**p, "flag_when": "min_days", "min_days": k})
        for m in mon["share"].index:
            days = hot[(close.index.year == m.year) & (close.index.month == m.month)].sum()
            assert (mon["share"].loc[m] == (days >= k)).all()
    one = cr.crowding_monthly(ds, {**p, "flag_when": "min_days", "min_days": 1})
    assert one["share"].equals(cr.crowding_monthly(ds, {**p, "flag_when": "any_day"})["share"])
    assert one["share"].to_numpy().sum() > cr.crowding_monthly(ds, {**p, "flag_when": "min_days",
                                                                    "min_days": 4})["share"].to_numpy().sum()


# ----------------------------------------------------------------------------------------------- combined strategy
def _planted_crowding():
    """naive.make_dataset with one industry surging through one month (price deviation at a window high while
    every trend is up): a planted crowding sell."""
    ds = naive.make_dataset(n_days=460)
    close = ds.panel("sw_l1").fields["close"]
    dates = close.index
    m = (dates.year == dates[380].year) & (dates.month == dates[380].month)
    pos = np.flatnonzero(m)
    jump = np.ones(len(dates))
    jump[pos] = np.linspace(1.01, 1.35, len(pos))
    jump[pos[-1] + 1:] = 1.35
    close.iloc[:, 2] = close.iloc[:, 2] * jump
    return ds, dates[pos[-1]]


def test_rotation_crowding_differs_exactly_in_crowding_months():
    ds, planted = _planted_crowding()
    crowd = {**FAST, "flag_when": "month_end", "correlation": False}      # each function gets only its own keys
    rot_p = {"portfolio": "tilt", "crowding_table": False}                 # (an unknown key is a ConfigError)
    comb = cr.SPEC_ROTATION_CROWDING.compute(ds, {**cr.SPEC_ROTATION_CROWDING.defaults, **crowd, **rot_p})
    rot = tr.compute(ds, rot_p)
    cm = cr.crowding_monthly(ds, crowd)
    fired = cm["sell"].any(axis=1)
    assert fired.loc[planted] and cm["sell"].loc[planted].iloc[2]             # the planted month fires
    assert (~fired).sum() > 5                                               # and most months do not
    ends = comb.weights.index[month_end_positions(comb.weights.index)]
    differs = (comb.weights.loc[ends] - rot.weights.loc[ends]).abs().max(axis=1) > 1e-15
    assert differs.equals(fired.reindex(ends).fillna(False)), (differs[differs != fired.reindex(ends)])
    # where it fires the sold industries are cut to 0 and the rest keep their tilt ratios
    for d in fired[fired].index:
        sold = cm["sell"].loc[d]
        assert (comb.weights.loc[d][sold] == 0).all()
        keep = rot.weights.loc[d][~sold]
        np.testing.assert_allclose(comb.weights.loc[d][~sold], keep / keep.sum(), rtol=1e-12)
    # the tilt book by hand for one month: weight 1, x2 on buys, x0.5 on sells, normalised
    mon = tr.rotation_monthly(ds, rot_p)
    d = mon["valid"].index[-1]
    raw = np.where(mon["buy"].loc[d], 2.0, 1.0) * np.where(mon["sell"].loc[d], 0.5, 1.0) * mon["valid"].loc[d]
    np.testing.assert_allclose(rot.weights.loc[d], raw / raw.sum(), rtol=1e-12)


def test_no_lookahead_new_parameters():
    ds, _ = _planted_crowding()
    d = ds.panel("sw_l1").dates
    cuts = [d[month_end_positions(d)[15]], d[333]]
    assert d[333].month == d[334].month
    assert_no_lookahead(tr.compute, ds, {"variant": "C", "c_benchmark": "equal_weight", "c_abs_trend": "return",
                                         "turnover_source": "volume", "portfolio": "tilt", "crowding_table": False},
                        cuts, seeds=(0,))
    assert_no_lookahead(tr.compute, ds, {"variant": "C", "turnover_source": "amount", "crowding_table": False},
                        cuts, seeds=(1,))
    assert_no_lookahead(tr.compute, ds, {"variant": "C", "c_rel_trend": "ma", "c_abs_window": 30, "c_rel_window": 40,
                                         "turnover_source": "volume_float", "portfolio": "tilt", "buy_tilt": 0.5,
                                         "sell_cut": 1.0, "crowding_table": False}, cuts, seeds=(0,))
    assert_no_lookahead(cr.SPEC_ROTATION_CROWDING.compute, ds,
                        {**cr.SPEC_ROTATION_CROWDING.defaults, **FAST, "bias_relative_to": "benchmark",
                         "flag_when": "min_days", "min_days": 2, "crowd_trend": "ma", "variant": "C"},
                        cuts, seeds=(0,))


def test_missing_csi300_errors_suggest_settings_that_work():
    ds = naive.make_dataset()
    ds.panels["index"] = Panel("index", {"close": ds.panel("index")["close"].rename(columns={"000300.SH": "X"})})
    cases = [(tr.compute, {"variant": "C", "crowding_table": False}, "c_benchmark: equal_weight"),
             (cr.compute, {**FAST, "correlation": False, "bias_relative_to": "benchmark"}, "bias_relative_to: none"),
             (cr.compute, {**FAST, "correlation": False, "crowd_relative": "csi300"}, "crowd_relative: none")]
    for fn, params, fix in cases:
        with pytest.raises(DataError) as e:
            fn(ds, params)
        assert f"signal.params.{fix}" in str(e.value) and "\n" not in str(e.value)
        key, val = fix.split(": ")
        assert len(fn(ds, {**params, key: val}).weights)                     # the suggestion works
