"""Shared pieces of the weekly dashboard: parameters, week windows (with the T+1 margin convention), dataset
look-ups that fail with one line naming what is missing and how to get it, and point-in-time membership masks.

Week convention (methodology §5): the week is Monday..Friday of the week containing the requested date; only its
trading days count (the trading calendar is the index of series ``market``). "Last week" is the latest earlier
week with trading days (a holiday week such as National Day is skipped).

T+1 margin convention: SSE/SZSE publish the margin data of day d on the next trading day (上交所/深交所 融资融券交易
信息, published each trading day for the previous trading day). A dashboard made after the close of the week's
last day therefore has the margin rows *published during the week*: from the previous week's last trading day
to the week's second-to-last trading day, so "as of Thursday" in an ordinary week (the report's convention).
``margin_lag=0`` uses the week's own Monday..Friday rows instead (known only after the next Monday's release).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError

DOC = "docs/dashboard.md"
YI = 1e8  # 亿元


@dataclass(frozen=True)
class DashboardParams:
    """Every choice the report leaves open, with its default (methodology §5 labels them reconstructed)."""

    margin_lag: int = 1                  # margin rows published T+1 (1) or the week's own rows (0)
    share_method: str = "sum"            # sum: Σ numerator / Σ denominator; mean: mean of the daily ratios
    include_short_net: bool = False      # index / bucket / industry net buying also minus 融券卖出额 (net short)
    big_cap: float = 5000 * YI           # market-cap buckets (total market value, CNY): > big_cap
    mid_cap: float = 1000 * YI           #                                                 mid_cap .. big_cap
    popular_n: int = 35                  # 热门股: top N stocks by turnover over the margin week
    top_industries: int = 5
    streak_lookback: int = 60            # trading days of history for main-force streaks
    heavy_n: int = 20                    # northbound heavy holdings: top N by value in the latest disclosure
    nb_denominator: str = "single"       # single: Σ northbound / Σ all-A amount; double: / (2 Σ all-A amount)
    history_weeks: int = 26              # weeks shown in the charts
    indices: tuple = ("000016.SH", "000300.SH", "000905.SH", "000852.SH", "399006.SZ", "000688.SH")
    flow_indices: tuple = ("000300.SH", "399006.SZ", "000688.SH")

    def __post_init__(self):
        if self.margin_lag not in (0, 1):
            raise DataError(f"dashboard: margin_lag must be 0 or 1, got {self.margin_lag}")
        if self.share_method not in ("sum", "mean"):
            raise DataError(f"dashboard: share_method must be 'sum' or 'mean', got {self.share_method!r}")
        if self.nb_denominator not in ("single", "double"):
            raise DataError(f"dashboard: nb_denominator must be 'single' or 'double', got {self.nb_denominator!r}")
        if not (0 < self.mid_cap < self.big_cap):
            raise DataError("dashboard: need 0 < mid_cap < big_cap")


INDEX_NAMES = {"000016.SH": "SSE 50", "000300.SH": "CSI 300", "000905.SH": "CSI 500", "000852.SH": "CSI 1000",
               "399006.SZ": "ChiNext", "000688.SH": "STAR 50"}

WHAT = {  # dataset -> (what it holds, user-file path) for the one-line errors
    "series:market": ("all-A daily amount and 流通市值", "series/market.parquet (date, amount, float_mcap)"),
    "series:margin": ("market margin totals", "series/margin.parquet (date, margin_balance, margin_buy, margin_repay, "
                      "short_balance, short_sell)"),
    "series:market_mcap": ("all-A total and free-float market value", "series/market_mcap.parquet (date, total_mcap, "
                           "free_float_mcap)"),
    "series:northbound": ("northbound daily turnover", "series/northbound.parquet (date, turnover, net_buy)"),
    "series:futures_ic": ("CSI 500 futures by contract month", "series/futures_ic.parquet (close_m0.., oi_m0.., expiry_m0..)"),
    "series:futures_im": ("CSI 1000 futures by contract month", "series/futures_im.parquet"),
    "panel:stocks": ("per-stock daily data", "panels/stocks/<field>.parquet"),
    "panel:index": ("index closes", "panels/index/close.parquet"),
    "panel:enhanced_funds": ("index-enhanced fund NAVs", "panels/enhanced_funds/nav.parquet"),
    "table:index_membership": ("broad-index constituents", "tables/index_membership.parquet (code, index, start, end)"),
    "table:membership": ("SW L1 membership", "tables/membership.parquet (code, industry, start, end)"),
    "table:northbound_holdings": ("northbound quarterly holdings", "tables/northbound_holdings.parquet (date, "
                                  "published, code, shares, value)"),
    "table:enhanced_funds_info": ("index-enhanced fund list", "tables/enhanced_funds_info.parquet (code, benchmark, quant)"),
}


def _missing(ds: Dataset, key: str, detail: str) -> DataError:
    what, path = WHAT.get(key, (key, key))
    return DataError(f"{ds.source}: dashboard needs {key.replace(':', ' ')} ({what}){detail}; add {path} to the "
                     f"dataset ({DOC}) or run on data.source: synthetic")


def _need(ds: Dataset, kind: str, name: str, wanted, store, names):
    if name not in store:
        raise _missing(ds, f"{kind}:{name}", "")
    obj = store[name]
    gone = [c for c in wanted if c not in names(obj)]
    if gone:
        what = "field(s)" if kind == "panel" else "column(s)"
        raise _missing(ds, f"{kind}:{name}", f", which lacks {what} {', '.join(gone)}")
    return obj


def need_series(ds: Dataset, name: str, cols=()) -> pd.DataFrame:
    """``ds.series[name]`` with ``cols``, or a one-line DataError saying what it holds and where the file goes."""
    return _need(ds, "series", name, cols, ds.series, lambda df: df.columns)


def need_panel(ds: Dataset, name: str, fields=()):
    return _need(ds, "panel", name, fields, ds.panels, lambda p: p.fields)


def need_table(ds: Dataset, name: str, cols=()) -> pd.DataFrame:
    return _need(ds, "table", name, cols, ds.tables, lambda t: t.columns)


@dataclass(frozen=True)
class Week:
    """Trading days of the week and of the previous week; margin rows of both under the T+1 convention."""

    monday: pd.Timestamp
    days: pd.DatetimeIndex
    prev_days: pd.DatetimeIndex
    margin_days: pd.DatetimeIndex
    prev_margin_days: pd.DatetimeIndex
    calendar: pd.DatetimeIndex = field(repr=False)

    @property
    def end(self) -> pd.Timestamp:
        return self.days[-1]

    @property
    def prev_end(self) -> pd.Timestamp:
        return self.prev_days[-1]

    @property
    def margin_asof(self) -> pd.Timestamp:
        return self.margin_days[-1]

    @property
    def label(self) -> str:
        return f"{self.days[0]:%Y-%m-%d}..{self.end:%Y-%m-%d}"


def monday_of(date) -> pd.Timestamp:
    d = pd.Timestamp(date).normalize()
    return d - pd.Timedelta(days=d.weekday())


def week_days(calendar: pd.DatetimeIndex, monday: pd.Timestamp) -> pd.DatetimeIndex:
    return calendar[(calendar >= monday) & (calendar <= monday + pd.Timedelta(days=4))]


def margin_rows(calendar: pd.DatetimeIndex, days: pd.DatetimeIndex, lag: int) -> pd.DatetimeIndex:
    """Trading days whose margin data is published during ``days`` (lag 1), or ``days`` themselves (lag 0)."""
    if lag == 0:
        return days
    i0, i1 = calendar.get_loc(days[0]), calendar.get_loc(days[-1])
    return calendar[max(i0 - 1, 0): i1]


def make_week(calendar: pd.DatetimeIndex, date, margin_lag: int = 1, source: str = "data") -> Week:
    """The week containing ``date`` on ``calendar`` (DataError, one line, when it has no trading day)."""
    try:
        monday = monday_of(date)
    except (ValueError, TypeError):
        raise DataError(f"--week {date!r} is not a date; use YYYY-MM-DD") from None
    days = week_days(calendar, monday)
    if len(days) == 0:
        raise DataError(f"{source}: the week {monday:%Y-%m-%d}..{monday + pd.Timedelta(days=4):%Y-%m-%d} has no "
                        f"trading days (data covers {calendar[0]:%Y-%m-%d}..{calendar[-1]:%Y-%m-%d}); choose a "
                        f"week inside it")
    earlier = calendar[calendar < monday]
    if len(earlier) == 0:
        raise DataError(f"{source}: the week of {monday:%Y-%m-%d} is the first week of the data, so there is no "
                        f"previous week to compare with; choose a later week or add earlier data")
    prev = week_days(calendar, monday_of(earlier[-1]))
    mdays = margin_rows(calendar, days, margin_lag)
    pdays = margin_rows(calendar, prev, margin_lag)
    if len(mdays) == 0:
        raise DataError(f"{source}: no margin rows are published during {days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d}")
    return Week(monday, days, prev, mdays, pdays, calendar)


def week_calendar(ds: Dataset) -> pd.DatetimeIndex:
    """The trading calendar of the dashboard: the index of series ``market`` (all-A amount)."""
    return pd.DatetimeIndex(need_series(ds, "market", ("amount",)).index)


def members_mask(table: pd.DataFrame, key: str, dates: pd.DatetimeIndex, codes) -> dict[str, pd.DataFrame]:
    """{group: bool DataFrame dates x codes}: code is in group on date when a row has start <= date <= end (an
    empty end = still a member). Rows with codes outside ``codes`` are ignored."""
    codes = pd.Index(codes)
    t = table[table["code"].isin(codes)]
    col = codes.get_indexer(t["code"])
    start = pd.to_datetime(t["start"]).to_numpy(dtype="datetime64[ns]")
    end = pd.to_datetime(t["end"]).to_numpy(dtype="datetime64[ns]")
    end = np.where(np.isnat(end), np.datetime64("2262-01-01", "ns"), end)
    d = dates.to_numpy(dtype="datetime64[ns]")[:, None]
    hit = (d >= start[None, :]) & (d <= end[None, :])                  # dates x rows
    groups = t[key].astype(str).to_numpy()
    out = {}
    for g in sorted(set(groups)):
        r = np.flatnonzero(groups == g)
        onehot = np.zeros((len(r), len(codes)))
        onehot[np.arange(len(r)), col[r]] = 1.0
        out[g] = pd.DataFrame(hit[:, r].astype(float) @ onehot > 0, index=dates, columns=codes)
    return out


def ratio(num: pd.Series, den: pd.Series, method: str) -> float:
    """Σ num / Σ den (sum) or the mean of the daily ratios (mean), over the rows given."""
    if len(num) == 0:
        return float("nan")
    if method == "mean":
        return float((num / den).mean())
    return float(num.sum() / den.sum())


@dataclass
class Block:
    """One dashboard block: titled tables (terminal and Markdown), notes, and the data of its chart."""

    key: str
    title: str
    tables: dict = field(default_factory=dict)        # name -> DataFrame (already in display units)
    notes: list = field(default_factory=list)
    chart: dict = field(default_factory=dict)         # name -> Series/DataFrame for render.plot_block
    data: dict = field(default_factory=dict)          # full frames behind the tables (written as CSV)
