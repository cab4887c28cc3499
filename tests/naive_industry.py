"""Slow, obviously-correct twins of engine/kernels/industry.py and the monthly helpers (they are the spec), and a
small hand-made SW L1 dataset for the rotation/crowding tests."""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset, Panel
from engine.signals.industry_common import SW_L1_NAMES


# ----------------------------------------------------------------------------------------------- twins
def monthly_slope(y: pd.DataFrame, min_obs: int) -> pd.DataFrame:
    """OLS slope (np.polyfit degree 1) of each column on the position 0..n-1 inside each calendar month,
    valid rows only; indexed by the month's last date."""
    rows = {}
    for _, g in y.groupby([y.index.year, y.index.month]):
        vals = {}
        for c in y.columns:
            x = np.arange(len(g), dtype=float)
            v = g[c].to_numpy(float)
            ok = ~np.isnan(v)
            if ok.sum() >= max(min_obs, 2) and len(set(x[ok])) > 1:
                vals[c] = np.polyfit(x[ok], v[ok], 1)[0]
            else:
                vals[c] = np.nan
        rows[g.index[-1]] = vals
    return pd.DataFrame.from_dict(rows, orient="index")[list(y.columns)]


def rank_first(values) -> list:
    """1 = smallest; ties in the order given; NaN -> NaN."""
    order = sorted([(v, i) for i, v in enumerate(values) if not np.isnan(v)])
    out = [np.nan] * len(values)
    for r, (_, i) in enumerate(order, start=1):
        out[i] = float(r)
    return out


def rank_pct(x: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Share of the valid values in rows (t-window, t] that are <= x_t."""
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        for t in range(x.shape[0]):
            if np.isnan(x[t, j]):
                continue
            win = [v for v in x[max(0, t - window + 1): t + 1, j] if not np.isnan(v)]
            if len(win) >= max(min_periods, 1):
                out[t, j] = np.mean([v <= x[t, j] for v in win])
    return out


def avg_corr(ret: np.ndarray, ind: np.ndarray, n_ind: int, window: int, min_valid: int) -> np.ndarray:
    """Mean of the off-diagonal entries of np.corrcoef over the day-t members' window returns, each member's
    missing days filled with its own window mean; members need >= min_valid valid days and non-zero variance."""
    T, S = ret.shape
    out = np.full((T, n_ind), np.nan)
    for t in range(window - 1, T):
        for k in range(n_ind):
            cols = []
            for s in range(S):
                if ind[t, s] != k:
                    continue
                w = ret[t - window + 1: t + 1, s].copy()
                ok = ~np.isnan(w)
                if ok.sum() < max(min_valid, 2):
                    continue
                w[~ok] = w[ok].mean()
                if np.var(w) <= 0:
                    continue
                cols.append(w)
            if len(cols) < 2:
                continue
            c = np.corrcoef(np.array(cols))
            m = len(cols)
            out[t, k] = (c.sum() - np.trace(c)) / (m * (m - 1))
    return out


def concentration(amount: np.ndarray, ind: np.ndarray, n_ind: int, top_frac: float, hhi: bool) -> np.ndarray:
    out = np.full((amount.shape[0], n_ind), np.nan)
    for t in range(amount.shape[0]):
        for k in range(n_ind):
            a = [amount[t, s] for s in range(amount.shape[1]) if ind[t, s] == k and amount[t, s] > 0]
            if not a:
                continue
            tot = sum(a)
            if hhi:
                out[t, k] = sum((v / tot) ** 2 for v in a)
            else:
                top = max(1, int(np.ceil(round(top_frac * len(a), 9))))
                out[t, k] = sum(sorted(a, reverse=True)[:top]) / tot
    return out


# ----------------------------------------------------------------------------------------------- data
def make_dataset(n_ind: int = 6, n_days: int = 420, n_stocks: int = 30, seed: int = 0, start: str = "2019-01-01",
                 with_turnover: bool = True, with_float_shares: bool = True) -> Dataset:
    """A small SW L1 market: ``n_ind`` industries (the first SW codes), ``n_stocks`` stocks spread over them,
    one stock switching industry mid-sample and one listing late; turnover = volume / float_shares * 100."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_days, name="date")
    codes = list(SW_L1_NAMES)[:n_ind]
    f = rng.normal(0.0003, 0.012, (n_days, n_ind))
    sw_close = pd.DataFrame(1000 * np.cumprod(1 + f, axis=0), index=dates, columns=codes)
    fs = rng.uniform(5e9, 2e10, n_ind)
    vol = np.exp(rng.normal(0, 0.3, (n_days, n_ind))) * fs * rng.uniform(0.005, 0.02, n_ind)
    sw = {"close": sw_close, "volume": pd.DataFrame(vol, index=dates, columns=codes),
          "amount": pd.DataFrame(vol * sw_close.to_numpy() / 100, index=dates, columns=codes),
          "float_mcap": pd.DataFrame(fs * sw_close.to_numpy() / 100, index=dates, columns=codes)}
    if with_float_shares:
        sw["float_shares"] = pd.DataFrame(np.tile(fs, (n_days, 1)), index=dates, columns=codes)
    if with_turnover:
        sw["turnover"] = sw["volume"] / pd.DataFrame(np.tile(fs, (n_days, 1)), index=dates, columns=codes) * 100
    scodes = [f"{600000 + i}.SH" for i in range(n_stocks)]
    home = np.arange(n_stocks) % n_ind
    beta = rng.uniform(0.3, 1.5, n_stocks)
    r = f[:, home] * beta + rng.normal(0, 0.015, (n_days, n_stocks))
    sclose = 10 * np.cumprod(1 + r, axis=0)
    sclose[: n_days // 3, -1] = np.nan                     # late listing
    sclose[rng.random((n_days, n_stocks)) < 0.02] = np.nan  # scattered suspensions
    samount = np.exp(rng.normal(18, 1, (n_days, n_stocks)))
    samount[np.isnan(sclose)] = np.nan
    stocks = Panel("stocks", {"close": pd.DataFrame(sclose, index=dates, columns=scodes),
                              "amount": pd.DataFrame(samount, index=dates, columns=scodes)})
    mid = dates[n_days // 2]
    mem = [{"code": c, "industry": codes[h], "start": dates[0], "end": pd.NaT} for c, h in zip(scodes, home)]
    mem[0]["end"] = mid - pd.Timedelta(days=1)              # stock 0 switches industry at mid
    mem.append({"code": scodes[0], "industry": codes[(home[0] + 1) % n_ind], "start": mid, "end": pd.NaT})
    idx_close = pd.DataFrame({"000300.SH": 3500 * np.cumprod(1 + f.mean(axis=1))}, index=dates)
    return Dataset(
        panels={"sw_l1": Panel("sw_l1", sw), "stocks": stocks, "index": Panel("index", {"close": idx_close})},
        series={"market": pd.DataFrame({"amount": sw["amount"].sum(axis=1) * 1.5}, index=dates)},
        tables={"membership": pd.DataFrame(mem), "sw_l1_info": pd.DataFrame({"code": codes,
                                                                             "name": [SW_L1_NAMES[c] for c in codes]})},
        meta={"synthetic": True}, source="<test>")
