"""The command lines as a user meets them: --version, help for every argument, --quiet, --json, the sweep plan
(count, estimate, cap, --dry-run), the SYNTHETIC banner on the same stream for runs and sweeps, and meta.json's
command as typed and dirty flag."""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from engine.report import SYNTH_BANNER

ROOT = Path(__file__).resolve().parents[1]
MA = str(ROOT / "strategies" / "ma_timing.yaml")
SYNTH_EW = {"name": "ew", "data": {"source": "synthetic", "size": "small", "start": "2020-01-01", "end": "2020-12-31"},
            "benchmark": {"panel": "index", "code": "000300.SH", "name": "CSI 300"},
            "signal": {"name": "equal_weight"}, "costs": {"stamp_duty": "none"}, "market_rules": {"limits": "off"}}


def _parsers():
    from engine.compare import build_parser as compare
    from engine.data.__main__ import build_parser as data
    from engine.run import build_parser as run

    d = data()
    sub = next(a for a in d._actions if isinstance(a, argparse._SubParsersAction))
    return {"run": run(), "compare": compare(), "data": d, "data synth": sub.choices["synth"]}


@pytest.mark.parametrize("name", ["run", "compare", "data", "data synth"])
def test_every_argument_has_help(name):
    p = _parsers()[name]
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            continue
        assert a.help and a.help.strip(), f"{name}: {a.option_strings or a.dest} has no help"


def test_signals_help_is_plain_text(capsys):
    from engine.signals.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "``" not in out and ":func:" not in out
    for opt in ("--asof", "--csv", "--set", "--version"):
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(opt))
        assert len(line.split(None, 2)) >= 2, line


@pytest.mark.parametrize("module,argv", [("engine.run", []), ("engine.compare", []), ("engine.signals.__main__", []),
                                         ("engine.data.__main__", [])])
def test_version(module, argv, capsys):
    import importlib

    from engine import __version__

    with pytest.raises(SystemExit) as e:
        importlib.import_module(module).main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip().endswith(f"(jingong) {__version__}")


def test_help_examples_are_valid(tmp_path, capsys):
    """Each example in ``python -m engine.run --help`` runs (sweeps as their dry run)."""
    from engine.run import EPILOG, main

    examples = [ln.strip() for ln in EPILOG.splitlines() if ln.strip().startswith("python -m engine.run")]
    assert len(examples) >= 3 and not any("signal.params.k=" in e for e in examples)
    for i, ex in enumerate(examples):
        argv = shlex.split(ex)[3:]
        argv = [str(ROOT / a) if a.startswith("strategies/") else a for a in argv]
        if "--out" in argv:
            argv[argv.index("--out") + 1] = str(tmp_path / f"o{i}")
        elif "--dry-run" not in argv:
            argv += ["--out", str(tmp_path / f"o{i}")]
        argv += ["--no-chart"]
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 0, f"{ex}: {err}"


def test_quiet_and_json(tmp_path, capsys):
    from engine.run import main

    assert main([MA, "--quiet", "--no-chart", "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().out == f"results: {tmp_path / 'q'}\n"
    assert main([MA, "--json", "--no-chart", "--out", str(tmp_path / "j")]) == 0
    doc = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "j" / "metrics.json").read_text())
    assert doc.pop("results") == str(tmp_path / "j")
    assert doc == saved and doc["data"]["synthetic"] is False


def test_meta_records_command_as_typed_and_dirty_flag(tmp_path, capsys):
    from engine.run import main

    argv = [MA, "--set", "signal.params.short=10", "--no-chart", "--out", str(tmp_path / "m")]
    assert main(argv) == 0
    capsys.readouterr()
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["command"] == "python -m engine.run " + shlex.join(argv)
    r = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode == 0:
        assert meta["git_dirty"] is bool(r.stdout.strip())
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        assert meta["git_commit"] == head


def test_sweep_plan_dry_run_and_cap(tmp_path, capsys):
    from engine.run import main

    out = tmp_path / "s"
    assert main([MA, "--sweep", "--dry-run", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sweep plan: 12 combinations (grid; 4 signal.params.short x 3 signal.params.long)" in text
    assert "estimate" in text and "GB" in text and "dry run" in text
    assert not out.exists()
    assert main([MA, "--sweep", "--max-combinations", "11", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "12 combinations" in err and "--max-combinations 12" in err and not out.exists()


def test_one_combination_is_singular_and_banner_on_stdout_for_run_and_sweep(tmp_path, capsys):
    from engine.run import main

    c = tmp_path / "ew.yaml"
    c.write_text(yaml.safe_dump({**SYNTH_EW, "sweep": {"execution.lag": [1]}}), encoding="utf-8")
    assert main([str(c), "--no-chart", "--out", str(tmp_path / "r")]) == 0
    run_out = capsys.readouterr().out
    assert main([str(c), "--sweep", "--no-chart", "--out", str(tmp_path / "s")]) == 0
    sweep_out = capsys.readouterr().out
    assert SYNTH_BANNER in run_out and SYNTH_BANNER in sweep_out
    assert "sweep plan: 1 combination (" in sweep_out and "1 combination run" in sweep_out
    assert "1 combinations" not in sweep_out


def test_compare_json_full_precision(tmp_path, capsys):
    import pandas as pd

    from engine.compare import main

    hold = str(ROOT / "strategies" / "hold.yaml")
    assert main([hold, MA, "--json", "--no-chart", "--out", str(tmp_path / "c")]) == 0
    doc = json.loads(capsys.readouterr().out)
    csv = pd.read_csv(tmp_path / "c" / "comparison.csv", index_col="metric")
    assert doc["results"] == str(tmp_path / "c") and doc["synthetic_columns"] == []
    for col in csv.columns:
        assert doc["metrics"]["sharpe"][col] == float(csv.at["sharpe", col])      # written with %.17g: exact
        assert doc["metrics"]["total_return"][col] == float(csv.at["total_return", col])
    assert doc["metrics"]["beta"]["CSI 300"] is None
