"""On-disk parquet cache of generated synthetic datasets.

Location: ``$JINGONG_CACHE_DIR/synthetic/<key>/`` (default ``~/.cache/jingong/synthetic/<key>/``). The key is a
sha256 of the parameters (seed, size, effects, window), ``GENERATOR_VERSION``, a hash of the generator's source
files (this package, ``engine/kernels/synthetic.py``, ``engine/data/io.py``), the embedded CSI 300 checksum and the
numpy version, so any change of code or data regenerates. A miss generates, writes to a temporary directory
next to the target and renames it into place (atomic: readers never see a half-written entry; when two
processes race, the first rename wins and the loser's copy is deleted).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.embedded import CSI300_SHA256
from engine.data.io import read_dataset, write_dataset
from engine.data.panel import Dataset, Panel
from engine.data.synthetic.generator import GENERATOR_VERSION, SIZES, code_hash, generate, resolve_params
from engine.errors import DataError

def _write_parallel(ds: Dataset, root: Path, workers: int = 2) -> None:
    """``write_dataset`` split into one job per panel field on a small thread pool (parquet encoding releases the
    GIL). Each file is written by the same code as a plain ``write_dataset(ds, root)``, so the bytes are the same."""
    from concurrent.futures import ThreadPoolExecutor

    write_dataset(Dataset(meta=ds.meta), root)  # dataset.json first: the directory is a dataset from now on
    jobs = [Dataset(panels={name: Panel(name, {f: df}, p.source)}, meta=ds.meta)
            for name, p in ds.panels.items() for f, df in p.fields.items()]
    jobs.append(Dataset(series=ds.series, tables=ds.tables, meta=ds.meta))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda job: write_dataset(job, root), jobs))


def cache_root() -> Path:
    base = os.environ.get("JINGONG_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "jingong") / "synthetic"


KEEP_ENTRIES = 4   # synthetic datasets kept in the cache (least recently used ones are removed); env JINGONG_CACHE_KEEP


def _prune(root: Path, keep_also: Path) -> None:
    """Remove the least recently used cache entries beyond ``JINGONG_CACHE_KEEP`` (default 4). Only directories
    that look like our entries (24 hex digits holding a dataset.json) are ever removed; ``keep_also`` never is.
    Without this, every change of the generator's code (part of the key) would leave a 200 MB entry behind."""
    try:
        keep = max(1, int(os.environ.get("JINGONG_CACHE_KEEP", KEEP_ENTRIES)))
    except ValueError:
        keep = KEEP_ENTRIES
    entries = []
    for d in root.iterdir() if root.is_dir() else ():
        meta = d / "dataset.json"
        if d.is_dir() and len(d.name) == 24 and all(c in "0123456789abcdef" for c in d.name) and meta.exists():
            entries.append((meta.stat().st_mtime, d))
    entries.sort(reverse=True)
    for _, d in entries[keep:]:
        if d != keep_also:
            shutil.rmtree(d, ignore_errors=True)


def cache_key(params: dict) -> str:
    blob = json.dumps({"params": params, "version": GENERATOR_VERSION, "code": code_hash(), "csi300": CSI300_SHA256,
                       "numpy": np.__version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def load_synthetic(seed=42, size="default", effects=None, start=None, end=None):
    """The synthetic Dataset for these parameters, read from the cache (generated and cached on a miss).

    The cache holds the size's full window (or the requested one when it reaches outside it); a narrower
    ``start``/``end`` is cut from it, which gives exactly ``generate(seed, start, end, size=size, effects=effects)``.
    Timing: a hit reads parquet (about 2-4 s for 'default', well under 1 s for 'small').
    """
    from engine.data.synthetic.build import cut_window

    want = resolve_params(seed, start, end, size=size, effects=effects)
    base = SIZES[want["size"]]
    b_start = min(want["start"], base["start"])
    b_end = max(want["end"], base["end"])
    key_params = {**want, "start": b_start, "end": b_end}
    target = cache_root() / cache_key(key_params)
    ds = None
    if (target / "dataset.json").exists():
        try:
            ds = read_dataset(target)
            os.utime(target / "dataset.json")   # last use, for pruning
        except DataError:
            shutil.rmtree(target, ignore_errors=True)
            ds = None
    if ds is None:
        fresh = generate(want["seed"], b_start, b_end, size=want["size"], effects=want["effects"])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            _write_parallel(fresh, tmp)
            try:
                os.rename(tmp, target)
            except OSError:
                if not (target / "dataset.json").exists():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        # what the cache holds, read back: the same values as ``fresh`` (tests/test_synthetic_dataset.py round trip)
        # and the same memory layout as every later hit, so a run on a miss computes what later runs compute to
        # the last bit (numpy's pairwise sums depend on the layout; tests/test_synthetic_cache_layout.py)
        del fresh
        ds = read_dataset(target)
        _prune(target.parent, target)
    if (want["start"], want["end"]) != (b_start, b_end):
        ds = cut_window(ds, pd.Timestamp(want["start"]), pd.Timestamp(want["end"]))
        ds.meta = {**ds.meta, "generator": {**ds.meta["generator"], "start": want["start"], "end": want["end"]}}
    ds.source = f"synthetic(seed={want['seed']}, size={want['size']}) cache {target}"
    return ds
