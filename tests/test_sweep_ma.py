"""engine.kernels.ma and engine.signals.batch: batched MA timing equals pandas / the single-run signal exactly."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.embedded import load_embedded
from engine.data.panel import Dataset, Panel
from engine.kernels.ma import cross_weights, rolling_means
from engine.signals.basic import ma_timing
from engine.signals.batch import batch_weights
from tests.lookahead import perturb_after

DEFAULT = {"panel": "index", "code": "000300.SH"}


@pytest.mark.parametrize("seed", range(6))
def test_rolling_means_bitwise_equal_pandas(seed):
    """The spec is pandas' own rolling mean (min_periods = window): NaN gaps, constant runs, negative values."""
    rng = np.random.default_rng(seed)
    T = 700
    x = np.cumsum(rng.normal(0, 1, T)) + [0.0, 3000.0, -5.0][seed % 3]
    x[rng.random(T) < 0.04] = np.nan
    x[100:140] = 3.3                      # constant run: pandas returns the value itself
    x[300:330] = -0.1 * seed              # constant, zero or negative
    windows = np.array([1, 2, 3, 7, 8, 20, 60, 129, 250, 699, 700, 701], dtype=np.int64)
    got = rolling_means(x, windows)
    for j, w in enumerate(windows):
        ref = pd.Series(x).rolling(int(w), min_periods=int(w)).mean().to_numpy()
        np.testing.assert_array_equal(got[:, j], ref, err_msg=f"window {w}")


def test_rolling_means_on_csi300_all_windows():
    close = load_embedded().panel("index")["close"].iloc[:, 0]
    windows = np.arange(1, 301, dtype=np.int64)
    got = rolling_means(close.to_numpy(), windows)
    for j, w in enumerate(windows):
        np.testing.assert_array_equal(got[:, j], close.rolling(int(w), min_periods=int(w)).mean().to_numpy())


def test_cross_weights_fills_only_its_columns():
    means = np.array([[1.0, 2.0], [3.0, 2.0], [np.nan, 1.0], [2.0, 2.0]])
    out = np.full((4, 3, 2), 7.0)
    cross_weights(means, np.array([0, 1]), np.array([1, 0]), out, np.array([2, 0]), 1)
    np.testing.assert_array_equal(out[:, 2, 1], [0.0, 1.0, 0.0, 0.0])     # m0 > m1 (NaN compares False)
    np.testing.assert_array_equal(out[:, 0, 1], [1.0, 0.0, 0.0, 0.0])     # m1 > m0
    assert (out[:, 1, :] == 7.0).all() and (out[:, :, 0] == 7.0).all()


def test_batch_equals_single_signal_and_flags_invalid():
    ds = load_embedded()
    panel = ds.panel("index")
    combos = [(5, 20), (10, 60), (20, 20), (30, 10), (2, 250), (5, 20)]
    params = [{**DEFAULT, "short": s, "long": lo} for s, lo in combos]
    w, problems, _ = batch_weights(ds, "ma_timing", params, panel)
    w = w.dense()
    assert w.shape == (len(panel.dates), len(combos), 1)
    for p, (s, lo) in enumerate(combos):
        if s >= lo:
            assert f"signal.params.short': must be smaller than long ({lo}), got {s}" in problems[p]
            continue
        assert problems[p] is None
        ref = ma_timing(ds, params[p]).weights.reindex(index=panel.dates, columns=panel.codes)
        np.testing.assert_array_equal(w[:, p, :], ref.to_numpy())


def test_batch_generic_fallback_equals_compute():
    """A signal without a batched path (hold) goes through compute once per distinct parameter set."""
    ds = load_embedded()
    panel = ds.panel("index")
    w, problems, _ = batch_weights(ds, "hold", [{"panel": "index", "code": "000300.SH"}] * 2 +
                                [{"panel": "index", "code": "NOPE"}], panel)
    w = w.dense()
    assert problems[:2] == [None, None] and "NOPE" in problems[2]
    assert (w[:, :2, 0] == 1.0).all() and np.isnan(w[:, 2, :]).all()


def test_batch_other_calendar_is_reindexed_like_run_backtest():
    """MA on a panel whose calendar lacks some backtest dates: those rows are all-NaN (keep positions)."""
    ds = load_embedded()
    idx = ds.panel("index")
    short_cal = Panel("idx2", {k: v.iloc[::2] for k, v in idx.fields.items()}, "test")
    ds2 = Dataset(panels={"index": idx, "idx2": short_cal}, meta=ds.meta)
    prm = {"panel": "idx2", "code": "000300.SH", "short": 3, "long": 10}
    w, problems, _ = batch_weights(ds2, "ma_timing", [prm], idx)
    w = w.dense()
    assert problems == [None]
    ref = ma_timing(ds2, prm).weights.reindex(index=idx.dates)
    np.testing.assert_array_equal(w[:, 0, 0], ref.iloc[:, 0].to_numpy())
    assert np.isnan(w[1::2, 0, 0]).all()


def test_batch_no_lookahead():
    ds = load_embedded()
    panel = ds.panel("index")
    params = [{**DEFAULT, "short": s, "long": lo} for s, lo in ((3, 7), (10, 60))]
    base = batch_weights(ds, "ma_timing", params, panel)[0].dense()
    for cut in ("2012-06-29", "2020-03-16"):
        t = pd.Timestamp(cut)
        pert = batch_weights(perturb_after(ds, t, seed=3), "ma_timing", params, panel)[0].dense()
        upto = panel.dates <= t
        np.testing.assert_array_equal(base[upto], pert[upto])
        assert not np.array_equal(base[~upto], pert[~upto])
