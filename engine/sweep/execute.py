"""Computing sweep chunks: shared signals, column-batched backtests, vectorised metrics; the chunk cache.

A **chunk** is a list of fully resolved combination configs (:class:`ChunkTask`). :func:`compute_chunk` (pure:
the same task always gives the same table, on any machine or executor) does, per chunk:

1. group the combinations by dataset (``data:`` without start/end; loaded once per process), then by signal
   parameters: each distinct parameter set's weights are computed once (:mod:`engine.signals.batch`);
2. group by everything the backtest depends on (period, execution, costs, market rules, benchmark, metrics) and
   backtest the group's weight paths as the columns of one :func:`engine.backtest.run_backtest_many` call per
   evaluation period, in column batches sized to bound memory (:func:`columns_per_batch`);
3. compute every metric column with :func:`engine.metrics.vector.vector_metrics`, plus the CSCV block sums of the
   full-period excess returns (for the probability of backtest overfitting).

It returns a DataFrame with one row per combination: ``_row`` (the combination's index in the plan),
``_problem`` (None, or why the combination was skipped), the metric columns (prefixed ``is_``, ``oos_``,
``wf<k>_is_``, ``wf<k>_oos_`` for split periods) and ``_cscv_n<k>``, ``_cscv_s<k>``, ``_cscv_q<k>``.

Cache: ``$JINGONG_CACHE_DIR/sweeps/`` (default ``~/.cache/jingong/sweeps/``), one parquet per finished chunk, named
by :func:`chunk_key` = sha256 of (format version, engine version, a hash of every engine/**/*.py file, the data
fingerprint, the resolved base config and the chunk's swept values, which together determine every combination's
config, its periods and CSCV blocks). Files are written atomically (temporary file + rename), so a killed run
leaves only complete chunks behind; a rerun loads them and computes only the rest.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine import __version__
from engine.errors import DataError
from engine.metrics.vector import METRIC_NAMES, vector_metrics

FORMAT_VERSION = 1
MEMORY_BUDGET = 96 * 2**20          # bytes of (T x columns) arrays one backtest batch may hold
_ENGINE_DIR = Path(__file__).resolve().parents[1]
_DATASETS: dict[str, object] = {}   # per-process dataset cache
_STORE = None                       # per-process shared indicator components (component_store)


@dataclass
class ChunkTask:
    """One unit of work: ``configs[i]`` is combination ``rows[i]``; ``periods`` = [(label, start, end)] with ISO
    dates or None (label '' = the config's own data.start/end); ``config_dir`` resolves relative data paths."""

    index: int
    rows: list[int]
    configs: list
    periods: list[tuple[str, str | None, str | None]]
    cscv_blocks: int
    config_dir: str | None = None
    key: str = ""
    extra: dict = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 (16 hex) of every ``engine/**/*.py`` file's path and contents (git-independent)."""
    h = hashlib.sha256()
    for p in sorted(_ENGINE_DIR.rglob("*.py")):
        h.update(str(p.relative_to(_ENGINE_DIR)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    base = os.environ.get("JINGONG_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "jingong") / "sweeps"


_KEYS: dict[tuple, str] = {}


def _section_key(*sections) -> str:
    """JSON of config sections, memoised by object identity (combinations share their unswept sections)."""
    k = tuple(id(s) for s in sections)
    if k not in _KEYS or len(_KEYS) > 100_000:
        if len(_KEYS) > 100_000:
            _KEYS.clear()
        _KEYS[k] = json.dumps([dataclasses.asdict(x) for x in sections], sort_keys=True, default=str)
    return _KEYS[k]


def data_key(cfg) -> str:
    """The dataset identity of a config: its ``data:`` section without start/end."""
    d = dataclasses.asdict(cfg.data)
    d.pop("start", None)
    d.pop("end", None)
    return json.dumps(d, sort_keys=True, default=str)


def get_dataset(cfg, config_dir: str | None):
    """The dataset of ``cfg.data`` (start/end ignored), loaded once per process."""
    from engine.data.sources import load_dataset

    k = data_key(cfg) + "|" + str(config_dir)
    if k not in _DATASETS:
        _DATASETS[k] = load_dataset(cfg.data, Path(config_dir) if config_dir else None)
    return _DATASETS[k]


def data_fingerprint(ds) -> str:
    """sha256 of the dataset's provenance meta, its panels' shapes and date ranges and every panel's close.

    A synthetic dataset with a ``generator`` entry in its meta (code hash, seed, size, numpy version: what its
    cache directory is keyed by) is a function of that entry and of its real panels (meta ``real``, the CSI 300),
    so only those panels are read and hashed: reading every panel (1,000 stocks) took longer than a small sweep."""
    h = hashlib.sha256()
    meta = {k: ds.meta.get(k) for k in ("name", "synthetic", "provenance", "checksums", "generator", "params")}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    names = sorted(ds.panels)
    real = ds.meta.get("real")
    if ds.synthetic and isinstance(ds.meta.get("generator"), dict) and isinstance(real, dict):
        names = [n for n in names if n in real]
    for name in names:
        p = ds.panels[name]
        h.update(f"{name}|{p.dates[0]}|{p.dates[-1]}|{len(p.dates)}|{list(map(str, p.codes))}".encode())
        if "close" in p:
            h.update(np.ascontiguousarray(p["close"].to_numpy(dtype=float, na_value=np.nan)).tobytes())
    return h.hexdigest()[:24]


def chunk_key(task: ChunkTask, fingerprints: dict[str, str], base: dict, keys: tuple, values: list) -> str:
    """sha256 of everything a chunk's result depends on. Each combination's config is fully determined by the
    resolved base config ``base`` and its swept ``values`` (in ``keys`` order), so those stand for the configs."""
    blob = {"format": FORMAT_VERSION, "engine": __version__, "code": code_hash(),
            "data": sorted(set(fingerprints.values())), "base": base, "keys": list(keys),
            "values": [list(v) for v in values], "periods": task.periods, "cscv": task.cscv_blocks}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()


def cache_path(key: str) -> Path:
    return cache_root() / key[:2] / f"{key}.parquet"


def load_cached(key: str) -> pd.DataFrame | None:
    p = cache_path(key)
    if not p.exists():
        return None
    try:
        return pd.read_parquet(p)
    except Exception:  # noqa: BLE001 - a damaged file is recomputed
        return None


def store(key: str, table: pd.DataFrame) -> None:
    """Write a finished chunk atomically (temporary file in the same directory, then rename)."""
    p = cache_path(key)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=p.parent)
    os.close(fd)
    try:
        table.to_parquet(tmp, index=False)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def columns_per_batch(t_all: int, n_codes: int, budget: int = MEMORY_BUDGET) -> int:
    """How many sweep columns one backtest call may take: weights (T_all x N) twice (input + lagged copy) and
    about 10 (T,) float arrays of kernel outputs and metrics temporaries per column, within ``budget`` bytes."""
    per_col = 8 * (2 * t_all * n_codes + 10 * t_all)
    return max(1, int(budget // per_col))


def _bt_group_key(cfg) -> str:
    return _section_key(cfg.data, cfg.benchmark, cfg.execution, cfg.costs, cfg.market_rules, cfg.metrics)


def _period_bounds(cfg, label, start, end, dates):
    from engine.pipeline import resolve_period

    if label == "":
        return resolve_period(cfg, dates)
    return pd.Timestamp(start), pd.Timestamp(end)


def _prefix(label: str) -> str:
    return f"{label}_" if label else ""


def compute_chunk(task: ChunkTask) -> pd.DataFrame:
    """Compute one chunk (see the module docstring). Deterministic; raises only for errors that concern every
    combination (e.g. missing data); a combination-level problem is reported in ``_problem``."""
    from engine.signals import REGISTRY

    n = len(task.configs)
    cols: dict[str, np.ndarray] = {}
    problems: list = [None] * n
    S = task.cscv_blocks

    def put(name, idx, vals):
        if name not in cols:
            cols[name] = np.full(n, np.nan)
        cols[name][idx] = vals

    by_data: dict[str, list[int]] = {}
    for i, c in enumerate(task.configs):
        by_data.setdefault(_section_key(c.data), []).append(i)
    for members in by_data.values():
        cfg0 = task.configs[members[0]]
        ds = get_dataset(cfg0, task.config_dir)
        spec = REGISTRY[cfg0.signal.name]
        ds.require(spec.requires_for(cfg0.signal.params))
        panel = ds.panel(spec.universe_for(cfg0.signal.params))
        pkey = {i: json.dumps(task.configs[i].signal.params, sort_keys=True, default=str) for i in members}
        pmap = {pkey[i]: dict(task.configs[i].signal.params) for i in members}
        distinct = list(pmap)
        per = columns_per_batch(len(panel.dates), len(panel.codes))
        for b0 in range(0, len(distinct), per):      # each distinct signal parameter set computed once
            keys = distinct[b0:b0 + per]
            pos = {k: j for j, k in enumerate(keys)}
            w, probs, rebal = _batch_weights(ds, spec.name, [pmap[k] for k in keys], panel)
            groups: dict[tuple, list[int]] = {}
            for i in members:
                if pkey[i] in pos:
                    j = pos[pkey[i]]
                    if probs[j] is not None:
                        problems[i] = probs[j]
                    else:
                        rk = None if rebal[j] is None else tuple(pd.DatetimeIndex(rebal[j]).asi8)
                        groups.setdefault((_bt_group_key(task.configs[i]), rk), []).append(i)
            for g in groups.values():                # one backtest call per group (and period)
                sel = [pos[pkey[i]] for i in g]
                wg = w if sel == list(range(w.shape[1])) else w.take(sel)
                _run_periods(task, ds, spec, panel, task.configs[g[0]], wg, np.array(g), put, problems, S,
                             {"rebalance_dates": rebal[sel[0]]})
            del w
    return pd.DataFrame({"_row": np.asarray(task.rows, dtype=np.int64),
                         "_problem": pd.Series(problems, dtype=object), **cols})


def component_store():
    """This process's store of shared indicator components (engine.signals.components), bounded by
    :data:`engine.signals.batch.COMPONENT_BUDGET` bytes; kept across chunks like the datasets."""
    global _STORE
    if _STORE is None:
        from engine.signals.batch import COMPONENT_BUDGET
        from engine.signals.components import ComponentStore

        _STORE = ComponentStore(COMPONENT_BUDGET)
    return _STORE


def _batch_weights(ds, name, params_list, panel):
    from engine.signals.batch import batch_weights

    # the scope names the dataset object: _DATASETS keeps every dataset alive, so its id is never reused
    return batch_weights(ds, name, params_list, panel, store=component_store(), scope=f"dataset-{id(ds)}")


def _run_periods(task, ds, spec, panel, cfg0, w, idx, put, problems, S, bt_kwargs):
    """Backtest the columns ``w`` (one group: same backtest settings and signal-level backtest inputs
    ``bt_kwargs``, e.g. rebalance_dates, passed to run_backtest_many exactly as run_strategy passes them to
    run_backtest) over every evaluation period; store the metric columns for combinations ``idx``."""
    from engine.backtest import backtest_dates, run_backtest_many
    from engine.pipeline import _boards, benchmark_returns

    boards = _boards(ds, spec.universe_for(cfg0.signal.params))
    active = w.codes_used()                                          # codes ever held: as run_backtest does
    if len(active) == 0:
        active = np.array([0])
    if len(active) < len(panel.codes):
        from engine.data.panel import Panel

        codes = panel.codes[active]
        panel = Panel(panel.name, {k: v[codes] for k, v in panel.fields.items()}, panel.source)
        w = w.restrict(active)
    try:
        for label, p_start, p_end in task.periods:          # one period at a time: bounded memory
            start, end = _period_bounds(cfg0, label, p_start, p_end, panel.dates)
            res = run_backtest_many(w, panel, start, end, cfg0.execution, cfg0.costs, cfg0.market_rules,
                                    boards=boards, dataset=ds, **bt_kwargs)
            dates = backtest_dates(panel.dates, start, end)
            bench = benchmark_returns(ds, cfg0, dates).to_numpy()
            m = vector_metrics(res["returns"], bench, dates, cfg0.metrics, res["turnover"], res["costs"],
                               res["value"], calendar=panel.dates)
            for k in METRIC_NAMES:
                put(_prefix(label) + k, idx, m[k])
            if label == "":
                _cscv_sums(res["returns"], cfg0.metrics, S, idx, put, panel.dates)
            del res
    except DataError as exc:
        if w.shape[1] == 1:                      # this combination's own problem (e.g. invalid weights)
            problems[idx[0]] = str(exc)
            return
        for j in range(w.shape[1]):              # find the offending column(s); the others still run
            _run_periods(task, ds, spec, panel, cfg0, w.take([j]), idx[j:j + 1], put, problems, S, bt_kwargs)


def _cscv_sums(returns: np.ndarray, mcfg, S: int, idx, put, calendar=()) -> None:
    """Per block k of S contiguous blocks of the period rows: count, sum and sum of squares of r - rf_d (ppy
    resolved from the data's ``calendar`` as in the metrics)."""
    from engine.metrics.ppy import resolve_ppy

    ppy, _ = resolve_ppy(mcfg.periods_per_year, calendar)
    rf_d = (1.0 + float(mcfg.risk_free)) ** (1.0 / ppy) - 1.0
    r = returns[1:] - rf_d
    n = r.shape[0]
    if n < S:
        return
    for k, rows in enumerate(np.array_split(np.arange(n), S)):
        blk = r[rows[0]:rows[-1] + 1]
        put(f"_cscv_n{k}", idx, float(len(rows)))
        put(f"_cscv_s{k}", idx, blk.sum(axis=0))
        put(f"_cscv_q{k}", idx, np.einsum("ij,ij->j", blk, blk))


def with_key(task: ChunkTask, fingerprints: dict[str, str], base: dict, keys: tuple, values: list) -> ChunkTask:
    return dataclasses.replace(task, key=chunk_key(task, fingerprints, base, keys, values))
