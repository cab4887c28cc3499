"""Vectorised :func:`engine.metrics.compute_metrics` for sweeps: P return columns at once.

The formulas and conventions are exactly those of :mod:`engine.metrics` (read its module docstring): the base
row (row 0, return 0) is excluded, ``n = rows - 1``, ``ppy`` (resolved by :func:`engine.metrics.ppy.resolve_ppy`
from the same calendar, column ``periods_per_year``) annualises, ``rf_d = (1 + rf)^(1/ppy) - 1`` is the
per-period risk-free rate, and every statistic uses the same expression. The column sums come from one numba
kernel (:mod:`engine.kernels.colstats`) that adds in row order, as bottleneck (which empyrical-reloaded
installs and then uses) does inside empyrical, so the
empyrical-based numbers (annual return, volatility, Sharpe, Sortino, drawdown, Calmar, alpha, beta) and the
products (total return, monthly wins, cost drag) match ``compute_metrics`` bit for bit; tracking error,
information ratio and turnover, which ``compute_metrics`` takes from numpy's 1-D (pairwise) sums, are summed in
numpy's pairwise order by :func:`engine.kernels.colstats.pairwise_cols`, so they match bit for bit too. Tests
assert 1e-12 relative against ``compute_metrics`` column by column (and the results are in fact identical).
Undefined values (zero volatility, zero tracking error) are NaN here where ``compute_metrics`` says None.

Two extra columns serve the deflated Sharpe ratio: ``skew`` (population, ``m3 / m2^1.5``) and ``kurtosis``
(Pearson, not excess: ``m4 / m2^2``; 3 for a normal distribution) of the period returns.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine.config_schema import MetricsConfig
from engine.errors import DataError
from engine.kernels.colstats import SUMS, column_sums, pairwise_cols
from engine.metrics.inputs import check_config
from engine.metrics.ppy import resolve_ppy

# (column, section of metrics.json it mirrors); the order is the column order of sweep tables.
COLUMNS = (
    ("total_return", "strategy"), ("annual_return", "strategy"), ("annual_volatility", "strategy"),
    ("sharpe", "strategy"), ("sortino", "strategy"), ("max_drawdown", "strategy"), ("calmar", "strategy"),
    ("annual_excess", "excess"), ("annual_excess_geometric", "excess"), ("annual_excess_arithmetic", "excess"),
    ("total_excess_geometric", "excess"), ("total_excess_arithmetic", "excess"), ("tracking_error", "excess"),
    ("information_ratio", "excess"), ("information_ratio_arithmetic", "excess"), ("beta", "excess"), ("alpha", "excess"), ("daily_win_rate", "excess"),
    ("monthly_win_rate", "excess"), ("annual_turnover", "excess"), ("total_cost_drag", "excess"),
    ("annual_cost_drag", "excess"), ("best_day", "strategy"), ("worst_day", "strategy"), ("n_days", "strategy"),
    ("periods_per_year", "conventions"), ("skew", None), ("kurtosis", None),
)
METRIC_NAMES = tuple(c for c, _ in COLUMNS)


def _month_end(dates: pd.DatetimeIndex) -> np.ndarray:
    """(T,) bool: row t is the last row of its calendar month (row 0, the base day, is never used)."""
    key = np.asarray(dates.year * 12 + dates.month)
    return np.append(key[1:] != key[:-1], True)


def _rows(a) -> np.ndarray:
    """(T, P) -> its (P, T) transpose, C-contiguous: free for run_backtest_many's outputs (views of (P, T) rows)."""
    return np.ascontiguousarray(np.asarray(a, dtype=float).T)


def vector_metrics(returns: np.ndarray, bench: np.ndarray, dates, config: MetricsConfig,
                   turnover: np.ndarray | None = None, costs: np.ndarray | None = None,
                   value: np.ndarray | None = None, calendar=None) -> dict[str, np.ndarray]:
    """Strategy-vs-benchmark statistics for P columns, as :func:`engine.metrics.compute_metrics` computes them.

    Inputs: ``returns`` (T, P) base-row daily net returns (row 0 = base day, excluded), ``bench`` (T,) base-row
    benchmark returns on the same ``dates`` (T,), ``config`` (periods_per_year, risk_free, primary_excess);
    optional ``turnover`` (T, P) daily traded value / value, and ``costs`` (T, P) currency with ``value`` (T, P)
    (cost returns = ``costs[1:] / value[:-1]``), all as returned by :func:`engine.backtest.run_backtest_many`;
    ``calendar``: the data's trading days for ``periods_per_year: auto`` (default ``dates``), as in compute_metrics.
    Output: ``{column: (P,) float64}`` for every name in :data:`METRIC_NAMES`; NaN where undefined (and for every
    metric of a column whose returns are not finite). No warm-up; n = T - 1 >= 1 days. Cost: three passes of a
    numba kernel over each column (:func:`engine.kernels.colstats.column_sums`; no copy of run_backtest_many's
    column-contiguous outputs), then O(P) numpy.
    """
    check_config(config)
    R = np.asarray(returns, dtype=float)
    b = np.ascontiguousarray(np.asarray(bench, dtype=float))
    if R.ndim != 2 or R.shape[0] < 2 or b.shape != (R.shape[0],):
        raise DataError(f"returns: expected (T >= 2, P) base-row returns and a (T,) benchmark, got {R.shape}, "
                        f"{b.shape}")
    T, P = R.shape
    n = T - 1
    ppy, _ = resolve_ppy(config.periods_per_year, dates if calendar is None else calendar)
    rf_d = (1.0 + float(config.risk_free)) ** (1.0 / ppy) - 1.0
    dummy = np.zeros((1, 1))
    use_to = turnover is not None
    use_c = costs is not None and value is not None
    Rt = _rows(R)
    to = _rows(turnover) if use_to else dummy
    c = _rows(costs) if use_c else dummy
    v = _rows(value) if use_c else dummy
    S = dict(zip(SUMS, column_sums(Rt, b, c, v, _month_end(pd.DatetimeIndex(dates)), rf_d, use_c)))
    nan = np.full(P, np.nan)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        growth = S["growth"]
        out["total_return"] = growth - 1.0
        ann = np.power(growth, 1.0 / (n / ppy)) - 1.0
        out["annual_return"] = ann
        if n >= 2:
            out["annual_volatility"] = np.sqrt(S["ss_r"] / (n - 1)) * ppy ** (1.0 / 2.0)
            std = np.where(S["adj_const"] > 0, 0.0, np.sqrt(S["ss_adj"] / (n - 1)))
            out["sharpe"] = S["sum_adj"] / n / std * np.sqrt(ppy)
            out["sortino"] = S["sum_adj"] / n * ppy / (np.sqrt(S["sum_down2"] / n) * np.sqrt(ppy))
            act_mean = pairwise_cols(0, Rt, b, to, dummy[0], 1, n) / n         # numpy's 1-D np.std / mean order
            ss_act = pairwise_cols(1, Rt, b, to, act_mean, 1, n)
            te = np.where(S["act_const"] > 0, 0.0, np.sqrt(ss_act / (n - 1)) * math.sqrt(ppy))
            beta = S["beta"]
            alpha = np.power(S["alpha_sum"] / n + 1, ppy) - 1
        else:
            out["annual_volatility"], out["sharpe"], out["sortino"] = nan.copy(), nan.copy(), nan.copy()
            te, beta, alpha = nan.copy(), nan.copy(), nan.copy()
            act_mean = pairwise_cols(0, Rt, b, to, dummy[0], 1, n) / n
        mdd = S["mdd"]
        out["max_drawdown"] = mdd
        calmar = np.where(mdd < 0, ann / np.abs(mdd), np.nan)
        out["calmar"] = np.where(np.isinf(calmar), np.nan, calmar)
        b_growth = np.prod(1.0 + b[1:])
        ra_b = _finite(b_growth ** (1.0 / (n / ppy)) - 1.0)
        tr_b = float(b_growth - 1.0)
        ra_s = np.where(np.isfinite(ann), ann, np.nan)
        geo = (1 + ra_s) / (1 + ra_b) - 1 if ra_b is not None and ra_b > -1 else nan.copy()
        ari = ra_s - ra_b if ra_b is not None else nan.copy()
        out["annual_excess"] = geo if config.primary_excess == "geometric" else ari
        out["annual_excess_geometric"] = geo
        out["annual_excess_arithmetic"] = ari
        out["total_excess_geometric"] = (1 + out["total_return"]) / (1 + tr_b) - 1 if tr_b > -1 else nan.copy()
        out["total_excess_arithmetic"] = out["total_return"] - tr_b
        out["tracking_error"] = te
        out["information_ratio"] = np.where(te > 0, out["annual_excess"] / te, np.nan)
        out["information_ratio_arithmetic"] = np.where(te > 0, act_mean * ppy / te, np.nan)
        out["beta"], out["alpha"] = beta, alpha
        out["daily_win_rate"] = S["win_days"] / (S["win_days"] + S["loss_days"])       # ties excluded
        out["monthly_win_rate"] = S["win_months"] / (S["win_months"] + S["loss_months"])
        out["annual_turnover"] = pairwise_cols(2, Rt, b, to, act_mean, 1, n) / n * ppy if use_to else nan.copy()
        if use_c:
            ok = growth > 0
            ratio = S["gross"] / growth
            out["total_cost_drag"] = np.where(ok, ratio - 1.0, np.nan)
            out["annual_cost_drag"] = np.where(ok, np.power(ratio, ppy / n) - 1.0, np.nan)
        else:
            out["total_cost_drag"], out["annual_cost_drag"] = nan.copy(), nan.copy()
        out["best_day"], out["worst_day"] = S["best"], S["worst"]
        out["n_days"] = np.full(P, float(n))
        out["periods_per_year"] = np.full(P, float(ppy))
        m2 = S["ss_r"] / n
        out["skew"] = S["m3"] / n / m2 ** 1.5
        out["kurtosis"] = S["m4"] / n / m2 ** 2
    bad = S["bad"] > 0
    for k, x in out.items():
        x = np.array(x, dtype=float)
        x[~np.isfinite(x) | bad] = np.nan
        out[k] = x
    return {k: out[k] for k in METRIC_NAMES}


def _finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def metrics_json_view(metrics: dict) -> dict[str, float]:
    """The sweep columns of one ``compute_metrics`` dict (None -> NaN): what a sweep row must equal."""
    out = {}
    for col, sec in COLUMNS:
        if sec is None:
            continue
        v = metrics[sec].get(col)
        out[col] = float("nan") if v is None else float(v)
    return out
