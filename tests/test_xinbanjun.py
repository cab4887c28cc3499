"""engine/signals/xinbanjun*.py (seed 004): flows add up to the stock-level numbers, the issuance count is used only
after its month ends, no look-ahead in any indicator or the rule, a planted flows-lead-returns effect is found
(and nothing without it), the as-of table and the reproduction rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.panel import Dataset
from engine.data.synthetic import generate
from engine.errors import ConfigError, DataError
from engine.signals.xinbanjun import signal as X
from engine.signals.xinbanjun import indicators as xi
from tests.lookahead import assert_no_lookahead

FAST = {"val_window": 120, "val_min_periods": 60, "mf_z_lookback": 60, "iss_min_months": 6}


@pytest.fixture(scope="module")
def ds():
    return generate(seed=7, size="small", start="2017-01-03", end="2022-06-30")


def _with_funds(ds: Dataset) -> Dataset:
    """ds plus a fund index (45% new energy + 30% semiconductors + 20% CSI 300 + noise), a private index and
    growth/value style indices, so the position regressions have inputs."""
    close = ds.panel("sectors")["close"]
    csi = ds.panel("index")["close"]["000300.SH"]
    rng = np.random.default_rng(3)
    r = close.pct_change().fillna(0.0)
    rc = csi.pct_change().fillna(0.0)
    fund = 0.45 * r["new_energy"] + 0.30 * r["semiconductor"] + 0.20 * rc + rng.normal(0, 0.001, len(r))
    growth = r.mean(axis=1) + rng.normal(0, 0.004, len(r))
    value = rc + rng.normal(0, 0.004, len(r))
    priv = 0.6 * growth + 0.3 * value + rng.normal(0, 0.001, len(r))
    series = dict(ds.series)
    series["funds"] = pd.DataFrame({"active_equity": (1 + fund).cumprod(), "private_long": (1 + priv).cumprod()})
    series["style"] = pd.DataFrame({"growth": (1 + growth).cumprod(), "value": (1 + value).cumprod()})
    return Dataset(panels=ds.panels, series=series, tables=ds.tables, meta=ds.meta, source=ds.source)


FUNDS = {"pos_series": "funds", "priv_series": "funds", "priv_style_series": "style", "pos_window": 40,
         "priv_window": 40}


# ------------------------------------------------------------------------------------------ flows add up
def test_sector_main_force_is_the_sum_over_member_stocks(ds):
    dates = ds.panel("sectors").dates
    got = xi.sector_main_force(ds, {"new_energy": "801730.SI", "defense": "801740.SI"}, dates)
    st = ds.panel("stocks")
    mem = ds.table("membership")
    for sector, ind in (("new_energy", "801730.SI"), ("defense", "801740.SI")):
        for d in dates[::97]:
            rows = mem[(mem["industry"] == ind) & (mem["start"] <= d) & (mem["end"].isna() | (mem["end"] >= d))]
            tot = 0.0
            for code in rows["code"]:
                if code in st.codes:
                    v = [st[f].at[d, code] for f in ("elg_buy", "lg_buy", "elg_sell", "lg_sell")]
                    v = [0.0 if pd.isna(x) else float(x) for x in v]
                    tot += v[0] + v[1] - v[2] - v[3]
            assert got.at[d, sector] == pytest.approx(tot, rel=1e-12, abs=1e-3), (sector, d)
    # and all 31 industries together are the market total of series 'flows'
    sw = ds.panel("sw_l1").codes
    allind = xi.sector_main_force(ds, {c: c for c in sw}, dates).sum(axis=1)
    f = ds.get_series("flows").reindex(dates)
    np.testing.assert_allclose(allind, f["elg_buy"] + f["lg_buy"] - f["elg_sell"] - f["lg_sell"], rtol=1e-12)


def test_etf_flow_is_the_sum_over_the_sectors_etfs(ds):
    pn = ds.panel("sector_etfs")
    info = ds.table("sector_etfs_info")
    sector_of = dict(zip(info["code"], info["sector"]))
    got = xi.etf_sector_flows(pn["shares"], pn["nav"], sector_of, ["semiconductor"])
    codes = [c for c, s in sector_of.items() if s == "semiconductor"]
    for i in range(1, len(pn.dates), 53):
        tot = 0.0
        for c in codes:
            a, b, nav = pn["shares"][c].iloc[i - 1], pn["shares"][c].iloc[i], pn["nav"][c].iloc[i]
            if pd.notna(a) and pd.notna(b):
                tot += (b - a) * nav
        assert got["semiconductor"].iloc[i] == pytest.approx(tot, rel=1e-12, abs=1e-6)


def test_main_force_indicators_hand_values():
    idx = pd.bdate_range("2021-01-04", periods=8)
    mf = pd.DataFrame({"a": [1.0, -2.0, 3.0, 4.0, -5.0, 6.0, 7.0, -8.0]}, index=idx)
    peak = pd.DataFrame({"a": [0, 1, 1, 1, 4, 4, 4, 4]}, index=idx)
    out = xi.main_force_indicators(mf, peak, week=2, window=3, z_lookback=3)
    assert out["mf_week"]["a"].tolist()[1:4] == [-1.0, 1.0, 7.0]
    assert out["mf_sum"]["a"].tolist()[2:] == [2.0, 5.0, 2.0, 5.0, 8.0, 5.0]
    assert out["mf_sign"]["a"].iloc[2] == 1.0
    assert out["mf_dd"]["a"].tolist() == [0.0, 0.0, 3.0, 7.0, 0.0, 6.0, 13.0, 5.0]
    s = np.array([2.0, 5.0, 2.0])
    assert out["mf_z"]["a"].iloc[4] == pytest.approx((2.0 - s.mean()) / s.std(ddof=1))


# ------------------------------------------------------------------------------------------ fund issuance
def test_issuance_percentile_is_pandas_expanding_rank_and_rolling_rank():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2010-01-31", periods=80, freq="ME")
    c = pd.Series(rng.poisson(20, 80).astype(float), index=idx)
    m = xi.issuance_monthly(c, 0, 6, 3, 0.0)
    pd.testing.assert_series_equal(m["pct"], c.expanding(6).rank(method="max", pct=True), check_names=False)
    m36 = xi.issuance_monthly(c, 36, 6, 3, 0.0)
    pd.testing.assert_series_equal(m36["pct"], c.rolling(36, min_periods=6).rank(method="max", pct=True),
                                   check_names=False)
    p = m["pct"]
    want = (p.shift(1) <= p.shift(1).rolling(3).min()) & (p > p.shift(1))
    pd.testing.assert_series_equal(m["event"], want, check_names=False)


def test_issuance_count_is_used_only_after_its_month_ends(ds):
    """Changing the count of the month ending on day d changes nothing up to d and changes the daily view from
    the first trading day after d (iss_publish_lag 1)."""
    dates = ds.panel("sectors").dates
    iss = ds.get_series("fund_issuance")
    d = iss.index[30]
    p = {**FAST, "use_issuance": True}
    base = X.compute(ds, p)
    series = dict(ds.series)
    alt_iss = iss.copy()
    alt_iss.loc[d, "count"] = alt_iss["count"].max() * 10
    series["fund_issuance"] = alt_iss
    alt = X.compute(Dataset(panels=ds.panels, series=series, tables=ds.tables, meta=ds.meta, source=ds.source), p)
    pd.testing.assert_frame_equal(base.indicators.loc[:d], alt.indicators.loc[:d])
    pd.testing.assert_frame_equal(base.weights.loc[:d], alt.weights.loc[:d])
    nxt = dates[dates.get_loc(d) + 1]
    assert base.indicators.at[nxt, "issuance.count"] != alt.indicators.at[nxt, "issuance.count"]
    assert alt.indicators.at[nxt, "issuance.count"] == alt_iss.at[d, "count"]


# ------------------------------------------------------------------------------------------ positions
def test_positions_recover_the_planted_fund_weights(ds):
    res = X.compute(_with_funds(ds), {**FAST, **FUNDS})
    ind = res.indicators.iloc[100:]
    assert ind["new_energy.pos_fund"].median() == pytest.approx(0.45, abs=0.05)
    assert ind["semiconductor.pos_fund"].median() == pytest.approx(0.30, abs=0.05)
    assert ind["defense.pos_fund"].median() < 0.05
    assert ind["defense.pos_private_growth"].median() == pytest.approx(0.6, abs=0.1)
    assert (res.indicators.filter(like="pos_fund").sum(axis=1) <= 0.95 + 1e-12).all()


# ------------------------------------------------------------------------------------------ look-ahead
@pytest.mark.parametrize("params", [
    {**FAST, "use_etf": True, "use_issuance": True, "entry_val_max": 0.9, "exit_val_min": 0.3},
    {**FAST, "rule": "flow"},
    {**FAST, "rule": "valuation"},
])
def test_no_lookahead_in_any_indicator_or_the_rule(ds, params):
    d = _with_funds(ds)
    assert_no_lookahead(X.compute, d, {**params, **FUNDS}, ["2019-06-28", "2021-03-15"], seeds=(0,))


# ------------------------------------------------------------------------------------------ planted effect
def _long_minus_flat_t(ds, params) -> list[float]:
    """t statistic of (mean return over day t+2 when long at t) - (... when flat), per sector (lag 1)."""
    w = X.compute(ds, params).weights
    fwd = ds.panel("sectors")["close"].pct_change().shift(-2)
    out = []
    for s in w.columns:
        a, b = fwd[s][w[s] > 0].dropna(), fwd[s][w[s] == 0].dropna()
        out.append((a.mean() - b.mean()) / np.sqrt(a.var() / len(a) + b.var() / len(b)))
    return out


@pytest.mark.parametrize("seed", [42, 5])
def test_planted_flow_effect_is_found_and_its_absence_gives_no_edge(seed):
    on = generate(seed=seed, size="small", start="2012-01-04", end="2025-12-31", effects={"flow_leads_returns": 0.1})
    off = generate(seed=seed, size="small", start="2012-01-04", end="2025-12-31")
    t_on = _long_minus_flat_t(on, {"rule": "flow"})
    t_off = _long_minus_flat_t(off, {"rule": "flow"})
    assert min(t_on) > 3.0, t_on
    assert max(abs(t) for t in t_off) < 2.5, t_off
    # the default market is untouched by the effect machinery: sectors without the effect equal the generator's
    base = generate(seed=seed, size="small", start="2012-01-04", end="2025-12-31", effects={"flow_leads_returns": 0.0})
    pd.testing.assert_frame_equal(base.panel("sectors")["close"], off.panel("sectors")["close"], check_exact=True)


# ------------------------------------------------------------------------------------------ rule and errors
def test_hold_rule_is_always_fully_invested(ds):
    w = X.compute(ds, {**FAST, "rule": "hold"}).weights
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert list(w.columns) == ["new_energy", "semiconductor", "defense"]


def test_composite_rule_state_machine():
    idx = pd.bdate_range("2021-01-04", periods=6)
    ind = {"mf_sum": pd.DataFrame({"a": [1.0, 1.0, -1.0, -1.0, 1.0, -1.0]}, index=idx),
           "val_pct": pd.DataFrame({"a": [0.6, 0.4, 0.5, 0.9, 0.9, 0.85]}, index=idx),
           "down": pd.DataFrame({"a": [True] * 6}, index=idx)}
    p = {**X.DEFAULTS}
    st = X.position_rule(ind, p)["a"].tolist()
    # 0: flow in but pct 0.6 > 0.5 -> flat; 1: entry; 2: flow out, pct 0.5 < 0.8 -> hold; 3: exit;
    # 4: flow in, pct 0.9 -> no entry; 5: flow out and pct high -> flat
    assert st == [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    ind["down"] = pd.DataFrame({"a": [False] * 6}, index=idx)
    assert X.position_rule(ind, p)["a"].tolist() == [0.0] * 6


def test_bad_parameters_name_the_key(ds):
    with pytest.raises(ConfigError, match="tradable"):
        X.compute(ds, {"sectors": ["new_energy", "solar"], "sector_industry": {"new_energy": "801730.SI",
                                                                              "solar": "801730.SI"}})
    with pytest.raises(DataError, match="sector_industry"):
        X.compute(ds, {"sector_industry": {**X.DEFAULTS["sector_industry"], "defense": "999999.SI"}})
    with pytest.raises(DataError, match="panel 'sectors' has no code"):
        X.compute(ds, {"tradable": {"new_energy": "new_energy", "semiconductor": "semiconductor",
                                    "defense": "512660.SH"}})
    with pytest.raises(ConfigError, match="real_tradable"):
        X.compute(ds, {"sectors": ["solar"], "sector_industry": {"solar": "801730.SI"}})


# ------------------------------------------------------------------------------------------ reproduction rows
def test_reproduction_rows_004_x1(tmp_path):
    from engine.reproduce.checks import Check
    from engine.signals.xinbanjun import reproduce as R

    cfg = tmp_path / "x.yaml"
    text = R.DEFAULT_CONFIG.read_text(encoding="utf-8").replace("size: default", "size: small")
    cfg.write_text(text, encoding="utf-8")
    rows = R.checks(str(cfg))
    assert len(rows) == 9 and all(isinstance(r, Check) and r.report == "004" and r.id == "X1" for r in rows)
    assert [r.published for r in rows[:3]] == [46.5, 0.325, 0.903]
    assert all(r.inputs == "synthetic" for r in rows)
    # ours is the indicator at the close of 2022-02-22 computed independently here with pandas
    ds = generate(seed=42, size="small")
    pe = ds.panel("sectors")["pe_ttm"]["new_energy"].loc[:"2022-02-22"]
    assert rows[0].ours == pe.iloc[-1]
    assert rows[1].ours == pytest.approx(pe.rolling(250, min_periods=120).rank(method="max", pct=True).iloc[-1])
    # and through the CLI: python -m engine.reproduce 004 --config ... --out ...
    from engine.reproduce import main

    out = tmp_path / "r.md"
    assert main(["004", "--config", str(cfg), "--out", str(out)]) == 0
    md = out.read_text(encoding="utf-8")
    assert "新能源 PE rolling one-year percentile at 2022-02-22" in md and "synthetic" in md


# ------------------------------------------------------------------------------------------ as-of table, charts
def test_asof_table_and_charts(ds, tmp_path):
    from engine.data.synthetic.build import cut_window
    from engine.signals.xinbanjun.report import charts, format_asof

    cut = cut_window(ds, ds.panel("sectors").dates[0], pd.Timestamp("2022-02-22"))
    res = X.compute(cut, FAST)
    text = format_asof(res.tables)
    for word in ("新能源 (new_energy) as of the close of 2022-02-22", "半导体", "军工", "主力资金 20日净流入", "PE-TTM",
                 "估值分位 (滚动120日)", "调整前", "基金发行 (2022-01)", "ETF 本轮回调累计净流入", "公募仓位", "目标仓位",
                 "rule 'composite' (our own design)", "main-force flows (stocks): synthetic"):
        assert word in text, word
    t = res.tables["asof_defense"]
    pe = cut.panel("sectors")["pe_ttm"]["defense"].iloc[-1]
    assert t.loc[t["指标"] == "PE-TTM", "数值"].item() == f"{pe:.1f}x"
    paths = charts(res, tmp_path, True)
    assert [p.name for p in paths] == [f"xinbanjun_{s}_20220222.png" for s in ("defense", "new_energy", "semiconductor")]
    assert all(p.stat().st_size > 10_000 for p in paths)
    with pytest.raises(ConfigError, match="never overwritten"):
        charts(res, tmp_path, True)


# ------------------------------------------------------------------------------------------ real ETF tradables
def test_real_embedded_etfs_as_tradables(ds):
    """The synthetic indicators with the embedded real ETFs as the traded panel (a dataset holding both): the
    long/flat decisions are the same as on the sector indices, no weight before an ETF lists, and the table says
    which inputs are real."""
    from engine.config import load_config
    from engine.data.embedded import etf_panel
    from engine.pipeline import run_strategy

    etf = etf_panel()
    both = Dataset(panels={**ds.panels, "etf": etf}, series=ds.series, tables=ds.tables, meta=ds.meta,
                   source=ds.source)
    codes = {"new_energy": "516160.SH", "semiconductor": "512480.SH", "defense": "512660.SH"}
    params = {**FAST, "panel": "etf", "tradable": codes}
    res = X.compute(both, params)
    ref = X.compute(ds, FAST).weights
    ref = ref.loc[ref.index.intersection(res.weights.index)]          # the ETF panel starts on 2018-01-02
    assert len(ref) > 1000
    listed = etf["close"][list(codes.values())].reindex(ref.index).notna()
    for s, c in codes.items():
        got = res.weights[c].reindex(ref.index)
        np.testing.assert_array_equal(got[listed[c]], ref[s][listed[c]])
        assert (got[~listed[c]] == 0).all()
    assert (res.weights.loc[:"2021-02-03", "516160.SH"] == 0).all()
    foot = res.tables["asof_semiconductor"].attrs["inputs"]
    assert "tradable: 512480.SH in panel 'etf': real" in foot and "main-force flows (stocks): synthetic" in foot
    assert X.SPEC.universe_for(params) == "etf"
    cfg = load_config("strategies/xinbanjun_defense.yaml", [
        "signal.params.panel=etf", "signal.params.tradable={defense: 512660.SH}", "data.start=2019-01-02",
        "data.end=2022-06-30", *(f"signal.params.{k}={v}" for k, v in FAST.items())])
    cfg = __import__("dataclasses").replace(cfg, extra_benchmarks=())
    run = run_strategy(cfg, both)
    held = run.backtest.returns
    assert len(held) > 800 and run.signal.weights["512660.SH"].max() == 1.0


def _etf_run(overrides):
    """The shipped defense YAML (data.embedded: [etf], tradable_source: auto) on the small market."""
    import dataclasses
    import warnings

    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import run_strategy

    cfg = load_config("strategies/xinbanjun_defense.yaml", ["data.size=small", *overrides,
                                                            *(f"signal.params.{k}={v}" for k, v in FAST.items())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_strategy(dataclasses.replace(cfg, sweep={}), load_dataset(cfg.data))


def test_auto_tradable_is_the_real_etf_inside_its_coverage(capsys):
    """516160.SH lists on 2021-02-04: a period from 2021-03-01 trades the three real ETFs, says so on stderr and in
    the metrics, and the hold benchmark holds the same ETF; its daily returns are the ETF's close-to-close returns."""
    from engine.data.embedded import etf_panel

    run = _etf_run(["data.start=2021-03-01", "data.end=2023-12-29"])
    err = capsys.readouterr().err
    assert "xinbanjun tradable: defense 512660.SH in panel 'etf' (REAL)" in err
    assert "512660.SH in panel 'etf' (REAL)" in run.metrics["data"]["tradable"]
    assert run.metrics["data"]["real_panels"] == ["etf"]
    assert list(run.signal.weights.columns) == ["512660.SH"]
    assert run.cfg.signal.params["panel"] == "etf"
    hold = run.extra_benchmarks["hold defense"]
    close = etf_panel()["close"]["512660.SH"]
    ret = close.pct_change().reindex(hold.index)
    # fully invested from the first day's close on: the hold leg earns the ETF's own return (no costs after day 2)
    np.testing.assert_allclose(hold.iloc[2:].to_numpy(), ret.iloc[2:].to_numpy(), rtol=0, atol=1e-12)


def test_auto_tradable_falls_back_outside_the_etf_coverage(capsys):
    """516160.SH has no prices before 2021-02-04: the three-sector YAML over 2019.. trades the synthetic sector
    indices and one line says why; tradable_source etf there is an error naming the ETF and the dates."""
    from engine.config import load_config
    from engine.data.sources import load_dataset

    cfg = load_config("strategies/xinbanjun.yaml", ["data.size=small", "data.start=2020-01-02",
                                                    "data.end=2022-12-30"])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = load_dataset(cfg.data)
    from engine.pipeline import resolve_params

    fixed, line = resolve_params(cfg, d)
    assert fixed.signal.params["panel"] == "sectors"
    assert fixed.signal.params["tradable"] == {"new_energy": "new_energy", "semiconductor": "semiconductor",
                                               "defense": "defense"}
    assert line.startswith("xinbanjun tradable: new_energy new_energy") and "(synthetic)" in line
    assert ("because 516160.SH (new_energy) has prices 2021-02-04..2026-06-05, not all of the period "
            "2020-01-02..2022-12-30") in line
    assert line in capsys.readouterr().err
    assert fixed.extra_benchmarks[0]["params"]["panel"] == "sectors"
    with pytest.raises(DataError, match="tradable_source etf: 516160.SH .new_energy. has prices 2021-02-04"):
        X.resolve(d, {**cfg.signal.params, "tradable_source": "etf"}, "2020-01-02", "2022-12-30")
    # without the embedded panel: the note says how to add it
    del d.panels["etf"]
    _, line = X.resolve(d, dict(cfg.signal.params), "2021-03-01", "2022-12-30")
    assert "no panel 'etf' (add data.embedded: [etf])" in line


def test_auto_refuses_an_etf_with_an_unadjusted_split_in_the_period(capsys):
    """The embedded ETF prices are raw: 512480.SH closes 1.734 on 2021-03-25 and 0.886 on 2021-03-29 (a 份额拆分,
    -48.9%, beyond the 10% limit). A period over it falls back with the date; one after it trades the real ETF."""
    import warnings

    from engine.config import load_config
    from engine.data.sources import load_dataset

    cfg = load_config("strategies/xinbanjun_semiconductors.yaml", ["data.size=small"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = load_dataset(cfg.data)
    params = dict(cfg.signal.params)
    fixed, line = X.resolve(d, params, "2021-03-01", "2023-12-29")
    assert fixed["panel"] == "sectors"
    assert "512480.SH (semiconductor) moves -48.9% on 2021-03-29, beyond the exchange's 10% daily limit" in line
    fixed, line = X.resolve(d, params, "2021-04-01", "2023-12-29")
    assert fixed["panel"] == "etf" and fixed["tradable"] == {"semiconductor": "512480.SH"} and "(REAL)" in line
    # the limit price rounds half up to the 0.001 tick: 0.835 -> 0.9185 -> 0.919 is inside, 0.920 is not
    idx = pd.date_range("2022-04-25", periods=3, freq="D")
    a, b = pd.Timestamp("2022-04-01"), pd.Timestamp("2022-05-01")
    assert X._beyond_limit(pd.Series([0.84, 0.835, 0.919], idx), a, b) is None
    day, move = X._beyond_limit(pd.Series([0.84, 0.835, 0.920], idx), a, b)
    assert day == idx[2] and move == pytest.approx(0.920 / 0.835 - 1)
    assert X._beyond_limit(pd.Series([1.1, 1.0, 0.9], idx), a, b) is None       # exactly the limit down


def test_indicators_alone_equal_the_signals_and_need_only_their_inputs(ds):
    full = X.compute(_with_funds(ds), {**FAST, **FUNDS}).indicators
    by = {i.name: i for i in X.SPEC.indicators}
    val = by["valuation"].compute(Dataset(panels={"sectors": ds.panel("sectors")}), FAST)
    pd.testing.assert_series_equal(val["semiconductor.val_pct"], full["semiconductor.val_pct"])
    mf = by["main_force"].compute(ds, FAST)
    pd.testing.assert_series_equal(mf["defense.mf_z"], full["defense.mf_z"])
    etf = by["etf"].compute(ds, FAST)
    pd.testing.assert_series_equal(etf["new_energy.etf_rank"], full["new_energy.etf_rank"])
    iss = by["issuance"].compute(ds, FAST)
    pd.testing.assert_series_equal(iss["pct"], full["issuance.pct"], check_names=False)
    pos = by["positions"].compute(_with_funds(ds), {**FAST, **FUNDS})
    pd.testing.assert_series_equal(pos["defense.pos_fund"], full["defense.pos_fund"])
    assert {"主力资金", "估值分位", "ETF净流入", "基金发行分位", "仓位"} <= {a for i in X.SPEC.indicators for a in i.aliases}


# ------------------------------------------------------------------------------------------ end to end
@pytest.mark.parametrize("name", ["xinbanjun", "xinbanjun_new_energy", "xinbanjun_semiconductors", "xinbanjun_defense"])
def test_shipped_strategies_run_end_to_end(name):
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import run_strategy

    cfg = load_config(f"strategies/{name}.yaml", ["data.size=small"])
    run = run_strategy(cfg, load_dataset(cfg.data))
    assert run.metrics["data"]["synthetic"] is True
    assert run.backtest.returns.index[0] < pd.Timestamp("2019-01-03") and len(run.backtest.returns) > 1600
    (hold_name, hold), = run.metrics["extra_benchmarks"].items()
    assert hold_name.startswith("hold") and hold["signal"] == "xinbanjun"
    # one sector: the hold benchmark is the tradable's own buy-and-hold from the base close, less one buy's costs
    # (3 bp commission + 2 bp slippage on the first trade)
    if len(run.signal.weights.columns) == 1:
        traded = run.cfg.signal.params["panel"]       # defense: the real 512660.SH covers 2019..2025 (etf)
        assert traded == ("etf" if name == "xinbanjun_defense" else "sectors")
        close = run.dataset.panel(traded)["close"][run.signal.weights.columns[0]]
        r = run.extra_benchmarks[hold_name]
        growth = close.loc[r.index[-1]] / close.loc[r.index[0]]
        assert (1 + r).prod() == pytest.approx(growth * (1 - 5e-4), rel=2e-4)
    assert run.signal.weights.sum(axis=1).max() <= 1.0 + 1e-12
