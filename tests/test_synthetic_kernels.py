"""The synthetic-market kernels against slow, obviously-correct pure-Python twins (the twins are the spec)."""
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from engine.kernels.synthetic import ar1_filter, garch_sigma, stock_path


def naive_ar1(eps, phi):
    out = np.empty_like(eps)
    for j in range(eps.shape[1]):
        y = 0.0
        for t in range(eps.shape[0]):
            y = phi * y + eps[t, j]
            out[t, j] = y
    return out


def naive_garch(z, a, b):
    out = np.empty_like(z)
    for j in range(z.shape[1]):
        h = 1.0
        for t in range(z.shape[0]):
            out[t, j] = h ** 0.5
            h = (1 - a - b) + a * h * z[t, j] ** 2 + b * h
    return out


def cents(v: float) -> float:
    """Exchange rounding to 0.01 CNY, half up, in exact decimal arithmetic."""
    return float(Decimal(repr(float(v))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def limit_price(prev: float, lim: float, sign: int) -> float:
    exact = Decimal(repr(float(prev))) * (1 + sign * Decimal(repr(float(lim))))
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def naive_stock_path(g, x, ind, susp, lim, fs, p_list):
    T, N = x.shape
    close = np.full((T, N), np.nan)
    up = np.zeros((T, N), bool)
    down = np.zeros((T, N), bool)
    acc = [1.0] * N
    for t in range(T):
        xbar = {}
        for k in set(int(v) for v in ind[t] if v >= 0):
            mem = [s for s in range(N) if ind[t, s] == k and t > 0 and ind[t - 1, s] >= 0 and not susp[t, s]]
            w = [fs[t - 1, s] * close[t - 1, s] for s in mem]
            xbar[k] = sum(wi * x[t, s] for wi, s in zip(w, mem)) / sum(w) if mem else 0.0
        for s in range(N):
            k = int(ind[t, s])
            if k < 0:
                continue
            if t == 0 or ind[t - 1, s] < 0:
                close[t, s], acc[s] = p_list[s], 1.0
                continue
            prev = close[t - 1, s]
            if susp[t, s]:
                close[t, s] = prev
                acc[s] *= 1 + g[t, k]
                continue
            r = acc[s] * (1 + g[t, k]) * (1 + x[t, s] - xbar[k]) - 1
            acc[s] = 1.0
            new = cents(prev * (1 + r))
            if lim[t, s] > 0:
                hi, lo = limit_price(prev, lim[t, s], 1), limit_price(prev, lim[t, s], -1)
                if new >= hi:
                    new, up[t, s] = hi, True
                elif new <= lo:
                    new, down[t, s] = lo, True
            close[t, s] = max(new, 0.01)
    return close, up, down


def test_ar1_and_garch_match_naive_loops():
    rng = np.random.default_rng(1)
    eps = rng.standard_normal((300, 4))
    np.testing.assert_allclose(ar1_filter(eps, 0.9), naive_ar1(eps, 0.9), rtol=0, atol=1e-12)
    np.testing.assert_allclose(garch_sigma(eps, 0.06, 0.92), naive_garch(eps, 0.06, 0.92), rtol=1e-13)


def test_garch_unconditional_variance_is_one():
    z = np.random.default_rng(2).standard_normal((200_000, 1))
    s = garch_sigma(z, 0.06, 0.92)
    assert abs(np.mean(s**2) - 1.0) < 0.05   # E[h] = omega / (1 - a - b) = 1


@pytest.mark.parametrize("seed", [3, 4])
def test_stock_path_matches_naive_loop(seed):
    rng = np.random.default_rng(seed)
    T, N, K = 120, 9, 3
    g = rng.normal(0, 0.02, (T, K))
    x = rng.normal(0, 0.04, (T, N))
    x[rng.random((T, N)) < 0.05] = 0.15            # force some limit hits
    ind = np.tile(np.arange(N) % K, (T, 1)).astype(np.int64)
    ind[:10, 0] = -1                                # lists on day 10
    ind[80:, 1] = -1                                # delists after day 79
    ind[50:, 2] = (ind[50:, 2] + 1) % K             # reclassified on day 50
    susp = rng.random((T, N)) < 0.05
    susp[20:30, 3] = True                           # a long suspension (catch-up on resumption)
    lim = np.where(rng.random(N) < 0.5, 0.1, 0.2)[None, :] * np.ones((T, 1))
    lim[:, 4] = 0.05
    lim[10, 0] = 0.0
    fs = rng.uniform(1e7, 1e9, (T, N))
    p_list = np.round(rng.uniform(3, 30, N), 2)
    got = stock_path(g, x, ind, susp, lim, fs, p_list)
    want = naive_stock_path(g, x, ind, susp, lim, fs, p_list)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])
    assert got[1].sum() > 0 and got[2].sum() > 0


def test_stock_path_cap_weighted_mean_equals_industry_return_without_frictions():
    """No limits, no suspensions, no rounding effect worth a tolerance: the cap-weighted member return is g."""
    rng = np.random.default_rng(5)
    T, N = 60, 6
    g = rng.normal(0, 0.01, (T, 1))
    x = rng.normal(0, 0.01, (T, N))
    ind = np.zeros((T, N), np.int64)
    fs = np.full((T, N), 1e12)                       # big caps: the 0.005 rounding error is negligible
    p = np.full(N, 1000.0)
    close, _, _ = stock_path(g, x, ind, np.zeros((T, N), bool), np.zeros((T, N)), fs, p)
    w = fs[:-1] * close[:-1]
    r = (w * (close[1:] / close[:-1] - 1)).sum(axis=1) / w.sum(axis=1)
    np.testing.assert_allclose(r, g[1:, 0], atol=2e-5)
