"""``python -m engine.reproduce``: every §6 number of report 002 listed with a status; values checked by hand."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.reproduce.checks import INPUT_KINDS

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "engine.reproduce", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def checks():
    from engine.reproduce import REPORTS

    return REPORTS["002"]()


def test_every_section6_number_of_002_has_a_status(checks):
    assert {c.id for c in checks} == {f"C{i}" for i in range(1, 11)}
    for c in checks:
        assert c.report == "002" and c.inputs in INPUT_KINDS
        if c.inputs == "missing":
            assert c.ours is None and c.dataset and c.fetch.startswith("python -m engine.data fetch ")
        else:
            assert c.ours is not None, c
    # the shipped YAMLs run on the synthetic market with the real CSI 300: benchmark rows real, signal rows synthetic
    assert all(c.inputs == "real" for c in checks if c.item.startswith("CSI 300"))
    assert all(c.inputs == "synthetic" for c in checks if c.item.startswith("strategy"))
    assert all(c.inputs == "missing" for c in checks if c.id == "C10")


def test_values_by_hand(checks):
    from engine.data.embedded import load_csi300

    close = load_csi300()["close"]
    base = close.loc[:"2021-12-31"]
    R = close.loc["2023-11-30"] / base.iloc[-1] - 1
    n = len(close.loc["2022-01-01":"2023-11-30"])
    days = (pd.Timestamp("2023-11-30") - base.index[-1]).days
    c2 = [c for c in checks if c.item == "CSI 300 annual return 2022-01-01..2023-11-30"]
    assert c2[0].ours == pytest.approx((1 + R) ** (252 / n) - 1, rel=1e-12)
    assert c2[1].ours == pytest.approx((1 + R) ** (250 / days) - 1, rel=1e-12)
    assert round(c2[0].ours, 5) == -0.17154 and round(c2[1].ours, 5) == -0.11632     # docs/reproduction.md
    r = close.loc[:"2022-08-01"].pct_change().loc["2010-01-01":]
    c3 = {c.item: c.ours for c in checks if c.id == "C3" and c.item.startswith("CSI 300")}
    assert c3["CSI 300 sharpe 2010-01-01..2022-08-01"] == pytest.approx(r.mean() / r.std() * np.sqrt(252), rel=1e-10)
    eq = (1 + r).cumprod()
    assert c3["CSI 300 mdd 2010-01-01..2022-08-01"] == pytest.approx(-(eq / eq.cummax() - 1).min(), rel=1e-12)
    c1 = next(c for c in checks if c.id == "C1" and c.item.startswith("表1"))
    assert c1.ours == c1.published == "11 of 11"


def test_cli_table_markdown_and_errors(tmp_path):
    out = tmp_path / "r.md"
    r = _cli("002", "--out", out)
    assert r.returncode == 0, r.stderr
    md = out.read_text(encoding="utf-8")
    for i in range(1, 11):
        assert f"| C{i} |" in md
    assert "synthetic" in md and "missing" in md and "python -m engine.data fetch stocks" in r.stdout
    again = _cli("002", "--out", out)                                   # never overwrites
    assert again.returncode == 2 and "never overwritten" in again.stderr
    bad = _cli("003")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "002" in bad.stderr


def test_fetch_commands_name_real_datasets_and_providers(checks):
    from engine.data.providers import DATASETS

    cmds = {f.strip() for c in checks if c.fetch for f in c.fetch.split(";")}
    assert cmds
    for cmd in cmds:
        words = cmd.split()
        assert words[:4] == ["python", "-m", "engine.data", "fetch"] and words[5] == "--provider"
        assert words[4] in DATASETS and words[6] in DATASETS[words[4]].providers
    from engine.reproduce.seed002 import fetch_command

    for name in ("citic", "flows", "futures_if", "options_50etf", "sw_l1", "sw_membership"):   # the other gaps
        assert fetch_command(name).split()[4] == name
