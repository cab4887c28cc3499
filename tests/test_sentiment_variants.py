"""情绪浓度 variants (methodology §9.1): the kernel path equals its naive twin (np.linalg.eigvalsh on each
window) on random panels for every variant; the default is the stated definition; no look-ahead."""
from __future__ import annotations

import numpy as np
import pytest

from engine.signals import sentiment as se
from tests import naive_rolling as nv


def _closes(seed, n=220, m=6):
    rng = np.random.default_rng(seed)
    common = rng.normal(0, 0.01, (n, 1))
    r = 0.6 * common + rng.normal(0, 0.01, (n, m))
    c = 100 * np.cumprod(1 + r, axis=0)
    c[[60, 150], 2] = np.nan                         # a few gaps (the column leaves the windows that hold them)
    c[:30, 0] = np.nan                               # a late starter
    c[90:100, 1] = c[89, 1]                          # a flat stretch (zero returns)
    return c


VARIANTS = [
    dict(conc_returns="daily"), dict(conc_returns="5d"), dict(conc_returns="10d"), dict(conc_returns="20d"),
    dict(conc_returns="weekly"), dict(conc_top_k=3), dict(conc_top_k=9), dict(conc_input="levels"),
    dict(conc_smooth=7), dict(conc_returns="weekly", conc_top_k=2, conc_smooth=3),
    dict(conc_returns="10d", conc_top_k=2), dict(conc_input="levels", conc_top_k=2, conc_smooth=4),
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()))
@pytest.mark.parametrize("seed", [0, 1])
def test_concentration_variant_equals_naive_twin(variant, seed):
    close = _closes(seed)
    p = se._params({"conc_window": 40, "conc_min_periods": 30, "conc_min_assets": 3, **variant})
    got = se.concentration_values(close, p)
    want = nv.concentration(close, 40, 30, 3, returns=p["conc_returns"], top_k=p["conc_top_k"],
                            levels=p["conc_input"] == "levels", smooth=p["conc_smooth"])
    assert np.isfinite(want).sum() > 50                       # not vacuous
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_default_is_stated_definition_and_top_k_bounds():
    assert (se.DEFAULTS["conc_returns"], se.DEFAULTS["conc_top_k"], se.DEFAULTS["conc_input"],
            se.DEFAULTS["conc_smooth"]) == ("daily", 1, "returns", 1)
    close = _closes(3)
    p = se._params({"conc_window": 40, "conc_min_periods": 30, "conc_min_assets": 3})
    one = se.concentration_values(close, p)
    want = np.r_[np.nan, nv.pca_share(close[1:] / close[:-1] - 1, 40, 30, 3)]   # the original twin, daily returns
    np.testing.assert_allclose(one, want, rtol=1e-10, equal_nan=True)
    three = se.concentration_values(close, {**p, "conc_top_k": 3})
    ok = ~np.isnan(one)
    assert (three[ok] >= one[ok] - 1e-12).all() and (three[ok] <= 1 + 1e-12).all()
    all_k = se.concentration_values(close, {**p, "conc_top_k": 50})
    np.testing.assert_allclose(all_k[ok], 1.0, rtol=1e-10)      # every component: the whole trace


def test_bad_variant_values_are_config_errors():
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="conc_returns"):
        se._params({"conc_returns": "monthly"})
    with pytest.raises(ConfigError, match="conc_top_k"):
        se._params({"conc_top_k": 0})


@pytest.mark.parametrize("variant", [dict(conc_returns="weekly", conc_top_k=2), dict(conc_returns="20d"),
                                     dict(conc_returns="5d", conc_smooth=3), dict(conc_returns="10d", conc_top_k=3),
                                     dict(conc_input="levels", conc_smooth=5)], ids=str)
def test_no_lookahead_concentration_variants(variant):
    from tests.lookahead import assert_no_lookahead
    from tests.test_sentiment import SMALL, make_dataset

    ds = make_dataset()
    params = {**SMALL, "conc_overlay": True, "conc_level": 0.3, **variant}
    dates = ds.panel("index").dates
    assert_no_lookahead(se.compute, ds, params, [dates[130], dates[251]], seeds=(0,))
