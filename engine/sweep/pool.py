"""Where sweep chunks run: in this process, in local worker processes, or on Dask workers; plus the progress bar.

All executors run the same pure function (:func:`engine.sweep.execute.compute_chunk`) on the same tasks, and the
client stores every finished chunk in the cache as soon as it arrives, then orders results by chunk index, so
the result never depends on the executor or on completion order.

* ``serial``: one chunk after the other in this process.
* ``processes``: a ``concurrent.futures.ProcessPoolExecutor`` with ``workers`` processes (default: all cores),
  started by a fork server that has the engine modules preloaded (never a plain fork of this process: it may
  hold threads, e.g. pyarrow's, whose locks a forked child could inherit in a locked state). Each worker loads the
  dataset once.
* ``dask``: ``dask.distributed.Client(scheduler)``, or a ``LocalCluster(n_workers=workers or 2,
  threads_per_worker=1, processes=True)`` when no scheduler address is given. Workers load the dataset
  themselves from the task's config (so remote workers need the same data path and the ``engine`` package).
* ``auto`` (default): the first two chunks run here and the second is timed (the first also pays the process's
  one-time costs, e.g. numba's set-up on its first call, about 0.4 s, which would make a small sweep look long);
  if the rest would take more than :data:`AUTO_PARALLEL_S` seconds at that rate and there is more than one core,
  the rest runs on a process pool over all cores. Small sweeps stay in-process because starting workers costs
  about a second. The time spent on shared indicator components (:func:`engine.sweep.execute.component_store`) is
  not counted per chunk (later chunks in this process reuse them) but added to the threshold (every worker
  process would compute them again).

Test hook: ``JINGONG_SWEEP_KILL_AFTER=N`` makes the process SIGKILL itself right after storing its N-th freshly
computed chunk (a hard kill with no cleanup), so the resume path can be tested deterministically.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from engine.errors import ConfigError
from engine.sweep.execute import component_store, compute_chunk, load_cached, store

AUTO_PARALLEL_S = 3.0
EXECUTORS = ("auto", "serial", "processes", "dask")


class Progress:
    """A one-line progress bar on stderr (combinations done, combinations/s, ETA); silent unless stderr is a
    terminal (or ``enabled=True``). Rates count freshly computed combinations only, not cache hits."""

    def __init__(self, total: int, enabled: bool | None = None, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total, self.width = total, width
        self.done = self.fresh = 0
        self.t0 = time.perf_counter()
        self._last = 0.0

    def update(self, n: int, cached: bool = False) -> None:
        self.done += n
        if not cached:
            self.fresh += n
        now = time.perf_counter()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            self.stream.write("\r" + self.line(now - self.t0))
            self.stream.flush()

    def line(self, elapsed: float) -> str:
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(round(frac * self.width))
        rate = self.fresh / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = "--:--" if rate <= 0 and left else time.strftime("%H:%M:%S", time.gmtime(left / rate if left else 0))
        return (f"sweep [{bar:<{self.width}}] {self.done}/{self.total} combos  {rate:,.0f} combos/s  ETA {eta}")

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def run_tasks(tasks, executor: str = "auto", workers: int | None = None, scheduler: str | None = None,
              progress: Progress | None = None) -> tuple[dict, dict]:
    """Run every task (loading finished chunks from the cache first). Returns ``(tables, stats)``: ``tables``
    maps task index -> result DataFrame; ``stats`` = {"resumed": chunks loaded from cache, "computed": chunks
    computed now, "executor": what actually ran them, "workers": n}."""
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor}: use one of {', '.join(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise ConfigError("--scheduler needs --executor dask")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    workers = workers or os.cpu_count() or 1
    progress = progress or Progress(sum(len(t.rows) for t in tasks), enabled=False)
    tables, todo = {}, []
    for t in tasks:
        cached = load_cached(t.key)
        if cached is not None and len(cached) == len(t.rows):
            tables[t.index] = cached
            progress.update(len(t.rows), cached=True)
        else:
            todo.append(t)
    stats = {"resumed": len(tables), "computed": 0, "executor": executor, "workers": 1}
    kill_after = int(os.environ.get("JINGONG_SWEEP_KILL_AFTER", "0") or 0)

    def done(task, table):
        store(task.key, table)
        tables[task.index] = table
        stats["computed"] += 1
        progress.update(len(task.rows))
        if kill_after and stats["computed"] >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    if executor == "auto":
        stats["executor"] = "serial"
        if todo:
            comps = component_store()
            shared0 = comps.seconds
            done(todo[0], compute_chunk(todo[0]))      # also this process's first numba calls (their set-up)
            todo = todo[1:]
            per_chunk = 0.0
            if todo:                                   # the second chunk is the one timed: a warm chunk
                t0, shared1 = time.perf_counter(), comps.seconds
                done(todo[0], compute_chunk(todo[0]))
                todo = todo[1:]
                per_chunk = (time.perf_counter() - t0) - (comps.seconds - shared1)
            # indicator components computed here stay in this process for the next chunks: only the rest of a
            # chunk's time recurs per chunk, while each worker process would compute them again
            shared = comps.seconds - shared0
            if workers > 1 and len(todo) > 1 and per_chunk * len(todo) > AUTO_PARALLEL_S + shared:
                executor = "processes"
            else:
                executor = "serial"
    if not todo:
        return tables, stats
    stats["executor"] = executor
    if executor == "serial":
        for t in todo:
            done(t, compute_chunk(t))
    elif executor == "processes":
        stats["workers"] = workers
        _run_processes(todo, workers, done)
    else:
        stats["workers"] = _run_dask(todo, workers, scheduler, done)
    return tables, stats


_PRELOAD = ["engine.sweep.execute", "engine.signals.batch", "engine.backtest", "engine.metrics.vector", "engine.pipeline"]


def _alive(pid: int) -> bool:
    """True while ``pid`` runs. A killed process stays a zombie until its own parent reaps it (a caller blocked
    reading our stdout never does), so a zombie counts as gone."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


def _exit_with_parent(pid: int, period: float = 0.5) -> None:
    """Pool-worker initializer: exit when the sweep process is gone. A parent killed with SIGKILL cannot shut its
    pool down; idle workers would otherwise wait for tasks forever, holding memory and the parent's stdout.
    Also: one kernel thread per worker (the workers already use every core; see engine.backtest.kernel_threads)."""
    import threading

    os.environ.setdefault("JINGONG_THREADS", "1")

    def watch():
        while _alive(pid):
            time.sleep(period)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _run_processes(todo, workers, done) -> None:
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
    else:
        ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx, initializer=_exit_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futs = {pool.submit(compute_chunk, t): t for t in todo}
        for f in as_completed(futs):
            done(futs[f], f.result())


def compute_chunk_one_thread(task):
    """A Dask task: :func:`~engine.sweep.execute.compute_chunk` with one kernel thread (unless the worker's
    environment sets ``JINGONG_THREADS``). Dask already runs one task per worker thread on every core, so kernel
    threads on top would oversubscribe them; remote workers started by the user get this without a restart or an
    environment change, local ones also get ``JINGONG_THREADS=1`` in their environment (as the process pool)."""
    from engine.backtest.core import kernel_threads_default

    with kernel_threads_default(1):
        return compute_chunk(task)


def _run_dask(todo, workers, scheduler, done) -> int:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise ConfigError("--executor dask needs dask[distributed]: pip install -e '.[dask]'") from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=workers if workers else 2, threads_per_worker=1, processes=True,
                                   dashboard_address=None, env={"JINGONG_THREADS": "1"})
            client = Client(cluster)
    except OSError as exc:
        raise ConfigError(f"--scheduler {scheduler}: cannot connect to the Dask scheduler ({exc}); check the address "
                          f"and that 'dask scheduler' runs there") from None
    except Exception as exc:      # noqa: BLE001 - anything that answers but does not speak Dask's protocol
        if not scheduler:
            raise
        why = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise ConfigError(f"--scheduler {scheduler}: the address answered, but not as a Dask scheduler "
                          f"({type(exc).__name__}: {why}); check the host and port of 'dask scheduler'") from None
    try:
        n = len(client.scheduler_info().get("workers", {}))
        futs = {}
        for t in todo:
            f = client.submit(compute_chunk_one_thread, t, pure=False, key=f"jingong-chunk-{t.index}-{t.key[:12]}")
            futs[f.key] = (f, t)
        for f in dask_completed([f for f, _ in futs.values()]):
            done(futs[f.key][1], f.result())
        return n
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
