"""One helper that proves a signal has no look-ahead: perturb every input after day t, recompute, and require
that every weight (and indicator) up to t is unchanged."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from engine.data.panel import Dataset, Panel


def perturb_after(ds: Dataset, t, seed: int = 0, scale: float = 0.3) -> Dataset:
    """A copy of ``ds`` where every numeric value dated after ``t`` is multiplied by a random factor in
    [1-scale, 1+scale] (prices stay positive), booleans are flipped at random, and NaN stays NaN."""
    rng = np.random.default_rng(seed)
    t = pd.Timestamp(t)

    def _pert(df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        mask = out.index > t
        if not mask.any():
            return out
        for col in out.columns:
            s = out[col]
            if s.dtype == bool:
                flip = rng.random(mask.sum()) < 0.3
                vals = s.to_numpy().copy()
                vals[mask] = np.where(flip, ~vals[mask], vals[mask])
                out[col] = vals
            elif np.issubdtype(s.dtype, np.number):
                vals = s.to_numpy(dtype=float).copy()
                vals[mask] = vals[mask] * rng.uniform(1 - scale, 1 + scale, mask.sum())
                out[col] = vals
        return out

    panels = {n: Panel(p.name, {f: _pert(df) for f, df in p.fields.items()}, p.source) for n, p in ds.panels.items()}
    series = {n: _pert(df) for n, df in ds.series.items()}
    return Dataset(panels=panels, series=series, tables=copy.deepcopy(ds.tables), meta=dict(ds.meta), source=ds.source)


def assert_no_lookahead(compute, ds: Dataset, params: dict, cut_dates, seeds=(0, 1)) -> None:
    """``compute(ds, params) -> SignalResult``. For each cut date t, weights and indicators up to t must be
    identical (NaN-aware) after perturbing everything after t."""
    base = compute(ds, params)
    for t in cut_dates:
        for seed in seeds:
            alt = compute(perturb_after(ds, t, seed=seed), params)
            for name, a, b in (("weights", base.weights, alt.weights), ("indicators", base.indicators, alt.indicators)):
                if a is None or len(a) == 0:
                    continue
                a_, b_ = a.loc[:t], b.loc[:t]
                pd.testing.assert_frame_equal(a_, b_, check_exact=True, obj=f"{name} up to {t} (seed {seed})")
            # and the perturbation must actually reach the future, or the test proves nothing
            later = base.weights.index > pd.Timestamp(t)
            assert later.any(), f"cut date {t} leaves no future rows to perturb"
