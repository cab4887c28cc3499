"""One entry point from ``data:`` config to a validated Dataset."""
from __future__ import annotations

from pathlib import Path

from engine.config_schema import DataConfig
from engine.data.embedded import csi300_panel, load_embedded
from engine.data.importers import import_long, import_wide
from engine.data.io import file_sha256, read_dataset
from engine.data.panel import Dataset
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
        ds = read_dataset(_resolve(cfg.path, config_dir, "data.path"))
        if "index" not in ds.panels:
            ds.panels["index"] = csi300_panel()
            ds.meta.setdefault("notes", []).append("panel 'index' (CSI 300) taken from the embedded real data")
    elif src in ("csv", "parquet"):
        path = _resolve(cfg.path, config_dir, "data.path")
        if cfg.layout == "long":
            panel = import_long(path, dict(cfg.columns), dict(cfg.units), cfg.date_format, cfg.panel)
        else:
            panel = import_wide(path, cfg.field, dict(cfg.columns), dict(cfg.units), cfg.date_format, cfg.panel)
        ds = Dataset(panels={cfg.panel: panel}, meta={"name": path.name, "synthetic": False,
                                                    "provenance": f"user {src} import from {path}"}, source=str(path))
        if path.is_file():
            ds.meta["checksums"] = {path.name: file_sha256(path)}
        if cfg.panel != "index":
            ds.panels["index"] = csi300_panel()
    elif src == "akshare":
        raise DataError("data.source: akshare is not available in this version; export your data to CSV/Parquet "
                        "and use data.source: csv (docs/data.md)")
    else:  # pragma: no cover - config validates choices
        raise DataError(f"unknown data.source {src!r}")
    return ds.validate()


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
