"""engine.compare: columns equal single runs on the common period; benchmark column from the raw CSV; outputs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.compare import ROWS, common_period
from engine.config import load_config
from engine.data.embedded import CSI300_CSV, load_embedded
from engine.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def cli(module, *args):
    return subprocess.Popen([sys.executable, "-m", module, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    base = tmp_path_factory.mktemp("cmp")
    procs = {
        "cmp": cli("engine.compare", "strategies/ma_timing.yaml", "strategies/hold.yaml", "--out", base / "cmp"),
        "ma": cli("engine.run", "strategies/ma_timing.yaml", "--set", "data.start=2022-01-01", "--set",
                  "data.end=2023-11-30", "--out", base / "ma", "--no-chart"),
    }
    out = {k: p.communicate(timeout=600) + (p.returncode,) for k, p in procs.items()}
    for k, (_, err, rc) in out.items():
        assert rc == 0, (k, err)
    return base, out


def test_columns_equal_single_runs_on_common_period(compared):
    base, out = compared
    stdout = out["cmp"][0]
    assert stdout.splitlines()[0].startswith("Common period 2022-01-04 .. 2023-11-30")     # hold.yaml's period
    assert stdout.strip().splitlines()[-1] == f"results: {base / 'cmp'}"
    tab = pd.read_csv(base / "cmp" / "comparison.csv", index_col="metric")
    assert list(tab.columns) == ["ma_timing", "hold", "CSI 300"]
    m = json.loads((base / "ma" / "metrics.json").read_text())
    for _, sec, key, kind in ROWS:
        ref = (m["strategy"] if sec == "s" else m["excess"])[key]
        got = tab.at[key, "ma_timing"]
        if ref is None:
            assert pd.isna(got), key
        elif kind == "date":
            assert got == ref, key
        else:
            assert float(got) == pytest.approx(ref, rel=1e-12), key
        bref = m["benchmark"].get(key) if sec == "s" else None
        if bref is not None and kind != "date":
            assert float(tab.at[key, "CSI 300"]) == pytest.approx(bref, rel=1e-12), key


def test_benchmark_column_from_the_csv(compared):
    """CSI 300 total return over the common period = last close / base-day close - 1, from the vendored CSV."""
    base, _ = compared
    tab = pd.read_csv(base / "cmp" / "comparison.csv", index_col="metric")
    close = pd.read_csv(CSI300_CSV, parse_dates=["date"]).set_index("date")["close"]
    expected = close.loc["2023-11-30"] / close.loc[:"2021-12-31"].iloc[-1] - 1
    assert float(tab.at["total_return", "CSI 300"]) == pytest.approx(expected, rel=1e-12)


def test_outputs_and_never_overwrite(compared):
    base, _ = compared
    for f in ("comparison.csv", "equity.csv", "summary.md", "comparison.png"):
        assert (base / "cmp" / f).exists(), f
    eq = pd.read_csv(base / "cmp" / "equity.csv", index_col="date")
    assert list(eq.columns) == ["ma_timing", "hold", "CSI 300"] and (eq.iloc[0] == 1.0).all()
    assert "Common period" in (base / "cmp" / "summary.md").read_text()
    p = cli("engine.compare", "strategies/hold.yaml", "--out", base / "cmp")
    _, err = p.communicate(timeout=600)
    assert p.returncode == 2 and "not empty" in err and len(err.strip().splitlines()) == 1


def test_common_period_is_the_intersection_and_rejects_disjoint():
    ds = load_embedded()
    a = load_config(ROOT / "strategies" / "ma_timing.yaml", ["data.start=2015-01-01", "data.end=2020-12-31"])
    b = load_config(ROOT / "strategies" / "hold.yaml", ["data.start=2018-06-01", "data.end=2022-12-31"])
    s, e = common_period([a, b], [ds, ds])
    assert (s, e) == (pd.Timestamp("2018-06-01"), pd.Timestamp("2020-12-31"))
    c = load_config(ROOT / "strategies" / "hold.yaml", ["data.start=2021-06-01", "data.end=2022-12-31"])
    with pytest.raises(ConfigError, match="do not overlap"):
        common_period([a, c], [ds, ds])
