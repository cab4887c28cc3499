"""engine/kernels/rolling.py against the naive twins of tests/naive_rolling.py, pandas, and hand values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.kernels.rolling import ema, rolling_mean, rolling_pca_share, rolling_rank_pct
from tests import naive_rolling as nv


def _random(seed, n=90, m=4, nan_frac=0.1, ties=False):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, (n, m)).astype(float) if ties else rng.standard_normal((n, m))
    x[rng.random((n, m)) < nan_frac] = np.nan
    x[20:27, 0] = np.nan                      # a NaN run
    x[:, -1] = np.nan                         # an all-NaN column
    return x


# ------------------------------------------------------------------------------------------------ rank pct
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("window,min_periods", [(1, 1), (5, 3), (20, 20), (20, 1), (200, 10)])
@pytest.mark.parametrize("ties", [False, True])
def test_rank_pct_matches_naive(seed, window, min_periods, ties):
    x = _random(seed, ties=ties)
    np.testing.assert_array_equal(rolling_rank_pct(x, window, min_periods), nv.rank_pct(x, window, min_periods))


def test_rank_pct_hand_values():
    x = np.array([[3.0], [1.0], [np.nan], [2.0], [2.0], [5.0]])
    out = rolling_rank_pct(x, 3, 2)[:, 0]
    # t0: 1 valid < 2 -> NaN; t1: {3,1} 1<=1 -> 1/2; t2: x NaN; t3: {1,2} -> 2/2;
    # t4: window rows 2..4 = {nan,2,2} -> 2/2 (ties count); t5: {2,2,5} -> 3/3
    np.testing.assert_array_equal(out, [np.nan, 0.5, np.nan, 1.0, 1.0, 1.0])
    assert np.all(rolling_rank_pct(x, 1, 1)[~np.isnan(x)] == 1.0)     # window 1: always the maximum


def test_rank_pct_full_window_lattice():
    """With a full window of valid values every percentile is k/W (the report's 1050 lattice); one NaN in the
    window turns the denominator into W-1 (the printed 12-01 temperature 0.1573 = 165/1049)."""
    rng = np.random.default_rng(7)
    w = 1050
    x = rng.standard_normal((1400, 1))
    out = rolling_rank_pct(x, w, w)[w - 1:, 0]
    k = out * w
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    assert out.min() >= 1 / w and out.max() <= 1.0
    x[1200, 0] = np.nan
    out = rolling_rank_pct(x, w, 1)[:, 0]
    for t in (1201, 1300, 1399):            # window holds the NaN -> denominator 1049
        win = x[t - w + 1: t + 1, 0]
        assert out[t] == np.sum(win[~np.isnan(win)] <= x[t, 0]) / 1049


# ------------------------------------------------------------------------------------------------ mean, ema
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("window,min_periods", [(1, 1), (3, 3), (10, 5), (120, 1)])
def test_rolling_mean_matches_naive_and_pandas(seed, window, min_periods):
    x = _random(seed) * 1e3 + 5.0
    got = rolling_mean(x, window, min_periods)
    np.testing.assert_allclose(got, nv.mean(x, window, min_periods), rtol=1e-12, atol=1e-12)
    ref = pd.DataFrame(x).rolling(window, min_periods=min_periods).mean().to_numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("window,min_periods", [(1, 1), (2, 1), (5, 5), (20, 7), (60, 60), (250, 30)])
def test_rolling_mean_is_pandas_bit_for_bit(seed, window, min_periods):
    """One rolling-mean implementation (issue 17): the kernel equals pandas' rolling mean exactly (==, NaN where
    pandas has NaN) on data with NaN gaps, runs of equal values, values of both signs, -0.0 and large offsets."""
    rng = np.random.default_rng(100 + seed)
    x = rng.standard_normal((700, 4)) * np.array([1.0, 1e-3, 1e4, 0.02]) + np.array([0.0, 1.0, 1e6, -0.01])
    x[rng.random(x.shape) < 0.08] = np.nan
    x[300:330, 0] = 0.25                     # a run of equal values (pandas returns the value itself)
    x[400:420, 1] = -0.0
    x[500:540, 3] = -np.abs(x[500:540, 3])   # all negative: never a positive mean
    got = rolling_mean(x, window, min_periods)
    ref = pd.DataFrame(x).rolling(window, min_periods=min_periods).mean().to_numpy()
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert np.array_equal(got[ok], ref[ok])


def test_rolling_mean_no_drift_on_long_series():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20000, 1)) * 1e6 + 1e8
    got = rolling_mean(x, 20, 20)[-1, 0]
    assert abs(got - x[-20:, 0].mean()) <= 1e-6


@pytest.mark.parametrize("span,min_periods", [(1, 1), (5, 1), (20, 10)])
def test_ema_matches_naive_and_pandas(span, min_periods):
    x = _random(11, n=60)
    got = ema(x, span, min_periods)
    np.testing.assert_allclose(got, nv.ema(x, span, min_periods), rtol=1e-12, atol=1e-14)
    ref = pd.DataFrame(x).ewm(span=span, adjust=False, ignore_na=True, min_periods=min_periods).mean().to_numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------------------------ PCA share
def _factor_returns(seed, n, m, load=0.8):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 1)) * 0.01
    return f * rng.uniform(0.5, 1.5, m) * load + rng.standard_normal((n, m)) * 0.01


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("window,min_periods,min_assets", [(30, 30, 3), (30, 10, 1), (60, 40, 5), (5, 3, 1)])
def test_pca_share_matches_naive(seed, window, min_periods, min_assets):
    r = _factor_returns(seed, 150, 8, load=seed * 0.6)   # seed 0: no factor (no spectral gap)
    r[40:52, 2] = np.nan                                  # NaN run: column 2 leaves and rejoins
    r[:70, 6] = np.nan                                    # late starter
    r[:, 7] = np.nan                                      # all-NaN column
    r[100, :] = np.nan                                    # a row with no data at all
    r[110:150, 3] = 0.004                                 # constant returns: zero variance, excluded
    got = rolling_pca_share(r, window, min_periods, min_assets)
    ref = nv.pca_share(r, window, min_periods, min_assets)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=0)
    ok = ~np.isnan(got)
    assert ok.sum() > 20


def test_pca_share_window_2_is_one_up_to_conditioning():
    """Two rows: every correlation is +-1, so the share is exactly 1. The rolling co-moments carry an absolute
    error ~1e-16 x the largest squared value seen since the last exact refresh, so where a window's variance
    collapses (two nearly equal values) the relative error grows by that ratio kappa; the tolerance is
    derived from it, row by row (observed: error / kappa <= 1.3e-16 on this data)."""
    r = _factor_returns(0, 150, 8, load=0.0)
    got = rolling_pca_share(r, 2, 2, 1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(nv.pca_share(r, 2, 2, 1)))
    assert np.isnan(got[0]) and not np.isnan(got[1:]).any()
    for t in range(1, 150):
        kappa = ((r[: t + 1] ** 2).max(axis=0) / r[t - 1: t + 1].var(axis=0)).max()
        assert abs(got[t] - 1.0) <= 1e-15 * kappa, (t, got[t], kappa)


def test_pca_share_bounds_and_hand_cases():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((40, 1))
    # identical columns: correlation all ones -> lambda_1 = N -> share 1
    np.testing.assert_allclose(rolling_pca_share(np.repeat(base, 4, axis=1), 20, 20, 2)[19:], 1.0, rtol=1e-12)
    # two columns with correlation rho: eigenvalues 1 +- |rho| -> share (1 + |rho|) / 2
    r = np.hstack([base, -base + 0.5 * rng.standard_normal((40, 1))])
    got = rolling_pca_share(r, 40, 40, 2)[-1]
    rho = np.corrcoef(r, rowvar=False)[0, 1]
    assert got == pytest.approx((1 + abs(rho)) / 2, rel=1e-12)
    # min_assets not met -> NaN; window rows < min_periods -> NaN
    assert np.isnan(rolling_pca_share(r, 40, 40, 3)).all()
    assert np.isnan(rolling_pca_share(r, 40, 40, 2)[:39]).all()
    # bounds [1/k, 1]
    x = _factor_returns(1, 300, 12)
    s = rolling_pca_share(x, 50, 50, 2)[49:]
    assert (s >= 1 / 12 - 1e-12).all() and (s <= 1 + 1e-12).all()


def test_pca_share_regime_switch_warm_start():
    """The top eigenvector flips from (1, 1, ...) to (1, -1, ...) when the sign of a correlation flips; the warm
    start from the previous row must not lock onto the now-smaller eigenvalue."""
    rng = np.random.default_rng(8)
    f = rng.standard_normal((160, 1))
    sign = np.where(np.arange(160) < 80, 1.0, -1.0)[:, None]
    r = np.hstack([f, sign * f, f * np.array([[1.0, -1.0]]) * sign]) + 0.3 * rng.standard_normal((160, 4))
    np.testing.assert_allclose(rolling_pca_share(r, 30, 30, 2), nv.pca_share(r, 30, 30, 2), rtol=1e-10)


def test_pca_share_long_series_no_drift():
    """Past the exact-refresh period (1024 rows) and with a huge outlier leaving the window, the running sums
    must still agree with a from-scratch computation."""
    r = _factor_returns(9, 2300, 6)
    r[1500, 2] = 50.0
    got = rolling_pca_share(r, 120, 120, 2)
    for t in (1100, 1700, 2299):
        blk = r[t - 119: t + 1]
        assert got[t] == pytest.approx(np.linalg.eigvalsh(np.corrcoef(blk, rowvar=False))[-1] / 6, rel=1e-10)


def test_kernels_use_no_future_rows():
    r = _factor_returns(2, 200, 5)
    cut = 120
    alt = r.copy()
    alt[cut + 1:] = np.random.default_rng(0).standard_normal(alt[cut + 1:].shape)
    for f in (lambda a: rolling_pca_share(a, 50, 30, 2), lambda a: rolling_rank_pct(a, 50, 10),
              lambda a: rolling_mean(a, 20, 5), lambda a: ema(a, 10, 3)):
        np.testing.assert_array_equal(f(r)[: cut + 1], f(alt)[: cut + 1])
