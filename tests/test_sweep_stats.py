"""engine.sweep.stats: PSR/DSR against closed forms and Monte Carlo, PBO (CSCV) against a naive implementation."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import rankdata

from engine.config_schema import MetricsConfig
from engine.sweep.execute import _cscv_sums
from engine.sweep.stats import deflated_sharpe, expected_max_sharpe, pbo_cscv, probabilistic_sharpe


def phi(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_psr_normal_closed_form():
    """Normal returns (skew 0, kurtosis 3): PSR = Phi((SR - SR*) sqrt(T-1) / sqrt(1 + SR^2 / 2))."""
    sr, srb, T = 0.08, 0.02, 500
    assert probabilistic_sharpe(sr, srb, T, 0.0, 3.0) == pytest.approx(
        phi((sr - srb) * math.sqrt(T - 1) / math.sqrt(1 + sr * sr / 2)), rel=1e-12)
    # negative skew and fat tails widen the band: PSR moves toward 1/2
    assert 0.5 < probabilistic_sharpe(sr, srb, T, -2.0, 12.0) < probabilistic_sharpe(sr, srb, T, 0.0, 3.0)
    assert probabilistic_sharpe(sr, sr, T, 0.3, 5.0) == 0.5


def test_dsr_of_one_trial_is_psr_against_zero():
    d = deflated_sharpe(0.05, [0.05], 1000, -0.5, 6.0)
    assert d["sr0"] == 0.0 and d["n_trials"] == 1
    assert d["dsr"] == probabilistic_sharpe(0.05, 0.0, 1000, -0.5, 6.0)


def test_expected_max_sharpe_formula_and_monte_carlo():
    """SR0 = sqrt(V) ((1-g) Phi^-1(1-1/N) + g Phi^-1(1-1/(N e))); it approximates E[max of N normals]."""
    rng = np.random.default_rng(0)
    for N in (10, 100, 1000):
        trials = rng.normal(0.0, 0.03, N)
        v = np.var(trials, ddof=1)
        g = 0.5772156649015329
        from scipy.stats import norm

        closed = math.sqrt(v) * ((1 - g) * norm.ppf(1 - 1 / N) + g * norm.ppf(1 - 1 / (N * math.e)))
        assert expected_max_sharpe(trials) == pytest.approx(closed, rel=1e-12)
        mc = rng.normal(0.0, 1.0, (4000, N)).max(axis=1).mean()          # E[max] for unit variance
        assert expected_max_sharpe(trials) / math.sqrt(v) == pytest.approx(mc, rel=0.04)


def test_dsr_falls_with_more_trials():
    rng = np.random.default_rng(1)
    few = deflated_sharpe(0.06, rng.normal(0, 0.02, 5), 1500, 0.0, 3.0)["dsr"]
    many = deflated_sharpe(0.06, rng.normal(0, 0.02, 5000), 1500, 0.0, 3.0)["dsr"]
    assert 0 < many < few < 1


# ------------------------------------------------------------------------------------------------ PBO (CSCV)
def naive_pbo(R: np.ndarray, S: int):
    """The spec, written plainly: every half of the S blocks as IS; best IS Sharpe; its average OOS rank."""
    blocks = np.array_split(np.arange(R.shape[0]), S)
    N = R.shape[1]

    def sharpe(rows):
        x = R[rows]
        sd = x.std(axis=0, ddof=1)
        out = x.mean(axis=0) / sd
        out[~(sd > 0)] = -np.inf
        return out

    logits = []
    for is_blocks in itertools.combinations(range(S), S // 2):
        is_rows = np.concatenate([blocks[k] for k in is_blocks])
        oos_rows = np.concatenate([blocks[k] for k in range(S) if k not in is_blocks])
        best = int(np.argmax(sharpe(is_rows)))
        w = rankdata(sharpe(oos_rows), method="average")[best] / (N + 1)
        logits.append(math.log(w / (1 - w)))
    logits = np.array(logits)
    return float(np.mean(logits < 0) + 0.5 * np.mean(logits == 0)), logits


def block_stats(R, S):
    cols = {}
    _cscv_sums(np.vstack([np.zeros(R.shape[1]), R]), MetricsConfig(), S, np.arange(R.shape[1]),
               lambda name, idx, vals: cols.setdefault(name, np.zeros(R.shape[1])).__setitem__(idx, vals))
    n = np.array([cols[f"_cscv_n{k}"][0] for k in range(S)])
    s = np.array([cols[f"_cscv_s{k}"] for k in range(S)])
    q = np.array([cols[f"_cscv_q{k}"] for k in range(S)])
    return n, s, q


@pytest.mark.parametrize("S,N,seed", [(4, 5, 0), (6, 12, 1), (8, 30, 2), (10, 7, 3)])
def test_pbo_equals_naive_combinatorial(S, N, seed):
    rng = np.random.default_rng(seed)
    R = rng.normal(0.0002, 0.01, (331, N)) + rng.normal(0, 0.0005, N)     # noise, slightly different drifts
    ref, ref_logits = naive_pbo(R, S)
    got = pbo_cscv(*block_stats(R, S), max_cells=N * 7)      # small batches exercise the batching
    assert got["n_splits"] == math.comb(S, S // 2)
    np.testing.assert_allclose(got["logits"], ref_logits, rtol=1e-9, atol=1e-12)
    assert got["pbo"] == ref


def test_pbo_identical_strategies_is_one_half():
    r = np.random.default_rng(4).normal(0.0003, 0.01, 200)
    got = pbo_cscv(*block_stats(np.tile(r[:, None], (1, 6)), 8))
    assert got["pbo"] == 0.5 and (got["logits"] == 0).all()


def test_pbo_dominant_strategy_is_zero():
    """One trial beats every other in every block (same noise, higher mean): selected IS, best OOS: lambda = ln N."""
    rng = np.random.default_rng(5)
    R = rng.normal(0.0, 0.01, (320, 9))
    R[:, 0] = R[:, 1] + 0.05
    got = pbo_cscv(*block_stats(R, 16))
    assert got["pbo"] == 0.0
    np.testing.assert_allclose(got["logits"], math.log(9), rtol=1e-12)


def test_pbo_overfit_selection_is_high():
    """Trials that differ only by a +d / -d pattern over alternating blocks: whatever is picked in-sample ranks
    below the median out-of-sample in every split (PBO = 1, as the naive spec also finds)."""
    S, N = 4, 3
    base = np.random.default_rng(6).normal(0, 0.01, (400, 1))
    R = np.tile(base, (1, N))
    blocks = np.array_split(np.arange(400), S)
    for j in range(N):                        # trial j gets +d in even blocks, -d in odd blocks (scaled by j)
        for k, rows in enumerate(blocks):
            R[rows, j] += (1 if k % 2 == 0 else -1) * 0.002 * j
    got = pbo_cscv(*block_stats(R, S))
    ref, _ = naive_pbo(R, S)
    assert got["pbo"] == ref == 1.0


def test_pbo_rejects_odd_blocks():
    with pytest.raises(ValueError):
        pbo_cscv(np.ones(3), np.ones((3, 2)), np.ones((3, 2)))
