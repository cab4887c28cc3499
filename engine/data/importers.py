"""Import a user's own CSV/Parquet exports (Wind, iFinD, Tushare shapes) into a Panel.

Layouts:
* ``long``: one row per (date, code) with one column per field, e.g. Tushare ``daily``:
  ``ts_code, trade_date, open, high, low, close, vol, amount`` -> ``columns: {ts_code: code, trade_date: date,
  vol: volume}`` and ``units: {volume: 100, amount: 1000}`` (Tushare vol is in 手 = 100 shares, amount in 千元).
* ``wide``: one file per field, ``date`` then one column per code (Wind/iFinD Excel-style exports). ``path`` is a
  single file (its field is ``data.field``) or a directory of ``<field>.csv|.parquet`` files.

``columns`` renames source columns to canonical names (see docs/data.md); ``units`` multiplies a field by a
factor to reach canonical units. Dates may be ISO (2023-11-30), 20231130 or follow ``date_format``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.panel import FLAG_FIELDS, Panel
from engine.errors import DataError

KNOWN_FIELDS = ("open", "high", "low", "close", "volume", "amount", "turnover", "float_shares", "float_mcap",
                "total_mcap", "suspended", "limit_up", "limit_down", "pe_ttm", "elg_buy", "elg_sell", "lg_buy",
                "lg_sell", "margin_balance", "margin_buy", "margin_repay")


def _read_any(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def _parse_dates(values: pd.Series, path: Path, date_format: str | None) -> pd.DatetimeIndex:
    s = values.astype(str).str.strip()
    fmt = date_format
    if fmt is None and s.str.fullmatch(r"\d{8}").all():
        fmt = "%Y%m%d"
    out = pd.to_datetime(s, format=fmt, errors="coerce")
    if out.isna().any():
        i = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise DataError(f"{path}: row {i + 2}: date {s.iloc[i]!r} cannot be parsed; set data.date_format (e.g. '%Y/%m/%d')")
    return pd.DatetimeIndex(out, name="date")


def _numeric(df: pd.DataFrame, field: str, path: Path) -> pd.DataFrame:
    if field in FLAG_FIELDS:
        return df.fillna(False).astype(bool)
    out = df.apply(pd.to_numeric, errors="coerce")
    bad = out.isna() & df.notna() & (df.astype(str).apply(lambda c: c.str.strip()) != "")
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        raise DataError(f"{path}: field '{field}' has a non-numeric value {df.iat[r, c]!r} for {df.columns[c]} on "
                        f"{df.index[r]:%Y-%m-%d}; clean the export or leave the cell empty")
    return out.astype(float)


def import_long(path: Path, columns: dict, units: dict, date_format: str | None, panel_name: str) -> Panel:
    df = _read_any(path).rename(columns=columns)
    df.columns = [str(c).strip() for c in df.columns]
    for need in ("date", "code"):
        if need not in df.columns:
            raise DataError(f"{path}: long layout needs a '{need}' column; map yours with data.columns "
                            f"(found: {', '.join(df.columns[:12])})")
    df["date"] = _parse_dates(df["date"], path, date_format)
    df["code"] = df["code"].astype(str).str.strip()
    dup = df.duplicated(["date", "code"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"{path}: duplicate row for code {df['code'].iat[i]} on {df['date'].iat[i]:%Y-%m-%d}; keep one row per (date, code)")
    fields = [c for c in df.columns if c in KNOWN_FIELDS]
    if not fields:
        raise DataError(f"{path}: no known fields among columns {', '.join(df.columns[:12])}; map them with data.columns "
                        f"to names like close, volume, amount (docs/data.md)")
    out = {}
    df = df.sort_values(["date", "code"])
    for f in fields:
        wide = df.pivot(index="date", columns="code", values=f)
        wide = _numeric(wide, f, path)
        if f in units and f not in FLAG_FIELDS:
            wide = wide * float(units[f])
        out[f] = wide
    _check_units(units, out, path)
    return Panel(panel_name, out, source=str(path))


def import_wide(path: Path, field: str, columns: dict, units: dict, date_format: str | None, panel_name: str) -> Panel:
    files = {}
    if path.is_dir():
        for p in sorted(path.iterdir()):
            if p.suffix.lower() in (".csv", ".parquet"):
                files[columns.get(p.stem, p.stem)] = p
        if not files:
            raise DataError(f"{path}: no .csv or .parquet files; a wide dataset has one file per field named <field>.csv")
    else:
        files[field] = path
    out = {}
    for f, p in files.items():
        df = _read_any(p).rename(columns=columns)
        df.columns = [str(c).strip() for c in df.columns]
        if "date" not in df.columns:
            raise DataError(f"{p}: wide layout needs a first column 'date' (found: {', '.join(df.columns[:5])}); map it with data.columns")
        idx = _parse_dates(df["date"], p, date_format)
        body = df.drop(columns=["date"])
        body.index = idx
        body = _numeric(body, f, p)
        if f in units and f not in FLAG_FIELDS:
            body = body * float(units[f])
        out[f] = body.sort_index() if body.index.is_unique else body
    # align all fields to the union of dates and codes so the panel is rectangular
    dates = sorted(set().union(*[set(v.index) for v in out.values()]))
    codes = sorted(set().union(*[set(v.columns) for v in out.values()]))
    for f in out:
        if not out[f].index.is_unique:
            d = out[f].index[out[f].index.duplicated()][0]
            raise DataError(f"{files[f]}: duplicate date {d:%Y-%m-%d}; keep one row per date")
        out[f] = out[f].reindex(index=pd.DatetimeIndex(dates, name="date"), columns=codes)
    _check_units(units, out, path)
    return Panel(panel_name, out, source=str(path))


def _check_units(units: dict, fields: dict, path: Path) -> None:
    for f, v in units.items():
        if f not in fields:
            raise DataError(f"{path}: data.units names field '{f}' that the file does not have (it has: {', '.join(fields)})")
        try:
            float(v)
        except (TypeError, ValueError):
            raise DataError(f"{path}: data.units.{f} must be a number (a scale factor), got {v!r}") from None
