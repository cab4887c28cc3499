"""engine/kernels/xinbanjun.py against its naive twins (tests/naive_xinbanjun.py) and scipy.optimize; the PE
percentile against pandas' rolling rank."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize, nnls

from engine.kernels.xinbanjun import capped_nnls, rolling_capped_nnls, zigzag_drawdowns
from engine.signals.xinbanjun import indicators as xi
from tests import naive_xinbanjun as nv


def _problem(rng, n, m=60):
    X = rng.normal(0, 0.01, (m, n)) + rng.normal(0, 0.01, (m, 1))     # correlated regressors, like industries
    y = X @ rng.uniform(-0.3, 0.8, n) + rng.normal(0, 0.003, m)
    return X, y


def _scipy_capped(X, y, cap):
    """scipy.optimize.nnls; when its solution breaks the cap, the equality sum(w) + slack = cap is imposed by the
    weighting method (Lawson & Hanson 1974, ch. 22): a heavily weighted extra row on [X 0]."""
    w, _ = nnls(X, y)
    if w.sum() <= cap:
        return w
    M = 1e6 * np.linalg.norm(X)
    A = np.vstack([np.hstack([X, np.zeros((len(y), 1))]), M * np.ones((1, X.shape[1] + 1))])
    return nnls(A, np.r_[y, M * cap], maxiter=5000)[0][:-1]


def test_capped_nnls_equals_enumeration_and_scipy():
    rng = np.random.default_rng(0)
    n_active = 0
    for _ in range(300):
        n = int(rng.integers(1, 7))
        X, y = _problem(rng, n)
        cap = float(rng.choice([1.0, 0.95, 0.5]))
        w = capped_nnls(X.T @ X, X.T @ y, cap)
        assert (w >= 0).all() and w.sum() <= cap * (1 + 1e-12)
        np.testing.assert_allclose(w, nv.capped_ls_enumerate(X, y, cap), rtol=0, atol=1e-12)
        ref = _scipy_capped(X, y, cap)
        n_active += ref.sum() > cap - 1e-9
        np.testing.assert_allclose(w, ref, rtol=0, atol=1e-8)
    assert 50 < n_active < 250          # both branches (cap binding and not) are exercised


def test_capped_nnls_matches_slsqp_objective():
    """SLSQP (scipy's general constrained solver) reaches the same optimum: same objective to 1e-12 relative,
    weights to its own accuracy (1e-6)."""
    rng = np.random.default_rng(1)
    for _ in range(40):
        n = int(rng.integers(2, 6))
        X, y = _problem(rng, n)
        w = capped_nnls(X.T @ X, X.T @ y, 0.95)
        f = lambda v: float(((y - X @ v) ** 2).sum())
        r = minimize(f, np.full(n, 0.1), jac=lambda v: -2 * X.T @ (y - X @ v), method="SLSQP",
                     bounds=[(0, None)] * n, options={"ftol": 1e-16, "maxiter": 1000},
                     constraints=[{"type": "ineq", "fun": lambda v: 0.95 - v.sum(), "jac": lambda v: -np.ones(n)}])
        assert f(w) <= f(r.x) * (1 + 1e-12)
        np.testing.assert_allclose(w, r.x, atol=1e-6)


def test_rolling_capped_nnls_equals_naive_windows_with_nans():
    rng = np.random.default_rng(2)
    T, n = 120, 4
    X = rng.normal(0, 0.01, (T, n)) + rng.normal(0, 0.01, (T, 1))
    y = X @ np.array([0.5, 0.3, 0.0, 0.4]) + rng.normal(0, 0.004, T)
    X[rng.random((T, n)) < 0.03] = np.nan
    y[rng.random(T) < 0.03] = np.nan
    got = rolling_capped_nnls(y, X, 30, 20, 0.95)
    want = nv.rolling_capped_ls(y, X, 30, 20, 0.95)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    scipy_rows = nv.rolling_capped_ls(y, X, 30, 20, 0.95, solver=_scipy_capped)
    np.testing.assert_allclose(got, scipy_rows, rtol=0, atol=1e-8)
    assert np.nanmax(got.sum(axis=1)) <= 0.95 + 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_zigzag_equals_from_scratch_state(seed):
    rng = np.random.default_rng(seed)
    p = 100 * np.exp(np.cumsum(rng.normal(0, 0.025, 400)))
    p[rng.random(400) < 0.05] = np.nan
    peak, down, eps = zigzag_drawdowns(p, 0.1, 0.15)
    for t in range(len(p)):
        pk, dn, piv = nv.zigzag_asof(p, t, 0.1, 0.15)
        assert (peak[t], bool(down[t])) == (pk, dn), t
        assert [tuple(e) for e in eps if e[2] <= t] == piv
    assert len(eps) >= 1


def test_zigzag_hand_case():
    p = np.array([1.0, 1.2, 1.1, 1.05, 1.3, 1.0, 0.9, 1.0, 1.1, 1.2, 1.25])
    peak, down, eps = zigzag_drawdowns(p, 0.2, 0.3)
    # 1.3 at row 4 is the peak; 1.0 (row 5) is -23% -> a correction; trough 0.9 (row 6); 1.2 >= 0.9 * 1.3 = 1.17
    # at row 9 ends it, row 9 becomes the new peak and 1.25 (row 10) a higher one
    assert peak.tolist() == [0, 1, 1, 1, 4, 4, 4, 4, 4, 9, 10]
    assert down.tolist() == [False] * 5 + [True] * 4 + [False] * 2
    assert eps.tolist() == [[4, 6, 9]]


@pytest.mark.parametrize("seed", range(4))
def test_pe_percentile_equals_pandas_rolling_rank(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(30, 5, (600, 3)).round(1)           # rounding makes ties
    x[rng.random(x.shape) < 0.02] = np.nan
    df = pd.DataFrame(x, index=pd.bdate_range("2020-01-01", periods=600), columns=list("abc"))
    got = xi.valuation(df, 250, 120)
    want = df.rolling(250, min_periods=120).rank(method="max", pct=True)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=0, atol=1e-15)


def test_cum_since_peak_hand_case():
    flow = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0, 8.0]})
    peak = pd.DataFrame({"a": [0, 0, 2, 2, -1]})
    assert xi.cum_since_peak(flow, peak)["a"].tolist()[:4] == [0.0, 2.0, 0.0, 4.0]
    assert np.isnan(xi.cum_since_peak(flow, peak)["a"].iloc[4])


def test_episode_rank_counts_only_completed_earlier_corrections():
    cum = pd.DataFrame({"a": [0.0, -1.0, -3.0, 0.0, 0.0, 2.0, 5.0, 0.0, 1.0, 4.0]})
    episodes = {"a": [(0, 2, 3), (4, 6, 7)]}      # troughs: cum -3 (known from row 3), +5 (known from row 7)
    r = xi.episode_rank(cum, episodes, since_row=0, min_episodes=1)["a"]
    assert np.isnan(r.iloc[2])                    # no completed correction yet
    assert r.iloc[5] == 1.0                       # 2 >= -3 (the second correction is not over at row 5)
    assert r.iloc[8] == 0.5 and r.iloc[9] == 0.5  # 1 and 4: above -3, below 5
    r2 = xi.episode_rank(cum, episodes, since_row=1, min_episodes=1)["a"]
    assert np.isnan(r2.iloc[6]) and r2.iloc[9] == 0.0
