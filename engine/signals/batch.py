"""Batched signal computation for sweeps: the target weights of many parameter sets as one weight-paths object.

``batch_weights(ds, signal_name, params_list, panel)`` returns ``(paths, problems, rebalance)``:

* ``paths``: a weight-paths object (:mod:`engine.backtest.weightpaths`) whose ``dense()`` is (T_all, P, N) float64
  aligned to ``panel.dates`` x (one column per params set) x ``panel.codes``, with exactly the values
  ``REGISTRY[signal_name].compute(ds, params)`` gives after reindexing to the panel (a date the signal does not
  cover is an all-NaN row = keep positions; a code it does not mention is NaN = 0). A signal whose component map
  declares ``decisions`` (turnover_rotation: month ends) gets a :class:`SparsePaths` of its decision rows held
  until the next: its ``dense()`` is NaN (keep positions: cash) where ``compute`` says 0 before the first
  decision, which the backtest treats alike;
* ``problems[p]``: None, or the one-line reason why params set p is invalid (its column is then all NaN and must
  not be backtested). Invalid sets are skipped by the sweep, not fatal;
* ``rebalance[p]``: the set's ``SignalResult.rebalance_dates`` (forced rebalances; None = trade on changes only),
  to be passed to the backtest exactly as :func:`engine.pipeline.run_strategy` does.

Shared work is done once: ``ma_timing`` computes every distinct window's trailing mean once per (panel, code)
with :func:`engine.kernels.ma.rolling_means` (bit-identical to pandas' rolling mean, hence to
:func:`engine.signals.basic.ma_timing`) and keeps the crossovers implicit (:class:`engine.backtest.weightpaths.CrossPaths`:
the backtest kernel's events come straight from the means, no (T, P, N) array). A signal with a component map
(``SignalSpec.components``, :mod:`engine.signals.components`: sentiment, turnover_rotation, crowding,
rotation_crowding) gets each params set's weights from its ``weights`` function, each indicator component computed
once per distinct value of the parameters it reads (in a :class:`~engine.signals.components.ComponentStore` of at
most :data:`COMPONENT_BUDGET` bytes, kept across calls when the caller passes one). Other signals fall back to one
``compute`` per distinct parameter set (duplicates share the result).
Timing is the signal's own: weights decided with data up to close t.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from engine.data.panel import Dataset, Panel
from engine.errors import JingongError, ParamError
from engine.kernels.ma import rolling_means
from engine.signals import REGISTRY
from engine.signals.basic import MA_TIMING
from engine.signals.components import ComponentStore, Components
from engine.backtest.weightpaths import CrossPaths, DensePaths, SparsePaths, decision_entries


def _key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _ma_timing(ds: Dataset, params_list: list[dict], panel: Panel):
    T, N = len(panel.dates), len(panel.codes)
    problems: list = [None] * len(params_list)
    groups: dict[tuple, list[int]] = {}
    for p, prm in enumerate(params_list):
        try:                                          # a sweep's plan skipped these already; a direct call gets it here
            MA_TIMING.check_combination(prm)
        except ParamError as exc:
            problems[p] = str(exc)
            continue
        groups.setdefault((prm["panel"], prm["code"]), []).append(p)
    parts = []                                        # (columns, CrossPaths on the panel's calendar or dense)
    for (pname, code), cols in groups.items():
        try:
            src = ds.panel(pname)
            close = src["close"]
            if code not in close.columns or code not in panel.codes:
                raise JingongError(f"ma_timing: code '{code}' is not in panel '{pname}' (and the backtest panel "
                                   f"'{panel.name}')")
        except JingongError as exc:
            for p in cols:
                problems[p] = str(exc)
            continue
        windows = np.array(sorted({params_list[p][k] for p in cols for k in ("short", "long")}), dtype=np.int64)
        where = {int(w): j for j, w in enumerate(windows)}
        means = rolling_means(np.ascontiguousarray(close[code].to_numpy(dtype=float, na_value=np.nan)), windows)
        s_idx = np.array([where[params_list[p]["short"]] for p in cols], dtype=np.int64)
        l_idx = np.array([where[params_list[p]["long"]] for p in cols], dtype=np.int64)
        k = int(panel.codes.get_loc(code))
        if src.dates.equals(panel.dates) and len(groups) == 1:   # the usual sweep: one compact object
            valid = np.zeros(len(params_list), dtype=np.bool_)
            valid[cols] = True
            s_all, l_all = np.zeros((2, len(params_list)), dtype=np.int64)
            s_all[cols], l_all[cols] = s_idx, l_idx
            return CrossPaths(means, s_all, l_all, k, N, valid), problems, [None] * len(params_list)
        if src.dates.equals(panel.dates):
            parts.append((cols, CrossPaths(means, s_idx, l_idx, k, N)))
        else:                                          # other calendar: reindex like run_backtest would
            tmp = CrossPaths(means, s_idx, l_idx, 0, 1).dense()[:, :, 0]
            w = pd.DataFrame(tmp, index=src.dates).reindex(panel.dates).to_numpy()
            dense = np.repeat(np.where(np.isnan(w), np.nan, 0.0)[:, :, None], N, axis=2)
            dense[:, :, k] = w
            parts.append((cols, DensePaths(dense)))
    out = np.full((T, len(params_list), N), np.nan)   # invalid sets: all NaN (never backtested)
    for cols, paths in parts:
        out[:, cols, :] = paths.dense()
    return DensePaths(out), problems, [None] * len(params_list)


BATCHED = {"ma_timing": _ma_timing}
COMPONENT_BUDGET = 64 * 2**20     # bytes of shared indicator components one store keeps (least recently used go)


def batch_weights(ds: Dataset, signal_name: str, params_list: list[dict], panel: Panel,
                  store: ComponentStore | None = None, scope: str = ""):
    """Weights of every params set in ``params_list`` as weight paths (``.dense()``: (T_all, P, N)), per-set problems and rebalance dates
    (module docstring).

    ``panel`` is the signal's universe panel (``REGISTRY[signal_name].universe``) the backtest runs on. For a
    signal with a component map (``SignalSpec.components``), ``store`` keeps the components across calls (e.g.
    a sweep worker's chunks; ``scope`` names the dataset); without one they are shared within this call only.
    """
    if signal_name in BATCHED:
        return BATCHED[signal_name](ds, params_list, panel)
    spec = REGISTRY[signal_name]
    cmap = spec.components
    if cmap is not None and store is None:
        store = ComponentStore(COMPONENT_BUDGET)
    if cmap is not None and cmap.decisions is not None:
        return _decision_paths(ds, signal_name, cmap, params_list, panel, store, scope)
    T, N = len(panel.dates), len(panel.codes)
    out = np.full((T, len(params_list), N), np.nan)
    problems: list = [None] * len(params_list)
    rebalance: list = [None] * len(params_list)
    done: dict[str, int] = {}
    for p, prm in enumerate(params_list):
        key = _key(prm)
        if key in done:
            q = done[key]
            out[:, p, :] = out[:, q, :]
            problems[p], rebalance[p] = problems[q], rebalance[q]
            continue
        done[key] = p
        try:
            if cmap is None:
                sig = spec.compute(ds, dict(prm))
                w, rebalance[p] = sig.weights, sig.rebalance_dates
            else:                                      # the signal's weights from shared components
                w, rebalance[p] = cmap.weights(ds, dict(prm), Components(ds, cmap.deps, prm, store, scope))
            if w.columns.equals(panel.codes) and w.index.equals(panel.dates):      # already aligned
                out[:, p, :] = w.to_numpy(dtype=float, na_value=np.nan)
                continue
            bad = w.columns.difference(panel.codes)
            if len(bad):
                raise JingongError(f"{signal_name}: weights name codes not in panel '{panel.name}': "
                                   f"{', '.join(map(str, bad[:5]))}")
            out[:, p, :] = w.reindex(index=panel.dates, columns=panel.codes).to_numpy(dtype=float, na_value=np.nan)
        except JingongError as exc:
            problems[p] = str(exc)
    return DensePaths(out), problems, rebalance


def _decision_paths(ds, signal_name, cmap, params_list, panel, store, scope):
    """:func:`batch_weights` for a signal with ``ComponentMap.decisions``: each params set's decision rows as one
    portfolio of a :class:`SparsePaths` with ``carry`` (each decision held until the next: the forward-filled
    frame ``weights`` returns, cash before the first), so no (T, P, N) array is built."""
    P = len(params_list)
    problems: list = [None] * P
    rebalance: list = [None] * P
    parts: list = [None] * P                          # (row positions, per-row entry counts, code idx, weights)
    done: dict[str, int] = {}
    idx_cache: dict = {}
    for p, prm in enumerate(params_list):
        key = _key(prm)
        if key in done:
            q = done[key]
            parts[p], problems[p], rebalance[p] = parts[q], problems[q], rebalance[q]
            continue
        done[key] = p
        try:
            rows, rebalance[p] = cmap.decisions(ds, dict(prm), Components(ds, cmap.deps, prm, store, scope))
            ids = (id(rows.index), id(rows.columns))
            if ids not in idx_cache:                  # a component's index objects: looked up once per chunk
                r = panel.dates.get_indexer(rows.index)
                c = panel.codes.get_indexer(rows.columns)
                if (c < 0).any():
                    raise JingongError(f"{signal_name}: weights name codes not in panel '{panel.name}': "
                                       f"{', '.join(map(str, rows.columns[c < 0][:5]))}")
                if (r < 0).any():
                    raise JingongError(f"{signal_name}: decision dates not in panel '{panel.name}': "
                                       f"{', '.join(f'{d:%Y-%m-%d}' for d in rows.index[r < 0][:5])}")
                order = np.argsort(c, kind="stable")      # entries in the panel's code order, as a dense row
                idx_cache[ids] = (rows.index, rows.columns, r, c[order], order)   # indexes kept alive: ids unique
            _, _, r, c, order = idx_cache[ids]
            keep, counts, k, w = decision_entries(rows.to_numpy(dtype=float)[:, order])   # as SparsePaths.from_rows
            parts[p] = (r[keep], counts, c[k], w)
        except JingongError as exc:
            problems[p] = str(exc)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    parts = [x if x is not None else empty for x in parts]
    cat = np.concatenate
    ptr = cat([[0], np.cumsum([len(x[0]) for x in parts])])
    row_ptr = cat([[0], np.cumsum(cat([x[1] for x in parts]))])
    return (SparsePaths(ptr, cat([x[0] for x in parts]), row_ptr, cat([x[2] for x in parts]),
                        cat([x[3] for x in parts]), len(panel.dates), len(panel.codes), carry=True,
                        dates=panel.dates), problems, rebalance)
