"""The 新半军 indicators (seed report 004, methodology §4), one generator each. Every window and threshold is a
parameter of the ``xinbanjun`` signal (``engine/signals/xinbanjun/signal.py`` lists the defaults and why).

Each function returns date-indexed frames with one column per sector, decided with data up to the close of the
row's date (row t uses inputs dated <= t; the monthly fund-issuance count only from the first trading day after
its month ends). Numba lives in ``engine/kernels/xinbanjun.py`` and ``engine/kernels/rolling.py``.

Units: flows in CNY; percentiles and drawdowns as fractions; PE in multiples (x).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError
from engine.kernels.rolling import rolling_rank_pct
from engine.kernels.xinbanjun import rolling_capped_nnls, zigzag_drawdowns
from engine.signals.industry_common import membership_matrix

MAIN_FORCE = (("elg_buy", 1.0), ("lg_buy", 1.0), ("elg_sell", -1.0), ("lg_sell", -1.0))


def _arr(df: pd.DataFrame) -> np.ndarray:
    return np.ascontiguousarray(df.to_numpy(dtype=float, na_value=np.nan))


# ----------------------------------------------------------------------------------------------- drawdowns
def drawdowns(price: pd.DataFrame, min_depth: float, rebound: float) -> dict:
    """Per sector: ``peak`` (date of the current drawdown's peak), ``dd`` (close / peak close - 1), ``down`` (inside a
    correction of at least ``min_depth``), and ``episodes`` {sector: [(peak, trough, end) row triples]} of completed
    corrections (a correction ends when the close is ``rebound`` above its trough). See ``zigzag_drawdowns``."""
    peak_row, down, dd, episodes = {}, {}, {}, {}
    for col in price.columns:
        p = _arr(price[[col]])[:, 0]
        pr, dn, ep = zigzag_drawdowns(p, float(min_depth), float(rebound))
        peak_row[col] = pr
        down[col] = dn
        pk = np.where(pr >= 0, p[np.maximum(pr, 0)], np.nan)
        dd[col] = p / pk - 1.0
        episodes[col] = [tuple(int(v) for v in row) for row in ep]
    idx = price.index
    return {"peak_row": pd.DataFrame(peak_row, index=idx), "down": pd.DataFrame(down, index=idx),
            "dd": pd.DataFrame(dd, index=idx), "episodes": episodes}


def cum_since_peak(flow: pd.DataFrame, peak_row: pd.DataFrame) -> pd.DataFrame:
    """Sum of ``flow`` over the rows after the current drawdown's peak up to t: ``C[t] - C[peak_t]`` with ``C`` the
    running sum (NaN counted as 0); 0 on a peak day, NaN before the first valid price."""
    c = np.nancumsum(_arr(flow), axis=0)
    pr = peak_row[flow.columns].to_numpy()
    out = c - np.take_along_axis(c, np.maximum(pr, 0), axis=0)
    out = np.where(pr >= 0, out, np.nan)
    return pd.DataFrame(out, index=flow.index, columns=flow.columns)


# ----------------------------------------------------------------------------------------------- 主力资金
def sector_main_force(ds: Dataset, sector_industry: dict, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Daily main-force net inflow per sector (CNY): the sum over the stocks that belong to the sector's SW L1
    industry on that day (table ``membership``) of ``(elg_buy + lg_buy) - (elg_sell + lg_sell)``; 超大单 = elg
    (single trade >= 1,000,000 CNY as printed in 004), 大单 = lg (200,000-1,000,000 CNY): the data's own order-size
    classification is used as delivered. Missing stock values count as 0."""
    stocks = ds.panel("stocks")
    sw_codes = ds.panel("sw_l1").codes
    net = None
    for f, sgn in MAIN_FORCE:
        v = stocks[f].reindex(dates).to_numpy(dtype=float, na_value=np.nan)
        net = sgn * np.nan_to_num(v) if net is None else net + sgn * np.nan_to_num(v)
    mem = membership_matrix(ds, dates, stocks.codes, sw_codes)
    out = {}
    for sector, ind in sector_industry.items():
        k = list(map(str, sw_codes)).index(str(ind)) if str(ind) in map(str, sw_codes) else -1
        if k < 0:
            raise DataError(f"{ds.source}: signal parameter sector_industry: '{ind}' (sector {sector}) is not a code of "
                            f"panel 'sw_l1'; use one of {', '.join(map(str, sw_codes[:5]))} ...")
        out[sector] = np.where(mem == k, net, 0.0).sum(axis=1)
    return pd.DataFrame(out, index=dates)


def main_force_indicators(mf: pd.DataFrame, peak_row: pd.DataFrame, week: int, window: int,
                          z_lookback: int) -> dict:
    """``mf_week``: sum of the last ``week`` days; ``mf_dd``: cumulative since the current drawdown's peak;
    ``mf_sum``: sum of the last ``window`` days; ``mf_sign``: its sign (+1 in, -1 out, 0); ``mf_z``: ``mf_sum``
    standardised by the mean and sample sd of ``mf_sum`` over the last ``z_lookback`` days (NaN until full)."""
    s = mf.rolling(window, min_periods=window).sum()
    mu = s.rolling(z_lookback, min_periods=z_lookback).mean()
    sd = s.rolling(z_lookback, min_periods=z_lookback).std(ddof=1)
    return {"mf_week": mf.rolling(week, min_periods=week).sum(), "mf_dd": cum_since_peak(mf, peak_row),
            "mf_sum": s, "mf_sign": np.sign(s), "mf_z": (s - mu) / sd.where(sd > 0)}


# ----------------------------------------------------------------------------------------------- 基金发行分位
def issuance_monthly(count: pd.Series, window_months: int, min_months: int, trough_lookback: int,
                     rise_min: float) -> pd.DataFrame:
    """Per month: ``count``, ``pct`` = rank percentile of the count among the months so far (``window_months`` 0)
    or the last ``window_months`` (ties count as <=, like pandas rank(method='max', pct=True)), and ``event`` = the
    触底回升: last month's percentile is the lowest of the last ``trough_lookback`` months and this month's is
    more than ``rise_min`` above it."""
    x = count.to_numpy(dtype=float)[:, None]
    w = len(x) if window_months <= 0 else window_months
    pct = rolling_rank_pct(np.ascontiguousarray(x), max(w, 1), min_months)[:, 0]
    p = pd.Series(pct, index=count.index)
    prev = p.shift(1)
    low = p.shift(1).rolling(trough_lookback, min_periods=trough_lookback).min()
    event = (prev <= low) & (p - prev > rise_min)
    return pd.DataFrame({"count": count.astype(float), "pct": p, "event": event})


def issuance_daily(monthly: pd.DataFrame, dates: pd.DatetimeIndex, publish_lag: int, hold_months: int) -> pd.DataFrame:
    """Daily view of :func:`issuance_monthly`: a month (dated its last trading day d) is known from the
    ``publish_lag``-th trading day after d (1 = the first trading day after the month ends) and stays the latest
    until the next month is known. ``rising`` = a 触底回升 event among the last ``hold_months`` known months."""
    pos = np.searchsorted(dates.to_numpy(), monthly.index.to_numpy(), side="right") + max(publish_lag, 1) - 1
    rising = monthly["event"].astype(float).rolling(hold_months, min_periods=1).max() > 0
    m = monthly.assign(rising=rising, month=monthly.index)
    m = m[pos < len(dates)]
    m.index = dates[pos[pos < len(dates)]]
    m = m[~m.index.duplicated(keep="last")]
    out = m.reindex(dates).ffill()
    out["event"] = m["event"].reindex(dates).fillna(False).astype(bool)
    out["rising"] = out["rising"].astype("boolean").fillna(False).astype(bool)
    return out


# ----------------------------------------------------------------------------------------------- ETF净流入
def etf_sector_flows(shares: pd.DataFrame, nav: pd.DataFrame, sector_of: dict, sectors) -> pd.DataFrame:
    """Daily ETF net inflow per sector (CNY): ``(shares_t - shares_{t-1}) * NAV_t`` summed over the sector's ETFs
    (``sector_of`` {etf code: sector}); an ETF's first day (no previous shares) counts 0."""
    flow = shares.diff() * nav
    out = {}
    for s in sectors:
        codes = [c for c in shares.columns if sector_of.get(str(c)) == s]
        out[s] = flow[codes].sum(axis=1, min_count=1) if codes else pd.Series(np.nan, index=shares.index)
    return pd.DataFrame(out, index=shares.index).fillna(0.0)


def episode_rank(cum: pd.DataFrame, episodes: dict, since_row: int, min_episodes: int) -> pd.DataFrame:
    """Share of earlier completed corrections (peak row >= ``since_row``, ended by t) whose cumulative value from
    peak to trough is <= today's cumulative value in the current drawdown; NaN with fewer than ``min_episodes``."""
    out = np.full(cum.shape, np.nan)
    c = _arr(cum)
    for j, col in enumerate(cum.columns):
        eps = [e for e in episodes[col] if e[0] >= since_row]
        for t in range(len(cum)):
            done = [c[e[1], j] for e in eps if e[2] <= t]
            if len(done) >= max(min_episodes, 1) and not np.isnan(c[t, j]):
                out[t, j] = float(np.sum(np.asarray(done) <= c[t, j])) / len(done)
    return pd.DataFrame(out, index=cum.index, columns=cum.columns)


# ----------------------------------------------------------------------------------------------- 仓位
def rolling_positions(y: pd.Series, X: pd.DataFrame, window: int, min_periods: int, cap: float) -> pd.DataFrame:
    """Rolling constrained regression of the returns ``y`` on the returns ``X`` (weights >= 0, sum <= cap, no
    intercept) over the last ``window`` days: the estimated position in each regressor (rows <= t only)."""
    w = rolling_capped_nnls(_arr(y.to_frame())[:, 0], _arr(X), int(window), int(min_periods), float(cap))
    return pd.DataFrame(w, index=X.index, columns=X.columns)


# ----------------------------------------------------------------------------------------------- 估值分位
def valuation(pe: pd.DataFrame, window: int, min_periods: int) -> pd.DataFrame:
    """Rolling one-year percentile of PE-TTM: share of the last ``window`` trading days (including t) with
    PE <= PE_t (``engine.kernels.rolling.rolling_rank_pct``; equals pandas rolling rank(method='max', pct=True))."""
    return pd.DataFrame(rolling_rank_pct(_arr(pe), int(window), int(min_periods)), index=pe.index, columns=pe.columns)


def at_rows(df: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """``df`` read at the row given per date and column (e.g. the percentile on the current drawdown's peak day)."""
    a = _arr(df)
    r = rows[df.columns].to_numpy()
    out = np.take_along_axis(a, np.maximum(r, 0), axis=0)
    return pd.DataFrame(np.where(r >= 0, out, np.nan), index=df.index, columns=df.columns)
