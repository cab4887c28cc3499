"""Selection-bias statistics of a sweep: the deflated Sharpe ratio and the probability of backtest overfitting.

Sharpe ratios here are **per period** (daily, not annualised) and in excess of the per-period risk-free rate,
``SR = mean(r - rf_d) / std(r - rf_d, ddof=1)``; a sweep's annualised ``sharpe`` column divided by ``sqrt(ppy)``.

* :func:`probabilistic_sharpe` (PSR, Bailey & López de Prado 2012): ``Phi((SR - SR_b) sqrt(T - 1) /
  sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2))`` with ``g3`` the skewness and ``g4`` the (Pearson, non-excess) kurtosis
  of the returns and T the number of returns.
* :func:`expected_max_sharpe` (Bailey & López de Prado 2014, eq. for SR_0): the expected maximum of N trials'
  Sharpe ratios under the null of no skill, ``sqrt(V) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))``,
  V = sample variance (ddof=1) of the trials' Sharpe ratios, gamma = Euler-Mascheroni constant; 0 for N = 1.
* :func:`deflated_sharpe` (DSR) = PSR of the selected strategy against ``SR_b = SR_0``: the probability that its
  true Sharpe ratio is positive after accounting for the N trials that produced it. For N = 1 it is the PSR
  against 0.
* :func:`pbo_cscv` (Bailey, Borwein, López de Prado & Zhu 2017): the T period rows are cut into S contiguous
  blocks; for every one of the C(S, S/2) ways to pick half of the blocks as in-sample (IS, the rest out-of-sample,
  OOS), the trial with the best IS Sharpe is selected and its OOS rank among all N trials gives
  ``w = rank / (N + 1)`` and the logit ``lambda = ln(w / (1 - w))``. PBO = the share of splits with
  ``lambda < 0`` (selected trial below the OOS median), counting ``lambda == 0`` as one half (so N identical trials
  give PBO = 0.5: selection carries no information). Ranks are average ranks (ties share); a trial with undefined
  Sharpe (zero variance) ranks lowest; the IS tie-break is the lowest trial index. Sharpe ratios on a union of
  blocks come exactly from per-block count, sum and sum of squares.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
# the standard normal cdf / quantile that scipy.stats.norm.cdf / .ppf evaluate (bit for bit), without importing
# scipy.stats (measured: 3.9 s against 1.3 s for scipy.special on the loaded 2-core machine)
from scipy.special import ndtr, ndtri

EULER_GAMMA = 0.5772156649015329


def probabilistic_sharpe(sr: float, sr_benchmark: float, n_obs: int, skew: float, kurtosis: float) -> float:
    """PSR in [0, 1] (module docstring); NaN when undefined (n_obs < 2 or a non-positive variance term)."""
    if not (n_obs >= 2 and np.isfinite(sr) and np.isfinite(skew) and np.isfinite(kurtosis)):
        return float("nan")
    var = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if var <= 0:
        return float("nan")
    return float(ndtr((sr - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(var)))


def expected_max_sharpe(sr_trials, n_trials: int | None = None) -> float:
    """SR_0: expected maximum per-period Sharpe ratio of ``n_trials`` (default: len) unskilled trials whose
    Sharpe ratios vary like ``sr_trials`` (sample variance, ddof=1). 0 for a single trial."""
    sr = np.asarray(sr_trials, dtype=float)
    sr = sr[np.isfinite(sr)]
    n = len(sr) if n_trials is None else int(n_trials)
    if n <= 1 or len(sr) < 2:
        return 0.0
    v = float(np.var(sr, ddof=1))
    return math.sqrt(v) * ((1 - EULER_GAMMA) * ndtri(1 - 1.0 / n) + EULER_GAMMA * ndtri(1 - 1.0 / (n * math.e)))


def deflated_sharpe(sr: float, sr_trials, n_obs: int, skew: float, kurtosis: float) -> dict:
    """DSR of the selected strategy (per-period ``sr``, its return ``skew`` and Pearson ``kurtosis`` over
    ``n_obs`` returns) given every trial's per-period Sharpe ratio ``sr_trials`` (including the selected one).

    Returns ``{"dsr": probability in [0, 1] or NaN, "sr0": expected max SR (per period), "n_trials": N,
    "var_trials": V}``.
    """
    trials = np.asarray(sr_trials, dtype=float)
    trials = trials[np.isfinite(trials)]
    sr0 = expected_max_sharpe(trials)
    return {"dsr": probabilistic_sharpe(sr, sr0, n_obs, skew, kurtosis), "sr0": sr0, "n_trials": int(len(trials)),
            "var_trials": float(np.var(trials, ddof=1)) if len(trials) > 1 else 0.0}


def _sharpe(n, s, q):
    """Sharpe (ddof=1) from count n (B,), sum s (B, N) and sum of squares q (B, N); -inf where undefined (zero or
    rounding-noise variance), so such a trial ranks lowest."""
    n = n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (q - s * s / n) / (n - 1)
        out = (s / n) / np.sqrt(var)
    out[~(var > 1e-12 * (q / n))] = -np.inf
    return out


def pbo_cscv(block_n, block_sum, block_sq, max_cells: int = 1_000_000) -> dict:
    """Probability of backtest overfitting by CSCV from per-block sufficient statistics.

    ``block_n`` (S,) rows per block; ``block_sum`` / ``block_sq`` (S, N): per block and trial, the sum and the sum
    of squares of the per-period excess returns. S even >= 2, N >= 2. Returns ``{"pbo": float in [0, 1],
    "logits": (C(S, S/2),) array of lambda (splits in itertools.combinations order), "n_splits": int,
    "n_trials": N, "blocks": S, "oos_loss_share": share of splits whose selected trial has OOS Sharpe < 0}``.
    The OOS half of split i is the IS half of split C-1-i (combinations of S/2 out of S in lexicographic order
    pair up with their complements that way), so every half's Sharpe ratios are computed once. Work is batched so
    that at most about ``max_cells`` floats per intermediate array are held.
    """
    bn = np.asarray(block_n, dtype=float)
    bs = np.asarray(block_sum, dtype=float)
    bq = np.asarray(block_sq, dtype=float)
    S, N = bs.shape
    if S % 2 or S < 2 or N < 2:
        raise ValueError(f"pbo_cscv: need an even number of blocks >= 2 and >= 2 trials, got S={S}, N={N}")
    splits = np.array(list(itertools.combinations(range(S), S // 2)), dtype=np.int64)
    C = len(splits)
    M = np.zeros((C, S))
    M[np.arange(C)[:, None], splits] = 1.0
    assert (M[::-1] + M == 1).all()                     # split C-1-i is the complement of split i
    logits = np.empty(C)
    oos_loss = np.zeros(C, dtype=bool)
    step = max(1, max_cells // N)
    half = (C + 1) // 2
    for a in range(0, half, step):
        i = np.arange(a, min(a + step, half))
        j = C - 1 - i
        sr_i = _sharpe(M[i] @ bn, M[i] @ bs, M[i] @ bq)          # half i (= OOS of split j)
        sr_j = _sharpe(M[j] @ bn, M[j] @ bs, M[j] @ bq)          # half j (= OOS of split i)
        for is_, oos, rows in ((sr_i, sr_j, i), (sr_j, sr_i, j)):
            best = np.argmax(is_, axis=1)
            val = oos[np.arange(len(rows)), best]
            below = (oos < val[:, None]).sum(axis=1)
            equal = (oos == val[:, None]).sum(axis=1)
            w = (below + (equal + 1) / 2.0) / (N + 1.0)
            logits[rows] = np.log(w / (1.0 - w))
            oos_loss[rows] = val < 0
    pbo = float(np.mean(logits < 0) + 0.5 * np.mean(logits == 0))
    return {"pbo": pbo, "logits": logits, "n_splits": int(C), "n_trials": int(N), "blocks": int(S),
            "oos_loss_share": float(oos_loss.mean())}
