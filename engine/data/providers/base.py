"""What every provider adapter shares: the lazy import of an optional package, the call wrapper that turns any
provider failure into one line, column checks on the documented output, and the :class:`Fetched` record.

An adapter is ``fetch(start, end, codes) -> Fetched``: ``start``/``end`` are Timestamps (inclusive), ``codes`` a
list of canonical codes or ``None`` for the dataset's default universe. ``Fetched.frame`` is **long**:

* panel datasets: columns ``date, code`` then canonical fields (``close``, ``amount``, ...) in canonical units;
* series datasets: ``date`` then named columns;
* table datasets: any columns (no date filter).

Units are converted inside the adapter; ``units`` records "as delivered -> as stored" per field for the manifest.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from engine.errors import DataError

EXTRA_HINT = 'pip install -e ".[online]"'


class ProviderError(DataError):
    """A provider failed (network down, changed output, missing package or token): one line, exit 2."""


@dataclass
class Fetched:
    kind: str                         # panel | series | table
    frame: pd.DataFrame
    calls: list = field(default_factory=list)      # [(function, kwargs)] actually made
    units: dict = field(default_factory=dict)      # field -> "delivered -> stored"
    notes: list = field(default_factory=list)


def optional_import(module: str, extra: str = "online"):
    """Import an optional provider package, or a one-line error naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ProviderError(f"the {module} package is not installed; it is an optional extra: "
                            f"pip install -e \".[{extra}]\" (or pip install {module})") from None


def call(provider: str, fn_name: str, fn: Callable, calls: list, _frame: bool = True, **kwargs):
    """Call a provider function; any exception becomes one line naming the function and its arguments. With
    ``_frame`` (default) the result must be a DataFrame (``None`` counts as empty)."""
    calls.append((fn_name, dict(kwargs)))
    try:
        out = fn(**kwargs)
    except Exception as exc:  # noqa: BLE001 - whatever the library raises (requests, JSON, KeyError ...)
        msg = str(exc).splitlines()[0][:160] if str(exc) else ""
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise ProviderError(f"{provider}.{fn_name}({args}) failed: {type(exc).__name__}: {msg}; check the network "
                            f"(or the token) and run the fetch again, the cache is unchanged") from None
    if not _frame:
        return out
    if out is None:
        out = pd.DataFrame()
    if not isinstance(out, pd.DataFrame):
        raise ProviderError(f"{provider}.{fn_name} returned {type(out).__name__}, not a table; the library changed: "
                            f"update it or report the problem")
    return out


def require_columns(df: pd.DataFrame, cols, provider: str, fn_name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ProviderError(f"{provider}.{fn_name}: output has no column(s) {', '.join(missing)} (it has: "
                            f"{', '.join(map(str, df.columns[:12]))}); the library changed its output: update it "
                            f"or report the problem")


def to_dates(s: pd.Series) -> pd.Series:
    s = s.astype(str).str.strip()
    fmt = "%Y%m%d" if s.str.fullmatch(r"\d{8}").all() else None
    return pd.to_datetime(s, format=fmt, errors="coerce")


def in_range(df: pd.DataFrame, start, end, col: str = "date") -> pd.DataFrame:
    return df[(df[col] >= pd.Timestamp(start)) & (df[col] <= pd.Timestamp(end))]


def ymd(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y%m%d")
