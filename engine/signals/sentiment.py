"""财信 三维情绪择时 (seed 002, methodology.md §1): CSI 300 timing at 0 / 50% / 100% from three indicators.

* 情绪浓度 C (:func:`concentration`): first principal component's variance share of the correlation matrix of
  CITIC level-3 industry daily returns over ``conc_window`` (250) days. Bounds [1/N, 1]. reconstructed.
* 情绪温度 T (:func:`temperature`): main-force buy ratio MBR = (elg_buy + lg_buy) / amount (series ``flows``),
  smoothed (``temp_smoothing`` ma|ema over ``temp_smooth_window`` = 20), rank percentile over ``temp_window``
  (1050, the k/1050 lattice of the printed table). Bounds (0, 1]. reconstructed.
* 情绪预期 E (:func:`expectation`): basis = (IF main close - CSI 300 close) / CSI 300 close (optionally x 365 /
  days to expiry), PCR = 50ETF put / call turnover; E = 0.5 pct_1350(basis) + 0.5 pct_1350(-PCR). Where the PCR
  percentile is missing (before ``exp_min_periods`` observations of options data) E = pct(basis) alone: E is
  the mean of the component percentiles that exist. Bounds (0, 1]. reconstructed.
* Position (:func:`position_rule`, §1.4, temperature-gated): 0 if T is not up over ``trend_k`` (9) days, 50%
  if T up and E not up, 100% if both up; optional 浓度 overlay (default off).

Percentiles use the NaN convention of :mod:`engine.kernels.rolling` (window = last W rows, NaN rows excluded
from count and rank); below ``*_min_periods`` valid values they are NaN. ``*_min_periods`` defaults to 250
(our proposal: the published backtests start in 2010, before 1050/1350 days of history could exist).

Timing: every value dated t uses data up to the close of t only; ``weights.loc[t]`` is decided at close t and
executed by the backtester at t + lag.

Execution timing as the report means it (the one place this is stated; strategies/sentiment.yaml and
docs/reproduction.md refer here): the report's 表1 row D is "前一个交易日更新模型结果", the weight computed at the
close of D-1 and dated by the day it is acted on (the guidance date). ``execution.lag: 1`` (:data:`REPORT_LAG`)
mirrors those rows: our row D-1 is traded on day D (at its close, or its open with ``price: open``), i.e. the
report's row D is our row D-1. ``lag: 0`` would hold the row-D weight over day D's own return, trading at the
close that computes the signal (methodology §1.4's backtest convention; not executable); ``lag: 2`` is one day
slower. The run summary prints the total return at lag 0 / 1 / 2 (:func:`lag_sensitivity`) because on the
synthetic market it moves a lot (the synthetic flows and basis follow the real CSI 300's trailing returns).
Warm-up: T needs ``temp_smooth_window + temp_min_periods - 1`` rows of flows, E ``exp_min_periods`` rows of
futures data, then ``trend_k`` more rows; until then the weight is 0 (any NaN input of the rule gives 0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError, ParamError
from engine.kernels.rolling import ema, rolling_mean, rolling_pca_share, rolling_rank_pct
from engine.signals.base import IndicatorSpec, SignalResult, SignalSpec
from engine.signals.components import ComponentMap, Components

DEFAULTS = {
    "code": "000300.SH",
    "conc_window": 250, "conc_min_periods": 250, "conc_min_assets": 10,
    "conc_returns": "daily", "conc_top_k": 1, "conc_input": "returns", "conc_smooth": 1,
    "temp_smoothing": "ma", "temp_smooth_window": 20, "temp_window": 1050, "temp_min_periods": 250,
    "exp_window": 1350, "exp_min_periods": 250, "exp_smooth": 1, "basis_annualize": False,
    "trend": "diff", "trend_k": 9,
    "conc_overlay": False, "conc_level": 0.83, "conc_lookback": 20, "conc_drop": 0.01,
}
CHOICES = {"temp_smoothing": ("ma", "ema"), "trend": ("diff", "slope"),
           "conc_returns": ("daily", "5d", "10d", "20d", "weekly"), "conc_input": ("returns", "levels")}
CONC_HORIZON = {"daily": 1, "5d": 5, "10d": 10, "20d": 20}
POSITIVE = ("conc_window", "conc_min_periods", "conc_min_assets", "conc_top_k", "conc_smooth",
            "temp_smooth_window", "temp_window",
            "temp_min_periods", "exp_window", "exp_min_periods", "exp_smooth", "trend_k", "conc_lookback")
REPORT_LAG = 1    # execution.lag that mirrors the report's 表1 guidance-date rows (module docstring)
TABLE_COLUMNS = {"concentration": "情绪浓度", "temperature": "情绪温度", "expectation": "情绪预期", "weight": "目标权重"}


def _params(params: dict | None) -> dict:
    """``params`` merged over :data:`DEFAULTS` and checked by the signal's one validator (:data:`SPEC`'s rules:
    unknown key, types, :data:`CHOICES`, :data:`POSITIVE`, ``*_min_periods <= *_window``, :func:`_check`)."""
    return SPEC.validate(params)


def _check(p: dict) -> None:
    """The rule of merged params no declaration covers: weekly returns need at least 2 of them per window."""
    if p["conc_input"] == "returns" and p["conc_returns"] == "weekly" and p["conc_window"] // 5 < 2:
        raise ParamError("conc_window", f"{p['conc_window']} gives fewer than 2 weekly returns "
                                        f"(conc_returns: weekly); use >= 10")


def _calendar(ds: Dataset, p: dict) -> pd.DatetimeIndex:
    panel = ds.panel("index")
    if p["code"] not in panel.codes:
        raise DataError(f"{panel.source}: panel 'index' has no code '{p['code']}' (it has: "
                        f"{', '.join(map(str, panel.codes[:5]))}); set signal.params.code")
    return panel.dates


def _series_cols(ds: Dataset, name: str, cols, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Numeric columns of series ``name`` on the calendar ``dates`` (extra dates dropped, missing ones NaN)."""
    s = ds.get_series(name)
    miss = [c for c in cols if c not in s.columns]
    if miss:
        raise DataError(f"{ds.source}: series '{name}' has no column {', '.join(miss)} "
                        f"(it has: {', '.join(map(str, s.columns))}); see docs/data.md")
    out = {}
    for c in cols:
        v = pd.to_numeric(s[c], errors="coerce")
        bad = v.isna() & s[c].notna()
        if bad.any():
            raise DataError(f"{ds.source}: series '{name}' column '{c}' is not numeric on "
                            f"{bad.idxmax():%Y-%m-%d} ({s[c][bad].iloc[0]!r}); fix the export")
        out[c] = v.astype(float)
    df = pd.DataFrame(out, index=s.index)
    if len(df) and len(df.index.intersection(dates)) == 0:     # empty (e.g. cut --asof before it starts): all NaN
        raise DataError(f"{ds.source}: series '{name}' shares no date with panel 'index' "
                        f"({df.index.min():%Y-%m-%d}..{df.index.max():%Y-%m-%d}); check the date column")
    return df.reindex(dates)


def _nonpositive(df: pd.DataFrame, col: str, where: str) -> None:
    bad = df[col] <= 0
    if bad.any():
        d = df.index[bad.to_numpy()]
        raise DataError(f"{where} column '{col}' is <= 0 on {int(bad.sum())} dates (first {d[0]:%Y-%m-%d}); "
                        f"missing days must be empty, not 0")


def _pct(x: pd.Series, window: int, min_periods: int) -> pd.Series:
    v = rolling_rank_pct(x.to_numpy(float).reshape(-1, 1), window, min_periods)[:, 0]
    return pd.Series(v, index=x.index)


def _smooth(x: pd.Series, how: str, n: int) -> pd.Series:
    if n == 1:
        return x
    a = x.to_numpy(float).reshape(-1, 1)
    v = rolling_mean(a, n, n) if how == "ma" else ema(a, n, n)
    return pd.Series(v[:, 0], index=x.index)


# ------------------------------------------------------------------------------------------------ indicators
def concentration(ds: Dataset, params: dict | None = None) -> pd.Series:
    """情绪浓度 C_t on the calendar of panel ``index``: the share of the ``conc_top_k`` (1) largest eigenvalues in
    the trace of the correlation matrix of panel ``citic_l3`` over the last ``conc_window`` rows, then an MA over
    ``conc_smooth`` rows (1 = none). Default = the report's stated definition (first PC of daily returns).

    Variants (methodology §9.1; none reproduces the printed level on real CITIC L3 data):
    ``conc_input: returns`` with ``conc_returns``: ``daily`` close_t / close_{t-1} - 1; ``5d``/``10d``/``20d``
    overlapping h-day returns close_t / close_{t-h} - 1 at every row; ``weekly`` non-overlapping 5-day returns
    ending at t, t-5, t-10, ... (``conc_window // 5`` of them, ``conc_min_periods // 5`` needed), so the value
    moves every day without a calendar-week convention. ``conc_input: levels``: the closes themselves
    (``conc_returns`` is ignored).

    Only industries with a complete, non-constant window take part (at least ``conc_min_assets`` of them).
    Bounds [1/N, 1]. Warm-up ``conc_min_periods`` rows of the input (+ h rows for h-day returns, + the smoothing).
    Uses closes up to t only. Dates of ``citic_l3`` missing from the calendar are ignored after computing.
    """
    return _concentration(ds, _params(params))


def _concentration(ds: Dataset, p: dict) -> pd.Series:
    """:func:`concentration` of merged params (reads ``code`` and the ``conc_*`` parameters only)."""
    dates = _calendar(ds, p)
    close = ds.panel("citic_l3")["close"].astype(float)
    nonpos = (close <= 0).to_numpy()
    if nonpos.any():
        r, c = np.argwhere(nonpos)[0]
        raise DataError(f"{ds.source}: panel 'citic_l3' close is <= 0, e.g. {close.columns[c]} on "
                        f"{close.index[r]:%Y-%m-%d}; prices must be > 0 (missing days empty)")
    out = concentration_values(close.to_numpy(float), p)
    return pd.Series(out, index=close.index, name="concentration").reindex(dates)


def concentration_values(close: np.ndarray, p: dict) -> np.ndarray:
    """The 浓度 array of :func:`concentration` from a (dates x industries) close array and merged params."""
    n = len(close)
    out = np.full(n, np.nan)
    W, mp, ma, k = p["conc_window"], p["conc_min_periods"], p["conc_min_assets"], p["conc_top_k"]
    if p["conc_input"] == "levels":
        out = rolling_pca_share(np.ascontiguousarray(close), W, mp, ma, k)
    elif p["conc_returns"] == "weekly":       # conc_window >= 10: checked by _check
        for q in range(5):
            sub = close[q::5]
            if len(sub) > 1:
                ret = sub[1:] / sub[:-1] - 1.0
                out[q + 5::5] = rolling_pca_share(np.ascontiguousarray(ret), W // 5, max(mp // 5, 2), ma, k)
    else:
        h = CONC_HORIZON[p["conc_returns"]]
        if n > h:
            ret = close[h:] / close[:-h] - 1.0
            out[h:] = rolling_pca_share(np.ascontiguousarray(ret), W, mp, ma, k)
    if p["conc_smooth"] > 1:
        out = rolling_mean(out.reshape(-1, 1), p["conc_smooth"], p["conc_smooth"])[:, 0]
    return out


def _temperature_parts(ds: Dataset, p: dict, dates) -> tuple[pd.Series, pd.Series, pd.Series]:
    return _temperature_from(_mbr(ds, dates), p)


def _temperature_from(mbr: pd.Series, p: dict) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(mbr, smoothed mbr, 温度) from the main-force buy ratio (reads the ``temp_*`` parameters only)."""
    smooth = _smooth(mbr, p["temp_smoothing"], p["temp_smooth_window"])
    temp = _pct(smooth, p["temp_window"], p["temp_min_periods"])
    return mbr.rename("mbr"), smooth.rename("mbr_smooth"), temp.rename("temperature")


def _mbr(ds: Dataset, dates) -> pd.Series:
    """The main-force buy ratio (elg_buy + lg_buy) / amount of series ``flows`` on ``dates``, validated."""
    f = _series_cols(ds, "flows", ("elg_buy", "lg_buy", "amount"), dates)
    empty = (f == 0).all(axis=1)               # a row of zeros records nothing (e.g. a sum over no stocks)
    f[empty] = np.nan
    _nonpositive(f, "amount", f"{ds.source}: series 'flows'")
    mbr = (f["elg_buy"] + f["lg_buy"]) / f["amount"]
    bad = (mbr < 0) | (mbr > 1 + 1e-9)
    if bad.any():
        d = mbr.index[bad.to_numpy()]
        raise DataError(f"{ds.source}: series 'flows': (elg_buy + lg_buy) / amount is outside [0, 1] on "
                        f"{int(bad.sum())} dates (first {d[0]:%Y-%m-%d}: {mbr[bad].iloc[0]:.4g}); "
                        f"all three columns must be in CNY (docs/data.md)")
    return mbr


def temperature(ds: Dataset, params: dict | None = None) -> pd.Series:
    """情绪温度 T_t: rank percentile over ``temp_window`` rows of the smoothed main-force buy ratio
    ``(elg_buy + lg_buy) / amount`` (series ``flows``, market totals in CNY), on the calendar of panel ``index``.
    A row whose three values are all 0 is treated as missing; any other amount <= 0 raises a DataError.

    Smoothing: ``ma`` = simple mean of the last ``temp_smooth_window`` rows (all must be present), ``ema`` =
    span ``temp_smooth_window``. Bounds (0, 1], on the k/temp_window lattice with a full window. Warm-up
    ``temp_smooth_window - 1 + temp_min_periods - 1`` rows. Uses flows up to t only.
    """
    p = _params(params)
    return _temperature_parts(ds, p, _calendar(ds, p))[2]


def _expectation_parts(ds: Dataset, p: dict, dates) -> dict[str, pd.Series]:
    return _expectation_from(*_basis_pcr(ds, p, dates), p)


def _expectation_from(basis: pd.Series, pcr: pd.Series, p: dict) -> dict[str, pd.Series]:
    """basis, PCR, their percentiles and 情绪预期 (reads ``exp_smooth``, ``exp_window``, ``exp_min_periods``)."""
    n = p["exp_smooth"]
    b_pct = _pct(_smooth(basis, "ma", n), p["exp_window"], p["exp_min_periods"])
    p_pct = _pct(-_smooth(pcr, "ma", n), p["exp_window"], p["exp_min_periods"])
    expct = pd.concat([b_pct, p_pct], axis=1).mean(axis=1, skipna=True)
    return {"basis": basis.rename("basis"), "pcr": pcr.rename("pcr"), "basis_pct": b_pct.rename("basis_pct"),
            "neg_pcr_pct": p_pct.rename("neg_pcr_pct"), "expectation": expct.rename("expectation")}


def _basis_pcr(ds: Dataset, p: dict, dates) -> tuple[pd.Series, pd.Series]:
    """(basis, PCR) on ``dates``, validated (reads ``code`` and ``basis_annualize``)."""
    idx = ds.panel("index")["close"][p["code"]].astype(float)
    fut = _series_cols(ds, "futures_if", ("close",), dates)
    _nonpositive(fut, "close", f"{ds.source}: series 'futures_if'")
    basis = (fut["close"] - idx) / idx
    if p["basis_annualize"]:
        raw = ds.get_series("futures_if")
        if "expiry" not in raw.columns:
            raise DataError(f"{ds.source}: series 'futures_if' has no column 'expiry', needed by basis_annualize: true")
        exp = pd.to_datetime(raw["expiry"], errors="coerce").reindex(dates)
        days = (exp - pd.Series(dates, index=dates)).dt.days.astype(float)
        if (days < 0).any():
            d = days.index[(days < 0).to_numpy()][0]
            raise DataError(f"{ds.source}: series 'futures_if' expiry is before the date on {d:%Y-%m-%d}")
        basis = basis * 365.0 / days.clip(lower=1.0)
    opt = _series_cols(ds, "options_50etf", ("put_amount", "call_amount"), dates)
    for c in ("put_amount", "call_amount"):
        _nonpositive(opt, c, f"{ds.source}: series 'options_50etf'")
    pcr = opt["put_amount"] / opt["call_amount"]
    return basis, pcr


def expectation(ds: Dataset, params: dict | None = None) -> pd.Series:
    """情绪预期 E_t = mean of the available ones of pct(basis) and pct(-PCR), each a rank percentile over
    ``exp_window`` (1350) rows with at least ``exp_min_periods`` valid values, after an optional MA of
    ``exp_smooth`` rows (1 = none) of basis and PCR.

    basis = (series ``futures_if`` close - panel ``index`` close) / index close, x 365 / max(days to expiry, 1)
    if ``basis_annualize``; PCR = series ``options_50etf`` put_amount / call_amount. Bounds (0, 1]; with both
    full windows E lies on the k/(2 * exp_window) lattice. Warm-up ``exp_min_periods`` rows of futures data
    (E = pct(basis) alone until the options percentile exists). Uses data up to t only.
    """
    p = _params(params)
    return _expectation_parts(ds, p, _calendar(ds, p))["expectation"]


# ------------------------------------------------------------------------------------------------ position
def _ols_slope_sign_num(x: np.ndarray, n: int) -> np.ndarray:
    """Numerator of the OLS slope of the last n values on 1..n (same sign as the slope), NaN if any is NaN.
    Pairs y_{n-1-i} - y_i so a constant window gives exactly 0."""
    out = np.full(len(x), np.nan)
    if len(x) < n:
        return out
    win = np.lib.stride_tricks.sliding_window_view(x, n)
    acc = np.zeros(win.shape[0])
    for i in range(n // 2):
        acc += ((n - 1) / 2.0 - i) * (win[:, n - 1 - i] - win[:, i])
    out[n - 1:] = acc
    return out


def _up(x: np.ndarray, k: int, how: str) -> tuple[np.ndarray, np.ndarray]:
    """(valid, up) where up_t = x_t > x_{t-k} (diff) or OLS slope over x_{t-k..t} > 0 (slope)."""
    if how == "diff":
        prev = np.full(len(x), np.nan)
        if k < len(x):
            prev[k:] = x[:-k]
        valid = ~np.isnan(x) & ~np.isnan(prev)
        with np.errstate(invalid="ignore"):
            return valid, valid & (x > prev)
    num = _ols_slope_sign_num(x, k + 1)
    valid = ~np.isnan(num)
    with np.errstate(invalid="ignore"):
        return valid, valid & (num > 0)


def position_rule(T, E, C=None, params: dict | None = None) -> np.ndarray:
    """Target weight per row from 温度 T, 预期 E (and 浓度 C for the overlay), §1.4 temperature-gated rule.

    Tup_t = T_t > T_{t-k} (``trend: diff``) or OLS slope of T_{t-k..t} > 0 (``trend: slope``), k = ``trend_k``;
    Eup likewise. w_t = 0 if not Tup, 0.5 if Tup and not Eup, 1.0 if both. Any NaN among the values the rule
    needs at t gives 0 (no position without full information), so the first k rows are 0.
    Overlay (``conc_overlay: true``): w_t = 0 when C_t >= ``conc_level`` and C_t < max(C over the last
    ``conc_lookback`` rows incl. t) - ``conc_drop``; a NaN C never triggers it.
    Inputs: equal-length 1-D arrays (rows in date order). Output: float array in {0, 0.5, 1}. Uses rows <= t.
    """
    return _position_rule(T, E, C, _params(params))


def _position_rule(T, E, C, p: dict) -> np.ndarray:
    """:func:`position_rule` of validated params ``p``."""
    T = np.asarray(T, float)
    E = np.asarray(E, float)
    if T.shape != E.shape or T.ndim != 1:
        raise ValueError(f"position_rule: T and E must be 1-D of equal length, got {T.shape} and {E.shape}")
    vt, tup = _up(T, p["trend_k"], p["trend"])
    ve, eup = _up(E, p["trend_k"], p["trend"])
    w = np.where(tup, np.where(eup, 1.0, 0.5), 0.0)
    w[~vt | (tup & ~ve)] = 0.0
    if p["conc_overlay"]:
        if C is None:
            raise ValueError("position_rule: conc_overlay needs C")
        c = pd.Series(np.asarray(C, float))
        peak = c.rolling(p["conc_lookback"], min_periods=1).max().to_numpy()
        with np.errstate(invalid="ignore"):
            fire = (c.to_numpy() >= p["conc_level"]) & (c.to_numpy() < peak - p["conc_drop"])
        w[fire] = 0.0
    return w


# ------------------------------------------------------------------------------------------------ compute
def compute(ds: Dataset, params: dict | None = None) -> SignalResult:
    """The 三维情绪 timing signal on ``params['code']`` (CSI 300) of panel ``index``.

    Inputs: panel ``index`` close, panel ``citic_l3`` close, series ``flows`` (elg_buy, lg_buy, amount),
    ``futures_if`` (close[, expiry]), ``options_50etf`` (put_amount, call_amount). Output: weights in
    {0, 0.5, 1} (one column, the code); indicators (concentration, temperature, expectation, mbr, mbr_smooth,
    basis, pcr, basis_pct, neg_pcr_pct); tables {"last_days": :func:`indicator_table` at the last date}.
    Timing and warm-up: see the module docstring (decided at close t, traded at t + lag).
    """
    return _compute(ds, _params(params))


def _compute(ds: Dataset, p: dict) -> SignalResult:
    """:func:`compute` of validated params (``SPEC.compute``: the engine validated them from the YAML)."""
    comps = Components(ds, COMPONENTS.deps, p)
    weights, _ = sweep_weights(ds, p, comps)          # the weights a sweep computes, from the same components
    dates = weights.index
    conc = comps.get("concentration", _c_concentration)
    mbr, smooth, temp = comps.get("temperature", _c_temperature)
    e = comps.get("expectation", _c_expectation)
    ind = pd.DataFrame({"concentration": conc, "temperature": temp, "expectation": e["expectation"],
                        "mbr": mbr, "mbr_smooth": smooth, "basis": e["basis"], "pcr": e["pcr"],
                        "basis_pct": e["basis_pct"], "neg_pcr_pct": e["neg_pcr_pct"]}, index=dates)
    res = SignalResult(weights=weights, indicators=ind)
    res.tables = {"last_days": indicator_table(res)}
    return res


# Components (engine.signals.components): each is computed once per distinct value of the parameters it reads.
# A swept trend / trend_k / conc_overlay* only re-runs position_rule; temp_* re-runs 温度, exp_* and
# basis_annualize 预期, conc_* 浓度 (the costliest: a rolling PCA). Costliest first.
def _c_calendar(ds, q, sub):
    return _calendar(ds, q)


def _c_concentration(ds, q, sub):
    return _concentration(ds, q)


def _c_mbr(ds, q, sub):
    return _mbr(ds, sub.get("calendar", _c_calendar))


def _c_temperature(ds, q, sub):
    return _temperature_from(sub.get("mbr", _c_mbr), q)


def _c_basis_pcr(ds, q, sub):
    return _basis_pcr(ds, q, sub.get("calendar", _c_calendar))


def _c_expectation(ds, q, sub):
    return _expectation_from(*sub.get("basis_pcr", _c_basis_pcr), q)


def sweep_weights(ds: Dataset, p: dict, comps: Components) -> tuple[pd.DataFrame, None]:
    """The weights of merged, validated params ``p`` from the components (no indicator frame, no tables):
    position_rule(温度, 预期, 浓度). Used by :func:`compute` and by sweeps (``SignalSpec.components``).
    浓度 (the costly rolling PCA) is read only when ``conc_overlay`` uses it: without the overlay the weights do not
    depend on it, so a sweep does not compute it (a single run still reports it among the indicators)."""
    dates = comps.get("calendar", _c_calendar)
    conc = comps.get("concentration", _c_concentration).to_numpy() if p["conc_overlay"] else None
    temp = comps.get("temperature", _c_temperature)[2]
    e = comps.get("expectation", _c_expectation)["expectation"]
    w = _position_rule(temp.to_numpy(), e.to_numpy(), conc, p)
    return pd.DataFrame({p["code"]: w}, index=dates), None


_CONC = ("code", "conc_window", "conc_min_periods", "conc_min_assets", "conc_returns", "conc_top_k", "conc_input",
         "conc_smooth")
COMPONENTS = ComponentMap(
    deps={"concentration": _CONC,
          "expectation": ("code", "basis_annualize", "exp_smooth", "exp_window", "exp_min_periods"),
          "temperature": ("code", "temp_smoothing", "temp_smooth_window", "temp_window", "temp_min_periods"),
          "basis_pcr": ("code", "basis_annualize"), "mbr": ("code",), "calendar": ("code",)},
    weights=sweep_weights)      # params validated already (engine.sweep.grid per combination, or compute)


def indicator_table(result: SignalResult, asof=None, n: int = 20) -> pd.DataFrame:
    """The report's 图1 + 表1: the last ``n`` rows up to ``asof`` (default: the last date) of 情绪浓度, 情绪温度,
    情绪预期 and 目标权重 (target weight decided at that row's close). Raises DataError if ``asof`` precedes
    the data."""
    ind = result.indicators
    tab = ind[["concentration", "temperature", "expectation"]].copy()
    tab["weight"] = result.weights.iloc[:, 0]
    if asof is not None:
        asof = pd.Timestamp(asof)
        if len(tab) == 0 or asof < tab.index[0]:
            raise DataError(f"indicator_table: asof {asof:%Y-%m-%d} is before the first date of the data")
        tab = tab.loc[:asof]
    return tab.tail(n).rename(columns=TABLE_COLUMNS)


def _temperature_frame(ds: Dataset, params: dict) -> pd.DataFrame:
    p = _params(params)
    return pd.concat(_temperature_parts(ds, p, _calendar(ds, p)), axis=1)


def _expectation_frame(ds: Dataset, params: dict) -> pd.DataFrame:
    p = _params(params)
    return pd.DataFrame(_expectation_parts(ds, p, _calendar(ds, p)))


INDICATORS = (
    IndicatorSpec("concentration", lambda ds, p: concentration(ds, p).to_frame(),
                  ("panel:index.close", "panel:citic_l3.close"), ("浓度", "情绪浓度"),
                  "情绪浓度: top-PC variance share of CITIC L3 (needs panel citic_l3 only)"),
    IndicatorSpec("temperature", _temperature_frame,
                  ("panel:index.close", "series:flows.elg_buy", "series:flows.lg_buy", "series:flows.amount"),
                  ("温度", "情绪温度"), "情绪温度: percentile of the smoothed main-force buy ratio (series flows)"),
    IndicatorSpec("expectation", _expectation_frame,
                  ("panel:index.close", "series:futures_if.close", "series:options_50etf.put_amount",
                   "series:options_50etf.call_amount"), ("预期", "情绪预期"),
                  "情绪预期: basis and reversed 50ETF PCR percentiles (series futures_if, options_50etf)"),
)

SPEC = SignalSpec(
    name="sentiment",
    compute=_compute,
    defaults=dict(DEFAULTS),
    universe="index",
    requires=("panel:index.close", "panel:citic_l3.close", "series:flows.elg_buy", "series:flows.lg_buy",
              "series:flows.amount", "series:futures_if.close", "series:options_50etf.put_amount",
              "series:options_50etf.call_amount"),
    description="财信 三维情绪 timing of the CSI 300 (0/50/100%): temperature-gated trend of 情绪温度 and 情绪预期.",
    choices=dict(CHOICES),
    positive=POSITIVE,
    not_above={"conc_min_periods": "conc_window", "temp_min_periods": "temp_window", "exp_min_periods": "exp_window"},
    check=_check,
    format_tables=lambda tables: format_last_days(tables),
    indicators=INDICATORS,
    after_run=lambda run: lag_sensitivity(run),
    components=COMPONENTS,
)


def lag_sensitivity(run, lags=(0, 1, 2)) -> dict[str, pd.DataFrame]:
    """Total return of the run's weights at ``execution.lag`` 0 / 1 / 2 (same period, price, costs and rules;
    a lag the price mode does not allow, e.g. 0 with ``price: open``, is NaN). A ``SignalSpec.after_run`` hook:
    returns ``{"lag_sensitivity": one-row frame}`` added to the run's tables (printed and in summary.md)."""
    from dataclasses import replace

    from engine.backtest import run_backtest

    cfg, r = run.cfg, run.backtest.returns
    panel = run.dataset.panel("index")
    row = {}
    for lag in lags:
        if cfg.execution.price == "open" and lag < 1:
            row[f"lag {lag}"] = np.nan
            continue
        bt = run_backtest(run.signal.weights, panel, r.index[1], r.index[-1],
                          replace(cfg.execution, lag=lag, allow_same_close=True),     # a deliberate what-if
                          cfg.costs, cfg.market_rules, rebalance_dates=run.signal.rebalance_dates, dataset=run.dataset)
        row[f"lag {lag}"] = float((1.0 + bt.returns.iloc[1:]).prod() - 1.0)
    row["used"] = f"lag {cfg.execution.lag}"
    return {"lag_sensitivity": pd.DataFrame([row], index=pd.Index(["total return"], name=""))}


def format_lag_line(tab: pd.DataFrame) -> str:
    """One line: 'lag sensitivity (total return, same costs): lag 0 +x% | lag 1 +y% (used) | lag 2 +z%'."""
    row = tab.iloc[0]
    used = row.get("used", "")
    cells = [f"{k} {'n/a' if pd.isna(v) else f'{v:+.2%}'}" + (" (used)" if k == used else "")
             for k, v in row.items() if k != "used"]
    return ("lag sensitivity (total return, same period and costs; lag 1 mirrors the report's guidance-date rows): "
            + " | ".join(cells))


def format_last_days(tables: dict) -> str:
    """图1 + 表1 as text: indicators to 4 decimals, weights in percent, with the timing of the weight column;
    then the lag-sensitivity line when the run added it."""
    tab = tables.get("last_days")
    lag = tables.get("lag_sensitivity")
    lag_line = ("\n\n" + format_lag_line(lag)) if lag is not None and len(lag) else ""
    if tab is None or len(tab) == 0:
        return lag_line.strip()
    out = tab.copy()
    wcol = out.columns[-1]
    ind = out.drop(columns=[wcol]).map(lambda v: "" if pd.isna(v) else f"{v:.4f}")
    ind[wcol] = out[wcol].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
    ind.index = [f"{d:%Y-%m-%d}" for d in ind.index]
    return ("图1 + 表1: 近20交易日情绪指标与目标权重 (weight decided at the close of the row's date and traded at\n"
            "t+lag; the report's 表1 lists it under the next trading day, its guidance date)\n" + ind.to_string()
            + lag_line)
