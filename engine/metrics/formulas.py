"""The statistics of one return column that :mod:`engine.metrics.single` reports, in plain numpy.

Each function computes the textbook formula named in its docstring with the same floating-point operations, in
the same order, as empyrical-reloaded (with bottleneck installed, as its requirements pull in), so the results
equal empyrical's to the last bit: the tests compare them with empyrical itself (tests/test_metrics.py). Computing
them here means a run does not import empyrical, which imports scipy.stats and scipy.optimize (about 1 s).

Conventions: ``r`` is a 1-D float64 array of period returns (base row already removed, all finite, n = len(r) >= 1),
``ppy`` the periods per year, ``rf_d`` the per-period risk-free rate. Means and sums add **in row order**
(:func:`seq_sum`), as bottleneck's ``nanmean``/``nanstd`` do; ``np.sum``/``np.mean`` would add pairwise and differ
in the last bits. Undefined results (n too small, zero dispersion) are NaN or inf; the caller turns them into None.
"""
from __future__ import annotations

import numpy as np

__all__ = ["seq_sum", "seq_mean", "seq_std", "annual_return", "annual_volatility", "sharpe", "sortino",
           "max_drawdown", "calmar", "alpha_beta"]


def seq_sum(x: np.ndarray) -> float:
    """Sum in row order (x[0] + x[1] + ...), unlike np.sum's pairwise order."""
    return float(np.add.accumulate(x)[-1]) if len(x) else 0.0


def seq_mean(x: np.ndarray) -> float:
    return seq_sum(x) / len(x)


def seq_std(x: np.ndarray, ddof: int = 1) -> float:
    """sqrt(sum((x - mean)^2) / (n - ddof)), two passes in row order; NaN when n <= ddof."""
    n = len(x)
    if n <= ddof:
        return float("nan")
    d = x - seq_mean(x)
    return float(np.sqrt(seq_sum(d * d) / (n - ddof)))


def annual_return(r: np.ndarray, ppy: float) -> float:
    """CAGR ``prod(1 + r)^(ppy / n) - 1`` (written ``prod(1 + r)^(1 / (n / ppy)) - 1``)."""
    growth = np.prod(r + 1)
    return float(growth ** (1 / (len(r) / ppy)) - 1)


def annual_volatility(r: np.ndarray, ppy: float) -> float:
    """``std(r, ddof=1) * ppy^(1/2)``; NaN for n < 2."""
    if len(r) < 2:
        return float("nan")
    return seq_std(r) * ppy ** (1.0 / 2.0)


def _zero_if_constant(x: np.ndarray, std: float) -> float:
    """A constant series has std exactly 0 (its float residue, e.g. 1e-19, would pose as dispersion)."""
    return 0.0 if x.max() == x.min() and np.isfinite(std) else std


def sharpe(r: np.ndarray, rf_d: float, ppy: float) -> float:
    """``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(ppy)``; NaN for n < 2, +-inf/NaN for zero dispersion."""
    if len(r) < 2:
        return float("nan")
    adj = r - rf_d
    std = _zero_if_constant(adj, seq_std(adj))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(seq_mean(adj), std) * np.sqrt(ppy))


def sortino(r: np.ndarray, rf_d: float, ppy: float) -> float:
    """``mean(r - rf_d) * ppy / (sqrt(mean(min(r - rf_d, 0)^2)) * sqrt(ppy))``; NaN for n < 2."""
    if len(r) < 2:
        return float("nan")
    adj = r - rf_d
    down = np.clip(adj, -np.inf, 0)
    downside = np.sqrt(seq_mean(np.square(down))) * np.sqrt(ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(seq_mean(adj) * ppy, downside))


def max_drawdown(r: np.ndarray) -> float:
    """``min(V / running max V - 1)`` computed as ``(V - M) / M`` on the equity ``V`` from 100 (the base day)."""
    if len(r) < 1:
        return float("nan")
    equity = np.empty(len(r) + 1)
    equity[0] = 100
    np.multiply(np.cumprod(r + 1), 100, out=equity[1:])
    peak = np.fmax.accumulate(equity)
    return float(((equity - peak) / peak)[1:].min())


def calmar(r: np.ndarray, ppy: float) -> float:
    """``annual_return / |max_drawdown|``; NaN without a drawdown or when infinite."""
    mdd = max_drawdown(r)
    if not mdd < 0:
        return float("nan")
    x = annual_return(r, ppy) / abs(mdd)
    return float("nan") if np.isinf(x) else x


def alpha_beta(rs: np.ndarray, rb: np.ndarray, rf_d: float, ppy: float) -> tuple[float, float]:
    """``beta = mean((rb - mean(rb)) * rs) / mean((rb - mean(rb))^2)`` (population moments; NaN when that variance
    is below 1e-30), which equals ``cov(rs - rf_d, rb - rf_d) / var(rb - rf_d)``; ``alpha = (1 + mean((rs - rf_d)
    - beta * (rb - rf_d)))^ppy - 1``. Both NaN for n < 2."""
    if len(rs) < 2:
        return float("nan"), float("nan")
    resid = rb - seq_mean(rb)
    var = seq_mean(np.square(resid))
    beta = seq_mean(resid * rs) / var if not var < 1.0e-30 else float("nan")
    alpha = np.power(seq_mean((rs - rf_d) - beta * (rb - rf_d)) + 1, ppy) - 1
    return float(alpha), float(beta)
