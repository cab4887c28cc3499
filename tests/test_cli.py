"""End-to-end: the CLI as a user runs it (subprocess), on the embedded real CSI 300."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.embedded import CSI300_CSV

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, module="engine.run"):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def hold_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "hold"
    r = run_cli("strategies/hold.yaml", "--out", out)
    assert r.returncode == 0, r.stderr
    return r, out


def test_hold_outputs_and_last_line(hold_run):
    r, out = hold_run
    assert r.stdout.strip().splitlines()[-1] == f"results: {out}"
    for f in ("config.yaml", "metrics.json", "equity.csv", "weights_target.csv", "weights_held.csv", "summary.md",
              "meta.json", "yearly.csv", "equity.png"):
        assert (out / f).exists(), f
    m = json.loads((out / "metrics.json").read_text())
    assert {"strategy", "benchmark", "excess", "conventions", "period"} <= set(m)
    for side in ("strategy", "benchmark"):
        assert {"total_return", "annual_return", "annual_volatility", "sharpe", "max_drawdown"} <= set(m[side])
    assert m["data"]["synthetic"] is False
    eq = pd.read_csv(out / "equity.csv", parse_dates=["date"])
    assert list(eq.columns[:3]) == ["date", "strategy", "benchmark"]


def test_hold_benchmark_annual_return_from_csv(hold_run):
    """CSI 300 annualised return over 2022-01-01..2023-11-30 = (last/first)^(ppy/n)-1, first = base close, ppy
    (periods_per_year: auto) = the CSV calendar's mean sessions per complete calendar year (2007-2024)."""
    _, out = hold_run
    df = pd.read_csv(CSI300_CSV, parse_dates=["date"]).set_index("date")["close"]
    inside = df.loc["2022-01-01":"2023-11-30"]
    base = df.loc[:"2021-12-31"].iloc[-1]
    n = len(inside)
    ppy = df.loc["2007":"2024"].groupby(df.loc["2007":"2024"].index.year).size().mean()
    expected = (inside.iloc[-1] / base) ** (ppy / n) - 1
    m = json.loads((out / "metrics.json").read_text())
    assert m["benchmark"]["annual_return"] == pytest.approx(expected, rel=1e-12)
    assert m["period"]["n_days"] == n and m["period"]["base_date"] == "2021-12-31"


def test_hold_excess_is_minus_costs(hold_run):
    """One buy at the base close with 5 bp commission spending all cash: X(1+0.0005) = cash, so the strategy's
    total return is (1+Rb)/1.0005 - 1 exactly (no other trade, no other cost)."""
    _, out = hold_run
    m = json.loads((out / "metrics.json").read_text())
    rb = m["benchmark"]["total_return"]
    assert m["strategy"]["total_return"] == pytest.approx((1 + rb) / 1.0005 - 1, rel=1e-10)
    eq = pd.read_csv(out / "equity.csv", parse_dates=["date"]).set_index("date")
    assert eq["strategy"].iloc[0] == eq["benchmark"].iloc[0] == 1.0        # both anchored at the base close
    np.testing.assert_allclose(eq["strategy"].to_numpy()[1:], eq["benchmark"].to_numpy()[1:] / 1.0005, rtol=1e-12)
    # identical daily returns after the entry day: no day and no month is a "win" (float noise is a tie)
    assert m["excess"]["daily_win_rate"] == 0.0 and m["excess"]["monthly_win_rate"] == 0.0


def test_set_override_and_config_saved(tmp_path):
    out = tmp_path / "r"
    r = run_cli("strategies/ma_timing.yaml", "--set", "signal.params.short=10", "--set", "data.start=2015-01-01",
                "--out", out, "--no-chart")
    assert r.returncode == 0, r.stderr
    saved = (out / "config.yaml").read_text()
    assert "short: 10" in saved and "start: '2015-01-01'" in saved


@pytest.mark.parametrize("args, pattern", [
    (["strategies/ma_timing.yaml", "--set", "execution.lga=2"], "did you mean 'lag'"),
    (["strategies/ma_timing.yaml", "--set", "data.start=2001-01-01"], "before the first date of the data (2006-01-06)"),
    (["strategies/nope.yaml"], "not found"),
])
def test_errors_exit_2_one_line(args, pattern, tmp_path):
    r = run_cli(*args, "--out", tmp_path / "x")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and pattern in lines[0] and "Traceback" not in r.stderr


def test_existing_results_dir_is_never_overwritten(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    r = run_cli("strategies/hold.yaml", "--out", out)
    assert r.returncode == 2 and "never overwritten" in r.stderr
    assert (out / "precious.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1


def test_signals_asof_table():
    r = run_cli("strategies/ma_timing.yaml", "--asof", "2023-11-30", module="engine.signals")
    assert r.returncode == 0, r.stderr
    assert "as of the close of 2023-11-30" in r.stdout and "2023-12-01" not in r.stdout
