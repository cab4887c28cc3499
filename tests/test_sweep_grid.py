"""engine.sweep.grid: the sweep: section -> validated combinations (parsing, ranges, random sampling, errors)."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from engine.config import _Loader
from engine.errors import ConfigError
from engine.sweep.grid import combinations, parse_sweep, plan

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.load((ROOT / "strategies" / "ma_timing.yaml").read_text(encoding="utf-8"), Loader=_Loader)


def base(**sweep):
    raw = copy.deepcopy(BASE)
    raw["sweep"] = sweep
    return raw


def test_lists_ranges_and_order():
    spec = parse_sweep({"costs.slippage_bps": [0, 5], "signal.params.long": {"start": 30, "stop": 50, "step": 10},
                        "data.start": ["2015-01-01"], "signal.params.short": 5, "top_n": 3})
    # data keys first, then signal parameters (YAML order), then the rest
    assert spec.keys == ("data.start", "signal.params.long", "signal.params.short", "costs.slippage_bps")
    assert spec.values == (("2015-01-01",), (30, 40, 50), (5,), (0, 5))       # stop is inclusive
    assert spec.top_n == 3 and spec.grid_size == 6
    rows = combinations(spec)
    assert rows[:3] == [("2015-01-01", 30, 5, 0), ("2015-01-01", 30, 5, 5), ("2015-01-01", 40, 5, 0)]


def test_float_ranges_num_and_nesting():
    spec = parse_sweep({"costs": {"commission": {"start": 0.0001, "stop": 0.0003, "step": 0.0001}},
                        "execution.rebalance_threshold": {"start": 0, "stop": 1, "num": 3}})
    assert spec.keys == ("costs.commission", "execution.rebalance_threshold")
    assert spec.values == ((0.0001, 0.0002, 0.0003), (0.0, 0.5, 1.0))


@pytest.mark.parametrize("sweep,pattern", [
    ({"mode": "grd", "signal.params.short": [5]}, "did you mean 'grid'"),
    ({"rank_by": "sharp", "signal.params.short": [5]}, "did you mean 'sharpe'"),
    ({"cscv_blocks": 5, "signal.params.short": [5]}, "must be even"),
    ({"mode": "random", "signal.params.short": [5]}, "needs the number"),
    ({"signal.params.short": []}, "empty list"),
    ({"signal.params.short": [5, 5]}, "listed twice"),
    ({"signal.params.short": {"start": 5, "stop": 1, "step": 1}}, "stop >= start"),
    ({"signal.name": ["hold"]}, "cannot be swept"),
    ({"top_n": 10}, "no parameters"),
    ({"split": {"in_sampel": [1, 2]}, "signal.params.short": [5]}, "did you mean 'in_sample'"),
    ({"split": {"walk_forward": {"folds": 0}}, "signal.params.short": [5]}, "folds"),
])
def test_option_errors(sweep, pattern):
    with pytest.raises(ConfigError, match=pattern):
        parse_sweep(sweep)


def test_random_sampling_is_deterministic_distinct_and_in_grid_order():
    sw = {"signal.params.short": list(range(1, 30)), "signal.params.long": list(range(30, 90)), "mode": "random",
          "samples": 50, "seed": 7}
    a, b = combinations(parse_sweep(sw)), combinations(parse_sweep(sw))
    grid = combinations(parse_sweep({k: v for k, v in sw.items() if k not in ("mode", "samples", "seed")}))
    assert a == b and len(set(a)) == 50 and set(a) <= set(grid)
    assert a == sorted(a, key=grid.index)
    assert a != combinations(parse_sweep({**sw, "seed": 8}))
    assert len(combinations(parse_sweep({**sw, "samples": 10_000}))) == len(grid)     # capped at the grid


def test_plan_builds_configs_like_set_overrides():
    from engine.config import load_config

    raw = base(**{"signal.params.short": [5, 10], "costs.slippage_bps": [0, 3.5]})
    p = plan(raw, "strategies/ma_timing.yaml", parse_sweep(raw["sweep"]))
    assert len(p.configs) == 4 and not p.skipped
    ref = load_config(ROOT / "strategies" / "ma_timing.yaml", ["signal.params.short=10", "costs.slippage_bps=3.5"])
    got = p.configs[p.rows.index((10, 3.5))]
    assert got.signal == ref.signal and got.costs == ref.costs and got.execution == ref.execution
    assert isinstance(got.costs.slippage_bps, float)


@pytest.mark.parametrize("sweep,pattern", [
    ({"signal.params.shortt": [5]}, "did you mean 'short'"),
    ({"execution.lagg": [1, 2]}, "did you mean 'lag'"),
    ({"signal.params.short": [5, 0]}, "must be > 0"),
    ({"costs.commission": [0.001, -1]}, "value -1 is invalid in every combination"),
    ({"market_rules.limits": ["off", "of"]}, "did you mean 'off'"),
])
def test_plan_fails_before_running_on_bad_keys_and_values(sweep, pattern):
    raw = base(**sweep)
    with pytest.raises(ConfigError, match=pattern):
        plan(raw, "strategies/ma_timing.yaml", parse_sweep(raw["sweep"]))


def test_plan_skips_combinations_invalid_only_together():
    raw = base(**{"execution.price": ["close", "open"], "execution.lag": [0, 1]})
    p = plan(raw, "strategies/ma_timing.yaml", parse_sweep(raw["sweep"]))
    assert len(p.configs) == 3
    assert [row for row, _ in p.skipped] == [("open", 0)] and "lag" in p.skipped[0][1]
