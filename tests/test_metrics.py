"""engine.metrics: every number against an independent computation (closed forms, naive loops, empyrical, the CSV)."""
from __future__ import annotations

import csv
import json
import math
from datetime import date

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from engine.config_schema import MetricsConfig
from engine.data.embedded import CSI300_CSV, load_csi300
from engine.errors import ConfigError, DataError
from engine.metrics import compute_metrics, format_metrics_table, yearly_table

CFG = MetricsConfig(periods_per_year=252)   # the closed forms below use 252; `auto` is tested in test_metrics_stats.py


# ---------------------------------------------------------------- helpers (the spec, written as slow loops)

def series(period_returns, start="2024-01-02", base=0.0, freq="B") -> pd.Series:
    """A base-row return series: the base day (return `base`) then one row per period return."""
    idx = pd.date_range(start, periods=len(period_returns) + 1, freq=freq)
    return pd.Series([base, *period_returns], index=idx, dtype=float)


def random_pair(n=300, seed=0, start="2023-03-15"):
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0003, 0.012, n)
    s = 0.6 * b + rng.normal(0.0004, 0.006, n)
    return series(s, start), series(b, start)


def naive_drawdown(rets, dates, base_date):
    """Loop: equity from 1 on the base day; peak = last day at the running max; trough = first day of the min."""
    equity, peak, peak_date = 1.0, 1.0, base_date
    mdd, mdd_peak, mdd_peak_date, trough = 0.0, None, None, None
    path = []
    for r, d in zip(rets, dates):
        equity *= 1.0 + r
        path.append((d, equity))
        if equity >= peak:
            peak, peak_date = equity, d
        dd = equity / peak - 1.0
        if dd < mdd:
            mdd, mdd_peak, mdd_peak_date, trough = dd, peak, peak_date, d
    recovery = None
    if trough is not None:
        for d, e in path:
            if d > trough and e >= mdd_peak:
                recovery = d
                break
    iso = lambda d: None if d is None else pd.Timestamp(d).date().isoformat()  # noqa: E731
    return mdd, iso(mdd_peak_date), iso(trough), iso(recovery)


def naive_monthly_win_rate(s, b):
    comp = {}
    for d, rs, rb in zip(s.index[1:], s.to_numpy()[1:], b.to_numpy()[1:]):
        gs, gb = comp.get((d.year, d.month), (1.0, 1.0))
        comp[(d.year, d.month)] = (gs * (1 + rs), gb * (1 + rb))
    wins = sum(1 for gs, gb in comp.values() if gs > gb)
    losses = sum(1 for gs, gb in comp.values() if gs < gb)
    return wins / (wins + losses), len(comp)


def walk_types(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert type(k) is str
            walk_types(v)
    elif isinstance(obj, list):
        for v in obj:
            walk_types(v)
    else:
        assert obj is None or type(obj) in (float, int, str, bool), (obj, type(obj))
        if type(obj) is float:
            assert math.isfinite(obj)


# ---------------------------------------------------------------- closed forms

@pytest.mark.parametrize("ppy", [252, 244])
def test_constant_daily_return_closed_form(ppy):
    r, n = 0.001, 100
    m = compute_metrics(series([r] * n), series([0.0005] * n), MetricsConfig(periods_per_year=ppy))
    st = m["strategy"]
    assert st["n_days"] == n and m["period"]["n_days"] == n
    assert st["total_return"] == pytest.approx((1 + r) ** n - 1, rel=1e-12)
    assert st["annual_return"] == pytest.approx((1 + r) ** ppy - 1, rel=1e-12)
    assert st["annual_volatility"] == pytest.approx(0.0, abs=1e-15)
    assert st["sharpe"] is None and st["sortino"] is None  # zero volatility / no downside: undefined
    assert st["max_drawdown"] == 0.0 and st["calmar"] is None
    assert st["max_drawdown_peak"] is None and st["max_drawdown_recovery"] is None
    ex = m["excess"]
    assert ex["annual_excess_geometric"] == pytest.approx((1 + r) ** ppy / 1.0005 ** ppy - 1, rel=1e-10)
    assert ex["annual_excess_arithmetic"] == pytest.approx((1 + r) ** ppy - 1.0005 ** ppy, rel=1e-10)
    assert ex["tracking_error"] == 0.0 and ex["information_ratio"] is None
    assert ex["beta"] is None  # benchmark has zero variance
    assert ex["daily_win_rate"] == 1.0 and ex["monthly_win_rate"] == 1.0
    json.dumps(m, allow_nan=False)


def test_statistics_match_numpy_closed_forms():
    s, b = random_pair(n=400, seed=1)
    rf = 0.03
    m = compute_metrics(s, b, MetricsConfig(periods_per_year=252, risk_free=rf))
    rs, rb = s.to_numpy()[1:], b.to_numpy()[1:]
    n, ppy = len(rs), 252
    rf_d = (1 + rf) ** (1 / ppy) - 1
    for blk, r in (("strategy", rs), ("benchmark", rb)):
        st = m[blk]
        R = np.prod(1 + r) - 1
        ex = r - rf_d
        assert st["total_return"] == pytest.approx(R, rel=1e-12)
        assert st["annual_return"] == pytest.approx((1 + R) ** (ppy / n) - 1, rel=1e-12)
        assert st["annual_volatility"] == pytest.approx(r.std(ddof=1) * math.sqrt(ppy), rel=1e-12)
        assert st["sharpe"] == pytest.approx(ex.mean() / ex.std(ddof=1) * math.sqrt(ppy), rel=1e-10)
        downside = math.sqrt(np.mean(np.minimum(ex, 0.0) ** 2)) * math.sqrt(ppy)
        assert st["sortino"] == pytest.approx(ex.mean() * ppy / downside, rel=1e-10)
        mdd, peak, trough, rec = naive_drawdown(r, s.index[1:], s.index[0])
        assert st["max_drawdown"] == pytest.approx(mdd, rel=1e-12)
        assert (st["max_drawdown_peak"], st["max_drawdown_trough"], st["max_drawdown_recovery"]) == (peak, trough, rec)
        assert st["calmar"] == pytest.approx(((1 + R) ** (ppy / n) - 1) / abs(mdd), rel=1e-10)
        assert st["best_day"] == max(r) and st["worst_day"] == min(r)
        assert st["best_day_date"] == s.index[1 + int(np.argmax(r))].date().isoformat()
        assert st["start"] == s.index[1].date().isoformat() and st["end"] == s.index[-1].date().isoformat()
    ex = m["excess"]
    a = rs - rb
    te = a.std(ddof=1) * math.sqrt(ppy)
    assert ex["tracking_error"] == pytest.approx(te, rel=1e-12)
    assert ex["information_ratio_arithmetic"] == pytest.approx(a.mean() * ppy / te, rel=1e-10)
    xs, xb = rs - rf_d, rb - rf_d
    slope = np.polyfit(xb, xs, 1)[0]  # OLS slope with intercept = cov/var
    assert ex["beta"] == pytest.approx(slope, rel=1e-9)
    assert ex["alpha"] == pytest.approx((1 + np.mean(xs - slope * xb)) ** ppy - 1, rel=1e-8)
    Ra_s, Ra_b = m["strategy"]["annual_return"], m["benchmark"]["annual_return"]
    assert ex["annual_excess_geometric"] == pytest.approx((1 + Ra_s) / (1 + Ra_b) - 1, rel=1e-12)
    assert ex["annual_excess_arithmetic"] == pytest.approx(Ra_s - Ra_b, rel=1e-12)
    assert ex["annual_excess"] == ex["annual_excess_geometric"]
    assert ex["information_ratio"] == pytest.approx(((1 + Ra_s) / (1 + Ra_b) - 1) / te, rel=1e-12)
    assert ex["total_excess_geometric"] == pytest.approx(np.prod(1 + rs) / np.prod(1 + rb) - 1, rel=1e-12)
    assert ex["daily_win_rate"] == sum(1 for x, y in zip(rs, rb) if x > y) / sum(1 for x, y in zip(rs, rb) if x != y)
    assert (ex["monthly_win_rate"], ex["n_months"]) == naive_monthly_win_rate(s, b)
    arith = compute_metrics(s, b, MetricsConfig(periods_per_year=252, risk_free=rf, primary_excess="arithmetic"))["excess"]
    assert arith["annual_excess"] == ex["annual_excess_arithmetic"]
    assert arith["information_ratio"] == pytest.approx((Ra_s - Ra_b) / te, rel=1e-12)


def test_where_empyrical_was_not_used_it_agrees():
    s, b = random_pair(n=250, seed=2)
    m = compute_metrics(s, b, CFG)
    rs, rb = s.iloc[1:], b.iloc[1:]
    assert m["excess"]["information_ratio_arithmetic"] == pytest.approx(ep.excess_sharpe(rs, rb) * math.sqrt(252),
                                                                        rel=1e-10)
    assert m["strategy"]["total_return"] == pytest.approx(ep.cum_returns_final(rs), rel=1e-12)
    dd = ep.stats.drawdown_series(rs)  # empyrical's own drawdown path: its argmin is our trough
    assert m["strategy"]["max_drawdown_trough"] == dd.idxmin().date().isoformat()


def _empyrical_block(r, rf_d, ppy):
    """empyrical-reloaded's numbers for one return array (the oracle of engine.metrics.formulas)."""
    return {
        "annual_return": ep.annual_return(r, annualization=ppy),
        "annual_volatility": ep.annual_volatility(r, annualization=ppy),
        "sharpe": ep.sharpe_ratio(r, risk_free=rf_d, annualization=ppy),
        "sortino": ep.sortino_ratio(r, required_return=rf_d, annualization=ppy),
        "max_drawdown": ep.max_drawdown(r),
        "calmar": ep.calmar_ratio(r, annualization=ppy),
    }


def _same(ours, theirs) -> bool:
    """Equal to the last bit; empyrical's NaN/inf is our None (compute_metrics never emits NaN/inf)."""
    theirs = float(theirs)
    return ours is None if not math.isfinite(theirs) else ours == theirs


@pytest.mark.parametrize("ppy,rf", [(252, 0.0), (244, 0.03), ("auto", 0.015)])
@pytest.mark.parametrize("n,seed,kind", [(300, 21, "random"), (3886, 22, "random"), (2, 23, "random"),
                                         (1, 24, "random"), (120, 25, "flat"), (120, 26, "benchmark"),
                                         (90, 27, "rising"), (500, 28, "scaled")])
def test_empyrical_statistics_equal_empyrical_to_the_last_bit(ppy, rf, n, seed, kind):
    """A run computes annual return, volatility, Sharpe, Sortino, max drawdown, Calmar, alpha and beta without
    importing empyrical (engine.metrics.formulas); every one equals empyrical-reloaded's own result exactly (==,
    not approx), including undefined cases: n = 1 and 2, a flat strategy (zero volatility, no drawdown), the
    benchmark itself, a constant positive return (no downside), large returns."""
    s, b = random_pair(n=n, seed=seed)
    if kind == "flat":
        s[:] = 0.0
    elif kind == "benchmark":
        s = b.copy()
    elif kind == "rising":
        s.iloc[1:] = 0.002
    elif kind == "scaled":
        s.iloc[1:] = s.iloc[1:] * 25.0
    m = compute_metrics(s, b, MetricsConfig(periods_per_year=ppy, risk_free=rf))
    ppy_v = m["conventions"]["periods_per_year"]
    rf_d = (1 + rf) ** (1 / ppy_v) - 1
    assert m["conventions"]["risk_free_per_period"] == rf_d
    rs, rb = s.to_numpy()[1:], b.to_numpy()[1:]
    for blk, r in (("strategy", rs), ("benchmark", rb)):
        for key, want in _empyrical_block(r, rf_d, ppy_v).items():
            assert _same(m[blk][key], want), (blk, key, m[blk][key], want)
    alpha, beta = ep.alpha_beta(rs, rb, risk_free=rf_d, annualization=ppy_v)
    assert _same(m["excess"]["alpha"], alpha) and _same(m["excess"]["beta"], beta)
    yt = yearly_table(s, b)
    for year in yt.index:
        sel = s.index[1:].year == year
        assert yt.loc[year, "strategy_max_drawdown"] == ep.max_drawdown(rs[sel])
        assert yt.loc[year, "benchmark_max_drawdown"] == ep.max_drawdown(rb[sel])


def test_annualisation_base_252_vs_244():
    s, b = random_pair(n=300, seed=3)
    m1 = compute_metrics(s, b, MetricsConfig(periods_per_year=252))
    m2 = compute_metrics(s, b, MetricsConfig(periods_per_year=244))
    n = 300
    for blk in ("strategy", "benchmark"):
        R = m1[blk]["total_return"]
        assert m2[blk]["total_return"] == m1[blk]["total_return"]
        assert m1[blk]["annual_return"] == pytest.approx((1 + R) ** (252 / n) - 1, rel=1e-12)
        assert m2[blk]["annual_return"] == pytest.approx((1 + R) ** (244 / n) - 1, rel=1e-12)
        assert m2[blk]["annual_volatility"] == pytest.approx(m1[blk]["annual_volatility"] * math.sqrt(244 / 252), rel=1e-12)
        assert m2[blk]["sharpe"] == pytest.approx(m1[blk]["sharpe"] * math.sqrt(244 / 252), rel=1e-12)
        assert m2[blk]["sortino"] == pytest.approx(m1[blk]["sortino"] * math.sqrt(244 / 252), rel=1e-12)
        assert m2[blk]["max_drawdown"] == m1[blk]["max_drawdown"]
    for key, factor in (("tracking_error", math.sqrt(244 / 252)), ("information_ratio_arithmetic", math.sqrt(244 / 252))):
        assert m2["excess"][key] == pytest.approx(m1["excess"][key] * factor, rel=1e-12)
    a1, a2 = m1["excess"]["alpha"], m2["excess"]["alpha"]
    assert a2 == pytest.approx((1 + a1) ** (244 / 252) - 1, rel=1e-9)  # (1+m)^ppy with the same daily m
    assert m2["conventions"]["periods_per_year"] == 244 and m1["conventions"]["periods_per_year"] == 252


# ---------------------------------------------------------------- drawdown dates

def test_drawdown_dates_by_hand():
    # equity: base 1, 1.1, 1.1, 0.88, 0.924, 1.2012 -> peak = 2nd day at 1.1, trough 3rd, recovery 5th; mdd -20%
    s = series([0.1, 0.0, -0.2, 0.05, 0.3], start="2024-01-01", freq="D")
    st = compute_metrics(s, s, CFG)["strategy"]
    assert st["max_drawdown"] == pytest.approx(-0.2, rel=1e-12)
    assert (st["max_drawdown_peak"], st["max_drawdown_trough"], st["max_drawdown_recovery"]) == (
        "2024-01-03", "2024-01-04", "2024-01-06")
    # falls from the base day and never recovers: peak is the base day, recovery None
    s2 = series([-0.1, 0.05, -0.1, 0.02], start="2024-01-01", freq="D")
    st2 = compute_metrics(s2, s2, CFG)["strategy"]
    assert st2["max_drawdown"] == pytest.approx(0.9 * 1.05 * 0.9 - 1, rel=1e-12)
    assert (st2["max_drawdown_peak"], st2["max_drawdown_trough"], st2["max_drawdown_recovery"]) == (
        "2024-01-01", "2024-01-04", None)
    # exact return to the peak (binary-exact floats 1.25, 1.0, 1.25) counts as recovered
    s3 = series([0.25, -0.2, 0.25, -0.5], start="2024-01-01", freq="D")
    st3 = compute_metrics(s3, s3, CFG)["strategy"]
    assert (st3["max_drawdown"], st3["max_drawdown_peak"]) == (-0.5, "2024-01-04")  # tie: last day at the peak
    s4 = series([0.25, -0.2, 0.25], start="2024-01-01", freq="D")
    st4 = compute_metrics(s4, s4, CFG)["strategy"]
    assert (st4["max_drawdown_peak"], st4["max_drawdown_trough"], st4["max_drawdown_recovery"]) == (
        "2024-01-02", "2024-01-03", "2024-01-04")


@pytest.mark.parametrize("seed", range(6))
def test_drawdown_dates_match_naive_loop(seed):
    rng = np.random.default_rng(seed)
    r = np.round(rng.normal(0.0, 0.02, 120), 3)  # rounding creates ties and exact recoveries
    r[rng.integers(0, 120, 10)] = 0.0
    s = series(r)
    st = compute_metrics(s, s, CFG)["strategy"]
    mdd, peak, trough, rec = naive_drawdown(r, s.index[1:], s.index[0])
    assert st["max_drawdown"] == pytest.approx(mdd, rel=1e-12, abs=1e-15)
    assert (st["max_drawdown_peak"], st["max_drawdown_trough"], st["max_drawdown_recovery"]) == (peak, trough, rec)


# ---------------------------------------------------------------- metamorphic / edge cases

def test_strategy_equal_to_benchmark():
    s, _ = random_pair(n=200, seed=4)
    m = compute_metrics(s, s.copy(), MetricsConfig(periods_per_year=252, risk_free=0.02))
    ex = m["excess"]
    for k in ("annual_excess_geometric", "annual_excess_arithmetic", "total_excess_geometric",
              "total_excess_arithmetic", "tracking_error"):
        assert ex[k] == 0.0, k
    assert ex["information_ratio"] is None and ex["information_ratio_arithmetic"] is None
    assert ex["beta"] == pytest.approx(1.0, rel=1e-12)
    assert ex["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert ex["daily_win_rate"] is None and ex["monthly_win_rate"] is None     # every day and month is a tie
    assert (ex["daily_ties"], ex["daily_wins"], ex["daily_losses"]) == (200, 0, 0)
    assert ex["monthly_ties"] == ex["n_months"]
    assert m["strategy"] == m["benchmark"]
    json.dumps(m, allow_nan=False)


def test_monthly_win_rate_partial_months():
    # 2024-01-29 (base) .. 2024-04-03: partial January and April, full February and March
    idx = pd.bdate_range("2024-01-29", "2024-04-03")
    rng = np.random.default_rng(7)
    b = pd.Series(rng.normal(0, 0.01, len(idx)), index=idx)
    s = b + rng.normal(0, 0.004, len(idx))
    s.iloc[0] = b.iloc[0] = 0.0
    jan = (s.index.month == 1) & (s.index > idx[0])
    s[jan] = b[jan] + 0.01  # January (2 period days) is a clear win
    ex = compute_metrics(s, b, CFG)["excess"]
    assert ex["n_months"] == 4
    assert (ex["monthly_win_rate"], ex["n_months"]) == naive_monthly_win_rate(s, b)


def test_base_row_is_excluded_and_may_be_nan():
    s, b = random_pair(n=50, seed=5)
    m = compute_metrics(s, b, CFG)
    assert m["period"] == {"start": s.index[1].date().isoformat(), "end": s.index[-1].date().isoformat(),
                           "n_days": len(s) - 1, "base_date": s.index[0].date().isoformat()}
    s_nan, b_nan = s.copy(), b.copy()
    s_nan.iloc[0] = b_nan.iloc[0] = np.nan
    assert compute_metrics(s_nan, b_nan, CFG) == m
    s_bad = s.copy()
    s_bad.iloc[0] = 0.01
    with pytest.raises(DataError, match="base day"):
        compute_metrics(s_bad, b, CFG)


def test_single_period_day_and_json_round_trip():
    m = compute_metrics(series([0.01]), series([-0.02]), CFG)
    assert m["strategy"]["n_days"] == 1
    assert m["strategy"]["annual_volatility"] is None and m["strategy"]["sharpe"] is None
    assert m["strategy"]["annual_return"] == pytest.approx(1.01 ** 252 - 1, rel=1e-12)
    for mm in (m, compute_metrics(*random_pair(60, seed=8), MetricsConfig(periods_per_year=252, risk_free=0.05),
                                   turnover=series([0.1] * 60, "2023-03-15"),
                                   cost_returns=series([1e-4] * 60, "2023-03-15"))):
        walk_types(mm)
        text = json.dumps(mm, allow_nan=False)
        assert json.loads(text) == mm


def test_turnover_and_cost_drag():
    rng = np.random.default_rng(9)
    n = 180
    gross = rng.normal(0.0005, 0.01, n)
    cost = np.abs(rng.normal(0.0002, 0.0001, n))
    net = gross - cost
    turn = np.abs(rng.normal(0.3, 0.1, n))
    s, b = series(net), series(rng.normal(0, 0.01, n))
    t_full = series(turn)
    m = compute_metrics(s, b, CFG, turnover=t_full, cost_returns=series(cost))
    ex = m["excess"]
    assert ex["annual_turnover"] == pytest.approx(sum(turn) / n * 252, rel=1e-12)
    g_tot, n_tot = 1.0, 1.0
    for gi, ni in zip(gross, net):
        g_tot *= 1 + gi
        n_tot *= 1 + ni
    assert ex["total_cost_drag"] == pytest.approx(g_tot / n_tot - 1, rel=1e-9)
    Ra_g, Ra_n = g_tot ** (252 / n) - 1, n_tot ** (252 / n) - 1
    assert ex["annual_cost_drag"] == pytest.approx((1 + Ra_g) / (1 + Ra_n) - 1, rel=1e-9)
    assert ex["total_cost_drag"] > 0
    # the same series without the base row gives the same numbers; zero costs give zero drag
    m2 = compute_metrics(s, b, CFG, turnover=t_full.iloc[1:], cost_returns=series(cost).iloc[1:])
    assert m2 == m
    assert compute_metrics(s, b, CFG, cost_returns=series([0.0] * n))["excess"]["total_cost_drag"] == 0.0
    assert compute_metrics(s, b, CFG)["excess"]["annual_turnover"] is None
    t_bad = t_full.copy()
    t_bad.iloc[0] = 0.5
    with pytest.raises(DataError, match="turnover"):
        compute_metrics(s, b, CFG, turnover=t_bad)


def test_bad_inputs_raise_one_line_errors():
    s, b = random_pair(n=30, seed=10)
    cases = []
    b_short = b.iloc[:-1]
    cases.append(((s, b_short, CFG), DataError, s.index[-1].date().isoformat()))
    s_nan = s.copy()
    s_nan.iloc[5] = np.nan
    cases.append(((s_nan, b, CFG), DataError, s.index[5].date().isoformat()))
    cases.append(((s.iloc[::-1], b.iloc[::-1], CFG), DataError, "increasing"))
    cases.append(((s.to_numpy(), b, CFG), DataError, "Series"))
    cases.append(((s.iloc[:1], b.iloc[:1], CFG), DataError, "at least one trading day"))
    s_low = s.copy()
    s_low.iloc[3] = -1.5
    cases.append(((s_low, b, CFG), DataError, "-100%"))
    cases.append(((s, b, MetricsConfig(periods_per_year=0)), ConfigError, "metrics.periods_per_year"))
    cases.append(((s, b, MetricsConfig(risk_free=-1.0)), ConfigError, "metrics.risk_free"))
    cases.append(((s, b, MetricsConfig(primary_excess="log")), ConfigError, "metrics.primary_excess"))
    for args, exc, text in cases:
        with pytest.raises(exc) as info:
            compute_metrics(*args)
        assert text in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- yearly table, formatting

def test_yearly_table_matches_naive_loop():
    s, b = random_pair(n=400, seed=11, start="2022-11-01")
    yt = yearly_table(s, b)
    assert list(yt.index) == [2022, 2023, 2024]
    for year in yt.index:
        rs = [r for d, r in zip(s.index[1:], s.to_numpy()[1:]) if d.year == year]
        rb = [r for d, r in zip(b.index[1:], b.to_numpy()[1:]) if d.year == year]
        gs, gb = float(np.prod(1 + np.array(rs))), float(np.prod(1 + np.array(rb)))
        row = yt.loc[year]
        assert row["days"] == len(rs)
        assert row["strategy"] == pytest.approx(gs - 1, rel=1e-12)
        assert row["benchmark"] == pytest.approx(gb - 1, rel=1e-12)
        assert row["excess_geometric"] == pytest.approx(gs / gb - 1, rel=1e-10)
        assert row["excess_arithmetic"] == pytest.approx(gs - gb, rel=1e-10)
        dates = [d for d in s.index[1:] if d.year == year]
        assert row["strategy_max_drawdown"] == pytest.approx(naive_drawdown(rs, dates, dates[0])[0], rel=1e-12)
    assert yt["days"].sum() == len(s) - 1


def test_format_metrics_table_shows_numbers_and_conventions():
    s, b = random_pair(n=120, seed=12)
    m = compute_metrics(s, b, MetricsConfig(periods_per_year=244), benchmark_note="CSI 300 price index, no dividends")
    text = format_metrics_table(m)
    R = np.prod(1 + s.to_numpy()[1:]) - 1
    assert f"{100 * ((1 + R) ** (244 / 120) - 1):.2f}%" in text
    assert f"{100 * m['benchmark']['max_drawdown']:.2f}%" in text
    assert next(line for line in text.splitlines() if line.startswith("periods_per_year (ppy)")).split()[2] == "244"
    assert "(1 + Ra_strategy) / (1 + Ra_benchmark) - 1  [primary]" in text
    assert "CSI 300 price index, no dividends" in text
    assert "mean(r_s - r_b) * ppy" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Metric"))
    assert header.index("Strategy") < header.index("Benchmark")
    assert next(line for line in lines if line.startswith("Annual turnover")).split()[2] == "n/a"


# ---------------------------------------------------------------- the real CSI 300

def test_real_csi300_benchmark_annual_return_2022_2023():
    base, start, end = date(2021, 12, 31), date(2022, 1, 1), date(2023, 11, 30)
    closes = {}
    with open(CSI300_CSV, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            closes[date.fromisoformat(row["date"])] = float(row["close"])
    n = sum(1 for d in closes if start <= d <= end)
    expected = (closes[end] / closes[base]) ** (252 / n) - 1
    path = [closes[d] for d in sorted(closes) if base <= d <= end]
    peak, mdd = path[0], 0.0
    for c in path:
        peak = max(peak, c)
        mdd = min(mdd, c / peak - 1)

    close = load_csi300()["close"].loc["2021-12-31":"2023-11-30"]
    bench = close.pct_change().fillna(0.0)
    strat = bench * 0.5  # any strategy: the benchmark block must not depend on it
    m = compute_metrics(strat, bench, CFG, benchmark_note="CSI 300 price index, no dividends")
    bt = m["benchmark"]
    assert m["period"]["base_date"] == "2021-12-31" and m["period"]["start"] == "2022-01-04"
    assert bt["n_days"] == n == 463
    assert bt["total_return"] == pytest.approx(closes[end] / closes[base] - 1, rel=1e-10)
    assert bt["annual_return"] == pytest.approx(expected, rel=1e-10)
    assert bt["max_drawdown"] == pytest.approx(mdd, rel=1e-10)
    assert m["conventions"]["benchmark_note"] == "CSI 300 price index, no dividends"
