"""Tradability: daily price limits (涨跌停) and suspensions, as ``date x code`` masks for the backtester.

Limit prices are computed as the exchanges compute them: ``limit price = previous close x (1 +/- pct)``, rounded
half up to the price tick (SSE / SZSE trading rules: "计算结果按照四舍五入原则取至价格最小变动单位"; tick 0.01 yuan
for stocks, 0.001 for funds). A close (or open, for open execution) at or above the limit-up price blocks buys,
at or below the limit-down price blocks sells. E.g. 2.03 x 1.1 = 2.233 -> limit-up 2.23, so a close of 2.23 (+9.85%)
is a limit-up close; 5.01 -> 5.51 (+9.98%) likewise.

``pct`` is dated per board (``market_rules.board_limits``, defaults and sources in engine.config_schema): main board
none before 1996-12-16 then 10%; ChiNext 10% before 2020-08-24 then 20%; STAR 20%; BSE 30%; a risk-warning (ST)
stock on a board whose own limit is 10% uses the ``st`` limit (5%; 10% from 2025-07-07).

New listings (``market_rules.ipo_free_days``, needs a ``list_date`` per code):

* registration-system listings have no limit in their first 5 trading days: STAR (SSE STAR trading rules, 2019),
  ChiNext from 2020-08-24 (SZSE ChiNext trading rules art. 3.3.6), main board from 2023-04-10 (full registration
  reform: SSE / SZSE trading rules 2023 revision, art. 3.3.5 / 3.3.4);
* BSE: no limit on the listing day (BSE trading rules art. 3.3.4);
* main board (and ChiNext) listings before those dates: the listing day is bounded by +44% / -36% of the issue
  price from 2014-01-01 (SSE / SZSE notices of 2013-12-13 on the first trading day of new shares), applied when
  ``issue_price`` is known, else the listing day is not limited (the fallback has no previous close anyway).

Board of a code: the data's ``board`` (``stocks_info``), else by code prefix (300/301.SZ ChiNext, 688/689.SH STAR,
.BJ BSE), else ``market_rules.default_board``. ST: a per-day ``st`` field of the panel, else ``st_start``..``st_end``
of the info table. Data-supplied ``limit_up`` / ``limit_down`` flags win over the fallback wherever they are given
(``limits: auto``; a missing cell falls back to the rule).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from engine.data.panel import Panel, _fmt_codes
from engine.errors import ConfigError, DataError
from engine.kernels.prep import limit_masks_into, price_window

FUND = re.compile(r"^(5\d{5}\.SH|1[56]\d{4}\.SZ)$")
IPO_FREE_DAYS = 5
REGISTRATION_FROM = {"star": "1900-01-01", "chinext": "2020-08-24", "main": "2023-04-10"}
IPO_BAND_FROM = pd.Timestamp("2014-01-01")


def round_half_up(x: np.ndarray, tick) -> np.ndarray:
    """Round half up to multiples of ``tick`` (decimal ticks such as 0.01): ``floor(x / tick + 0.5 + 1e-9) *
    tick``, the 1e-9 absorbing binary representation error (1.265 is stored as 1.26499999...)."""
    k = np.round(1.0 / np.asarray(tick, dtype=float))
    return np.floor(x * k + 0.5 + 1e-9) / k


CHINEXT = re.compile(r"^30[01]\d{3}\.SZ$")
STAR = re.compile(r"^68[89]\d{3}\.SH$")


def infer_board(code: str, default: str) -> str:
    c = str(code)
    if c.endswith(".BJ"):
        return "bse"
    if CHINEXT.match(c):
        return "chinext"
    if STAR.match(c):
        return "star"
    return default


def _ticks(codes: pd.Index) -> np.ndarray:
    """(N,) price tick per code: 0.001 for funds, else 0.01."""
    return np.array([0.001 if FUND.match(str(c)) else 0.01 for c in codes.tolist()])


def _info(boards, codes: pd.Index) -> pd.DataFrame:
    """Per code: board (or NaN), list_date, st_start, st_end, issue_price (NaN when unknown)."""
    cols = ["board", "list_date", "st_start", "st_end", "issue_price"]
    if boards is None:
        return pd.DataFrame(index=codes, columns=cols, dtype=object)
    if isinstance(boards, pd.Series):
        return pd.DataFrame({"board": boards}).reindex(index=codes, columns=cols)
    info = boards.set_index("code") if "code" in boards.columns else boards
    return info[~info.index.duplicated()].reindex(index=codes, columns=cols)


def _dated(value, dates: pd.DatetimeIndex, key: str) -> np.ndarray:
    """(T,) pct of one board: a number, or a list of {from, pct} (each from its date; before the first: 0)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out = np.full(len(dates), float(value))
    elif isinstance(value, (list, tuple)) and value:
        out = np.zeros(len(dates))
        try:
            items = sorted((pd.Timestamp(str(v["from"])[:10]), float(v["pct"])) for v in value)
        except (TypeError, KeyError, ValueError):
            raise ConfigError(f"market_rules.board_limits.{key}: expected a fraction or a list of "
                              "{from: YYYY-MM-DD, pct: fraction}") from None
        for d, v in items:
            out[np.asarray(dates >= d)] = v
    else:
        raise ConfigError(f"market_rules.board_limits.{key}: expected a fraction or a list of {{from, pct}}, "
                          f"got {value!r}")
    if not np.all((out >= 0) & (out < 1)):
        raise ConfigError(f"market_rules.board_limits.{key}: limits must be fractions in [0, 1)")
    return out


def _ts(col: pd.Series) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(col, errors="coerce"))


def _board_names(info, codes, rules) -> pd.Series:
    """Board of each code (the info table's, else inferred from the code); a one-line ConfigError for a board
    without a limit in ``market_rules.board_limits``."""
    names = pd.Series([b if isinstance(b, str) else infer_board(c, rules.default_board)
                       for c, b in zip(codes.tolist(), info["board"].tolist())], index=codes, dtype=object)
    unknown = sorted(set(names) - set(rules.board_limits))
    if unknown:
        bad = names.index[names.isin(unknown)]
        raise ConfigError(f"market_rules.board_limits: no limit for board(s) {', '.join(map(str, unknown))} "
                          f"(codes {_fmt_codes(bad)}); add them to market_rules.board_limits")
    return names


def board_limit_prices(panel: Panel, rules, boards=None) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) limit-up and limit-down prices from the previous close (forward filled) by the dated board rules;
    NaN where no limit applies (no previous close, a limit-free listing day, or no limit in force)."""
    dates, codes = panel.dates, panel.codes
    info = _info(boards, codes)
    names = _board_names(info, codes, rules)
    by_board = {b: _dated(rules.board_limits[b], dates, b) for b in set(names)}
    pct = np.column_stack([by_board[b] for b in names]) if len(codes) else np.zeros((len(dates), 0))
    st = _st_mask(panel, info)
    if st is not None and st.any():
        if "st" not in rules.board_limits:
            raise ConfigError("market_rules.board_limits: the data flags ST stocks but has no 'st' limit; add one")
        st_pct = _dated(rules.board_limits["st"], dates, "st")[:, None]
        on = st & np.isclose(pct, 0.10)
        pct = np.where(on, st_pct, pct)
    prev = panel["close"].ffill().shift(1).to_numpy(dtype=float, na_value=np.nan)
    tick = _ticks(codes)[None, :]
    with np.errstate(invalid="ignore"):
        up = np.where(pct > 0, round_half_up(prev * (1 + pct), tick), np.nan)
        down = np.where(pct > 0, round_half_up(prev * (1 - pct), tick), np.nan)
    if rules.ipo_free_days:
        _ipo_rules(up, down, dates, names, info, tick)
    return up, down


def _st_mask(panel: Panel, info: pd.DataFrame) -> np.ndarray | None:
    if "st" in panel:
        return panel["st"].to_numpy(dtype=float, na_value=0.0) > 0.5
    s, e = _ts(info["st_start"]), _ts(info["st_end"])
    if s.isna().all():
        return None
    d = panel.dates.values[:, None]
    end = np.where(e.isna(), np.datetime64("2262-01-01"), e.values)
    return (d >= s.values[None, :]) & (d <= end[None, :]) & ~np.asarray(s.isna())[None, :]


def _ipo_rules(up, down, dates, names, info, tick) -> None:
    for k, lo, hi, u, d in _ipo_overrides(dates, names, info, tick):
        up[lo:hi, k] = u
        down[lo:hi, k] = d


def _ipo_overrides(dates, names, info, tick) -> list[tuple[int, int, int, float, float]]:
    """The listing-day rules (module docstring) as ``(column, row_lo, row_hi, up, down)``: rows lo..hi-1 of that
    column use the limit prices up / down instead of the board rule (NaN = no limit)."""
    out = []
    listed = _ts(info["list_date"])
    issue = pd.to_numeric(info["issue_price"], errors="coerce").to_numpy()
    for k in np.flatnonzero(~np.asarray(listed.isna())):
        board, d0 = names.iloc[k], listed[k]
        i0 = int(dates.searchsorted(d0))
        if i0 >= len(dates):
            continue
        reg = REGISTRATION_FROM.get(board)
        if reg is not None and d0 >= pd.Timestamp(reg):
            out.append((int(k), i0, i0 + IPO_FREE_DAYS, np.nan, np.nan))
            continue
        if board != "bse" and d0 >= IPO_BAND_FROM and np.isfinite(issue[k]) and dates[i0] == d0:
            out.append((int(k), i0, i0 + 1, float(round_half_up(issue[k] * 1.44, tick[0, k])),
                        float(round_half_up(issue[k] * 0.64, tick[0, k]))))
            continue
        out.append((int(k), i0, i0 + 1, np.nan, np.nan))
    return out


def tradability(panel: Panel, rules, exec_price_field: str = "close", boards=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Boolean ``date x code`` frames ``(can_buy, can_sell)`` for trades at ``exec_price_field`` (close or open).

    ``rules.limits``: ``data`` = the panel's ``limit_up`` (blocks buys) / ``limit_down`` (blocks sells) flags only
    (taken as given also for open execution: the flags describe the close, an approximation); ``board`` = the
    execution price at or beyond the limit prices of :func:`board_limit_prices` (module docstring); ``auto`` = the
    flags where the data gives them, the board rule elsewhere; ``off`` = no limit blocks. ``boards``: code ->
    board (a Series) or an info frame (code, board, list_date, st_start, st_end, issue_price). Suspension blocks both
    sides: the ``suspended`` flag (when ``rules.suspension``) and always a missing execution price. Uses the
    execution day's own row and the previous close only (market facts, not decisions).
    """
    cols = np.arange(len(panel.codes), dtype=np.int64)
    close, _, prev = price_window(values(panel["close"]), np.zeros((1, 1)), cols, 0, len(panel.dates), True)
    px = panel[exec_price_field].to_numpy(dtype=float, na_value=np.nan)
    buy, sell = tradability_arrays(panel, rules, boards, cols, 0, len(panel.dates) - 1, px, close, prev)
    if sell is buy:
        sell = buy.copy(order="K")
    frame = lambda a: pd.DataFrame(a, index=panel.dates, columns=panel.codes, copy=False)  # noqa: E731
    return frame(buy), frame(sell)


def values(frame: pd.DataFrame) -> np.ndarray:
    """The frame's (T, N) values without a copy when they are one float64 block (NaN for missing)."""
    if len(frame.columns) and set(frame.dtypes.tolist()) == {np.dtype(np.float64)}:
        return frame.to_numpy()
    return frame.to_numpy(dtype=float, na_value=np.nan)


def _flags(frame: pd.DataFrame | None) -> np.ndarray:
    """A flag field for :func:`engine.kernels.prep.limit_masks_into`: bool as uint8 (no copy), else float (NaN = not
    given); (0, 0) when absent."""
    if frame is None:
        return np.zeros((0, 0))
    if len(frame.columns) and set(frame.dtypes.tolist()) == {np.dtype(np.bool_)}:
        return frame.to_numpy().view(np.uint8)
    return frame.to_numpy(dtype=float, na_value=np.nan)


def tradability_arrays(panel: Panel, rules, boards, cols: np.ndarray, i0: int, i1: int, px: np.ndarray,
                       close: np.ndarray, prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(can_buy, can_sell)`` (T, n) bool for rows i0..i1 and columns ``cols`` of ``panel`` (the rule of
    :func:`tradability`), given the execution prices ``px`` (T, n) of those cells, the forward-filled ``close``
    (T, n) and ``prev`` (n,) = the filled close of row i0 - 1. Computed by :func:`engine.kernels.prep.limit_masks_into`
    without a (T, N) float temporary. With ``limits: off`` the two are one array (both sides: not halted)."""
    args = mask_args(panel, rules, boards, cols, i0, i1)
    if rules.limits == "off" and not args[-1]:     # only a missing price blocks: the kernel reads no mask where px is NaN
        on = ~np.isnan(px)
        return on, on
    can_buy, can_sell = mask_outputs(rules, *px.shape)
    limit_masks_into(px, close, prev, *args[:-5], np.ascontiguousarray(cols, dtype=np.int64), i0, *args[-5:],
                     can_buy, can_sell)
    return can_buy, can_sell


def mask_outputs(rules, T: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty (T, n) Fortran-ordered ``(can_buy, can_sell)`` allocated by numpy (huge pages, see
    :func:`engine.kernels.prep.price_window_into`); one array for both when ``limits: off`` (no limit rule: both
    sides are "not halted"; the kernel only reads them)."""
    can_buy = np.empty((n, T), dtype=np.bool_).T
    return can_buy, (can_buy if rules.limits == "off" else np.empty((n, T), dtype=np.bool_).T)


def mask_args(panel: Panel, rules, boards, cols: np.ndarray, i0: int, i1: int) -> tuple:
    """The rule inputs of :func:`engine.kernels.prep.limit_masks_into` for rows i0..i1 and columns ``cols``:
    ``(board, board_pct, st, st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up, ipo_down, flag_up, flag_down,
    mode_board, mode_flags, flags_only, susp, has_susp)`` (its arguments after ``close, prev`` without ``cols,
    i0``). Raises the one-line errors of the rule's configuration."""
    mode = rules.limits
    if mode not in ("auto", "data", "board", "off"):
        raise ConfigError(f"market_rules.limits: '{mode}' is not allowed; use auto, data, board or off")
    has_flags = "limit_up" in panel or "limit_down" in panel
    if mode == "data" and not has_flags:
        raise DataError(f"{panel.source}: market_rules.limits is 'data' but panel '{panel.name}' has no limit_up / "
                        "limit_down fields; add them or use limits: board (or auto)")
    n = len(cols)
    T = i1 - i0 + 1
    dates = panel.dates[i0:i1 + 1]
    board = np.zeros(n, dtype=np.int64)
    board_pct = np.zeros((1, T))
    st, st_pct, has_st = np.zeros((1, 1), dtype=np.bool_), np.zeros(1), False
    tick_k = np.zeros(n)
    ipo_lo = np.zeros(n, dtype=np.int64)
    ipo_hi = np.zeros(n, dtype=np.int64)
    ipo_up = np.full(n, np.nan)
    ipo_down = np.full(n, np.nan)
    if mode in ("auto", "board"):
        codes = panel.codes[cols]
        info = _info(boards, codes)
        names = _board_names(info, codes, rules)
        uniq = sorted(set(names))
        board = pd.Index(uniq).get_indexer(names).astype(np.int64).reshape(n)
        board_pct = np.array([_dated(rules.board_limits[b], dates, b) for b in uniq]).reshape(len(uniq), T)
        st_all = _st_mask(panel, _info(boards, panel.codes))
        if st_all is not None and st_all.any():
            if "st" not in rules.board_limits:
                raise ConfigError("market_rules.board_limits: the data flags ST stocks but has no 'st' limit; "
                                  "add one")
            st = np.asfortranarray(st_all[i0:i1 + 1][:, cols])
            st_pct = _dated(rules.board_limits["st"], dates, "st")
            has_st = True
        tick = _ticks(codes)[None, :]
        tick_k = np.round(1.0 / tick[0]).astype(float)
        if rules.ipo_free_days:
            for k, lo, hi, u, d in _ipo_overrides(panel.dates, names, info, tick):
                ipo_lo[k], ipo_hi[k], ipo_up[k], ipo_down[k] = lo - i0, hi - i0, u, d
    flags = mode in ("auto", "data")
    susp = bool(rules.suspension and "suspended" in panel)
    return (board, board_pct, st, st_pct, has_st, tick_k, ipo_lo, ipo_hi, ipo_up, ipo_down,
            _flags(panel.get("limit_up") if flags else None), _flags(panel.get("limit_down") if flags else None),
            mode in ("auto", "board"), flags, mode == "data", _flags(panel["suspended"] if susp else None), susp)
