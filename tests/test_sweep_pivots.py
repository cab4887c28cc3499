"""engine.sweep.report.pair_pivots (one grouping per parameter pair for the PNG heatmaps and report.html) against
pandas' own ``DataFrame.pivot_table`` per metric, which it replaces: equal frames, index, columns and dtypes."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from engine.sweep.report import pair_pivots


def _res(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    grid = list(itertools.product([5, 10, 20], ["diff", "slope"], [0.5, 1.0, 2.0], [True, False]))
    res = pd.DataFrame(grid, columns=["signal.params.k", "signal.params.trend", "costs.x", "flag"])
    for m in ("sharpe", "annual_volatility", "is_sharpe"):
        v = rng.normal(size=len(res))
        v[rng.random(len(res)) < 0.2] = np.nan                     # failed metrics
        res[m] = v
    res.loc[res["signal.params.k"] == 20, "sharpe"] = np.nan         # a whole row of one pivot is NaN
    res.loc[res["costs.x"] == 2.0, "is_sharpe"] = np.nan            # a whole column of another
    return res.sample(frac=1.0, random_state=seed).reset_index(drop=True)   # unsorted, as chunks finish


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_pivots_equal_pivot_table(seed):
    res = _res(seed)
    keys = ["signal.params.k", "signal.params.trend", "costs.x", "flag"]
    cols_aggs = [("sharpe", "max"), ("annual_volatility", "min"), ("is_sharpe", "max")]
    for a, b in itertools.combinations(keys, 2):
        got = pair_pivots(res, a, b, cols_aggs)
        assert list(got) == [c for c, _ in cols_aggs]
        for col, agg in cols_aggs:
            want = res.pivot_table(index=a, columns=b, values=col, aggfunc=agg)
            pd.testing.assert_frame_equal(got[col], want, check_exact=True)
    k_rows = pair_pivots(res, "signal.params.k", "costs.x", [("sharpe", "max")])["sharpe"]
    assert 20 not in k_rows.index and list(k_rows.index) == [5, 10]      # the all-NaN row is dropped, as pivot_table
    x_cols = pair_pivots(res, "signal.params.k", "costs.x", [("is_sharpe", "max")])["is_sharpe"]
    assert list(x_cols.columns) == [0.5, 1.0]
