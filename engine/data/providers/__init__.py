"""Online data providers: one module per provider, each an ``ADAPTERS`` dict ``dataset -> fetch(start, end,
codes) -> Fetched`` (see :mod:`engine.data.providers.base`). The packages are optional (``pip install -e
".[online]"``) and imported inside the adapters, so nothing here touches the network or needs them to import.

``DATASETS`` names where each dataset lands in a :class:`engine.data.panel.Dataset` and which providers give it.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.errors import DataError


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str                  # panel | series | table
    target: str                # panel / series / table name in the Dataset
    providers: tuple           # first = default
    coded: bool                # one partition per code (incremental per code)
    description: str


DATASETS = {d.name: d for d in (
    DatasetSpec("sw_l1", "panel", "sw_l1", ("akshare", "tushare"), True,
                "Shenwan L1 daily OHLC, volume, amount, turnover %, PE, PB, float market value"),
    DatasetSpec("sw_membership", "table", "membership", ("akshare",), False,
                "point-in-time SW industry of every stock (2021 scheme, L1 codes)"),
    DatasetSpec("index", "panel", "index", ("akshare", "tushare"), True,
                "CSI/SSE/SZSE index daily bars and PE (000300.SH, 000905.SH, 000852.SH, 000016.SH by default)"),
    DatasetSpec("stocks", "panel", "stocks", ("baostock",), True,
                "stock daily bars (unadjusted), amount, turnover %, suspension, ST flag, adj_factor"),
    DatasetSpec("margin", "series", "margin", ("akshare",), False, "SSE + SZSE margin totals"),
    DatasetSpec("northbound", "series", "northbound", ("akshare",), False,
                "northbound turnover and net buying (net buying blank from 2024-08-19)"),
    DatasetSpec("futures_if", "series", "futures_if", ("akshare",), False, "CSI 300 futures main contract and expiry"),
    DatasetSpec("options_50etf", "series", "options_50etf", ("akshare",), False,
                "50ETF option call/put volume (split by volume, not turnover)"),
    DatasetSpec("fund_issuance", "series", "fund_issuance", ("akshare",), False, "monthly new equity/hybrid funds"),
    DatasetSpec("etf_shares", "panel", "etf_shares", ("akshare",), True, "SSE ETF shares outstanding"),
    DatasetSpec("flows", "series", "flows", ("tushare",), False,
                "market totals of large / extra-large order buys and sells, and amount (主力买入占比)"),
    DatasetSpec("citic", "panel", "citic_l3", ("tushare",), True, "CITIC industry index closes (level-3 codes)"),
)}


def dataset_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset '{name}' (known: {', '.join(DATASETS)})") from None


def get_adapter(dataset: str, provider: str | None = None):
    """The fetch function of ``dataset`` from ``provider`` (default: the dataset's first provider)."""
    import importlib

    spec = dataset_spec(dataset)
    provider = provider or spec.providers[0]
    if provider not in spec.providers:
        raise DataError(f"dataset '{dataset}' is not available from {provider} (available: {', '.join(spec.providers)})")
    mod = importlib.import_module(f"engine.data.providers.{provider}")
    return provider, mod.ADAPTERS[dataset]
