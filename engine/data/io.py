"""Read and write a Dataset directory (the layout of ``docs/data.md``).

::

    DIR/dataset.json                      {"name", "synthetic", "description", "provenance", ...}
    DIR/panels/<panel>/<field>.parquet    wide: a 'date' column (or index) then one column per code
    DIR/series/<name>.parquet             a 'date' column (or index) then named columns
    DIR/tables/<name>.parquet             any static table (no date index)

Every file may be ``.parquet`` or ``.csv``. The synthetic market and a user's real dataset are read by the same
code path (:func:`read_dataset`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from engine.data.panel import FLAG_FIELDS, Dataset, LazyFields, LazyPanels, LazySeries, LazyTables, Panel
from engine.errors import DataError

_EXTS = (".parquet", ".csv")


def _read_frame(path: Path, dated: bool) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    if dated and len(df) == 0:          # an empty static table is legitimate (e.g. no delistings in a window)
        raise DataError(f"{path}: has a header ({', '.join(map(str, df.columns[:6]))}) but no data rows; export the "
                        f"data again or remove the file")
    if not dated:
        return df
    if "date" in df.columns:
        df = df.set_index("date")
    elif df.index.name != "date":
        raise DataError(f"{path}: no 'date' column; the first column must be named 'date' (see docs/data.md)")
    try:
        idx = pd.to_datetime(df.index)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: column 'date' has values that are not dates ({exc})") from None
    df.index = pd.DatetimeIndex(idx, name="date")
    df.columns = [str(c) for c in df.columns]
    return df


def _files(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        if p.suffix in _EXTS and p.is_file():
            if p.stem in out:
                raise DataError(f"{folder}: both {out[p.stem].name} and {p.name} exist; keep one of them")
            out[p.stem] = p
    return out


def read_dataset(root: str | Path, panels: list[str] | None = None) -> Dataset:
    """Read a dataset directory; ``panels`` limits which panels are loaded (all by default)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset directory does not exist; create it as described in docs/data.md")
    meta_path = root / "dataset.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8-sig")) if meta_path.exists() else {}
    except json.JSONDecodeError as exc:
        raise DataError(f"{meta_path}: not valid JSON ({exc.msg} at line {exc.lineno}); fix or delete the file") from None
    lazy = {}
    pdir = root / "panels"
    if pdir.is_dir():
        for sub in sorted(p for p in pdir.iterdir() if p.is_dir()):
            if panels is not None and sub.name not in panels:
                continue
            if _files(sub):
                lazy[sub.name] = (lambda sub=sub: _read_panel(sub))
    series = {name: (lambda path=path: _read_frame(path, dated=True)) for name, path in _files(root / "series").items()}
    tables = {name: (lambda path=path: _read_frame(path, dated=False)) for name, path in _files(root / "tables").items()}
    # panels, series and tables are read (and checked) on first access: a run reads what its strategy needs
    return Dataset(panels=LazyPanels(lazy), series=LazySeries(series, where=str(root)), tables=LazyTables(tables),
                   meta=meta, source=str(root))


def _read_field(path: Path, fname: str, panel: str | None = None) -> pd.DataFrame:
    from engine.data.codes import normalize_codes

    df = _read_frame(path, dated=True)
    df.columns = normalize_codes(list(df.columns), panel, str(path))      # 801010 -> 801010.SI, sh000300 -> 000300.SH
    if fname in FLAG_FIELDS:
        return df.fillna(False).astype(bool)
    if all(pd.api.types.is_numeric_dtype(t) for t in df.dtypes):
        return df.astype(float)
    return df.apply(pd.to_numeric, errors="coerce").astype(float)


def _read_panel(sub: Path) -> Panel:
    """A panel whose fields are read (and validated) on first access."""
    loaders = {fname: (lambda path=path, fname=fname: _read_field(path, fname, sub.name))
               for fname, path in _files(sub).items()}
    return Panel(sub.name, LazyFields(loaders, where=f"{sub}: panel '{sub.name}'"), source=str(sub))


def write_dataset(ds: Dataset, root: str | Path, fmt: str = "parquet") -> Path:
    """Write ``ds`` under ``root`` (deterministic bytes for identical content). Refuses a non-empty foreign dir."""
    root = Path(root)
    if root.exists() and any(root.iterdir()) and not (root / "dataset.json").exists():
        raise DataError(f"{root}: exists and is not a dataset directory; choose an empty or new --out")
    ext = "." + fmt
    for pname, panel in ds.panels.items():
        d = root / "panels" / pname
        d.mkdir(parents=True, exist_ok=True)
        for fname, df in panel.fields.items():
            _write_frame(df, d / (fname + ext), dated=True)
    for name, df in ds.series.items():
        (root / "series").mkdir(parents=True, exist_ok=True)
        _write_frame(df, root / "series" / (name + ext), dated=True)
    for name, df in ds.tables.items():
        (root / "tables").mkdir(parents=True, exist_ok=True)
        _write_frame(df, root / "tables" / (name + ext), dated=False)
    (root / "dataset.json").write_text(json.dumps(ds.meta, indent=2, ensure_ascii=False, sort_keys=True, default=str), encoding="utf-8")
    return root


def _write_frame(df: pd.DataFrame, path: Path, dated: bool) -> None:
    out = df.copy()
    out.columns = [str(c) for c in out.columns]
    if dated:
        out.index.name = "date"
        out = out.reset_index()
    if path.suffix == ".parquet":
        out.to_parquet(path, index=False, compression="zstd")
    else:
        out.to_csv(path, index=False)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
