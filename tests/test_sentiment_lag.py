"""Execution timing of the sentiment model (issue 11 item 7): the lag-sensitivity line equals separate runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.signals import sentiment as S

ROOT = Path(__file__).resolve().parents[1]
SETS = ["data.size=small", "data.start=2019-01-01", "data.end=2021-12-31"]


def test_lag_sensitivity_equals_separate_runs():
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import config_dir, run_strategy

    cfg = load_config(ROOT / "strategies" / "sentiment.yaml", SETS)
    assert cfg.execution.lag == S.REPORT_LAG == 1          # the YAML uses the lag that mirrors the report's rows
    ds = load_dataset(cfg.data, config_dir(cfg))
    run = run_strategy(cfg, ds)
    tab = S.lag_sensitivity(run)["lag_sensitivity"]
    for lag in (0, 1, 2):
        other = run_strategy(load_config(ROOT / "strategies" / "sentiment.yaml", SETS + [f"execution.lag={lag}"]), ds)
        want = float(np.prod(1.0 + other.backtest.returns.to_numpy()) - 1.0)
        assert tab.loc["total return", f"lag {lag}"] == pytest.approx(want, rel=1e-12, abs=1e-14)
    assert tab.loc["total return", "used"] == "lag 1"
    line = S.format_lag_line(tab)
    assert "\n" not in line and "lag 0" in line and "lag 1" in line and "(used)" in line and "lag 2" in line


def test_lag_line_open_price_has_no_lag0():
    tab = pd.DataFrame([{"lag 0": np.nan, "lag 1": 0.1234, "lag 2": -0.02, "used": "lag 1"}], index=["total return"])
    assert S.format_lag_line(tab).endswith("lag 0 n/a | lag 1 +12.34% (used) | lag 2 -2.00%")
