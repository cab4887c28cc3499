"""Slow, obviously-correct twins of engine/kernels/rolling.py. They are the specification: plain loops,
np.corrcoef + np.linalg.eigvalsh, explicit counting. Window at row t = rows (t-window, t]; NaN rows are
excluded from counts; below min_periods valid values the result is NaN."""
from __future__ import annotations

import numpy as np


def rank_pct(x, window, min_periods):
    x = np.asarray(x, float)
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        for t in range(x.shape[0]):
            if np.isnan(x[t, j]):
                continue
            win = [v for v in x[max(0, t - window + 1): t + 1, j] if not np.isnan(v)]
            if len(win) >= max(min_periods, 1):
                out[t, j] = sum(1 for v in win if v <= x[t, j]) / len(win)
    return out


def mean(x, window, min_periods):
    x = np.asarray(x, float)
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        for t in range(x.shape[0]):
            win = [v for v in x[max(0, t - window + 1): t + 1, j] if not np.isnan(v)]
            if len(win) >= max(min_periods, 1):
                out[t, j] = sum(win) / len(win)
    return out


def ema(x, span, min_periods):
    x = np.asarray(x, float)
    a = 2.0 / (span + 1.0)
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        seen = [v for v in x[:, j]]
        for t in range(x.shape[0]):
            vals = [v for v in seen[: t + 1] if not np.isnan(v)]
            if len(vals) < max(min_periods, 1):
                continue
            # closed form of the recursion started at the first valid value
            n = len(vals)
            w = [(1 - a) ** (n - 1)] + [a * (1 - a) ** (n - 1 - i) for i in range(1, n)]
            out[t, j] = sum(wi * vi for wi, vi in zip(w, vals))
    return out


def pca_share(r, window, min_periods, min_assets):
    r = np.asarray(r, float)
    out = np.full(r.shape[0], np.nan)
    for t in range(r.shape[0]):
        blk = r[max(0, t - window + 1): t + 1]
        if blk.shape[0] < max(min_periods, 2):
            continue
        keep = []
        for j in range(r.shape[1]):
            col = blk[:, j]
            if np.isnan(col).any():
                continue
            if np.var(col) <= 1e-12 * np.mean(col ** 2) or np.var(col) == 0:
                continue
            keep.append(j)
        if len(keep) < max(min_assets, 1):
            continue
        if len(keep) == 1:
            out[t] = 1.0
            continue
        corr = np.corrcoef(blk[:, keep], rowvar=False)
        out[t] = np.linalg.eigvalsh(corr)[-1] / len(keep)
    return out


def slope(y):
    """OLS slope of y on 1..n."""
    y = np.asarray(y, float)
    x = np.arange(1, len(y) + 1, dtype=float)
    return float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))


def concentration(close, window, min_periods, min_assets, returns="daily", top_k=1, levels=False, smooth=1):
    """情绪浓度 variants from closes, one window at a time (np.corrcoef + np.linalg.eigvalsh): the share of the
    top_k eigenvalues in the trace, over the window's columns with no NaN and non-zero variance; then a plain
    mean over the last ``smooth`` values (all present). Windows: levels = the last ``window`` closes; h-day
    returns close_s / close_{s-h} - 1 for the last ``window`` rows s >= h; weekly = the 5-day returns ending at
    t, t-5, ... (rows s >= 5), ``window // 5`` of them, ``min_periods // 5`` needed."""
    close = np.asarray(close, float)
    n = close.shape[0]
    raw = np.full(n, np.nan)
    h = {"daily": 1, "5d": 5, "10d": 10, "20d": 20, "weekly": 5}[returns]
    for t in range(n):
        if levels:
            rows = list(range(max(0, t - window + 1), t + 1))
            need = max(min_periods, 2)
        elif returns == "weekly":
            rows = [s for s in range(t, 4, -5)][: window // 5]
            need = max(min_periods // 5, 2)
        else:
            rows = list(range(max(h, t - window + 1), t + 1))
            need = max(min_periods, 2)
        if len(rows) < need:
            continue
        if levels:
            blk = close[rows]
        else:
            blk = np.array([close[s] / close[s - h] - 1 for s in rows])
        keep = [j for j in range(close.shape[1]) if not np.isnan(blk[:, j]).any()
                and np.var(blk[:, j]) > 0 and np.var(blk[:, j]) > 1e-12 * np.mean(blk[:, j] ** 2)]
        if len(keep) < max(min_assets, 1):
            continue
        if len(keep) == 1:
            raw[t] = 1.0
            continue
        ev = np.linalg.eigvalsh(np.corrcoef(blk[:, keep], rowvar=False))
        raw[t] = ev[::-1][:top_k].sum() / len(keep)
    if smooth == 1:
        return raw
    out = np.full(n, np.nan)
    for t in range(smooth - 1, n):
        win = raw[t - smooth + 1: t + 1]
        if not np.isnan(win).any():
            out[t] = win.mean()
    return out
