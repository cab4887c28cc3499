"""Paths, checksums and raw readers of the embedded real data files (data/embedded/); no Panel here, so the
panel checks (:func:`engine.data.panel.check_calendar`: the SSE calendar of the embedded CSI 300) can read them.
The panels and tables built from these files are in :mod:`engine.data.embedded`."""
from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

CSI300_CODE = "000300.SH"
EMBEDDED_DIR = Path(__file__).resolve().parents[2] / "data" / "embedded"
CSI300_CSV = EMBEDDED_DIR / "csi300_000300.csv"
CSI300_SHA256 = "00db7c52e703238c28152c5817205b2d4ef0bca56aff74516376498edb0bee83"
ETF_PARQUET = EMBEDDED_DIR / "etf_panel_daily.parquet"
ETF_SHA256 = "0de061f6b1d49b40de6009a29c0eec5185a67a2b7eaaf9dd060fd2f2f10d35aa"
# source units -> canonical: volume in lots (手, 100 units) -> units; amount in 千元 -> yuan
ETF_UNITS = {"volume": 100.0, "amount": 1000.0}
ETF_FIELDS = ("open", "high", "low", "close", "volume", "amount")
MEMBERSHIP_CSV = EMBEDDED_DIR / "index_membership.csv"
MEMBERSHIP_SHA256 = "826184e790d3b9bd0baf131ca93be22ca9c20e52011902a4ceba3bd425e648c7"


@functools.lru_cache(maxsize=1)
def _load_csi300_frame() -> pd.DataFrame:
    df = pd.read_csv(CSI300_CSV, parse_dates=["date"], index_col="date")
    df.index = pd.DatetimeIndex(df.index, name="date")
    return df.astype(float)
