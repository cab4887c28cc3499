"""Sweeps end to end: rows equal single engine.run runs (--set), outputs, kill-and-resume, executors agree."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.metrics.vector import metrics_json_view

ROOT = Path(__file__).resolve().parents[1]
MA = ROOT / "strategies" / "ma_timing.yaml"
SPLIT = "sweep.split={in_sample: [2010-01-01, 2017-12-31], out_of_sample: [2018-01-01, 2025-12-31]}"
SWEEP_SETS = ["sweep.signal.params.short=[5, 10, 60]", "sweep.signal.params.long=[60, 120]",
              "sweep.costs.slippage_bps=[0, 10]", SPLIT, "sweep.chunk_size=4"]


def cli(*args, env=None):
    e = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "engine.run", *map(str, args)], cwd=ROOT, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc, timeout=600):
    """Wait for the CLI; on a timeout kill its whole process group (pool workers too) and fail, never hang."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"engine.run did not finish within {timeout} s: {proc.args}") from None
    return proc.returncode, out, err


def sets(items):
    return [a for s in items for a in ("--set", s)]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """One sweep and three single runs (launched together): A full period, B in-sample, C out-of-sample."""
    base = tmp_path_factory.mktemp("sweep")
    env = {"JINGONG_CACHE_DIR": str(base / "cache")}
    singles = {
        "A": ["signal.params.short=10", "signal.params.long=60", "costs.slippage_bps=0"],
        "B": ["signal.params.short=5", "signal.params.long=120", "costs.slippage_bps=10",
              "data.start=2010-01-01", "data.end=2017-12-31"],
        "C": ["signal.params.short=10", "signal.params.long=120", "costs.slippage_bps=10",
              "data.start=2018-01-01", "data.end=2025-12-31"],
    }
    procs = {"sweep": cli(MA, "--sweep", *sets(SWEEP_SETS), "--out", base / "sweep", env=env)}
    for k, s in singles.items():
        procs[k] = cli(MA, *sets(s), "--out", base / k, "--no-chart", env=env)
    results = {k: finish(p) for k, p in procs.items()}
    for k, (rc, _, err) in results.items():
        assert rc == 0, (k, err)
    return base, results


def _row(df, short, long_, slip):
    r = df[(df["signal.params.short"] == short) & (df["signal.params.long"] == long_)
           & (df["costs.slippage_bps"] == slip)]
    assert len(r) == 1
    return r.iloc[0]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rows_equal_single_runs(swept, fmt):
    base, _ = swept
    f = base / "sweep" / f"sweep.{fmt}"
    df = pd.read_csv(f) if fmt == "csv" else pd.read_parquet(f)
    for name, (short, long_, slip), prefix in (("A", (10, 60, 0), ""), ("B", (5, 120, 10), "is_"),
                                               ("C", (10, 120, 10), "oos_")):
        ref = metrics_json_view(json.loads((base / name / "metrics.json").read_text()))
        row = _row(df, short, long_, slip)
        for k, v in ref.items():
            got = row[prefix + k]
            if np.isnan(v):
                assert np.isnan(got), (name, k)
            else:
                assert got == pytest.approx(v, rel=1e-12, abs=0.0), (name, k, got, v)


def test_outputs_and_summary(swept):
    base, results = swept
    _, out, _ = results["sweep"]
    d = base / "sweep"
    assert out.strip().splitlines()[-1] == f"results: {d}"
    for f in ("sweep.parquet", "sweep.csv", "summary.md", "config.yaml", "meta.json", "sweep_skipped.csv",
              "heatmaps.png"):
        assert (d / f).exists(), f
    assert not list(d.glob("heatmap_*.png"))                 # the three pairs are panels of one figure
    assert (d / "heatmaps.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((d / "meta.json").read_text())["heatmaps"] == ["heatmaps.png"]
    assert "![heatmaps.png](heatmaps.png)" in (d / "summary.md").read_text()
    df = pd.read_parquet(d / "sweep.parquet")
    assert list(df.columns[:3]) == ["signal.params.short", "signal.params.long", "costs.slippage_bps"]
    assert len(df) == 10                                      # 12 combinations, 2 with short >= long skipped
    assert len(pd.read_csv(d / "sweep_skipped.csv")) == 2
    md = (d / "summary.md").read_text()
    assert "## Top 10 (ranked by in-sample sharpe (descending; annualised with ppy = " in md and "Deflated Sharpe" in md
    assert "Probability of backtest overfitting" in md and "2 skipped" in md
    # the top table is sorted by in-sample Sharpe
    top = df.sort_values("is_sharpe", ascending=False).iloc[0]
    first = [c.strip() for c in md.split("## Top")[1].splitlines()[4].split("|")[1:-1]]
    assert first[:5] == ["1", str(int(top["signal.params.short"])), str(int(top["signal.params.long"])),
                         str(int(top["costs.slippage_bps"])), f"{top['is_sharpe']:.3f}"]
    meta = json.loads((d / "meta.json").read_text())
    assert meta["sweep"]["n_valid"] == 10 and meta["sweep"]["chunks"] == 3
    assert 0 <= meta["selection"]["dsr"]["dsr"] <= 1 and 0 <= meta["selection"]["pbo"]["pbo"] <= 1
    assert meta["selection"]["dsr"]["n_trials"] == 10


def test_kill_and_resume(tmp_path):
    """SIGKILL after 2 of 6 chunks; the rerun loads those 2 and computes 4; the result equals a clean run.

    Serial executor: a SIGKILLed parent cannot shut its process pool down, and pool workers that inherited its
    stdout would keep the test's pipe open (seen on a cold numba cache, where `auto` moves to the pool)."""
    env = {"JINGONG_CACHE_DIR": str(tmp_path / "cache")}
    args = [MA, "--sweep", "--executor", "serial", "--set", "sweep.chunk_size=2", "--no-chart"]
    clean = cli(*args, "--out", tmp_path / "clean", env={"JINGONG_CACHE_DIR": str(tmp_path / "cache2")})
    rc, _, _ = finish(cli(*args, "--out", tmp_path / "killed", env={**env, "JINGONG_SWEEP_KILL_AFTER": "2"}))
    assert rc == -9
    assert len(list((tmp_path / "cache").rglob("*.parquet"))) == 2
    assert not any(p.name.startswith(".tmp-") for p in (tmp_path / "cache").rglob("*"))
    rc, out, err = finish(cli(*args, "--out", tmp_path / "resumed", env=env))
    assert rc == 0, err
    assert "chunks: 6 (resumed 2 from cache, computed 4;" in out
    rc2, out2, err2 = finish(clean)
    assert rc2 == 0, err2
    assert "resumed 0 from cache, computed 6" in out2
    a = pd.read_parquet(tmp_path / "resumed" / "sweep.parquet")
    b = pd.read_parquet(tmp_path / "clean" / "sweep.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    rc, out, _ = finish(cli(*args, "--out", tmp_path / "again", env=env))
    assert "resumed 6 from cache, computed 0" in out


def test_executors_identical(tmp_path, monkeypatch):
    """serial, a local process pool and a Dask LocalCluster give identical chunk tables."""
    from engine.pipeline import config_dir
    from engine.sweep import assemble, load_raw, make_tasks, resolve_periods
    from engine.sweep.grid import parse_sweep, plan
    from engine.sweep.pool import run_tasks

    raw, source, lines = load_raw(MA, ["sweep.chunk_size=3", "sweep.costs.slippage_bps=[0, 5]", SPLIT])
    p = plan(raw, source, parse_sweep(raw["sweep"]), lines)
    cdir = str(config_dir(p.base))
    tasks = make_tasks(p, resolve_periods(p, cdir), cdir)
    assert len(tasks) == 8
    out = {}
    for ex in ("serial", "processes", "dask"):
        monkeypatch.setenv("JINGONG_CACHE_DIR", str(tmp_path / ex))
        if ex == "dask":       # a scheduler address, as for a remote cluster (here a LocalCluster)
            distributed = pytest.importorskip("dask.distributed")
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          dashboard_address=None) as cluster:
                tables, stats = run_tasks(tasks, ex, scheduler=cluster.scheduler_address)
            assert stats["workers"] == 2
        else:
            tables, stats = run_tasks(tasks, ex, workers=2)
        assert stats["computed"] == 8 and stats["executor"] == ex
        out[ex] = assemble(p, tables)[0]
    pd.testing.assert_frame_equal(out["serial"], out["processes"], check_exact=True)
    pd.testing.assert_frame_equal(out["serial"], out["dask"], check_exact=True)


def test_progress_bar_line():
    import io

    from engine.sweep.pool import Progress

    buf = io.StringIO()
    bar = Progress(100, enabled=True, stream=buf, width=10)
    bar.update(40, cached=True)
    bar.update(10)
    line = bar.line(elapsed=2.0)
    assert line.startswith("sweep [#####     ] 50/100 combos") and "5 combos/s" in line and "ETA 00:00:10" in line
    assert buf.getvalue().startswith("\rsweep [")
    assert Progress(5, stream=io.StringIO()).enabled is False          # not a terminal: silent


def test_cli_errors_are_one_line():
    cases = (((MA, "--sweep", "--set", "sweep.signal.params.shortt=[5]"), "did you mean 'short'"),
             ((MA, "--executor", "dask"), "add --sweep"))
    procs = [(cli(*args), pattern) for args, pattern in cases]
    for proc, pattern in procs:
        rc, out, err = finish(proc)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and pattern in err, err


def test_generic_signal_with_rebalance_dates_equals_single_runs(tmp_path, monkeypatch):
    """A signal without a batched path (turnover rotation, monthly forced rebalancing, 31 SW L1 industries on the
    small synthetic market): every swept row equals run_strategy of that combination's config."""
    import engine.sweep.execute as se
    from engine.config import load_config
    from engine.pipeline import run_strategy
    from engine.sweep import assemble, load_raw, make_tasks, resolve_periods
    from engine.sweep.grid import parse_sweep, plan
    from engine.sweep.pool import run_tasks

    monkeypatch.setattr(se, "cache_root", lambda: tmp_path / "sweeps")     # keep the shared synthetic cache
    path = ROOT / "strategies" / "turnover_rotation.yaml"
    fixed = ["data.size=small", "data.start=2016-01-01", "data.end=2019-12-31"]
    raw, source, lines = load_raw(path, fixed + ["sweep={signal.params.st_window: [10, 20], "
                                                 "costs.slippage_bps: [0, 5], chunk_size: 3}"])
    p = plan(raw, source, parse_sweep(raw["sweep"]), lines)
    res = assemble(p, run_tasks(make_tasks(p, resolve_periods(p, None), None), "serial")[0])[0]
    assert len(res) == 4
    for _, row in res.iterrows():
        sets = fixed + [f"{k}={row[k]}" for k in p.spec.keys]
        cfg = load_config(path, sets)
        run = run_strategy(cfg, se.get_dataset(cfg, None))
        assert run.signal.rebalance_dates is not None and len(run.signal.rebalance_dates) > 40
        for k, v in metrics_json_view(run.metrics).items():
            assert (np.isnan(v) and np.isnan(row[k])) or row[k] == pytest.approx(v, rel=1e-12), (sets, k)


def test_pool_workers_exit_when_the_sweep_is_killed(tmp_path):
    """kill -9 of a sweep running on the process pool: its workers notice (the parent is gone or a zombie) and
    exit, so no orphan keeps memory or the caller's pipe; the caller gets EOF quickly."""
    args = [MA, "--sweep", "--executor", "processes", "--workers", "2", "--set", "sweep.chunk_size=2", "--no-chart"]
    proc = cli(*args, "--out", tmp_path / "killed",
               env={"JINGONG_CACHE_DIR": str(tmp_path / "cache"), "JINGONG_SWEEP_KILL_AFTER": "1"})
    rc, _, _ = finish(proc, timeout=120)
    assert rc == -9
    for _ in range(80):                      # every process of its session (forkserver, workers) is gone
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.25)
    else:
        raise AssertionError("pool processes outlived the killed sweep")
