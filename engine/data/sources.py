"""One entry point from ``data:`` config to a validated Dataset."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from engine.config_schema import DataConfig
from engine.data.embedded import add_embedded, csi300_panel, load_embedded
from engine.data.importers import import_long, import_wide
from engine.data.io import file_sha256, read_dataset
from engine.data.adjust import attach_dividend_factor
from engine.data.panel import DataWarning, Dataset
from engine.errors import DataError


def load_dataset(cfg: DataConfig, config_dir: Path | None = None) -> Dataset:
    """Load the dataset a strategy's ``data:`` section names. Relative paths resolve against the working
    directory first, then the config file's folder."""
    src = cfg.source
    if src == "embedded":
        ds = load_embedded()
    elif src == "synthetic":
        from engine.data.synthetic import load_synthetic

        ds = load_synthetic(seed=cfg.seed, size=cfg.size, effects=dict(cfg.effects) or None)
    elif src == "dataset":
        root = _resolve(cfg.path, config_dir, "data.path")
        ds = read_dataset(root)
        if not list(ds.panels) and not ds.series and not ds.tables:
            raise DataError(f"{root}: the dataset folder has no panels/, series/ or tables/ files; put the data there "
                            f"as in docs/data.md (nothing is read from the embedded data instead)")
        for name in list(ds.panels):
            _with_dividends(ds.panels, name)
        if "index" not in ds.panels:
            _add_embedded_index(ds, root)
    elif src in ("csv", "parquet"):
        path = _resolve(cfg.path, config_dir, "data.path")
        names: dict = {}
        if cfg.layout == "long":
            panel = import_long(path, dict(cfg.columns), dict(cfg.units), cfg.date_format, cfg.panel,
                                encoding=cfg.encoding, names=names)
        else:
            panel = import_wide(path, cfg.field, dict(cfg.columns), dict(cfg.units), cfg.date_format, cfg.panel,
                                encoding=cfg.encoding)
        attach_dividend_factor(panel)
        ds = Dataset(panels={cfg.panel: panel}, meta={"name": path.name, "synthetic": False,
                                                    "provenance": f"user {src} import from {path}"}, source=str(path))
        if names:
            ds.tables[f"{cfg.panel}_info"] = pd.DataFrame({"code": list(names), "name": list(names.values())})
        if path.is_file():
            ds.meta["checksums"] = {path.name: file_sha256(path)}
        if cfg.panel != "index":
            _add_embedded_index(ds, path)
    elif src == "cache":
        from engine.data.cache import load_cache

        ds = load_cache(cfg, config_dir)
        if "index" not in ds.panels:
            _add_embedded_index(ds, Path(ds.source))
    else:  # pragma: no cover - config validates choices
        raise DataError(f"unknown data.source {src!r}")
    if cfg.embedded:
        add_embedded(ds, cfg.embedded)
    return ds.validate()


def _with_dividends(panels, name: str) -> None:
    """Wrap a (lazy) panel so a 'dividend' field is converted to 'adj_factor' when the panel is first read."""
    from engine.data.panel import LazyPanels

    if isinstance(panels, LazyPanels) and name in panels._loaders:
        load = panels._loaders[name]
        panels._loaders[name] = lambda: attach_dividend_factor(load())
    else:
        attach_dividend_factor(panels[name])


def _add_embedded_index(ds: Dataset, where) -> None:
    """The user's data has no panel 'index': the embedded real CSI 300 is the benchmark, said out loud."""
    from engine.data.panel import LazyPanels

    msg = (f"{where}: no panel 'index' in the data: the benchmark panel 'index' is the embedded real CSI 300 "
           f"(000300.SH, 2006-01-06..2025-12-31)")
    warnings.warn(DataWarning(msg), stacklevel=3)
    if isinstance(ds.panels, LazyPanels):
        ds.panels._loaders["index"] = csi300_panel
    else:
        ds.panels["index"] = csi300_panel()
    ds.meta.setdefault("notes", []).append(msg)


def _resolve(path: str | None, config_dir: Path | None, key: str) -> Path:
    if not path:
        raise DataError(f"{key} is required for this data.source")
    p = Path(path).expanduser()
    if p.exists() or p.is_absolute() or config_dir is None:
        if not p.exists():
            raise DataError(f"{key}: {p} does not exist")
        return p
    alt = config_dir / p
    if alt.exists():
        return alt
    raise DataError(f"{key}: {p} does not exist (also looked in {config_dir})")
