"""One validator for signal parameters (engine.signals.base.ParamRules.validate): each kind of rule rejects a bad
value with one line naming ``signal.params.<key>``, the same through the CLI (a YAML, exit 2, at the key's YAML
line) and through the direct Python API (the signal module's public function, a ConfigError before any data is
read, so ``ds`` is None here); every registered signal's defaults pass; a sweep skips a combination that breaks a
rule between parameters instead of failing."""
from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine.config import _Loader
from engine.errors import ConfigError, ParamError
from engine.signals import REGISTRY
from engine.signals import crowding as cr
from engine.signals import dashboard_timing as dt
from engine.signals import sentiment as se
from engine.signals import turnover_rotation as tr
from engine.signals.basic import ma_timing
from engine.signals.crowding_indicators import CROWD_RULES
from engine.signals.xinbanjun import signal as xb

ROOT = Path(__file__).resolve().parents[1]

# (case id, strategy YAML, params changed, the key named, words of the reason, direct API call of the same params)
CASES = [
    ("unknown-key", "sentiment.yaml", {"trend_kk": 3}, "trend_kk", ["unknown parameter", "did you mean 'trend_k'"],
     lambda p: se.compute(None, p)),
    ("wrong-type", "turnover_rotation.yaml", {"st_window": "twenty"}, "st_window", ["expected an integer", "'twenty'"],
     lambda p: tr.compute(None, p)),
    ("choice", "crowding.yaml", {"flag_when": "monthend"}, "flag_when",
     ["'monthend' is not allowed", "month_end, any_day, min_days", "did you mean 'month_end'"],
     lambda p: cr.crowding_monthly(None, p)),
    ("positive", "sentiment.yaml", {"conc_window": 0}, "conc_window", ["must be > 0, got 0"],
     lambda p: se.concentration(None, p)),
    ("range", "crowding.yaml", {"hot_pct": 1.5}, "hot_pct", ["must be in (0.0, 1.0], got 1.5"],
     lambda p: cr.crowding_daily(None, p)),
    ("range-closed", "turnover_rotation.yaml", {"sell_cut": -0.5}, "sell_cut", ["must be in [0.0, 1.0], got -0.5"],
     lambda p: tr.compute(None, p)),
    ("not-above", "xinbanjun.yaml", {"val_window": 100, "val_min_periods": 120}, "val_min_periods",
     ["must not exceed val_window (100), got 120"], lambda p: xb.compute(None, p)),
    ("below", "ma_timing.yaml", {"short": 60, "long": 20}, "short", ["must be smaller than long (20), got 60"],
     lambda p: ma_timing(None, p)),
    ("not-above-sentiment", "sentiment.yaml", {"temp_window": 200, "temp_min_periods": 250}, "temp_min_periods",
     ["must not exceed temp_window (200), got 250"], lambda p: se.temperature(None, p)),
    ("custom-check", "xinbanjun.yaml", {"sectors": ["new_energy", "solar"]}, "sector_industry",
     ["sector 'solar' has no entry", "new_energy, semiconductor, defense"], lambda p: xb.compute(None, p)),
    ("custom-check-series", "dashboard_margin_timing.yaml", {"series": "margin_shar"}, "series",
     ["'margin_shar' is unknown", "did you mean 'margin_share'", "northbound_share"], lambda p: dt.compute(None, p)),
    ("custom-check-weekly", "sentiment.yaml", {"conc_returns": "weekly", "conc_window": 9, "conc_min_periods": 9},
     "conc_window", ["fewer than 2 weekly returns", "use >= 10"], lambda p: se.concentration(None, p)),
]
IDS = [c[0] for c in CASES]


def _yaml_with(tmp_path: Path, strategy: str, params: dict) -> Path:
    raw = yaml.load((ROOT / "strategies" / strategy).read_text(encoding="utf-8"), Loader=_Loader)
    raw = copy.deepcopy(raw)
    raw["signal"].setdefault("params", {})
    raw["signal"]["params"].update(params)
    raw.pop("sweep", None)
    path = tmp_path / f"bad_{strategy}"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_reports_the_key_at_its_yaml_line(case, tmp_path):
    _, strategy, params, key, words, _ = case
    path = _yaml_with(tmp_path, strategy, params)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-m", "engine.run", str(path), "--out", str(tmp_path / "out")],
                       cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    line = lines[0]
    want_line = next(i + 1 for i, t in enumerate(path.read_text(encoding="utf-8").splitlines())
                     if re.match(rf"\s+{key}:", t))
    assert f"{path.name}:{want_line}: key 'signal.params.{key}'" in line, line
    for w in words:
        assert w in line, (w, line)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_python_api_raises_the_same_config_error(case):
    _, strategy, params, key, words, call = case
    with pytest.raises(ConfigError) as exc:
        call(params)
    assert isinstance(exc.value, ParamError) and exc.value.key == key
    msg = str(exc.value)
    assert "\n" not in msg and f"key 'signal.params.{key}'" in msg
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_signals_defaults_pass(name):
    spec = REGISTRY[name]
    assert spec.validate({}) == spec.defaults
    assert spec.validate(dict(spec.defaults)) == spec.defaults        # every value given explicitly: each rule
    for key, (lo, hi, br) in spec.ranges.items():                   # the declared rules hold on the defaults
        v = spec.defaults[key]
        assert (lo is None or v >= lo) and (hi is None or v <= hi), key
    for key, other in spec.not_above.items():
        assert spec.defaults[key] <= spec.defaults[other], key
    for key, other in spec.below.items():
        assert spec.defaults[key] < spec.defaults[other], key


def test_crowding_rules_alone_pass_their_defaults_and_refuse_the_rotations_keys():
    assert CROWD_RULES.validate({}) == cr.CROWD_DEFAULTS
    with pytest.raises(ParamError, match="unknown parameter of signal 'crowding'"):
        CROWD_RULES.validate({"variant": "A"})


def test_rules_name_existing_parameters():
    from engine.signals.base import ParamRules

    with pytest.raises(ValueError, match="unknown parameters"):
        ParamRules("x", {"a": 1}, ranges={"b": (0, 1, "[]")})
    with pytest.raises(ValueError, match="ranges"):
        ParamRules("x", {"a": 1}, ranges={"a": (0, 1)})


def test_param_error_pickles_for_sweep_workers():
    import pickle

    e = ParamError("k", "must be > 0, got 0", "sig")
    f = pickle.loads(pickle.dumps(e))
    assert (f.key, f.reason, f.signal, str(f)) == ("k", "must be > 0, got 0", "sig", str(e))


def test_sweep_skips_a_combination_that_breaks_a_rule_between_parameters():
    from engine.sweep.grid import parse_sweep, plan

    raw = yaml.load((ROOT / "strategies" / "xinbanjun.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    raw = {k: v for k, v in raw.items() if k != "sweep"}
    raw["sweep"] = {"signal.params.val_window": [100, 250], "signal.params.val_min_periods": [60, 120]}
    p = plan(raw, "strategies/xinbanjun.yaml", parse_sweep(raw["sweep"]))
    assert p.rows == [(100, 60), (250, 60), (250, 120)]
    assert [row for row, _ in p.skipped] == [(100, 120)]
    assert p.skipped[0][1] == "signal.params.val_min_periods: must not exceed val_window (100), got 120"
    # a value invalid on its own still fails the whole sweep before anything runs, at the key
    raw["sweep"] = {"signal.params.val_window": [100, 0]}
    with pytest.raises(ConfigError, match=r"signal.params.val_window.*must be > 0, got 0"):
        plan(raw, "strategies/xinbanjun.yaml", parse_sweep(raw["sweep"]))
