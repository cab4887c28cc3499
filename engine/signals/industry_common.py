"""Shared pieces of the Shenwan L1 (申万一级, 2021 version, 31 industries) monthly signals.

* the month-end calendar (signal dates), ascending ranks, trend states, rolling percentiles;
* industry names (``sw_l1_info`` table, else the built-in SW 2021 list);
* point-in-time membership as a (date x stock) industry-index matrix;
* monthly weights -> daily weight rows, and the ``equal_weight`` signal (all industries equally, monthly);
* ``format_table`` (CJK-aware fixed-width printing of the report tables).

Timing convention of every monthly signal here: the signal of month m is computed from data up to the close of
the last trading day of month m and is written on that row of the daily weights; the row is repeated until the
next month end, so the backtester (t + lag) holds it through month m+1 (the report's "上月数据触发下月信号").
"""
from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from engine.data.calendar import month_end_positions  # noqa: F401 (re-exported for the signals)
from engine.data.panel import Dataset
from engine.errors import DataError
from engine.signals.base import SignalResult, SignalSpec, rolling_mean

CSI300 = "000300.SH"

# SW L1 (2021) codes and names, in code order (= the row order of the report's 图3).
SW_L1_NAMES: dict[str, str] = {
    "801010.SI": "农林牧渔", "801030.SI": "基础化工", "801040.SI": "钢铁", "801050.SI": "有色金属",
    "801080.SI": "电子", "801110.SI": "家用电器", "801120.SI": "食品饮料", "801130.SI": "纺织服饰",
    "801140.SI": "轻工制造", "801150.SI": "医药生物", "801160.SI": "公用事业", "801170.SI": "交通运输",
    "801180.SI": "房地产", "801200.SI": "商贸零售", "801210.SI": "社会服务", "801230.SI": "综合",
    "801710.SI": "建筑材料", "801720.SI": "建筑装饰", "801730.SI": "电力设备", "801740.SI": "国防军工",
    "801750.SI": "计算机", "801760.SI": "传媒", "801770.SI": "通信", "801780.SI": "银行",
    "801790.SI": "非银金融", "801880.SI": "汽车", "801890.SI": "机械设备", "801950.SI": "煤炭",
    "801960.SI": "石油石化", "801970.SI": "环保", "801980.SI": "美容护理",
}
NAME_TO_CODE = {v: k for k, v in SW_L1_NAMES.items()}


def industry_names(ds: Dataset, codes) -> pd.Series:
    """Name of each code: table ``sw_l1_info`` (columns code, name) if present, else :data:`SW_L1_NAMES`,
    else the code itself."""
    names = dict(SW_L1_NAMES)
    info = ds.tables.get("sw_l1_info")
    if info is not None:
        if not {"code", "name"} <= set(info.columns):
            raise DataError(f"{ds.source}: table 'sw_l1_info' needs columns code, name (has: {', '.join(map(str, info.columns))})")
        names.update(dict(zip(info["code"].astype(str), info["name"].astype(str))))
    return pd.Series([names.get(str(c), str(c)) for c in codes], index=pd.Index(codes), name="行业")


# ----------------------------------------------------------------------------------------------- calendar
# month ends: engine.data.calendar.month_end_positions (the data's calendar, then the XSHG calendar beyond it)
def sw_l1_months(ds):
    """``(close, dates, ends, bounds)`` of panel ``sw_l1``: its closes, trading days, the positions of complete
    months' last trading days and each month's [first, last] positions. DataError if no month is complete."""
    close = ds.panel("sw_l1")["close"]
    dates = close.index
    ends = month_end_positions(dates)
    if len(ends) == 0:
        raise DataError(f"{ds.source}: panel 'sw_l1' has no complete month ({dates[0]:%Y-%m-%d}..{dates[-1]:%Y-%m-%d})")
    return close, dates, ends, month_bounds(dates, ends)


def month_bounds(dates: pd.DatetimeIndex, ends: np.ndarray) -> np.ndarray:
    """Row bounds (G+1,) of the months that end at ``ends``: month g spans rows ``bounds[g] .. bounds[g+1]-1``.
    The first month starts at the first row of its calendar month (or row 0)."""
    per = dates.year * 12 + dates.month
    starts = np.searchsorted(per, per[ends], side="left")
    return np.r_[starts, ends[-1] + 1].astype(np.int64) if len(ends) else np.zeros(1, np.int64)


# ----------------------------------------------------------------------------------------------- ranks, trends
def rank_ascending(df: pd.DataFrame) -> pd.DataFrame:
    """Cross-sectional rank per row, 1 = smallest (the report's "排名数值越大代表指标数值越大").

    Ties: ``method='first'`` -- equal values get consecutive ranks in column (code) order, so ranks are always a
    permutation 1..n of the valid cells, as printed in the report. NaN cells get no rank (NaN) and are not counted.
    """
    return df.rank(axis=1, method="first", ascending=True)


def reference_close(ds: Dataset, close: pd.DataFrame, relative: str,
                    fix: str = "relative: none") -> pd.Series | None:
    """The benchmark level for relative trends: ``none`` -> None; ``csi300`` -> panel ``index`` close of
    000300.SH on the same dates; ``equal_weight`` -> the equal-weight index of the industries (cumulated mean of
    the available daily returns). ``fix``: the parameter setting an error suggests instead of the CSI 300."""
    if relative == "none":
        return None
    if relative == "csi300":
        ref = ds.panel("index")["close"]
        if CSI300 not in ref.columns:
            raise DataError(f"{ds.source}: a trend relative to the CSI 300 needs code {CSI300} in panel 'index'; "
                            f"add it or set signal.params.{fix}")
        ref = ref[CSI300].reindex(close.index)
        first = ref.first_valid_index()
        gaps = ref.index[ref.isna() & (ref.index > first)] if first is not None else ref.index
        if len(gaps):
            raise DataError(f"{ds.source}: panel 'index' {CSI300} close is missing on {len(gaps)} sw_l1 dates "
                            f"(e.g. {gaps[0]:%Y-%m-%d}); align the dates or set signal.params.{fix}")
        return ref
    if relative == "equal_weight":
        r = close.pct_change(fill_method=None).mean(axis=1).fillna(0.0)
        return (1.0 + r).cumprod()
    raise DataError(f"relative must be none, csi300 or equal_weight (got {relative!r})")


def trend_state(close: pd.DataFrame, window: int, mode: str, ref: pd.Series | None = None) -> pd.DataFrame:
    """Trend sign per day and code in {-1, 0, +1}, NaN during warm-up (the first ``window`` rows).

    ``mode='return'``: sign of the ``window``-day return ``close_t / close_{t-window} - 1``.
    ``mode='ma'``: sign of ``close_t / MA_window(close)_t - 1``.
    With ``ref`` (a benchmark level), the trend of the ratio ``close / ref`` is used (relative trend).
    Uses data up to t only.
    """
    x = close if ref is None else close.div(ref, axis=0)
    if mode == "return":
        v = x / x.shift(window) - 1.0
    elif mode == "ma":
        v = x / rolling_mean(x, window, window) - 1.0
    else:
        raise DataError(f"trend must be 'return' or 'ma' (got {mode!r})")
    return np.sign(v)


def rolling_pct(df: pd.DataFrame, window: int, min_periods: int) -> pd.DataFrame:
    """Rolling rank percentile per column: share of the valid observations among the last ``window`` rows
    (including t) that are <= x_t; NaN when x_t is NaN or fewer than ``min_periods`` valid observations.
    Values in (0, 1]. Uses :func:`engine.kernels.rolling.rolling_rank_pct`."""
    from engine.kernels.rolling import rolling_rank_pct  # lazy: written by another module owner

    arr = np.ascontiguousarray(df.to_numpy(dtype=float, na_value=np.nan))
    return pd.DataFrame(rolling_rank_pct(arr, int(window), int(min_periods)), index=df.index, columns=df.columns)


# ----------------------------------------------------------------------------------------------- membership
def membership_matrix(ds: Dataset, dates: pd.DatetimeIndex, stocks: pd.Index, industries: pd.Index) -> np.ndarray:
    """int16 (T, S): index into ``industries`` of each stock's SW L1 industry on each date, -1 = none.

    Table ``membership`` (code, industry, start, end): ``industry`` is an SW L1 code or name; start/end are
    inclusive dates, an empty end = still a member. Rows of stocks missing from the ``stocks`` panel are ignored.
    """
    mem = ds.table("membership")
    need = {"code", "industry", "start", "end"}
    if not need <= set(mem.columns):
        raise DataError(f"{ds.source}: table 'membership' needs columns code, industry, start, end "
                        f"(missing: {', '.join(sorted(need - set(mem.columns)))})")
    ind_pos = {str(c): i for i, c in enumerate(industries)}
    ind_pos.update({n: ind_pos[c] for n, c in NAME_TO_CODE.items() if c in ind_pos})
    ind = mem["industry"].astype(str).map(ind_pos)
    if ind.isna().any():
        bad = mem["industry"][ind.isna()].astype(str).unique()[:5]
        raise DataError(f"{ds.source}: table 'membership' names industries not in panel 'sw_l1': {', '.join(bad)}")
    try:
        start = pd.to_datetime(mem["start"]).to_numpy(dtype="datetime64[ns]")
        end_dt = pd.to_datetime(mem["end"])
    except (ValueError, TypeError) as exc:
        raise DataError(f"{ds.source}: table 'membership' start/end are not dates ({exc})") from None
    if pd.isna(start).any():
        raise DataError(f"{ds.source}: table 'membership' has {int(pd.isna(start).sum())} rows without a start date")
    spos = pd.Index(stocks.astype(str)).get_indexer(mem["code"].astype(str))
    if (spos < 0).all():
        raise DataError(f"{ds.source}: no code of table 'membership' is in panel 'stocks'; check the stock codes")
    out = np.full((len(dates), len(stocks)), -1, dtype=np.int16)
    d = dates.to_numpy(dtype="datetime64[ns]")
    a = np.searchsorted(d, start, side="left")
    b = np.where(end_dt.isna().to_numpy(), len(d),
                 np.searchsorted(d, end_dt.fillna(dates[0]).to_numpy(dtype="datetime64[ns]"), side="right"))
    for s, k, i, j in zip(spos, ind.to_numpy(dtype=np.int64), a, b):
        if s >= 0 and j > i:
            out[i:j, s] = k
    return out


# ----------------------------------------------------------------------------------------------- weights
def monthly_to_daily(monthly: pd.DataFrame, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Daily weight rows from month-end rows: each month-end row holds until the next month end; 0 (cash) before
    the first month end. ``monthly`` is indexed by month-end dates that belong to ``dates``."""
    return monthly.reindex(dates).ffill().fillna(0.0)


def month_end_rows_to_daily(rows: np.ndarray, ends: np.ndarray, n_dates: int) -> np.ndarray:
    """:func:`monthly_to_daily` on arrays: ``rows`` (G, N) month-end rows without NaN at row positions ``ends``
    (increasing) of ``n_dates`` days -> (n_dates, N), each row held until the next month end, 0 before the first."""
    last = np.searchsorted(ends, np.arange(n_dates), side="right") - 1
    out = rows[np.maximum(last, 0)]
    out[last < 0] = 0.0
    return out


def row_sums(a: np.ndarray) -> np.ndarray:
    """Row sums of a (G, N) float array added column by column in code order: the order (and so the rounding) of
    ``DataFrame.sum(axis=1)``, which numpy's pairwise ``a.sum(axis=1)`` does not reproduce bit for bit."""
    out = np.zeros(a.shape[0]) if a.shape[1] == 0 else a[:, 0].astype(float)
    for j in range(1, a.shape[1]):
        out += a[:, j]
    return out


def equal_weight_array(valid: np.ndarray) -> np.ndarray:
    """:func:`equal_weight_rows` on a (G, N) bool array."""
    n = valid.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = valid / np.where(n == 0, np.nan, n)[:, None]
    out[np.isnan(out)] = 0.0
    return out


def equal_weight_rows(valid: pd.DataFrame) -> pd.DataFrame:
    """1/n over the True cells of each row (n = True count), 0 elsewhere; an all-False row is all 0."""
    v = valid.astype(float)
    n = v.sum(axis=1).replace(0.0, np.nan)
    return v.div(n, axis=0).fillna(0.0)


def equal_weight(ds: Dataset, params: dict) -> SignalResult:
    """Equal weight over all SW L1 industries, rebalanced monthly (the rotation strategies' benchmark).

    Inputs: panel ``sw_l1`` close. Output: weights 1/n over the industries with a close on the month-end day
    (n = 31 normally), decided at the close of each month's last trading day and repeated until the next one;
    cash before the first month end. Warm-up: none beyond the first month end. Timing: decided at close t,
    traded at t + lag by the backtester.
    """
    close = ds.panel("sw_l1")["close"]
    ends = close.index[month_end_positions(close.index)]
    rows = equal_weight_rows(close.loc[ends].notna())
    return SignalResult(weights=monthly_to_daily(rows, close.index), rebalance_dates=pd.DatetimeIndex(ends))


SPEC_EQUAL_WEIGHT = SignalSpec(
    "equal_weight", equal_weight, {}, "sw_l1", ("panel:sw_l1.close",),
    "Equal weight over the 31 SW L1 industries, monthly rebalance (rotation benchmark).")


# ----------------------------------------------------------------------------------------------- printing
def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def format_table(df: pd.DataFrame, title: str = "", footer: list[str] | tuple = ()) -> str:
    """Fixed-width text of ``df`` (index not printed; CJK characters count double), with an optional title line
    and footer lines. Integral floats print without decimals, NaN as '-'."""
    cols = [str(c) for c in df.columns]
    body = [[_cell(v) for v in row] for row in df.itertuples(index=False)]
    widths = [max([_width(c)] + [_width(r[i]) for r in body]) for i, c in enumerate(cols)]

    def line(cells):
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths)).rstrip()

    out = ([title] if title else []) + [line(cols)] + [line(r) for r in body] + list(footer)
    return "\n".join(out)

