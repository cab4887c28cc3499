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

FUND = re.compile(r"^(5\d{5}\.SH|1[56]\d{4}\.SZ)$")
IPO_FREE_DAYS = 5
REGISTRATION_FROM = {"star": "1900-01-01", "chinext": "2020-08-24", "main": "2023-04-10"}
IPO_BAND_FROM = pd.Timestamp("2014-01-01")


def round_half_up(x: np.ndarray, tick) -> np.ndarray:
    """Round half up to multiples of ``tick`` (decimal ticks such as 0.01): ``floor(x / tick + 0.5 + 1e-9) *
    tick``, the 1e-9 absorbing binary representation error (1.265 is stored as 1.26499999...)."""
    k = np.round(1.0 / np.asarray(tick, dtype=float))
    return np.floor(x * k + 0.5 + 1e-9) / k


def infer_board(code: str, default: str) -> str:
    c = str(code)
    if c.endswith(".BJ"):
        return "bse"
    if re.match(r"^30[01]\d{3}\.SZ$", c):
        return "chinext"
    if re.match(r"^68[89]\d{3}\.SH$", c):
        return "star"
    return default


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


def board_limit_prices(panel: Panel, rules, boards=None) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) limit-up and limit-down prices from the previous close (forward filled) by the dated board rules;
    NaN where no limit applies (no previous close, a limit-free listing day, or no limit in force)."""
    dates, codes = panel.dates, panel.codes
    info = _info(boards, codes)
    names = pd.Series([b if isinstance(b, str) else infer_board(c, rules.default_board)
                       for c, b in zip(codes, info["board"])], index=codes)
    unknown = sorted(set(names) - set(rules.board_limits))
    if unknown:
        bad = names.index[names.isin(unknown)]
        raise ConfigError(f"market_rules.board_limits: no limit for board(s) {', '.join(map(str, unknown))} "
                          f"(codes {_fmt_codes(bad)}); add them to market_rules.board_limits")
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
    tick = np.array([0.001 if FUND.match(str(c)) else 0.01 for c in codes])[None, :]
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
    listed = _ts(info["list_date"])
    issue = pd.to_numeric(info["issue_price"], errors="coerce").to_numpy()
    for k, (board, d0) in enumerate(zip(names, listed)):
        if pd.isna(d0):
            continue
        i0 = int(dates.searchsorted(d0))
        if i0 >= len(dates):
            continue
        reg = REGISTRATION_FROM.get(board)
        if reg is not None and d0 >= pd.Timestamp(reg):
            rows = slice(i0, i0 + IPO_FREE_DAYS)
        elif board == "bse":
            rows = slice(i0, i0 + 1)
        else:
            rows = slice(i0, i0 + 1)
            if d0 >= IPO_BAND_FROM and np.isfinite(issue[k]) and dates[i0] == d0:
                up[i0, k] = round_half_up(issue[k] * 1.44, tick[0, k])
                down[i0, k] = round_half_up(issue[k] * 0.64, tick[0, k])
                continue
        up[rows, k] = np.nan
        down[rows, k] = np.nan


def _flag(panel: Panel, name: str) -> np.ndarray:
    """(T, N) float: 1 / 0 where the data gives the flag, NaN where it does not."""
    a = panel[name].to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(a), np.nan, (a > 0.5).astype(float))


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
    px = panel[exec_price_field].to_numpy(dtype=float, na_value=np.nan)
    has_flags = "limit_up" in panel or "limit_down" in panel
    mode = rules.limits
    if mode not in ("auto", "data", "board", "off"):
        raise ConfigError(f"market_rules.limits: '{mode}' is not allowed; use auto, data, board or off")
    if mode == "data" and not has_flags:
        raise DataError(f"{panel.source}: market_rules.limits is 'data' but panel '{panel.name}' has no limit_up / "
                        "limit_down fields; add them or use limits: board (or auto)")
    up = np.zeros(px.shape, dtype=bool)
    down = np.zeros(px.shape, dtype=bool)
    if mode in ("auto", "board"):
        lu, ld = board_limit_prices(panel, rules, boards)
        eps = 1e-6     # prices are on the tick; only float noise separates equal ones
        with np.errstate(invalid="ignore"):
            up = px >= lu - eps
            down = px <= ld + eps
    if mode in ("auto", "data"):
        for name, arr in (("limit_up", up), ("limit_down", down)):
            if name in panel:
                f = _flag(panel, name)
                given = ~np.isnan(f)
                arr[given] = f[given] > 0.5
                if mode == "data":
                    arr[~given] = False
    halted = np.isnan(px)
    if rules.suspension and "suspended" in panel:
        halted |= panel["suspended"].to_numpy(dtype=float, na_value=np.nan) > 0.5
    frame = lambda a: pd.DataFrame(a, index=panel.dates, columns=panel.codes)  # noqa: E731
    return frame(~up & ~halted), frame(~down & ~halted)
