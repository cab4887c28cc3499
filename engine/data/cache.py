"""The local parquet cache of online data: incremental, atomic, with a manifest per dataset.

Layout (root = ``data.path`` or ``$JINGONG_DATA_DIR``, default ``~/.local/share/jingong``)::

    ROOT/<dataset>/CURRENT                 the name of the live version folder (replaced atomically)
    ROOT/<dataset>/v000004/data.parquet    long frame: date[, code], fields in canonical units
    ROOT/<dataset>/v000004/manifest.json   provider, package version, calls, units, coverage, rows, sha256, history

A fetch writes a complete new version folder, then replaces ``CURRENT`` with ``os.replace`` (atomic on POSIX and
Windows): a fetch killed at any point leaves the previous version live and unchanged; leftovers are removed by the
next fetch. ``coverage`` maps each code (or ``*`` = the dataset's default universe) to the contiguous date range
already fetched; a new fetch asks the provider only for the dates outside it (``--refresh`` asks for everything).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from engine.data.providers import DATASETS, dataset_spec, get_adapter
from engine.data.providers.base import ProviderError
from engine.errors import DataError

DAY = pd.Timedelta(days=1)


def data_root(path: str | Path | None = None) -> Path:
    if path:
        return Path(path).expanduser()
    env = os.environ.get("JINGONG_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jingong"


def fetch_hint(name: str, start=None, end=None, codes=None) -> str:
    cmd = f"python -m engine.data fetch {name}"
    if start is not None:
        cmd += f" --start {pd.Timestamp(start):%Y-%m-%d}"
    if end is not None:
        cmd += f" --end {pd.Timestamp(end):%Y-%m-%d}"
    if codes:
        cmd += " --codes " + " ".join(codes)
    return cmd


# ---------------------------------------------------------------- reading

def current_dir(root: Path, name: str) -> Path | None:
    cur = root / name / "CURRENT"
    if not cur.is_file():
        return None
    d = root / name / cur.read_text(encoding="utf-8").strip()
    return d if (d / "manifest.json").is_file() and (d / "data.parquet").is_file() else None


def read_entry(root: Path, name: str, verify: bool = True) -> tuple[pd.DataFrame, dict] | None:
    d = current_dir(root, name)
    if d is None:
        return None
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    if verify and _sha256(d / "data.parquet") != manifest.get("sha256"):
        raise DataError(f"{d / 'data.parquet'}: does not match its manifest (sha256); fetch it again with "
                        f"{fetch_hint(name)} --refresh")
    return pd.read_parquet(d / "data.parquet"), manifest


def cached_datasets(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and current_dir(root, p.name) is not None)


# ---------------------------------------------------------------- incremental fetch

def _missing(cover: list | None, start: pd.Timestamp, end: pd.Timestamp) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Date ranges of [start, end] outside the contiguous covered range; gaps are filled to keep it contiguous."""
    if not cover:
        return [(start, end)]
    a, b = pd.Timestamp(cover[0]), pd.Timestamp(cover[1])
    out = []
    if start < a:
        out.append((start, a - DAY))
    if end > b:
        out.append((b + DAY, end))
    return out


def fetch(name: str, start, end, codes: list[str] | None = None, provider: str | None = None,
          root: str | Path | None = None, refresh: bool = False, adapter=None) -> dict:
    """Fetch ``name`` for [start, end] (and ``codes``) into the cache; returns the new manifest.

    ``adapter`` replaces the provider function (tests)."""
    spec = dataset_spec(name)
    root = data_root(root)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end < start:
        raise DataError(f"--end {end:%Y-%m-%d} is before --start {start:%Y-%m-%d}")
    prov, fn = (provider or spec.providers[0], adapter) if adapter else get_adapter(name, provider)
    old = None if refresh else read_entry(root, name)
    if old is not None and old[1]["provider"] != prov:
        raise DataError(f"{root / name}: cached from {old[1]['provider']}, not {prov}; fetch with --provider "
                        f"{old[1]['provider']} or add --refresh to replace it")
    cover = dict(old[1]["coverage"]) if old else {}
    keys = list(codes) if (codes and spec.coded) else ["*"]
    plan: dict[tuple, list[str]] = {}
    if spec.kind == "table":
        plan[(start, end)] = keys
    else:
        for k in keys:
            for rng in _missing(cover.get(k), start, end):
                plan.setdefault(rng, []).append(k)
    frames, calls, units, notes = [], [], {}, []
    covered = []                                    # (range, keys) actually fetched, for the coverage
    for (s, e), ks in sorted(plan.items()):
        got = fn(s, e, None if ks == ["*"] else ks)
        frames.append(got.frame)
        returned = sorted(map(str, got.frame["code"].unique())) if ks == ["*"] and "code" in got.frame else []
        covered.append(((s, e), ks + returned))     # codes of the default universe are covered one by one too
        calls.extend(got.calls)
        units.update(got.units)
        notes.extend(n for n in got.notes if n not in notes)
    new = [f for f in frames if len(f)]
    if old is None and plan and not new:
        raise ProviderError(f"{prov}: no rows for dataset '{name}' between {start:%Y-%m-%d} and {end:%Y-%m-%d}"
                            f"{' for ' + ', '.join(codes) if codes else ''}; check the dates and codes")
    if not plan:
        return old[1]
    key_cols = ["date", "code"] if spec.kind == "panel" else (["date"] if spec.kind == "series" else None)
    if spec.kind == "table":
        data = pd.concat(new, ignore_index=True) if new else (old[0] if old else pd.DataFrame())
    else:
        parts = ([old[0]] if old is not None else []) + new
        data = pd.concat(parts, ignore_index=True, sort=False) if parts else pd.DataFrame(columns=key_cols)
        data["date"] = pd.to_datetime(data["date"])
        data = data.drop_duplicates(key_cols, keep="last").sort_values(key_cols, kind="stable").reset_index(drop=True)
    for (s, e), ks in covered:
        for k in ks:
            c = cover.get(k)
            cover[k] = [min(s, pd.Timestamp(c[0])).strftime("%Y-%m-%d") if c else s.strftime("%Y-%m-%d"),
                        max(e, pd.Timestamp(c[1])).strftime("%Y-%m-%d") if c else e.strftime("%Y-%m-%d")]
    manifest = _manifest(spec, prov, data, cover, calls, units, notes, old[1] if old else None, plan)
    _write_version(root, name, data, manifest)
    return manifest


def _package_version(provider: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(provider)
    except Exception:  # noqa: BLE001 - not installed (a test adapter)
        return None


def _manifest(spec, provider, data, cover, calls, units, notes, old, plan) -> dict:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    dates = pd.to_datetime(data["date"]) if "date" in data.columns and len(data) else None
    run = {"fetched_at": now, "ranges": [[f"{s:%Y-%m-%d}", f"{e:%Y-%m-%d}", ks] for (s, e), ks in sorted(plan.items())],
           "calls": [[f, {k: str(v) for k, v in kw.items()}] for f, kw in calls[:200]], "n_calls": len(calls)}
    return {
        "dataset": spec.name, "kind": spec.kind, "target": spec.target, "provider": provider,
        "package_version": _package_version(provider), "fetched_at": now,
        "units_stored": "canonical (docs/data.md): yuan, shares, percent turnover",
        "units": {**(old or {}).get("units", {}), **units},
        "coverage": cover, "rows": int(len(data)),
        "date_range": [f"{dates.min():%Y-%m-%d}", f"{dates.max():%Y-%m-%d}"] if dates is not None else None,
        "codes": sorted(map(str, data["code"].unique())) if "code" in data.columns else None,
        "columns": [str(c) for c in data.columns], "notes": list(dict.fromkeys((old or {}).get("notes", []) + notes)),
        "history": ((old or {}).get("history", []) + [run])[-50:],
    }


def _write_version(root: Path, name: str, data: pd.DataFrame, manifest: dict) -> None:
    base = root / name
    try:
        base.mkdir(parents=True, exist_ok=True)
        for p in base.iterdir():                      # leftovers of a killed fetch
            if p.is_dir() and ".tmp-" in p.name:
                shutil.rmtree(p, ignore_errors=True)
        cur = current_dir(root, name)
        n = int(cur.name[1:]) + 1 if cur is not None else 1
        final = base / f"v{n:06d}"
        tmp = base / f"v{n:06d}.tmp-{os.getpid()}"
        tmp.mkdir()
        out = data.copy()
        out.columns = [str(c) for c in out.columns]
        out.to_parquet(tmp / "data.parquet", index=False, compression="zstd")
        manifest["sha256"] = _sha256(tmp / "data.parquet")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        ptr = base / f"CURRENT.tmp-{os.getpid()}"
        ptr.write_text(final.name, encoding="utf-8")
        os.replace(ptr, base / "CURRENT")             # the commit point
    except OSError as exc:
        raise DataError(f"{base}: cannot write the cache ({exc.strerror or exc}); set JINGONG_DATA_DIR to a writable "
                        f"folder") from None
    if cur is not None and cur != final:
        shutil.rmtree(cur, ignore_errors=True)


def _sha256(path: Path) -> str:
    from engine.data.io import file_sha256

    return file_sha256(path)


# ---------------------------------------------------------------- to a Dataset

def load_cache(cfg, config_dir: Path | None = None):
    """The Dataset of ``data: {source: cache, datasets: [...], start, end}``; one-line error naming the fetch
    command for a missing dataset or range."""
    from engine.data.panel import Dataset, LazyFields, Panel

    root = data_root(cfg.path)
    names = cfg.datasets
    names = [names] if isinstance(names, str) else list(names or [])
    if not names:
        names = cached_datasets(root)
        if not names:
            raise DataError(f"{root}: the data cache is empty; fetch a dataset first, e.g. {fetch_hint('sw_l1')} "
                            f"(needs the [online] extra and the network)")
    start = pd.Timestamp(cfg.start) if cfg.start else None
    end = pd.Timestamp(cfg.end) if cfg.end else None
    longs: dict[str, list[pd.DataFrame]] = {}
    ds = Dataset(meta={"name": "cache", "synthetic": False, "provenance": [], "checksums": {}}, source=str(root))
    for name in names:
        spec = dataset_spec(name)
        entry = read_entry(root, name)
        if entry is None:
            raise DataError(f"{root}: dataset '{name}' is not in the cache; run: {fetch_hint(name, start, end)}")
        data, man = entry
        if spec.kind != "table":
            covers = [v for v in man["coverage"].values()]
            lo = max(pd.Timestamp(c[0]) for c in covers)
            hi = min(pd.Timestamp(c[1]) for c in covers)
            if (start is not None and start < lo) or (end is not None and end > hi):
                raise DataError(f"{root}: dataset '{name}' is cached for {lo:%Y-%m-%d}..{hi:%Y-%m-%d}, the period needs "
                                f"{(start or lo):%Y-%m-%d}..{(end or hi):%Y-%m-%d}; run: "
                                f"{fetch_hint(name, min(start or lo, lo), max(end or hi, hi))}")
        ds.meta["provenance"].append(f"{name}: {man['provider']} {man.get('package_version') or ''} fetched "
                                     f"{man['fetched_at']} ({man['rows']} rows)")
        ds.meta["checksums"][f"{name}/data.parquet"] = man["sha256"]
        ds.meta.setdefault("notes", []).extend(man.get("notes", []))
        if spec.kind == "table":
            ds.tables[spec.target] = data
        elif spec.kind == "series":
            s = data.copy()
            s["date"] = pd.to_datetime(s["date"])
            ds.series[spec.target] = s.set_index("date").sort_index()
        else:
            longs.setdefault(spec.target, []).append(data)
    for target, parts in longs.items():
        long = parts[0]
        for p in parts[1:]:
            long = long.merge(p, on=["date", "code"], how="outer", suffixes=("", "_dup"))
        long["date"] = pd.to_datetime(long["date"])
        wide_idx = long.set_index(["date", "code"]).sort_index()
        fields = [c for c in wide_idx.columns if not c.endswith("_dup")]

        def load(f, w=wide_idx):
            out = w[f].unstack("code")
            out.index = pd.DatetimeIndex(out.index, name="date")
            out.columns.name = None
            return out if out.dtypes.map(lambda t: t == bool).all() else out.astype(float)

        where = f"{root}: panel '{target}'"
        ds.panels[target] = Panel(target, LazyFields({f: (lambda f=f: load(f)) for f in fields}, where=where),
                                  source=str(root / target))
    return ds


def describe(root: Path) -> list[dict]:
    rows = []
    for name in cached_datasets(root):
        entry = read_entry(root, name, verify=False)
        man = entry[1]
        rows.append({"dataset": name, "provider": man["provider"], "version": man.get("package_version") or "-",
                     "range": "..".join(man["date_range"]) if man.get("date_range") else "-", "rows": man["rows"],
                     "codes": len(man["codes"]) if man.get("codes") else "-", "fetched": man["fetched_at"],
                     "known": name in DATASETS})
    return rows
