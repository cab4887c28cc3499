"""Panel and Dataset: the one canonical in-memory schema every source produces and every signal consumes.

* A **Panel** is a set of aligned ``date x code`` frames, one per field (``close``, ``amount``, ...). All frames
  share one sorted, unique ``DatetimeIndex`` named ``date`` and one column index of codes.
* A **Dataset** is a collection of named panels (``index``, ``sw_l1``, ``stocks``, ``citic_l3``, ...), named
  date-indexed series frames (``flows``, ``futures_if``, ...), static tables (``sw_l1_info``, ``membership``) and
  ``meta`` (``synthetic``, ``provenance``, ``checksums``). The layout on disk is documented in ``docs/data.md``.

Canonical units: prices in index points / CNY, ``volume`` in shares, ``amount`` in CNY, ``turnover`` in percent
(1.23 means 1.23% of float shares traded), boolean flags (``suspended``, ``limit_up``, ``limit_down``) as bool.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from engine.data.embedded_files import _load_csi300_frame
from engine.errors import DataError, JingongWarning

PRICE_FIELDS = ("open", "high", "low", "close")
FLAG_FIELDS = ("suspended", "limit_up", "limit_down")
NONNEGATIVE_FIELDS = ("volume", "amount", "turnover", "float_shares", "float_mcap", "total_mcap", "dividend")
SPIKE_RATIO = 5.0          # a close more than 5x (or under 1/5 of) the previous close in one day is suspicious
GAP_DAYS = 5               # more than this many SSE trading days missing inside a panel's span is suspicious


class DataWarning(JingongWarning):
    """Accepted but suspicious input (a 100x one-day price move, trading days missing against the calendar, ...).
    Shown on stderr (the command lines print it as one ``warning: ...`` line); never silent."""


def _fmt_dates(idx: Iterable, n: int = 3) -> str:
    vals = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in list(idx)[:n]]
    more = len(list(idx)) - n
    return ", ".join(vals) + (f" (+{more} more)" if more > 0 else "")


def _fmt_codes(codes: Iterable, n: int = 5) -> str:
    codes = [str(c) for c in codes]
    return ", ".join(codes[:n]) + (f" (+{len(codes) - n} more)" if len(codes) > n else "")


@dataclass
class Panel:
    """Aligned ``date x code`` frames. ``source`` names where it came from, for error messages."""

    name: str
    fields: dict[str, pd.DataFrame]
    source: str = "<memory>"

    def __post_init__(self):
        if not self.fields:
            raise DataError(f"{self.source}: panel '{self.name}' has no fields")

    @property
    def dates(self) -> pd.DatetimeIndex:
        return self.fields[next(iter(self.fields))].index

    @property
    def codes(self) -> pd.Index:
        return self.fields[next(iter(self.fields))].columns

    def __getitem__(self, field_name: str) -> pd.DataFrame:
        try:
            return self.fields[field_name]
        except KeyError:
            raise DataError(
                f"{self.source}: panel '{self.name}' has no field '{field_name}' "
                f"(it has: {', '.join(sorted(self.fields))}); add it to the data or pick a signal that does not need it"
            ) from None

    def __contains__(self, field_name: str) -> bool:
        return field_name in self.fields

    def get(self, field_name: str, default=None):
        return self.fields.get(field_name, default)

    def slice_dates(self, start=None, end=None) -> "Panel":
        return Panel(self.name, {k: v.loc[start:end] for k, v in self.fields.items()}, self.source)

    def validate(self, required: Iterable[str] = ()) -> "Panel":
        validate_panel(self, required)
        return self


class _LazyDict(dict):
    """A dict whose values are produced by loaders on first access (then checked by ``_check``)."""

    def __init__(self, loaders: dict | None = None):
        super().__init__()
        self._loaders = dict(loaders or {})

    def _check(self, key, value) -> None:  # pragma: no cover - overridden
        pass

    def __missing__(self, key):
        if key in self._loaders:
            value = self._loaders[key]()
            self._check(key, value)
            del self._loaders[key]
            dict.__setitem__(self, key, value)
            return value
        raise KeyError(key)

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or key in self._loaders

    def __iter__(self):
        return iter(list(dict.keys(self)) + [k for k in self._loaders if not dict.__contains__(self, k)])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def keys(self):
        return list(iter(self))

    def _load_all(self) -> None:
        for k in list(self._loaders):
            self[k]

    def values(self):
        self._load_all()
        return dict.values(self)

    def items(self):
        self._load_all()
        return dict.items(self)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def loaded(self) -> dict:
        return dict(dict.items(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(loaded={list(dict.keys(self))}, on_disk={list(self._loaders)})"


class LazyPanels(_LazyDict):
    """Panels read from disk (and validated) on first access: a strategy touches only the panels it needs (the
    sentiment model never reads the 1,000-stock panel of the synthetic market). ``values()``/``items()`` load
    everything; ``loaded()`` does not."""

    def _check(self, key, panel) -> None:
        validate_panel(panel)


class LazyTables(_LazyDict):
    """Static tables read from disk on first access."""


class LazySeries(_LazyDict):
    """Dated series read from disk on first access, their dates then validated (:func:`validate_index`): a
    strategy reads the series it needs (the sentiment model 3 of the synthetic market's 12)."""

    def __init__(self, loaders: dict | None = None, where: str = "<dataset>"):
        super().__init__(loaders)
        self._where = where

    def _check(self, key, df) -> None:
        validate_index(df.index, f"{self._where}: series '{key}'")


class LazyFields(_LazyDict):
    """Fields of one panel read on first access, each validated against the first field read (same dates, same
    codes) and on its own (prices > 0, no all-empty code). The crowding signal reads 2 of the 18 stock fields."""

    def __init__(self, loaders: dict | None = None, where: str = "<panel>"):
        super().__init__(loaders)
        self._where = where

    def add_loader(self, key, loader) -> None:
        self._loaders[key] = loader

    def _check(self, key, df) -> None:
        loaded = dict.values(self)
        check_field(self._where, key, df, next(iter(loaded)) if loaded else None)
        other = {"high": "low", "low": "high"}.get(key)
        if other and dict.__contains__(self, other):
            hi, lo = (df, dict.__getitem__(self, other)) if key == "high" else (dict.__getitem__(self, other), df)
            check_high_low(self._where, hi, lo)


@dataclass
class Dataset:
    panels: dict[str, Panel] = field(default_factory=dict)
    series: dict[str, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    source: str = "<memory>"

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    def panel(self, name: str) -> Panel:
        try:
            return self.panels[name]
        except KeyError:
            raise DataError(
                f"{self.source}: dataset has no panel '{name}' (it has: {', '.join(sorted(self.panels)) or 'none'}); "
                f"use a data source that provides it (e.g. data.source: synthetic) or add panels/{name}/ to the dataset"
            ) from None

    def get_series(self, name: str) -> pd.DataFrame:
        try:
            return self.series[name]
        except KeyError:
            raise DataError(
                f"{self.source}: dataset has no series '{name}' (it has: {', '.join(sorted(self.series)) or 'none'}); "
                f"add series/{name}.parquet (or .csv) to the dataset"
            ) from None

    def table(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except KeyError:
            raise DataError(
                f"{self.source}: dataset has no table '{name}' (it has: {', '.join(sorted(self.tables)) or 'none'}); "
                f"add tables/{name}.parquet (or .csv) to the dataset"
            ) from None

    def require(self, needs: Iterable[str]) -> None:
        """Check requirements like ``"panel:sw_l1.turnover"``, ``"series:flows.elg_buy"``, ``"table:membership"``."""
        for need in needs:
            kind, _, rest = need.partition(":")
            name, _, col = rest.partition(".")
            if kind == "panel":
                p = self.panel(name)
                if col:
                    p[col]
            elif kind == "series":
                s = self.get_series(name)
                if col and col not in s.columns:
                    raise DataError(
                        f"{self.source}: series '{name}' has no column '{col}' (it has: {', '.join(map(str, s.columns))})"
                    )
            elif kind == "table":
                self.table(name)
            else:  # pragma: no cover - programming error
                raise ValueError(f"bad requirement {need!r}")

    def validate(self) -> "Dataset":
        """Validate every panel and series in memory (lazy ones are validated when they are first read)."""
        panels = self.panels.loaded().values() if isinstance(self.panels, LazyPanels) else self.panels.values()
        for p in panels:
            validate_panel(p)
        series = self.series.loaded() if isinstance(self.series, LazySeries) else self.series   # lazy: on read
        for name, s in series.items():
            validate_index(s.index, f"{self.source}: series '{name}'")
        return self


def validate_index(idx: pd.Index, where: str) -> None:
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError(f"{where}: index must be dates, got {type(idx).__name__}; name the date column 'date'")
    if idx.hasnans:
        raise DataError(f"{where}: {int(idx.isna().sum())} rows have no date; drop them or fix the date column")
    dup = idx[idx.duplicated()]
    if len(dup):
        raise DataError(f"{where}: duplicate dates {_fmt_dates(dup.unique())}; keep one row per date")
    if not idx.is_monotonic_increasing:
        bad = idx[1:][np.asarray(idx[1:] <= idx[:-1])]
        raise DataError(f"{where}: dates are not sorted ascending (first out of order: {_fmt_dates(bad)}); sort by date")


def validate_panel(panel: Panel, required: Iterable[str] = ()) -> None:
    """Raise a one-line DataError for anything that would silently corrupt a backtest."""
    where = f"{panel.source}: panel '{panel.name}'"
    for f in required:
        if f not in panel.fields:
            raise DataError(
                f"{where} is missing field '{f}' that the chosen signal needs (it has: {', '.join(sorted(panel.fields))})"
            )
    fields = panel.fields.loaded() if isinstance(panel.fields, LazyFields) else panel.fields
    ref = None
    for fname, df in fields.items():
        check_field(where, fname, df, ref)
        if ref is None:
            ref = df
    if "high" in fields and "low" in fields:
        check_high_low(where, fields["high"], fields["low"])


def check_high_low(where: str, high: pd.DataFrame, low: pd.DataFrame) -> None:
    h = high.to_numpy(dtype=float, na_value=np.nan)
    lo = low.reindex(index=high.index, columns=high.columns).to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = h < lo - 1e-9 * np.abs(lo)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{where}: high < low on {int(bad.sum())} rows, e.g. {high.columns[c]} on {high.index[r]:%Y-%m-%d} "
                        f"(high {h[r, c]}, low {lo[r, c]}); the columns may be swapped: fix the export")


def _warn(msg: str) -> None:
    import warnings

    warnings.warn(DataWarning(msg), stacklevel=4)


def check_spikes(where: str, close: pd.DataFrame) -> None:
    """Warn about one-day close moves above SPIKE_RATIO (up or down): a price typed in fen, a missing decimal
    point, a split without an adjustment factor."""
    v = close.to_numpy(dtype=float, na_value=np.nan)
    if v.shape[0] < 2:
        return
    prev = pd.DataFrame(v).ffill().to_numpy()[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = v[1:] / prev
        bad = (ratio > SPIKE_RATIO) | (ratio < 1 / SPIKE_RATIO)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        _warn(f"{where} field 'close': {int(bad.sum())} one-day moves beyond x{SPIKE_RATIO:g} or /{SPIKE_RATIO:g}, "
              f"e.g. {close.columns[c]} on {close.index[r + 1]:%Y-%m-%d} ({ratio[r, c] - 1:+.0%}); check the export "
              f"(units, decimal point, a split without adj_factor)")


def check_calendar(where: str, dates: pd.DatetimeIndex) -> None:
    """Warn when the dates miss more than GAP_DAYS SSE trading days (the embedded CSI 300 calendar,
    2006-01-06..2025-12-31) inside their own span: returns over the hole are multi-day moves."""
    if len(dates) < 20:
        return
    cal = _load_csi300_frame().index
    cal = cal[(cal >= dates[0]) & (cal <= dates[-1])]
    if len(cal) < 20:
        return
    missing = cal.difference(dates)
    if len(missing) > GAP_DAYS:
        _warn(f"{where}: {len(missing)} SSE trading days between {dates[0]:%Y-%m-%d} and {dates[-1]:%Y-%m-%d} have "
              f"no row (first: {_fmt_dates(missing)}); returns across the hole span several days: complete the export")


def check_field(where: str, fname: str, df: pd.DataFrame, ref: pd.DataFrame | None) -> None:
    """Validate one field of a panel against a reference field of the same panel (``None`` for the first)."""
    fw = f"{where} field '{fname}'"
    validate_index(df.index, fw)
    if ref is not None:
        if not df.index.equals(ref.index):
            extra = df.index.difference(ref.index)
            miss = ref.index.difference(df.index)
            raise DataError(
                f"{fw}: dates are not aligned with the other fields "
                f"(extra: {_fmt_dates(extra) or 'none'}; missing: {_fmt_dates(miss) or 'none'})"
            )
        if not df.columns.equals(ref.columns):
            extra = df.columns.difference(ref.columns)
            miss = ref.columns.difference(df.columns)
            raise DataError(
                f"{fw}: codes are not aligned with the other fields "
                f"(extra: {_fmt_codes(extra) or 'none'}; missing: {_fmt_codes(miss) or 'none'})"
            )
    if df.columns.duplicated().any():
        raise DataError(f"{fw}: duplicate codes {_fmt_codes(df.columns[df.columns.duplicated()].unique())}")
    if fname in FLAG_FIELDS:
        return
    vals = df.to_numpy(dtype=float, na_value=np.nan) if len(df.columns) else np.empty((len(df), 0))
    allnan = np.isnan(vals).all(axis=0) if len(vals) else np.zeros(vals.shape[1], bool)
    if allnan.any():
        raise DataError(
            f"{fw}: all values are missing for codes {_fmt_codes(df.columns[allnan])}; drop those codes or fix the export"
        )
    if fname in NONNEGATIVE_FIELDS:
        with np.errstate(invalid="ignore"):
            neg = vals < 0
        if neg.any():
            r, c = np.nonzero(neg)
            raise DataError(f"{fw}: {int(neg.sum())} negative values, e.g. {df.columns[c[0]]} on "
                            f"{df.index[r[0]]:%Y-%m-%d} = {vals[r[0], c[0]]}; {fname} cannot be negative: fix the export")
    if fname in PRICE_FIELDS or fname == "adj_factor":
        with np.errstate(invalid="ignore"):
            bad = vals <= 0
        if bad.any():
            r, c = np.nonzero(bad)
            raise DataError(
                f"{fw}: {int(bad.sum())} non-positive prices, e.g. {df.columns[c[0]]} on "
                f"{df.index[r[0]]:%Y-%m-%d} = {vals[r[0], c[0]]}; prices must be > 0 (missing days should be empty)"
            )
    if fname == "close":
        check_spikes(where, df)
        check_calendar(where, df.index)
