"""engine/signals/sentiment.py: the printed Caixin table (seed 002), indicators vs naive loops, no look-ahead,
input errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.panel import Dataset, Panel
from engine.errors import ConfigError, DataError
from engine.signals import sentiment as S
from tests import naive_rolling as nv
from tests.lookahead import assert_no_lookahead

TABLE = Path(__file__).parent / "data" / "caixin_20231201_sentiment.csv"
SMALL = {"conc_window": 30, "conc_min_periods": 30, "conc_min_assets": 3, "temp_smooth_window": 5,
         "temp_window": 60, "temp_min_periods": 20, "exp_window": 80, "exp_min_periods": 25, "trend_k": 3}


def _report():
    return pd.read_csv(TABLE, comment="#", parse_dates=["date"])


# ------------------------------------------------------------------------------------------------ report table
def test_report_table_has_the_printed_rows():
    d = _report()
    assert len(d) == 20 and d["date"].iloc[0] == pd.Timestamp("2023-11-06") and d["date"].iloc[-1] == pd.Timestamp("2023-12-01")
    assert (d["weight"] == 1.0).sum() == 8 and (d["weight"] == 0.5).sum() == 8 and (d["weight"] == 0.0).sum() == 4


@pytest.mark.parametrize("trend,k,lag", [("diff", 9, 0), ("slope", 9, 0), ("slope", 10, 0), ("diff", 8, 1)])
def test_position_rule_reproduces_printed_weights(trend, k, lag):
    """§1.4: same-row alignment, T_t > T_{t-9} and E_t > E_{t-9} (or the OLS slope over 10 / 11 days), gated by
    temperature. Row i needs rows i-k-lag..i, so with k = 9 the checkable rows are the 10th..20th (i = 9..19,
    2023-11-17..12-01): 11 rows, incl. the 50% -> 0% switch on 11-28 and 'E rising but 0%' on 11-30 / 12-01.
    ``lag = 1``: the weight row is decided from the previous indicator row (k = 8 then fits)."""
    d = _report()
    w = S.position_rule(d["temperature"], d["expectation"], d["concentration"], {"trend": trend, "trend_k": k})
    if lag:
        w = np.r_[np.nan, w[:-1]]
    rows = np.arange(len(d)) >= k + lag       # diff: needs row i-k; slope over k+1 rows: rows i-k..i

    assert rows.sum() == {(9, 0): 11, (10, 0): 10, (8, 1): 11}[(k, lag)]
    assert d["date"][rows].iloc[0] == pd.Timestamp({(9, 0): "2023-11-17", (10, 0): "2023-11-20", (8, 1): "2023-11-17"}[(k, lag)])
    np.testing.assert_array_equal(w[rows], d["weight"][rows].to_numpy())


def test_report_table_discriminates_between_rules():
    """The check has power: k = 8 on the same row (methodology §1.4 table) misses exactly 2023-11-27, and the
    additive rule 0.5*Tup + 0.5*Eup (k = 9) gives 50%, not the printed 0%, on 12-01 (T down, E up: the text's
    "情绪温度下行,情绪预期转升,目前仓位为0%")."""
    d = _report()
    w = S.position_rule(d["temperature"], d["expectation"], None, {"trend_k": 8})
    rows = np.arange(20) >= 8
    miss = d["date"][rows & (w != d["weight"].to_numpy())]
    assert list(miss.dt.strftime("%m-%d")) == ["11-27"]
    T, E = d["temperature"].to_numpy(), d["expectation"].to_numpy()
    additive = 0.5 * (T[9:] > T[:-9]) + 0.5 * (E[9:] > E[:-9])
    mism = d["date"][9:][additive != d["weight"].to_numpy()[9:]]
    assert list(mism.dt.strftime("%m-%d")) == ["12-01"] and additive[-1] == 0.5


def test_printed_temperature_on_1050_lattice():
    """§1.2: 19 of 20 printed 温度 values equal k/1050 to 4 decimals; 12-01 (0.1573) does not, but 165/1049 does."""
    d = _report()
    t = d["temperature"].to_numpy()
    on = np.abs(np.round(t * 1050) / 1050 - t) <= 0.5e-4 + 1e-12
    assert on.sum() == 19 and not on[-1]
    assert list(np.round(t[:-1] * 1050).astype(int)) == [98, 109, 142, 153, 162, 160, 168, 178, 181, 184, 186, 193,
                                                         186, 184, 172, 172, 171, 168, 165]
    assert round(165 / 1049, 4) == t[-1]
    e = d["expectation"].to_numpy()          # §1.2: 预期 on k/2700 (two 1350-day percentiles averaged)
    assert (np.abs(np.round(e * 2700) / 2700 - e) <= 0.5e-4 + 1e-12).all()


# ------------------------------------------------------------------------------------------------ rule by hand
def test_position_rule_hand_cases():
    k = {"trend_k": 2}
    T = np.array([0.1, 0.2, 0.3, 0.3, 0.1, np.nan, 0.5, 0.6, 0.7])
    E = np.array([0.5, 0.5, 0.6, 0.4, 0.9, 0.9, 0.2, np.nan, 0.1])
    # t2: T .3>.1 up, E .6>.5 up -> 1; t3: T .3>.2 up, E .4<.5 -> .5; t4: T .1<.3 -> 0; t5: T NaN -> 0;
    # t6: T_4=.1 < .5 up, E .2<.9 -> .5; t7: T_5 NaN -> 0; t8: T .7>.5 up, E_6 .2 > .1 not up -> .5
    np.testing.assert_array_equal(S.position_rule(T, E, None, k), [0, 0, 1, .5, 0, 0, .5, 0, .5])
    T2 = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    E2 = np.array([0.5, 0.5, 0.6, 0.7, np.nan, 0.2, 0.2])
    # t4: T up but E NaN -> 0; t5: E .2 < E_3 .7 -> .5; t6: T up, E_6 = .2 < E_4 NaN -> 0 (NaN needed)
    np.testing.assert_array_equal(S.position_rule(T2, E2, None, k), [0, 0, 1, 1, 0, .5, 0])
    E3 = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])      # E equal to E_{t-k} is not up
    np.testing.assert_array_equal(S.position_rule(T2, E3, None, k), [0, 0, .5, .5, .5, .5, .5])
    flat = np.full(12, 0.7)
    for how in ("diff", "slope"):
        assert (S.position_rule(flat, flat, None, {"trend": how, "trend_k": 3}) == 0).all()


def test_position_rule_slope_matches_ols():
    rng = np.random.default_rng(4)
    T, E = rng.random(60), rng.random(60)
    w = S.position_rule(T, E, None, {"trend": "slope", "trend_k": 5})
    for t in range(5, 60):
        tu, eu = nv.slope(T[t - 5: t + 1]) > 0, nv.slope(E[t - 5: t + 1]) > 0
        assert w[t] == (0.0 if not tu else 1.0 if eu else 0.5)
    assert (w[:5] == 0).all()


def test_concentration_overlay():
    T = np.linspace(0.1, 0.9, 30)
    E = np.linspace(0.2, 0.8, 30)
    C = np.full(30, 0.70)
    C[20:] = [0.84, 0.90, 0.88, 0.895, 0.80, 0.86, 0.86, 0.86, 0.86, 0.86]
    p = {"conc_overlay": True, "conc_lookback": 5}
    base = S.position_rule(T, E, C, {})
    assert (base[:9] == 0).all() and (base[9:] == 1.0).all()
    # fires when C_t >= 0.83 and C_t < max(C_{t-4..t}) - 0.01: t22 (.88 < .89), t23 no (.895), t24 no (.80 < .83),
    # t25..t27 (.86 < .89 / .885 / .885), t28 no (max .86)
    w = S.position_rule(T, E, C, p)
    assert list(np.flatnonzero(w != base)) == [22, 25, 26, 27] and (w[[22, 25, 26, 27]] == 0).all()
    C[22] = np.nan                                           # a NaN C never fires and is skipped in the max
    assert list(np.flatnonzero(S.position_rule(T, E, C, p) != base)) == [25, 26, 27]


# ------------------------------------------------------------------------------------------------ hand dataset
def make_dataset(n=400, seed=0, codes=6, options_start=150) -> Dataset:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-05", periods=n, name="date")
    m = rng.standard_normal(n) * 0.012
    idx = 3000 * np.exp(np.cumsum(m))
    ind_ret = m[:, None] * rng.uniform(0.6, 1.3, codes) + rng.standard_normal((n, codes)) * 0.008
    ind = 1000 * np.exp(np.cumsum(ind_ret, axis=0))
    ind[:60, 1] = np.nan                                  # an industry index that starts late
    ind[200:205, 2] = np.nan                              # a data gap
    cc = [f"CI{i:04d}.WI" for i in range(codes)]
    amount = 8e11 * np.exp(rng.standard_normal(n) * 0.2)
    share = 0.35 + 0.05 * np.cumsum(rng.standard_normal(n)) / np.sqrt(n)
    elg = amount * share * 0.45
    lg = amount * share * 0.55
    basis = -0.004 + 0.003 * np.cumsum(rng.standard_normal(n)) / np.sqrt(n) + rng.standard_normal(n) * 0.001
    expiry = dates + pd.to_timedelta(20 - (np.arange(n) % 20), unit="D")
    call = 2e9 * np.exp(rng.standard_normal(n) * 0.3)
    put = call * np.exp(rng.standard_normal(n) * 0.2 - 0.1)
    put[:options_start] = call[:options_start] = np.nan
    return Dataset(
        panels={"index": Panel("index", {"close": pd.DataFrame({"000300.SH": idx}, index=dates)}),
                "citic_l3": Panel("citic_l3", {"close": pd.DataFrame(ind, index=dates, columns=cc)})},
        series={"flows": pd.DataFrame({"elg_buy": elg, "lg_buy": lg, "elg_sell": elg, "lg_sell": lg,
                                       "amount": amount}, index=dates),
                "futures_if": pd.DataFrame({"close": idx * (1 + basis), "expiry": expiry}, index=dates),
                "options_50etf": pd.DataFrame({"put_amount": put, "call_amount": call}, index=dates)},
        meta={"synthetic": True}, source="<hand-made>")


@pytest.fixture(scope="module")
def ds():
    return make_dataset()


def test_concentration_vs_naive(ds):
    close = ds.panel("citic_l3")["close"]
    got = S.concentration(ds, SMALL).to_numpy()
    ret = (close / close.shift(1) - 1).to_numpy()
    ref = np.full(len(close), np.nan)
    for t in range(30, len(close)):
        blk = ret[t - 29: t + 1]
        keep = [j for j in range(blk.shape[1]) if not np.isnan(blk[:, j]).any()]
        ref[t] = np.linalg.eigvalsh(np.corrcoef(blk[:, keep], rowvar=False))[-1] / len(keep)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=1e-11)


@pytest.mark.parametrize("smoothing", ["ma", "ema"])
def test_temperature_vs_naive(ds, smoothing):
    p = {**SMALL, "temp_smoothing": smoothing}
    got = S.temperature(ds, p).to_numpy()
    f = ds.get_series("flows")
    mbr = ((f["elg_buy"] + f["lg_buy"]) / f["amount"]).to_numpy()
    if smoothing == "ma":
        sm = np.array([mbr[t - 4: t + 1].mean() if t >= 4 else np.nan for t in range(len(mbr))])
    else:
        sm = pd.Series(mbr).ewm(span=5, adjust=False, min_periods=5).mean().to_numpy()
    ref = nv.rank_pct(sm[:, None], 60, 20)[:, 0]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    assert np.isnan(got[:23]).all() and not np.isnan(got[23:]).any()    # 5-row smoothing + 20 valid values


def test_expectation_vs_naive(ds):
    got = S.expectation(ds, SMALL).to_numpy()
    idx = ds.panel("index")["close"]["000300.SH"].to_numpy()
    fut = ds.get_series("futures_if")["close"].to_numpy()
    o = ds.get_series("options_50etf")
    basis = (fut - idx) / idx
    pcr = (o["put_amount"] / o["call_amount"]).to_numpy()
    pb = nv.rank_pct(basis[:, None], 80, 25)[:, 0]
    pp = nv.rank_pct(-pcr[:, None], 80, 25)[:, 0]
    ref = np.where(np.isnan(pp), pb, 0.5 * pb + 0.5 * pp)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    assert np.isnan(got[:24]).all() and (got[24:174] == pb[24:174]).all()   # basis alone before PCR history
    assert not np.isnan(pp[174:]).any()


def test_basis_annualised_and_smoothing(ds):
    p = {**SMALL, "basis_annualize": True, "exp_smooth": 3}
    res = S.compute(ds, p)
    dates = ds.panel("index").dates
    idx = ds.panel("index")["close"]["000300.SH"].to_numpy()
    fut = ds.get_series("futures_if")
    days = np.array([(e - d).days for e, d in zip(fut["expiry"], dates)], float)
    basis = (fut["close"].to_numpy() - idx) / idx * 365 / np.maximum(days, 1)
    np.testing.assert_allclose(res.indicators["basis"].to_numpy(), basis, rtol=1e-13)
    sm = nv.mean(basis[:, None], 3, 3)
    np.testing.assert_allclose(res.indicators["basis_pct"].to_numpy(), nv.rank_pct(sm, 80, 25)[:, 0], rtol=1e-12)


def test_compute_outputs_and_table(ds):
    res = S.compute(ds, SMALL)
    dates = ds.panel("index").dates
    assert list(res.weights.columns) == ["000300.SH"] and res.weights.index.equals(dates)
    assert set(np.unique(res.weights.to_numpy())) <= {0.0, 0.5, 1.0}
    assert {0.5, 1.0} <= set(np.unique(res.weights.to_numpy()))
    ind = res.indicators
    for c in ("concentration", "temperature", "expectation", "mbr", "basis", "pcr"):
        assert c in ind.columns
    w = S.position_rule(ind["temperature"], ind["expectation"], ind["concentration"], SMALL)
    np.testing.assert_array_equal(res.weights["000300.SH"].to_numpy(), w)
    tab = res.tables["last_days"]
    assert list(tab.columns) == ["情绪浓度", "情绪温度", "情绪预期", "目标权重"] and len(tab) == 20
    assert tab.index[-1] == dates[-1]
    asof = dates[250] + pd.Timedelta(hours=12)
    t2 = S.indicator_table(res, asof, n=5)
    assert list(t2.index) == list(dates[246:251])
    np.testing.assert_array_equal(t2["目标权重"].to_numpy(), w[246:251])
    with pytest.raises(DataError, match="before the first date"):
        S.indicator_table(res, "2000-01-01")
    assert S.SPEC.defaults == S.DEFAULTS and S.SPEC.universe == "index"
    ds.require(S.SPEC.requires)


def test_no_lookahead(ds):
    params = {**SMALL, "basis_annualize": True, "conc_overlay": True, "conc_level": 0.3}
    dates = ds.panel("index").dates
    assert_no_lookahead(S.compute, ds, params, [dates[120], dates[180], dates[300]])


# ------------------------------------------------------------------------------------------------ errors
def test_bad_inputs_raise_one_line_errors(ds):
    f = ds.get_series("flows").copy()
    f["amount"] = f["amount"] / 1e4            # amount in 万元: ratio > 1
    bad = Dataset(ds.panels, {**ds.series, "flows": f}, source="<x>")
    with pytest.raises(DataError, match=r"outside \[0, 1\].*CNY"):
        S.compute(bad, SMALL)
    f = ds.get_series("flows").copy()
    f.iloc[100] = 0.0                          # a row of zeros records nothing: missing, not an error
    got = S.compute(Dataset(ds.panels, {**ds.series, "flows": f}), SMALL).indicators["mbr"]
    assert np.isnan(got.iloc[100]) and got.notna().sum() == len(got) - 1
    f.iloc[100, f.columns.get_loc("elg_buy")] = 1e9   # flows recorded but amount 0: an error
    with pytest.raises(DataError, match="'amount' is <= 0 on 1 dates"):
        S.compute(Dataset(ds.panels, {**ds.series, "flows": f}), SMALL)
    o = ds.get_series("options_50etf").copy()
    o.iloc[200, 1] = 0.0
    with pytest.raises(DataError, match="call_amount.*<= 0.*empty"):
        S.compute(Dataset(ds.panels, {**ds.series, "options_50etf": o}), SMALL)
    with pytest.raises(DataError, match="no series 'futures_if'"):
        S.compute(Dataset(ds.panels, {k: v for k, v in ds.series.items() if k != "futures_if"}), SMALL)
    with pytest.raises(DataError, match="no code '000905.SH'"):
        S.compute(ds, {**SMALL, "code": "000905.SH"})
    with pytest.raises(ConfigError, match="did you mean 'trend_k'"):
        S.compute(ds, {"trend_kk": 3})
    with pytest.raises(ConfigError, match="temp_min_periods"):
        S.compute(ds, {**SMALL, "temp_min_periods": 61})
    with pytest.raises(ConfigError, match="trend"):
        S.position_rule([1.0], [1.0], None, {"trend": "ma"})


# ------------------------------------------------------------------------------------------------ synthetic market
@pytest.fixture(scope="module")
def small():
    from engine.data.synthetic import load_synthetic

    return load_synthetic(size="small")


def test_synthetic_small_runs_with_defaults_and_lattices(small):
    small.require(S.SPEC.requires)
    res = S.compute(small, {})
    ind, w = res.indicators, res.weights["000300.SH"]
    assert w.index.equals(small.panel("index").dates) and set(np.unique(w)) == {0.0, 0.5, 1.0}
    n_l3 = small.panel("citic_l3")["close"].shape[1]
    c = ind["concentration"].dropna()
    assert len(c) > 3000 and (c >= 1 / n_l3).all() and (c <= 1).all()
    # with a full 1050-row window and no gaps, 温度 lies on k/1050 exactly as in the report
    mbr = ind["mbr"].to_numpy()
    full = np.array([t >= 1068 and not np.isnan(mbr[t - 1068: t + 1]).any() for t in range(len(mbr))])
    assert full.sum() > 1000
    k = ind["temperature"].to_numpy()[full] * 1050
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    # where both 1350-row windows are full, 预期 lies on k/2700 (the lattice of the printed 预期)
    both = ind["basis"].notna().rolling(1350).sum().eq(1350) & ind["pcr"].notna().rolling(1350).sum().eq(1350)
    assert both.sum() > 500
    k2 = ind["expectation"][both].to_numpy() * 2700
    np.testing.assert_allclose(k2, np.round(k2), atol=1e-8)


def test_synthetic_small_no_lookahead(small):
    dates = small.panel("index").dates
    assert_no_lookahead(S.compute, small, {}, [dates[2000]], seeds=(0,))
