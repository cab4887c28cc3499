"""Issue 17 item 4: Dask workers run the backtest kernel in one thread per task (no oversubscription).

A Dask worker already runs one task per worker thread, with one worker per core; a task whose backtest split its
columns over ``kernel_threads()`` threads (the number of cores by default) would start cores x cores threads. The
check is on the workers themselves: after a sweep through a scheduler address (a cluster started by the user, with
no JINGONG_THREADS in its environment), no worker process holds a kernel thread ("jingong-kernel"), while a task
that calls the same chunk function without the executor's limit does create them on that same cluster (the
control shows the probe can see oversubscription)."""
import os
import threading

import pandas as pd
import pytest

from engine.backtest.core import MIN_COLS_PER_THREAD, kernel_threads, kernel_threads_default

MA = "strategies/ma_timing.yaml"


def _kernel_threads_in_worker() -> int:
    return sum(t.name.startswith("jingong-kernel") for t in threading.enumerate())


def test_default_is_scoped_and_env_wins(monkeypatch):
    monkeypatch.delenv("JINGONG_THREADS", raising=False)
    cores = os.cpu_count() or 1
    assert kernel_threads() == cores
    seen = {}
    with kernel_threads_default(1):
        assert kernel_threads() == 1
        t = threading.Thread(target=lambda: seen.setdefault("other", kernel_threads()))   # another thread: own context
        t.start()
        t.join()
        monkeypatch.setenv("JINGONG_THREADS", "3")
        assert kernel_threads() == 3                                # the user's explicit setting wins
        monkeypatch.delenv("JINGONG_THREADS")
    assert seen["other"] == cores and kernel_threads() == cores    # restored on exit


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: a kernel never splits into threads")
def test_dask_sweep_does_not_oversubscribe(tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    from engine.pipeline import config_dir
    from engine.sweep import assemble, load_raw, make_tasks, resolve_periods
    from engine.sweep.execute import compute_chunk
    from engine.sweep.grid import parse_sweep, plan
    from engine.sweep.pool import run_tasks

    monkeypatch.delenv("JINGONG_THREADS", raising=False)
    monkeypatch.setenv("JINGONG_CACHE_DIR", str(tmp_path / "cache"))
    raw, source, lines = load_raw(MA, ["sweep.chunk_size=200", "sweep.signal.params.short=[5, 6, 7, 8, 9, 10, 11, 12]",
                                       "sweep.signal.params.long=[30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, "
                                       "95, 100, 105, 110, 115, 120, 125, 130, 135, 140, 145, 150]"])
    p = plan(raw, source, parse_sweep(raw["sweep"]), lines)
    cdir = str(config_dir(p.base))
    tasks = make_tasks(p, resolve_periods(p, cdir), cdir)
    assert len(tasks) == 1 and len(tasks[0].rows) == 200 >= 2 * MIN_COLS_PER_THREAD   # big enough to be split
    serial, _ = run_tasks(tasks, "serial")
    monkeypatch.setenv("JINGONG_CACHE_DIR", str(tmp_path / "cache-dask"))   # not resumed from the serial run's chunk
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  env={"JINGONG_CACHE_DIR": str(tmp_path / "cache-w")}) as cluster, \
            distributed.Client(cluster) as client:
        assert all(v is None for v in client.run(lambda: os.environ.get("JINGONG_THREADS")).values())
        tables, stats = run_tasks(tasks, "dask", scheduler=cluster.scheduler_address)
        assert stats["computed"] == 1
        after = client.run(_kernel_threads_in_worker)
        assert sum(after.values()) == 0, after
        # control: the same chunk without the executor's limit on one worker starts kernel threads there
        w = sorted(after)[0]
        client.submit(compute_chunk, tasks[0], pure=False, workers=[w]).result()
        assert client.run(_kernel_threads_in_worker, workers=[w])[w] >= 2
    pd.testing.assert_frame_equal(assemble(p, tables)[0], assemble(p, serial)[0], check_exact=True)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: a kernel never splits into threads")
def test_local_dask_cluster_workers_get_one_thread(tmp_path, monkeypatch):
    """``--executor dask`` without a scheduler starts its own LocalCluster: its workers have JINGONG_THREADS=1 in
    their environment and hold no kernel thread after the sweep (probed just before the cluster closes)."""
    distributed = pytest.importorskip("dask.distributed")
    import dask.distributed as dd

    from engine.pipeline import config_dir
    from engine.sweep import load_raw, make_tasks, resolve_periods
    from engine.sweep.grid import parse_sweep, plan
    from engine.sweep.pool import run_tasks

    seen = {}

    class Probe(distributed.LocalCluster):
        def close(self, *args, **kwargs):
            if not seen:
                with distributed.Client(self) as c:
                    seen["env"] = sorted(c.run(lambda: os.environ.get("JINGONG_THREADS")).values())
                    seen["threads"] = sorted(c.run(_kernel_threads_in_worker).values())
            return super().close(*args, **kwargs)

    monkeypatch.setattr(dd, "LocalCluster", Probe)
    monkeypatch.delenv("JINGONG_THREADS", raising=False)
    monkeypatch.setenv("JINGONG_CACHE_DIR", str(tmp_path / "cache"))
    raw, source, lines = load_raw(MA, ["sweep.chunk_size=128", "sweep.signal.params.short=[5, 6, 7, 8, 9, 10, 11, 12]",
                                       "sweep.signal.params.long=[30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, "
                                       "95, 100, 105, 110, 115, 120, 125, 130, 135, 140, 145, 150]"])
    p = plan(raw, source, parse_sweep(raw["sweep"]), lines)
    cdir = str(config_dir(p.base))
    tasks = make_tasks(p, resolve_periods(p, cdir), cdir)
    assert [len(t.rows) for t in tasks] == [128, 72] and 128 >= 2 * MIN_COLS_PER_THREAD   # the first one splits
    _, stats = run_tasks(tasks, "dask", workers=2)
    assert stats["computed"] == 2 and stats["workers"] == 2
    assert seen == {"env": ["1", "1"], "threads": [0, 0]}
