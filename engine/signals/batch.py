"""Batched signal computation for sweeps: the target weights of many parameter sets as one (T_all, P, N) array.

``batch_weights(ds, signal_name, params_list, panel)`` returns ``(weights3d, problems)``:

* ``weights3d`` (T_all, P, N) float64 aligned to ``panel.dates`` x (one column per params set) x ``panel.codes``,
  with exactly the values ``REGISTRY[signal_name].compute(ds, params)`` gives after reindexing to the panel (a date
  the signal does not cover is an all-NaN row = keep positions; a code it does not mention is NaN = 0);
* ``problems[p]``: None, or the one-line reason why params set p is invalid (its column is then all NaN and must
  not be backtested). Invalid sets are skipped by the sweep, not fatal.

Shared work is done once: ``ma_timing`` computes every distinct window's trailing mean once per (panel, code)
with :func:`engine.kernels.ma.rolling_means` (bit-identical to pandas' rolling mean, hence to
:func:`engine.signals.basic.ma_timing`) and all crossovers with :func:`engine.kernels.ma.cross_weights`. Other
signals fall back to one ``compute`` per distinct parameter set (duplicates share the result).
Timing is the signal's own: weights decided with data up to close t.
"""
from __future__ import annotations

import json

import numpy as np

from engine.data.panel import Dataset, Panel
from engine.errors import JingongError
from engine.kernels.ma import cross_weights, rolling_means
from engine.signals import REGISTRY


def _key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _ma_timing(ds: Dataset, params_list: list[dict], panel: Panel):
    T, N = len(panel.dates), len(panel.codes)
    out = np.full((T, len(params_list), N), np.nan)
    problems: list = [None] * len(params_list)
    groups: dict[tuple, list[int]] = {}
    for p, prm in enumerate(params_list):
        if prm["short"] >= prm["long"]:
            problems[p] = (f"ma_timing: short window ({prm['short']}) must be smaller than long window "
                           f"({prm['long']})")
            continue
        groups.setdefault((prm["panel"], prm["code"]), []).append(p)
    for (pname, code), cols in groups.items():
        try:
            src = ds.panel(pname)
            close = src["close"]
            if code not in close.columns:
                raise JingongError(f"ma_timing: code '{code}' is not in panel '{pname}'")
        except JingongError as exc:
            for p in cols:
                problems[p] = str(exc)
            continue
        values = close[code].reindex(src.dates).to_numpy(dtype=float, na_value=np.nan)
        windows = np.array(sorted({params_list[p][k] for p in cols for k in ("short", "long")}), dtype=np.int64)
        where = {int(w): j for j, w in enumerate(windows)}
        means = rolling_means(np.ascontiguousarray(values), windows)
        s_idx = np.array([where[params_list[p]["short"]] for p in cols], dtype=np.int64)
        l_idx = np.array([where[params_list[p]["long"]] for p in cols], dtype=np.int64)
        w = cross_weights(means, s_idx, l_idx)[:, :, 0]           # (T_src, len(cols)), on src dates
        if pname != panel.name or not src.dates.equals(panel.dates):
            import pandas as pd

            w = pd.DataFrame(w, index=src.dates).reindex(panel.dates).to_numpy()
        k = panel.codes.get_loc(code) if code in panel.codes else None
        if k is None:
            for p in cols:
                problems[p] = f"ma_timing: code '{code}' is not in the backtest panel '{panel.name}'"
            continue
        out[:, cols, :] = np.where(np.isnan(w), np.nan, 0.0)[:, :, None]   # other codes: 0 where the row exists
        out[:, cols, k] = w
    return out, problems


BATCHED = {"ma_timing": _ma_timing}


def batch_weights(ds: Dataset, signal_name: str, params_list: list[dict], panel: Panel):
    """Weights of every params set in ``params_list`` as (T_all, P, N) plus per-set problems (module docstring).

    ``panel`` is the signal's universe panel (``REGISTRY[signal_name].universe``) the backtest runs on.
    """
    if signal_name in BATCHED:
        return BATCHED[signal_name](ds, params_list, panel)
    spec = REGISTRY[signal_name]
    T, N = len(panel.dates), len(panel.codes)
    out = np.full((T, len(params_list), N), np.nan)
    problems: list = [None] * len(params_list)
    done: dict[str, int] = {}
    for p, prm in enumerate(params_list):
        key = _key(prm)
        if key in done:
            q = done[key]
            out[:, p, :] = out[:, q, :]
            problems[p] = problems[q]
            continue
        done[key] = p
        try:
            w = spec.compute(ds, dict(prm)).weights
            bad = w.columns.difference(panel.codes)
            if len(bad):
                raise JingongError(f"{signal_name}: weights name codes not in panel '{panel.name}': "
                                   f"{', '.join(map(str, bad[:5]))}")
            out[:, p, :] = w.reindex(index=panel.dates, columns=panel.codes).to_numpy(dtype=float, na_value=np.nan)
        except JingongError as exc:
            problems[p] = str(exc)
    return out, problems
