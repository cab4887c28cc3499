"""engine.metrics.vector: every column equals engine.metrics.compute_metrics on that column (the spec), to 1e-12,
and the statistics empyrical defines equal empyrical-reloaded's own results."""
from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engine.backtest import run_backtest, run_backtest_many
from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig, MetricsConfig
from engine.data.embedded import load_embedded
from engine.kernels.colstats import pairwise_cols
from engine.metrics import compute_metrics
from engine.metrics.vector import COLUMNS, METRIC_NAMES, metrics_json_view, vector_metrics

CONFIGS = (MetricsConfig(), MetricsConfig(periods_per_year=244, risk_free=0.03, primary_excess="arithmetic"))


def assert_columns_match(R, b, idx, cfg, to=None, cost=None, val=None, rtol=1e-12):
    v = vector_metrics(R, b, idx, cfg, to, cost, val)
    for p in range(R.shape[1]):
        kw = {}
        if to is not None:
            kw["turnover"] = pd.Series(to[:, p], idx)
        if cost is not None:
            cr = np.zeros(len(idx))
            cr[1:] = cost[1:, p] / val[:-1, p]
            kw["cost_returns"] = pd.Series(cr, idx)
        ref = metrics_json_view(compute_metrics(pd.Series(R[:, p], idx), pd.Series(b, idx), cfg, **kw))
        for k, x in ref.items():
            y = v[k][p]
            if np.isnan(x):
                assert np.isnan(y), (p, k, x, y)
            else:
                assert y == pytest.approx(x, rel=rtol, abs=1e-300), (p, k, x, y)
    return v


def random_case(T, P, seed):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2019-12-20", periods=T)
    b = np.r_[0.0, rng.normal(0.0003, 0.012, T - 1)]
    R = np.zeros((T, P))
    R[1:] = 0.6 * b[1:, None] + rng.normal(0.0002, 0.01, (T - 1, P))
    to = np.abs(rng.normal(0, 0.2, (T, P)))
    to[0] = 0
    val = 1e6 * np.cumprod(1 + R, axis=0)
    cost = np.abs(rng.normal(0, 50, (T, P)))
    cost[0] = 0
    return idx, b, R, to, cost, val


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("T,P,seed", [(600, 6, 0), (777, 1, 1), (130, 2, 2), (3, 3, 3)])
def test_random_columns_match_compute_metrics(cfg, T, P, seed):
    idx, b, R, to, cost, val = random_case(T, P, seed)
    if P >= 6:
        R[:, 3] = b          # the benchmark itself: tracking error 0 -> information ratio undefined
        R[:, 4] = 0.0        # flat: zero volatility -> Sharpe/Sortino undefined, no drawdown -> Calmar undefined
        R[1:, 5] = 0.002     # constant positive: no downside -> Sortino undefined
    assert_columns_match(R, b, idx, cfg, to, cost, val)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_columns_equal_empyrical(cfg):
    """The oracle itself, not compute_metrics: each column's annual return, volatility, Sharpe, Sortino, max
    drawdown, Calmar, alpha and beta equal empyrical-reloaded's on that column exactly (NaN where empyrical says
    NaN/inf)."""
    idx, b, R, _, _, _ = random_case(700, 5, 11)
    R[:, 3] = b
    R[1:, 4] = 0.002
    v = vector_metrics(R, b, idx, cfg)
    ppy = float(v["periods_per_year"][0])
    rf_d = (1 + cfg.risk_free) ** (1 / ppy) - 1
    rb = b[1:]
    for p in range(R.shape[1]):
        r = R[1:, p]
        alpha, beta = ep.alpha_beta(r, rb, risk_free=rf_d, annualization=ppy)
        want = {"annual_return": ep.annual_return(r, annualization=ppy),
                "annual_volatility": ep.annual_volatility(r, annualization=ppy),
                "sharpe": ep.sharpe_ratio(r, risk_free=rf_d, annualization=ppy),
                "sortino": ep.sortino_ratio(r, required_return=rf_d, annualization=ppy),
                "max_drawdown": ep.max_drawdown(r), "calmar": ep.calmar_ratio(r, annualization=ppy),
                "alpha": alpha, "beta": beta}
        for k, x in want.items():
            x = float(x)
            if np.isfinite(x):
                assert v[k][p] == x, (p, k, v[k][p], x)
            else:
                assert np.isnan(v[k][p]), (p, k, v[k][p], x)


def test_without_turnover_and_costs_and_two_rows():
    idx, b, R, _, _, _ = random_case(2, 2, 5)
    v = assert_columns_match(R, b, idx, MetricsConfig())
    assert np.isnan(v["annual_turnover"]).all() and np.isnan(v["annual_cost_drag"]).all()
    assert np.isnan(v["annual_volatility"]).all()          # n = 1: undefined, as in compute_metrics


def test_real_backtest_columns_match_single_runs():
    """Columns of run_backtest_many equal separate run_backtest runs through compute_metrics."""
    ds = load_embedded()
    panel = ds.panel("index")
    close = panel["close"].iloc[:, 0]
    ex, costs = ExecutionConfig(lag=1), CostConfig(commission=0.0003, stamp_duty="none", slippage_bps=2)
    rules = MarketRulesConfig(limits="off")
    paths = [(close.rolling(s).mean() > close.rolling(l).mean()).astype(float) for s, l in ((5, 60), (20, 120))]
    W = np.stack([p.to_numpy() for p in paths], axis=1)[:, :, None]
    res = run_backtest_many(W, panel, "2015-01-01", "2024-12-31", ex, costs, rules)
    idx = panel.dates[(panel.dates >= "2014-12-31") & (panel.dates <= "2024-12-31")]
    bench = close.reindex(idx).pct_change().fillna(0.0).to_numpy()
    v = vector_metrics(res["returns"], bench, idx, MetricsConfig(), res["turnover"], res["costs"], res["value"])
    for p, w in enumerate(paths):
        bt = run_backtest(w.to_frame("000300.SH"), panel, "2015-01-01", "2024-12-31", ex, costs, rules)
        ref = metrics_json_view(compute_metrics(bt.returns, pd.Series(bench, idx), MetricsConfig(),
                                                turnover=bt.turnover, cost_returns=bt.cost_returns))
        for k, x in ref.items():
            assert v[k][p] == pytest.approx(x, rel=1e-12), k


def test_skew_kurtosis_against_scipy():
    idx, b, R, _, _, _ = random_case(400, 3, 7)
    R[1:, 0] = np.random.default_rng(1).lognormal(0, 0.5, 399) * 0.01 - 0.01     # skewed
    v = vector_metrics(R, b, idx, MetricsConfig())
    for p in range(3):
        assert v["skew"][p] == pytest.approx(stats.skew(R[1:, p]), rel=1e-9)
        assert v["kurtosis"][p] == pytest.approx(stats.kurtosis(R[1:, p], fisher=False), rel=1e-9)


def test_nonfinite_column_is_all_nan_and_others_unaffected():
    idx, b, R, _, _, _ = random_case(50, 3, 9)
    R[10, 1] = np.nan
    v = vector_metrics(R, b, idx, MetricsConfig())
    assert all(np.isnan(v[k][1]) for k in METRIC_NAMES)
    clean = vector_metrics(R[:, [0, 2]], b, idx, MetricsConfig())
    for k in METRIC_NAMES:
        np.testing.assert_array_equal(v[k][[0, 2]], clean[k])


@pytest.mark.parametrize("n", [1, 5, 8, 9, 127, 128, 129, 200, 1000, 3886, 4857])
def test_pairwise_cols_is_numpy_sum_order(n):
    """The kernel's pairwise column sums equal np.sum of each 1-D column exactly (numpy's summation order)."""
    rng = np.random.default_rng(n)
    R = rng.normal(0, 1, (n + 1, 3)) * 10.0 ** rng.uniform(-3, 3, (n + 1, 3))
    b = rng.normal(0, 1, n + 1)
    Rt = np.ascontiguousarray(R.T)                       # the kernel's (P, T) layout
    got = pairwise_cols(0, Rt, b, Rt, np.zeros(3), 1, n)
    for p in range(3):
        assert got[p] == np.sum(R[1:, p] - b[1:])
    mean = got / n
    sq = pairwise_cols(1, Rt, b, Rt, mean, 1, n)
    for p in range(3):
        x = (R[1:, p] - b[1:]) - mean[p]
        assert sq[p] == np.sum(x * x)


def test_column_list_mirrors_metrics_json_sections():
    idx, b, R, to, cost, val = random_case(30, 1, 4)
    m = compute_metrics(pd.Series(R[:, 0], idx), pd.Series(b, idx), MetricsConfig())
    for col, sec in COLUMNS:
        if sec is not None:
            assert col in m[sec], col
