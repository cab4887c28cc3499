"""Issue 12 items 6-9 and issue 13 (risk_free, "-0.00%"): the annualisation base, the two information ratios, win
rates with ties, warm-up. Every expected value is computed here independently (loops, numpy, pandas, empyrical)."""
from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from engine.config import config_from_dict, load_config
from engine.config_schema import MetricsConfig
from engine.data.embedded import load_csi300
from engine.errors import ConfigError
from engine.metrics import compute_metrics, format_metrics_table
from engine.metrics.format import fmt_pct
from engine.metrics.vector import vector_metrics
from engine.metrics.warmup import warmup_section

AUTO = MetricsConfig(periods_per_year="auto")


def base_row(values, index) -> pd.Series:
    return pd.Series([0.0, *values], index=index, dtype=float)


def hand_ppy(calendar) -> float:
    """Mean sessions per calendar year over the years that have sessions in the year before and after (a loop)."""
    counts: dict[int, int] = {}
    for d in calendar:
        counts[d.year] = counts.get(d.year, 0) + 1
    inner = [c for y, c in counts.items() if y - 1 in counts and y + 1 in counts]
    return sum(inner) / len(inner)


def csi300_pair(start="2015-01-01", end="2016-12-31", seed=0):
    """Real CSI 300 returns as the benchmark, a random strategy; base row = the first day."""
    close = load_csi300()["close"].loc[start:end]
    b = close.pct_change().fillna(0.0)
    rng = np.random.default_rng(seed)
    s = 0.5 * b + rng.normal(0.0002, 0.006, len(b))
    s.iloc[0] = 0.0
    return s, b


# ------------------------------------------------------------------------------------------ item 6: ppy = auto

def test_auto_ppy_is_the_data_calendar_mean_and_annualises_everything():
    cal = load_csi300().index                                  # the real SSE sessions 2006-01-06 .. 2025-12-31
    expected = hand_ppy(cal)
    sizes = pd.Series(1, index=cal).groupby(cal.year).size()   # pandas, as a second opinion
    assert expected == pytest.approx(sizes.loc[2007:2024].mean(), rel=1e-15)
    assert 242.5 < expected < 243.5                            # the A-share calendar, not 252
    s, b = csi300_pair()
    turnover = pd.Series(np.linspace(0.0, 0.02, len(s)), index=s.index)
    turnover.iloc[0] = 0.0
    m = compute_metrics(s, b, AUTO, turnover=turnover, calendar=cal)
    assert m["conventions"]["periods_per_year"] == pytest.approx(expected, rel=1e-15)
    assert "2007-2024" in m["conventions"]["periods_per_year_rule"]
    r = s.to_numpy()[1:]
    n = len(r)
    assert m["strategy"]["annual_return"] == pytest.approx(np.prod(1 + r) ** (expected / n) - 1, rel=1e-12)
    assert m["strategy"]["annual_volatility"] == pytest.approx(r.std(ddof=1) * math.sqrt(expected), rel=1e-12)
    assert m["strategy"]["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(expected), rel=1e-12)
    assert m["strategy"]["sortino"] == pytest.approx(ep.sortino_ratio(r, annualization=expected), rel=1e-12)
    assert m["excess"]["annual_turnover"] == pytest.approx(turnover.to_numpy()[1:].mean() * expected, rel=1e-12)
    a = r - b.to_numpy()[1:]
    assert m["excess"]["tracking_error"] == pytest.approx(a.std(ddof=1) * math.sqrt(expected), rel=1e-12)
    # without a calendar, the return series' own dates are the calendar: 2015-2016 hold no complete year
    m_own = compute_metrics(s, b, AUTO)
    assert m_own["conventions"]["periods_per_year"] == 243.0
    assert any("no complete calendar year" in w and "243" in w for w in m_own["warnings"])


def test_auto_ppy_on_a_constructed_calendar():
    # business days 2019-07-01 .. 2022-02-28, minus 10 days of 2020 and 3 of 2021: complete years 2020 and 2021
    cal = pd.bdate_range("2019-07-01", "2022-02-28")
    drop = list(pd.bdate_range("2020-03-02", periods=10)) + list(pd.bdate_range("2021-06-01", periods=3))
    cal = cal.drop(drop)
    n2020 = len(pd.bdate_range("2020-01-01", "2020-12-31")) - 10       # 262 - 10
    n2021 = len(pd.bdate_range("2021-01-01", "2021-12-31")) - 3        # 261 - 3
    r = pd.Series(0.001, index=cal)
    r.iloc[0] = 0.0
    m = compute_metrics(r, r * 0.5, AUTO)
    assert m["conventions"]["periods_per_year"] == (n2020 + n2021) / 2 == 255.0


@pytest.mark.parametrize("ppy", [250, 252, 365])
def test_fixed_bases_stay_selectable(ppy):
    cfg = config_from_dict({"name": "x", "signal": {"name": "hold"}, "metrics": {"periods_per_year": ppy}})
    assert cfg.metrics.periods_per_year == ppy
    s, b = csi300_pair()
    m = compute_metrics(s, b, cfg.metrics, calendar=load_csi300().index)
    n = len(s) - 1
    assert m["conventions"]["periods_per_year"] == ppy
    assert m["strategy"]["annual_return"] == pytest.approx(np.prod(1 + s.to_numpy()[1:]) ** (ppy / n) - 1, rel=1e-12)


def test_default_is_auto_and_bad_values_name_the_key():
    cfg = config_from_dict({"name": "x", "signal": {"name": "hold"}})
    assert cfg.metrics.periods_per_year == "auto"
    for bad in ("weekly", 0, -5, True):
        with pytest.raises(ConfigError, match=r"metrics\.periods_per_year"):
            config_from_dict({"name": "x", "signal": {"name": "hold"}, "metrics": {"periods_per_year": bad}})


def test_ppy_printed_next_to_every_annualised_number():
    s, b = csi300_pair()
    cal = load_csi300().index
    turnover = pd.Series(0.01, index=s.index)
    turnover.iloc[0] = 0.0
    text = format_metrics_table(compute_metrics(s, b, AUTO, turnover=turnover, cost_returns=turnover * 0.001,
                                                calendar=cal))
    tag = f"[ppy {hand_ppy(cal):.2f}]"
    annualised = ("Annual return", "Annual volatility", "Sharpe", "Sortino", "Calmar", "Annual excess, geometric",
                  "Annual excess, arithmetic", "Tracking error", "Information ratio, primary",
                  "Information ratio, arithmetic", "Alpha (annual)", "Annual turnover", "Annual cost drag")
    lines = text.splitlines()
    for label in annualised:
        line = next(x for x in lines if x.startswith(label))
        assert line.rstrip().endswith(tag), line
    for label in ("Total return", "Max drawdown", "Total excess, geometric", "Beta"):
        assert tag not in next(x for x in lines if x.startswith(label))
    assert f"ppy = {hand_ppy(cal):.2f} trading days per year" in text


def test_sweep_metrics_use_the_same_resolved_ppy():
    cal = load_csi300().index
    s, b = csi300_pair()
    rng = np.random.default_rng(3)
    R = np.column_stack([s.to_numpy(), s.to_numpy() * 0.7 + np.r_[0, rng.normal(0, 0.003, len(s) - 1)]])
    v = vector_metrics(R, b.to_numpy(), s.index, AUTO, calendar=cal)
    ppy = hand_ppy(cal)
    assert np.all(v["periods_per_year"] == ppy)
    n = len(s) - 1
    for j in range(2):
        assert v["annual_return"][j] == pytest.approx(np.prod(1 + R[1:, j]) ** (ppy / n) - 1, rel=1e-12)
        m = compute_metrics(pd.Series(R[:, j], s.index), b, AUTO, calendar=cal)
        for k in ("annual_return", "sharpe", "information_ratio", "information_ratio_arithmetic",
                  "daily_win_rate", "monthly_win_rate"):
            sec = "strategy" if k in m["strategy"] else "excess"
            assert v[k][j] == pytest.approx(m[sec][k], rel=1e-12), k


# ------------------------------------------------------------------------------------------ item 7: two IRs

def test_information_ratio_matches_the_primary_excess_and_the_arithmetic_one_is_labelled():
    s, b = csi300_pair(seed=5)
    cfg = MetricsConfig(periods_per_year=252)
    m = compute_metrics(s, b, cfg)
    rs, rb = s.to_numpy()[1:], b.to_numpy()[1:]
    n = len(rs)
    geo = (np.prod(1 + rs) ** (252 / n)) / (np.prod(1 + rb) ** (252 / n)) - 1
    te = (rs - rb).std(ddof=1) * math.sqrt(252)
    assert m["excess"]["information_ratio"] == pytest.approx(geo / te, rel=1e-10)
    assert m["excess"]["information_ratio_arithmetic"] == pytest.approx(
        ep.excess_sharpe(rs, rb) * math.sqrt(252), rel=1e-10)
    ari = compute_metrics(s, b, dataclasses.replace(cfg, primary_excess="arithmetic"))
    ari_excess = np.prod(1 + rs) ** (252 / n) - np.prod(1 + rb) ** (252 / n)
    assert ari["excess"]["information_ratio"] == pytest.approx(ari_excess / te, rel=1e-10)
    text = format_metrics_table(m)
    row = next(x for x in text.splitlines() if x.startswith("Information ratio, primary"))
    assert f"{geo / te:.3f}" in row and "annual_excess (geometric" in row
    row = next(x for x in text.splitlines() if x.startswith("Information ratio, arithmetic"))
    assert f"{ep.excess_sharpe(rs, rb) * math.sqrt(252):.3f}" in row and "mean(r_s - r_b) * ppy" in row


# ------------------------------------------------------------------------------------------ item 8: ties

def test_win_rates_exclude_and_count_ties():
    idx = pd.bdate_range("2024-01-31", "2024-04-30")        # base 01-31, then February, March, April
    rng = np.random.default_rng(11)
    b = pd.Series(rng.normal(0, 0.01, len(idx)), index=idx)
    s = b.copy()                                            # equal: ties
    feb = np.flatnonzero(idx.month == 2)
    mar = np.flatnonzero(idx.month == 3)
    s.iloc[feb[:3]] += 0.002                                # February: 3 wins, 1 loss -> month won
    s.iloc[feb[3]] -= 0.001
    s.iloc[mar[0]] -= 0.004                                 # March: 1 loss -> month lost; April: all ties
    s.iloc[0] = b.iloc[0] = 0.0
    ex = compute_metrics(s, b, MetricsConfig(periods_per_year=252))["excess"]
    d = (s - b).to_numpy()[1:]
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    assert (wins, losses) == (3, 2)
    assert (ex["daily_wins"], ex["daily_losses"], ex["daily_ties"]) == (wins, losses, len(d) - wins - losses)
    assert ex["daily_win_rate"] == wins / (wins + losses) == 0.6          # today's code: 3 / 64
    assert (ex["monthly_wins"], ex["monthly_losses"], ex["monthly_ties"]) == (1, 1, 1)
    assert ex["monthly_win_rate"] == 0.5
    text = format_metrics_table(compute_metrics(s, b, MetricsConfig(periods_per_year=252)))
    assert "3 wins, 2 losses, 59 ties" in next(x for x in text.splitlines() if x.startswith("Daily win rate"))
    v = vector_metrics(np.column_stack([s, b]), b.to_numpy(), idx, MetricsConfig(periods_per_year=252))
    assert v["daily_win_rate"][0] == 0.6 and v["monthly_win_rate"][0] == 0.5
    assert np.isnan(v["daily_win_rate"][1]) and np.isnan(v["monthly_win_rate"][1])   # all ties: undefined


# ------------------------------------------------------------------------------------------ item 9: warm-up

def fake_run(weights, indicators, held_from, idx, r, rb):
    held = pd.DataFrame({"X": (idx >= held_from).astype(float) if held_from is not None else 0.0}, index=idx)
    zero = pd.Series(0.0, index=idx)
    sig = SimpleNamespace(weights=weights, indicators=indicators)
    bt = SimpleNamespace(returns=r, turnover=zero, cost_returns=zero, weights_held=held)
    return sig, bt, rb


def test_warmup_first_days_and_metrics_from_the_first_defined_day():
    idx = pd.bdate_range("2020-01-01", periods=400)
    rng = np.random.default_rng(2)
    rb = base_row(rng.normal(0, 0.01, 399), idx)
    ind = pd.DataFrame({"fast": np.r_[np.full(10, np.nan), np.ones(390)],
                        "slow": np.r_[np.full(60, np.nan), np.ones(340)],
                        "late_extra": np.r_[np.full(300, np.nan), np.ones(100)]}, index=idx)
    w = pd.DataFrame({"X": np.r_[np.zeros(62), np.ones(338)]}, index=idx)
    r = rb.where(idx > idx[62], 0.0)                 # cash until the weight (decided on row 61) is held
    sig, bt, rb = fake_run(w, ind, idx[62], idx, r, rb)
    out, warnings = warmup_section(sig, bt, rb, MetricsConfig(periods_per_year=252))
    assert out["first_defined"] == idx[60].date().isoformat()        # 'slow' defines it, 'late_extra' does not
    assert out["first_invested"] == idx[62].date().isoformat()
    assert out["indicators_first_defined"]["late_extra"] == idx[300].date().isoformat()
    assert out["warmup_days"] == 59 and out["warmup_share"] == pytest.approx(59 / 399)
    sd = out["since_defined"]
    tail_s, tail_b = r.to_numpy()[61:], rb.to_numpy()[61:]
    assert sd["period"]["base_date"] == idx[60].date().isoformat() and sd["strategy"]["n_days"] == 339
    assert sd["strategy"]["annual_return"] == pytest.approx(np.prod(1 + tail_s) ** (252 / 339) - 1, rel=1e-12)
    assert sd["benchmark"]["annual_return"] == pytest.approx(np.prod(1 + tail_b) ** (252 / 339) - 1, rel=1e-12)
    assert any("warm-up" in x and "59 of the period's 399" in x for x in warnings)
    # a declared list of defining indicators wins over the heuristic
    ind.attrs["defining"] = ["fast", "late_extra"]
    out2, _ = warmup_section(sig, bt, rb, MetricsConfig(periods_per_year=252))
    assert out2["first_defined"] == idx[300].date().isoformat()


def test_warmup_below_the_threshold_is_reported_without_warning():
    idx = pd.bdate_range("2020-01-01", periods=400)
    rb = base_row(np.full(399, 0.001), idx)
    ind = pd.DataFrame({"slow": np.r_[np.full(10, np.nan), np.ones(390)]}, index=idx)
    w = pd.DataFrame({"X": np.r_[np.zeros(10), np.ones(390)]}, index=idx)
    sig, bt, rb = fake_run(w, ind, idx[11], idx, rb, rb)
    out, warnings = warmup_section(sig, bt, rb, MetricsConfig(periods_per_year=252, warmup_warning=0.05))
    assert out["warmup_days"] == 9 and warnings == []
    out, warnings = warmup_section(sig, bt, rb, MetricsConfig(periods_per_year=252, warmup_warning=0.01))
    assert len(warnings) == 1 and "metrics.warmup_warning 1%" in warnings[0]


def test_a_window_longer_than_the_data_warns_never_defined_and_never_invested():
    from engine.data.sources import load_dataset
    from engine.pipeline import run_strategy

    cfg = load_config("strategies/ma_timing.yaml", ["signal.params.long=6000"])
    run = run_strategy(cfg, load_dataset(cfg.data, None))
    text = format_metrics_table(run.metrics)
    assert "WARNING: the signal is never defined in the period" in text
    assert "WARNING: the strategy holds no position on any day" in text
    assert run.metrics["warmup"]["first_invested"] is None


def test_real_run_reports_the_first_defined_day_from_the_indicators():
    from engine.data.sources import load_dataset
    from engine.pipeline import run_strategy

    cfg = load_config("strategies/ma_timing.yaml", ["signal.params.long=250", "data.start=2006-02-01",
                                                          "data.end=2012-12-31"])
    run = run_strategy(cfg, load_dataset(cfg.data, None))
    close = load_csi300()["close"]
    first = close.rolling(250).mean().first_valid_index()       # pandas, independently of the signal code
    w = run.metrics["warmup"]
    assert w["first_defined"] == first.date().isoformat()
    period = run.backtest.returns.index[1:]
    assert w["warmup_days"] == int((period < first).sum())
    r = run.backtest.returns.loc[first:].to_numpy()[1:]
    ppy = hand_ppy(close.index)
    assert w["since_defined"]["strategy"]["annual_return"] == pytest.approx(
        np.prod(1 + r) ** (ppy / len(r)) - 1, rel=1e-12)
    assert any(x.startswith("warm-up: the signal is first defined on " + first.date().isoformat())
               for x in run.metrics["warnings"])
    text = format_metrics_table(run.metrics)
    assert "From the first defined day" in text and "Strat. full" in text


def test_short_period_annualised_warns():
    idx = pd.bdate_range("2024-01-02", periods=101)
    r = base_row(np.full(100, 0.001), idx)
    m = compute_metrics(r, r * 0.5, MetricsConfig(periods_per_year=252))
    assert any("100 trading days, less than one year (252)" in w for w in m["warnings"])
    assert "WARNING: the period" in format_metrics_table(m)
    long = compute_metrics(*csi300_pair(), MetricsConfig(periods_per_year=252))
    assert not any("less than one year" in w for w in long["warnings"])


# ------------------------------------------------------------------------------------------ issue 13 items

@pytest.mark.parametrize("rf", [3, 1, 0.5])
def test_risk_free_as_a_percentage_is_refused_naming_the_key(rf):
    with pytest.raises(ConfigError, match=r"metrics\.risk_free.*fractions \(0\.03 = 3%\)"):
        config_from_dict({"name": "x", "signal": {"name": "hold"}, "metrics": {"risk_free": rf}})
    with pytest.raises(ConfigError, match=r"metrics\.risk_free"):
        compute_metrics(*csi300_pair(), MetricsConfig(risk_free=float(rf)))
    assert config_from_dict({"name": "x", "signal": {"name": "hold"},
                             "metrics": {"risk_free": 0.03}}).metrics.risk_free == 0.03


def test_negative_zero_prints_as_zero():
    assert fmt_pct(-1e-7) == "0.00%" and fmt_pct(-0.0) == "0.00%" and fmt_pct(-0.00005) == "-0.01%"
    idx = pd.bdate_range("2024-01-02", periods=300)
    b = base_row(np.random.default_rng(1).normal(0, 0.01, 299), idx)
    s = b.copy()
    s.iloc[5] -= 1e-9                                    # a -0.0000001% total excess
    text = format_metrics_table(compute_metrics(s, b, MetricsConfig(periods_per_year=252)))
    assert "-0.00%" not in text and "-0.000 " not in text
