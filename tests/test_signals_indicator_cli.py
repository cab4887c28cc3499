"""``python -m engine.signals CONFIG --indicator NAME``: one indicator with only its own inputs (issue 11 item 5)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from engine.signals import sentiment as S
from tests.test_sentiment import SMALL, make_dataset

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "engine.signals", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=600)


def _write(tmp_path: Path) -> tuple[Path, pd.Series]:
    """A dataset with only panel index and panel citic_l3 (no flows, futures or options)."""
    ds = make_dataset()
    root = tmp_path / "ds"
    for panel in ("index", "citic_l3"):
        (root / "panels" / panel).mkdir(parents=True)
        ds.panel(panel)["close"].reset_index().to_csv(root / "panels" / panel / "close.csv", index=False)
    (root / "dataset.json").write_text(json.dumps({"name": "conc-only", "synthetic": False}))
    params = "\n".join(f"    {k}: {v}" for k, v in SMALL.items())
    cfg = tmp_path / "conc.yaml"
    cfg.write_text(f"name: conc_only\ndata: {{source: dataset, path: {root}}}\n"
                   f"benchmark: {{panel: index, code: 000300.SH, name: CSI 300}}\n"
                   f"signal:\n  name: sentiment\n  params:\n{params}\n", encoding="utf-8")
    return cfg, S.concentration(ds, SMALL)


def test_concentration_alone_without_flows_futures_options(tmp_path):
    cfg, want = _write(tmp_path)
    r = _cli(cfg, "--indicator", "浓度", "--csv", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "indicator 'concentration'" in r.stdout
    got = pd.read_csv(next((tmp_path / "out").glob("concentration_*.csv")), index_col=0, parse_dates=True,
                      encoding="utf-8-sig")["concentration"]
    assert len(got) == 20
    np.testing.assert_allclose(got.to_numpy(), want.tail(20).to_numpy(), rtol=1e-12)
    # the full signal still needs everything, and says which input is missing (exit 2, one line)
    full = _cli(cfg)
    assert full.returncode == 2 and len(full.stderr.strip().splitlines()) == 1 and "flows" in full.stderr
    # temperature alone needs the flows: the error names them
    t = _cli(cfg, "--indicator", "temperature")
    assert t.returncode == 2 and "flows" in t.stderr and len(t.stderr.strip().splitlines()) == 1


def test_unknown_indicator_lists_the_available_ones(tmp_path):
    cfg, _ = _write(tmp_path)
    r = _cli(cfg, "--indicator", "温湿度")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    for name in ("concentration", "temperature", "expectation", "浓度"):
        assert name in r.stderr
