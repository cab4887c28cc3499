"""Baseline signals: ``hold`` (the benchmark itself), ``weights_file`` (a user-supplied weight path) and
``ma_timing`` (moving-average timing on the CSI 300)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError
from engine.signals.base import SignalResult, SignalSpec, rolling_mean


def resolve_param_path(path: str, config_file: str) -> str:
    """A relative ``signal.params.path`` is read from the YAML's folder when the file is there (so a strategy
    folder can be moved or run from anywhere), else from the working directory (older configs). Returned as
    given when neither exists (the signal then names the file)."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return str(p)
    cfg = Path(config_file)
    if cfg.is_file():
        beside = cfg.resolve().parent / p
        if beside.exists():
            return str(beside)
    return str(p)


def code_in_panel(panel, code: str, who: str) -> str:
    """``code`` as the panel spells it: aliases (000300.XSHG, sh000300, 000300) are normalised
    (:mod:`engine.data.codes`); one-line error if the code is not in the panel."""
    from engine.data.codes import normalize_code

    if code in panel.codes:
        return code
    norm = normalize_code(code, panel.name, f"signal.params.code of {who}")
    if norm in panel.codes:
        return norm
    raise DataError(f"{panel.source}: {who}: code '{code}' is not in panel '{panel.name}' "
                    f"(it has: {', '.join(map(str, panel.codes[:5]))}{' ...' if len(panel.codes) > 5 else ''}); "
                    f"set signal.params.code to one of them")


def hold(ds: Dataset, params: dict) -> SignalResult:
    """Hold 100% of ``params['code']`` (default the CSI 300) of panel ``params['panel']`` every day.

    Inputs: close of the panel named by ``panel`` (``index``, ``etf``, ``stocks``, ...); the backtester trades that
    panel. Output: weights in {1.0}. Warm-up: none. Timing: decided at close t, traded at
    t+lag by the backtester, so the first position is bought at the close of the period's base day.
    """
    panel = ds.panel(params["panel"])
    code = code_in_panel(panel, params["code"], "hold")
    w = pd.DataFrame(1.0, index=panel.dates, columns=[code])
    return SignalResult(weights=w)


def ma_timing(ds: Dataset, params: dict) -> SignalResult:
    """Moving-average timing: 100% when MA_short(close) > MA_long(close) at close t, else 0%.

    Inputs: close of ``code`` in panel ``params['panel']`` (traded on that panel). Output: weights in {0, 1}. Warm-up: ``long`` days (weight 0 before).
    Timing: decided with closes up to t only (trailing means), traded at t+lag. ``params`` are validated first
    (:data:`MA_TIMING`'s rules: windows > 0, ``short`` smaller than ``long``).
    """
    return _ma_timing(ds, MA_TIMING.validate(params))


def _ma_timing(ds: Dataset, params: dict) -> SignalResult:
    """:func:`ma_timing` of validated params (``MA_TIMING.compute``: the engine validated them from the YAML)."""
    short, long_ = params["short"], params["long"]
    panel = ds.panel(params["panel"])
    code = code_in_panel(panel, params["code"], "ma_timing")
    close = panel["close"][code]
    ma_s = rolling_mean(close, short, short)
    ma_l = rolling_mean(close, long_, long_)
    w = (ma_s > ma_l).astype(float)
    ind = pd.DataFrame({"close": close, f"ma_{short}": ma_s, f"ma_{long_}": ma_l, "weight": w})
    return SignalResult(weights=w.to_frame(code), indicators=ind)


def weights_file(ds: Dataset, params: dict) -> SignalResult:
    """Backtest a target-weight path supplied as CSV (e.g. a weight table printed in a report).

    File layouts: ``wide`` (a ``date`` column then one column per code, values = weights) or ``long`` (columns
    ``date, code, weight``). Weights may be fractions (0.5) or percent strings ("50%"). Each row sets the target
    from that date until the next row; before the first row the portfolio is in cash.
    ``layout: long`` also hands the backtester the compact form (``SparsePaths``: the decision dates and the codes
    held), e.g. for a stock-level portfolio; the result is the same as the dense path's.
    ``timing: decided`` (default): the date is the close at which the weight is decided (traded at t+lag).
    ``timing: guidance``: the date is a report's guidance date computed from the previous trading day's close
    (财信 表1: "前一个交易日更新模型结果"); it is treated as decided at that previous close, so with lag 1 / close
    execution it is traded at the guidance date's close. Unknown codes, unsorted or duplicate dates, weights outside [0, 1] or row sums above 1
    raise an error naming the file and the row.
    """
    path = Path(params["path"])
    if not path.exists():
        raise DataError(f"{path}: weights file not found (signal.params.path; a relative path is read from the "
                        f"YAML's folder, then from the working directory)")
    try:
        raw = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
    raw.columns = [c.strip() for c in raw.columns]
    if len(raw) == 0:
        raise DataError(f"{path}: the weights file has a header but no rows; add one row per decision date")
    if "date" not in raw.columns:
        raise DataError(f"{path}: needs a 'date' column (columns found: {', '.join(raw.columns)})")
    if params["layout"] == "long":
        miss = {"code", "weight"} - set(raw.columns)
        if miss:
            raise DataError(f"{path}: long layout needs columns date, code, weight (missing: {', '.join(sorted(miss))})")
        dup = raw.duplicated(["date", "code"])
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise DataError(f"{path}:{i + 2}: duplicate (date, code) = ({raw['date'][i]}, {raw['code'][i]})")
        wide = raw.pivot(index="date", columns="code", values="weight")
        wide = wide.loc[pd.unique(raw["date"])]
    else:
        wide = raw.set_index("date")
    dates = pd.to_datetime(pd.Series(wide.index), errors="coerce")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna())[0])
        raise DataError(f"{path}: row {i + 1}: date {wide.index[i]!r} is not a date (use YYYY-MM-DD)")
    wide.index = pd.DatetimeIndex(dates, name="date")
    if wide.index.duplicated().any():
        raise DataError(f"{path}: duplicate dates {wide.index[wide.index.duplicated()][0]:%Y-%m-%d}")
    if not wide.index.is_monotonic_increasing:
        raise DataError(f"{path}: dates must be sorted ascending")

    def _num(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return np.nan
        s = str(v).strip()
        if s == "":
            return np.nan
        pct = s.endswith("%")
        try:
            x = float(s.rstrip("%"))
        except ValueError:
            raise DataError(f"{path}: weight {s!r} is not a number (use 0.5 or 50%)") from None
        return x / 100 if pct else x

    w = wide.map(_num).astype(float).fillna(0.0)
    panel = ds.panel(params["panel"])
    w.columns = [c if c in panel.codes else _alias(c, panel, path) for c in map(str, w.columns)]
    unknown = [c for c in w.columns if c not in panel.codes]
    if unknown:
        raise DataError(f"{path}: codes not in panel '{panel.name}': {', '.join(unknown[:5])}; codes must match the data (e.g. 000300.SH)")
    bad = (w < -1e-12) | (w > 1 + 1e-12)
    if bad.to_numpy().any():
        r = int(np.flatnonzero(bad.any(axis=1).to_numpy())[0])
        raise DataError(f"{path}: weights must be in [0, 1] (row {w.index[r]:%Y-%m-%d})")
    over = w.sum(axis=1) > 1 + 1e-9
    if over.any():
        raise DataError(f"{path}: weights sum above 1 on {w.index[over.to_numpy()][0]:%Y-%m-%d}; leverage is not supported")
    if ds.meta.get("asof") is not None:      # an --asof cut (engine.data.truncate): later rows were not known yet
        w = w.loc[: pd.Timestamp(ds.meta["asof"])]
    cal = panel.dates
    outside = w.index[(w.index < cal[0]) | (w.index > cal[-1])]
    if len(outside):
        raise DataError(f"{path}: dates outside the data ({cal[0]:%Y-%m-%d}..{cal[-1]:%Y-%m-%d}): {outside[0]:%Y-%m-%d}")
    # map each row to the trading day on/after its date (a weekend date applies from the next session)
    pos = cal.searchsorted(w.index, side="left")
    if params["timing"] == "guidance":
        pos = pos - 1
        if (pos < 0).any():
            raise DataError(f"{path}: first guidance date {w.index[0]:%Y-%m-%d} has no previous trading day in the data")
    w.index = cal[pos]
    w = w[~w.index.duplicated(keep="last")]
    full = w.reindex(cal).ffill().fillna(0.0)
    full = full.reindex(columns=list(w.columns))
    targets = None
    if params["layout"] == "long" and len(w):     # the compact path: decisions and codes held, not T x N
        from engine.backtest.weightpaths import SparsePaths

        dec = w if w.index[0] == cal[0] else pd.concat([pd.DataFrame(0.0, index=cal[:1], columns=w.columns), w])
        targets = SparsePaths.from_rows(dec, cal, carry=True)     # = full: cash before the first row, then held
    return SignalResult(weights=full, targets=targets)


def _alias(code: str, panel, path) -> str:
    from engine.data.codes import normalize_code

    norm = normalize_code(code, panel.name, str(path))
    return norm if norm in panel.codes else code


HOLD = SignalSpec("hold", hold, {"panel": "index", "code": "000300.SH"}, "index", ("panel:index.close",),
                  "Hold the benchmark: excess return must equal minus the costs.")
MA_TIMING = SignalSpec("ma_timing", _ma_timing, {"panel": "index", "code": "000300.SH", "short": 20, "long": 60},
                       "index", ("panel:index.close",), "Moving-average crossover timing on the CSI 300 (0/100%).",
                       positive=("short", "long"), below={"short": "long"})
WEIGHTS_FILE = SignalSpec("weights_file", weights_file,
                          {"panel": "index", "path": "strategies/weights_example.csv", "layout": "wide", "timing": "decided"},
                          "index", (), "Backtest a user-supplied target-weight path (CSV).",
                          choices={"layout": ("wide", "long"), "timing": ("decided", "guidance")})
