"""The Python API (README: load_config -> load_dataset -> run_strategy) reports bad input as the CLI does: a
ConfigError naming the key and the value, never a KeyError from deep inside a signal."""
import dataclasses
from pathlib import Path

import pytest

from engine.config import load_config
from engine.data.sources import load_dataset
from engine.errors import ConfigError
from engine.pipeline import config_dir, run_strategy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hold():
    cfg = load_config(ROOT / "strategies" / "hold.yaml")
    return cfg, load_dataset(cfg.data, config_dir(cfg))


def test_unknown_signal_code_is_a_config_error(hold):
    cfg, ds = hold
    bad = dataclasses.replace(cfg, signal=dataclasses.replace(cfg.signal, params={"code": "000301.SH"}))
    with pytest.raises(ConfigError, match=r"key 'signal.params.code': '000301.SH' is not in panel 'index'.*"
                                          r"did you mean '000300.SH'"):
        run_strategy(bad, ds)


def test_unknown_benchmark_code_is_a_config_error(hold):
    cfg, ds = hold
    bad = dataclasses.replace(cfg, benchmark=dataclasses.replace(cfg.benchmark, code="000301.SH"))
    with pytest.raises(ConfigError, match=r"key 'benchmark.code': '000301.SH' is not in panel 'index'"):
        run_strategy(bad, ds)
