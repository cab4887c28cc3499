"""Import a user's own CSV/Parquet exports (Wind, iFinD, Tushare, akshare shapes) into a Panel.

Layouts:
* ``long``: one row per (date, code) with one column per field, e.g. Tushare ``daily``:
  ``ts_code, trade_date, open, high, low, close, vol, amount`` -> ``columns: {ts_code: code, trade_date: date,
  vol: volume}`` and ``units: {volume: 100, amount: 1000}`` (Tushare vol is in 手 = 100 shares, amount in 千元).
  ``path`` may be a **folder of per-code files** (one file per index or stock, as Wind exports them); the code
  comes from a ``code`` column or, when there is none, from the file name (``801010.csv``, ``sh000300.csv``).
* ``wide``: one file per field, ``date`` then one column per code (Wind/iFinD Excel-style exports). ``path`` is a
  single file (its field is ``data.field``) or a directory of ``<field>.csv|.parquet`` files.

``columns`` renames source columns to canonical names (see docs/data.md); ``units`` multiplies a field by a
factor to reach canonical units, either one number per field or per code: ``{amount: {510300.SH: 1000, '*': 1}}``.
Dates may be ISO (2023-11-30), 20231130 or follow ``date_format``. Text files are read as UTF-8 (with or without
BOM), UTF-16 with a BOM, or else GB18030 (a superset of GBK, what Chinese Windows exports use); ``encoding``
forces one. Codes are normalised (:mod:`engine.data.codes`); a ``name`` column becomes the table
``<panel>_info``. Fields are converted and validated when first read, so a column the strategy does not use
(a Wind ``open`` of 0, a text column) does not block the load.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.codes import normalize_codes
from engine.data.panel import FLAG_FIELDS, DataWarning, LazyFields, Panel
from engine.errors import DataError

KNOWN_FIELDS = ("open", "high", "low", "close", "volume", "amount", "turnover", "float_shares", "float_mcap",
                "total_mcap", "suspended", "limit_up", "limit_down", "pe_ttm", "pb", "elg_buy", "elg_sell", "lg_buy",
                "lg_sell", "margin_balance", "margin_buy", "margin_repay", "adj_factor", "dividend")
ZERO_MEANS_MISSING = ("open", "high", "low")      # Wind writes 0 when an index has no open/high/low that day
_EMPTY = ("", "nan", "NaN", "None", "<NA>")     # empty cells; anything else non-numeric ('N/A', '--') is an error
_TEXT_EXTS = (".csv", ".txt", ".tsv")
_EXTS = _TEXT_EXTS + (".parquet",)


def decode(raw: bytes, path: Path, encoding: str | None = None) -> str:
    """Bytes of a text export -> str: ``encoding`` if given, else BOM, else UTF-8, else GB18030."""
    if encoding:
        try:
            return raw.decode(encoding)
        except LookupError:
            raise DataError(f"{path}: data.encoding '{encoding}' is not an encoding Python knows "
                            f"(use utf-8, gbk, gb18030 or utf-16)") from None
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not valid {encoding} at byte {exc.start}; set data.encoding to the file's "
                            f"encoding (or leave it out to detect UTF-8 / GBK)") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: neither UTF-8 nor GBK/GB18030 (bad byte at {exc.start}); set data.encoding "
                        f"to the file's encoding") from None


def read_table(path: Path, encoding: str | None = None) -> pd.DataFrame:
    """One CSV/TXT/Parquet file as strings-or-numbers, with a one-line error for anything unreadable or empty."""
    try:
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        else:
            text = decode(path.read_bytes(), path, encoding)
            sep = "\t" if path.suffix.lower() == ".tsv" or ("\t" in text.split("\n", 1)[0] and "," not in text.split("\n", 1)[0]) else ","
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{path}: has a header ({', '.join(df.columns[:6])}) but no data rows; export the data again")
    return df


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


def _drop_footer(df: pd.DataFrame) -> pd.DataFrame:
    """Wind/iFinD exports end with lines like '数据来源：Wind' and empty cells: drop trailing rows that have no
    value outside the first column."""
    rest = df.drop(columns=[df.columns[0]]).replace("", np.nan)
    filled = rest.notna().any(axis=1).to_numpy()
    if filled.all() or not filled.any():
        return df
    last = int(np.flatnonzero(filled)[-1])
    return df.iloc[: last + 1]


def _numeric(df: pd.DataFrame, field: str, where: str) -> pd.DataFrame:
    if field in FLAG_FIELDS:
        s = df.replace({"": np.nan, "True": True, "False": False, "true": True, "false": False, "1": True, "0": False})
        return s.fillna(False).astype(bool)
    text = df.astype(str).apply(lambda c: c.str.strip().str.replace(",", "", regex=False))
    empty = df.isna() | text.isin(_EMPTY)
    out = text.mask(empty).apply(pd.to_numeric, errors="coerce")
    bad = out.isna() & ~empty
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        raise DataError(f"{where}: field '{field}' has a non-numeric value {df.iat[r, c]!r} for {df.columns[c]} on "
                        f"{df.index[r]:%Y-%m-%d}; clean the export or leave the cell empty")
    return out.astype(float)


def _unit_factor(units: dict, field: str, codes, where: str):
    """Scale factor(s) of ``field``: a number, or a per-code mapping (``'*'`` = default)."""
    spec = units.get(field)
    if spec is None:
        return None
    if isinstance(spec, dict):
        norm = {}
        for k, v in spec.items():
            key = "*" if str(k) == "*" else normalize_codes([k], None, where)[0]
            norm[key] = _as_factor(v, f"{field}.{k}", where)
        unknown = [k for k in norm if k != "*" and k not in set(codes)]
        if unknown:
            raise DataError(f"{where}: data.units.{field} names codes not in the data: {', '.join(unknown[:5])}")
        return pd.Series([norm.get(c, norm.get("*", 1.0)) for c in codes], index=codes, dtype=float)
    return _as_factor(spec, field, where)


def _as_factor(v, key: str, where: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise DataError(f"{where}: data.units.{key} must be a number (a scale factor), got {v!r}") from None


def _zero_prices(df: pd.DataFrame, field: str, where: str) -> pd.DataFrame:
    if field not in ZERO_MEANS_MISSING:
        return df
    zero = df.to_numpy() == 0
    if zero.any():
        n = int(zero.sum())
        r, c = np.argwhere(zero)[0]
        warnings.warn(DataWarning(
            f"{where}: field '{field}' is 0 on {n} rows (e.g. {df.columns[c]} on {df.index[r]:%Y-%m-%d}); Wind writes 0 "
            f"when there is no {field}: read as missing, so those days cannot use {field}"), stacklevel=3)
        df = df.mask(zero)
    return df


def _collect_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _EXTS)
    if not files:
        raise DataError(f"{path}: no .csv, .txt or .parquet files in this folder; put one file per code there")
    return files


def import_long(path: Path, columns: dict, units: dict, date_format: str | None, panel_name: str,
                encoding: str | None = None, names: dict | None = None) -> Panel:
    """A long export (one file, or a folder of per-code files) -> Panel. ``names`` (if given) receives
    ``{code: name}`` from a ``name`` column."""
    frames = []
    for f in _collect_files(path):
        df = _drop_footer(read_table(f, encoding)).rename(columns=columns)
        df.columns = [str(c).strip() for c in df.columns]
        if "date" not in df.columns:
            raise DataError(f"{f}: long layout needs a 'date' column; map yours with data.columns "
                            f"(found: {', '.join(df.columns[:12])})")
        if "code" not in df.columns:
            if not path.is_dir():
                raise DataError(f"{f}: long layout needs a 'code' column; map yours with data.columns "
                                f"(found: {', '.join(df.columns[:12])}), or put one file per code in a folder")
            df["code"] = f.stem
        df["date"] = _parse_dates(df["date"], f, date_format)
        df["code"] = normalize_codes(df["code"].astype(str).str.strip().tolist(), panel_name, str(f))
        df["_file"] = f.name
        frames.append(df)
    df = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    dup = df.duplicated(["date", "code"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"{path}: duplicate row for code {df['code'].iat[i]} on {df['date'].iat[i]:%Y-%m-%d} "
                        f"(file {df['_file'].iat[i]}); keep one row per (date, code)")
    fields = [c for c in df.columns if c in KNOWN_FIELDS]
    if not fields:
        raise DataError(f"{path}: no known fields among columns {', '.join(map(str, df.columns[:12]))}; map them with "
                        f"data.columns to names like close, volume, amount (docs/data.md)")
    for f in units:
        if f not in fields:
            raise DataError(f"{path}: data.units names field '{f}' that the file does not have (it has: {', '.join(fields)})")
    if names is not None and "name" in df.columns:
        nm = df[["code", "name"]].replace("", np.nan).dropna().drop_duplicates("code", keep="last")
        names.update(dict(zip(nm["code"], nm["name"].astype(str))))
    df = df.sort_values(["date", "code"], kind="stable")
    dates = pd.DatetimeIndex(sorted(df["date"].unique()), name="date")
    codes = sorted(df["code"].unique())
    long = df.set_index(["date", "code"])
    where = str(path)

    def load(f: str) -> pd.DataFrame:
        raw = long[f].unstack("code").reindex(index=dates, columns=codes)
        wide = _numeric(raw, f, where)
        if f not in FLAG_FIELDS:
            fac = _unit_factor(units, f, codes, where)
            if fac is not None:
                wide = wide * fac
            wide = _zero_prices(wide, f, where)
        wide.columns.name = None
        return wide

    loaders = {f: (lambda f=f: load(f)) for f in fields}
    if "close" in loaders:
        loaders = {"close": loaders.pop("close"), **loaders}     # validate the others against close
    for f in units:
        _unit_factor(units, f, codes, where)                      # a bad factor fails at load time
    return Panel(panel_name, LazyFields(loaders, where=f"{where}: panel '{panel_name}'"), source=where)


def import_wide(path: Path, field: str, columns: dict, units: dict, date_format: str | None, panel_name: str,
                encoding: str | None = None) -> Panel:
    files = {}
    if path.is_dir():
        for p in sorted(path.iterdir()):
            if p.suffix.lower() in _EXTS:
                files[columns.get(p.stem, p.stem)] = p
        if not files:
            raise DataError(f"{path}: no .csv or .parquet files; a wide dataset has one file per field named <field>.csv")
    else:
        files[field] = path
    raw = {}
    for f, p in files.items():
        df = _drop_footer(read_table(p, encoding)).rename(columns=columns)
        if "date" not in df.columns:
            raise DataError(f"{p}: wide layout needs a first column 'date' (found: {', '.join(df.columns[:5])}); map it with data.columns")
        idx = _parse_dates(df["date"], p, date_format)
        body = df.drop(columns=["date"])
        body.columns = normalize_codes(list(body.columns), panel_name, str(p))
        body.index = idx
        if not body.index.is_unique:
            d = body.index[body.index.duplicated()][0]
            raise DataError(f"{p}: duplicate date {d:%Y-%m-%d}; keep one row per date")
        raw[f] = body.sort_index()
    for f in units:
        if f not in raw:
            raise DataError(f"{path}: data.units names field '{f}' that the file does not have (it has: {', '.join(raw)})")
    # one rectangle for all fields: the union of dates and codes; numbers are converted when a field is first read
    dates = pd.DatetimeIndex(sorted(set().union(*[set(v.index) for v in raw.values()])), name="date")
    codes = sorted(set().union(*[set(v.columns) for v in raw.values()]))

    def load(f: str) -> pd.DataFrame:
        body = _numeric(raw[f], f, str(files[f]))
        if f not in FLAG_FIELDS:
            fac = _unit_factor(units, f, list(body.columns), str(files[f]))
            if fac is not None:
                body = body * fac
            body = _zero_prices(body, f, str(files[f]))
        return body.reindex(index=dates, columns=codes)

    for f in units:
        _unit_factor(units, f, codes, str(path))
    loaders = {f: (lambda f=f: load(f)) for f in raw}
    if "close" in loaders:
        loaders = {"close": loaders.pop("close"), **loaders}
    out = LazyFields(loaders, where=f"{path}: panel '{panel_name}'")
    return Panel(panel_name, out, source=str(path))
