"""Indicator components shared across parameter sets: a signal's explicit map from parameters to components.

A signal whose indicators are expensive and whose swept parameters mostly touch one part of it (the sentiment
model's 浓度 / 温度 / 预期, the rotation's turnover slope vs its trend legs) declares a :class:`ComponentMap`
next to its defaults (``SignalSpec.components``):

* ``deps``: component name -> the signal parameters it reads, directly or through the components it uses. A
  component is a function ``fn(ds, q, sub)`` of the dataset and ``q`` = exactly those parameters (a dict with no
  other key, so reading an undeclared parameter is a KeyError, not a silently shared wrong value); ``sub`` gives
  it the components it builds on (their parameters must be among its own). Declare the costly components first:
  sweeps order their combinations by the components' parameter values in this order.
* ``weights(ds, params, comps) -> (weights, rebalance_dates)``: the signal's target weights from its components
  (``comps.get(name, fn)``) and its cheap rule parameters. The signal's own ``compute`` calls the same function,
  so a swept row and a single run get their weights from the same code and the same component values.
* ``decisions`` (optional), for a signal that decides on a few dates (month ends) and holds in between:
  ``decisions(ds, params, comps) -> (rows, rebalance_dates)``, ``rows`` = the decision rows only (dates x codes;
  an all-NaN row is no decision and a NaN cell is 0, as in a weight frame), each held whole until the next (cash
  before the first): exactly what ``weights`` returns. Sweeps then backtest
  the compact form (:class:`engine.backtest.weightpaths.SparsePaths`, ``carry``) instead of a (T, P, N) array:
  the same results bit for bit, in memory and time proportional to the decisions.

:class:`Components` is the per-parameter-set view; its values live in a :class:`ComponentStore`, a bounded LRU
(by bytes) that a sweep keeps per worker process, keyed by dataset, component function and parameter values. A
single run uses a private store that lives as long as its ``compute`` call. Cached values are shared between
parameter sets: treat them as read-only (numpy arrays are stored non-writeable).

A signal without a map keeps the generic path: one ``compute`` per distinct parameter set.
"""
from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd


def params_key(q: Mapping) -> str:
    """The identity of a parameter subset: sorted JSON (1 and 1.0 are different keys: only a missed share)."""
    return json.dumps(q, sort_keys=True, default=str)


@dataclass(frozen=True)
class ComponentMap:
    """A signal's components: ``deps`` (component -> parameters it reads, costliest component first),
    ``weights(ds, params, comps) -> (weights DataFrame, rebalance_dates or None)`` and optionally ``decisions``
    (the decision rows only; module docstring)."""

    deps: Mapping[str, tuple[str, ...]]
    weights: Callable[[Any, dict, "Components"], tuple]
    decisions: Callable[[Any, dict, "Components"], tuple] | None = None

    def sort_key(self, params: Mapping) -> tuple[str, ...]:
        """The parameter values of every component, in declared order: combinations with equal leading entries
        share the costly components (a missing parameter counts as None)."""
        return tuple(params_key({k: params.get(k) for k in d}) for d in self.deps.values())


def merge_deps(*maps: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """One dependency map from several (e.g. a signal built on another's components); a name declared twice with
    different parameters is an error."""
    out: dict[str, tuple[str, ...]] = {}
    for m in maps:
        for k, v in m.items():
            if k in out and out[k] != tuple(v):
                raise ValueError(f"component '{k}' is declared twice with different parameters: {out[k]} and {v}")
            out[k] = tuple(v)
    return out


def nbytes(value) -> int:
    """Approximate memory of a component value: arrays, pandas objects, and tuples / lists / dicts of them."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=False).sum())
    if isinstance(value, (pd.Series, pd.Index)):
        return int(value.memory_usage(index=True, deep=False)) if isinstance(value, pd.Series) else int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value) + 64
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values()) + 64
    return 64


def _freeze(value):
    """Make the numpy arrays inside a cached value read-only (pandas objects: their own arrays are copies on
    write in pandas >= 3, so they are left alone)."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, (tuple, list)):
        for v in value:
            _freeze(v)
    elif isinstance(value, dict):
        for v in value.values():
            _freeze(v)
    return value


class ComponentStore:
    """Component values by (scope, component function, parameter key), the least recently used evicted beyond
    ``budget`` bytes (a value larger than the budget is returned but not kept). ``scope`` separates datasets.
    Counts hits and misses, and ``seconds`` spent computing components (outermost misses only, so nested
    components count once)."""

    def __init__(self, budget: int):
        self.budget = int(budget)
        self.used = 0
        self.hits = self.misses = 0
        self.seconds = 0.0
        self._depth = 0
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def lookup(self, key: tuple):
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return False, None
        self._items.move_to_end(key)
        self.hits += 1
        return True, item[0]

    def put(self, key: tuple, value) -> None:
        size = nbytes(value)
        if size > self.budget:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.used -= old[1]
        self._items[key] = (_freeze(value), size)
        self.used += size
        while self.used > self.budget:
            _, (_, s) = self._items.popitem(last=False)
            self.used -= s

    def clear(self) -> None:
        self._items.clear()
        self.used = 0


class Components:
    """The components of one parameter set on one dataset (module docstring): ``get(name, fn)`` returns the
    stored value for the parameters ``deps[name]`` reads, computing ``fn(ds, q, sub)`` on a miss."""

    def __init__(self, ds, deps: Mapping[str, tuple[str, ...]], params: Mapping, store: ComponentStore | None = None,
                 scope: str = ""):
        self.ds, self.deps, self.params, self.scope = ds, deps, params, scope
        self.store = store if store is not None else ComponentStore(2**62)

    def get(self, name: str, fn: Callable[[Any, dict, "Components"], Any]):
        try:
            q = {k: self.params[k] for k in self.deps[name]}
        except KeyError as exc:
            raise KeyError(f"component '{name}' reads parameter {exc} that its caller does not have; declare it "
                           f"in the caller's dependencies (ComponentMap.deps)") from None
        key = (self.scope, fn, params_key(q))        # the function object, not the name: names may repeat
        found, value = self.store.lookup(key)
        if found:
            return value
        st = self.store
        t0 = time.perf_counter()
        st._depth += 1
        try:
            value = fn(self.ds, q, Components(self.ds, self.deps, q, st, self.scope))
        finally:
            st._depth -= 1
            if st._depth == 0:
                st.seconds += time.perf_counter() - t0
        st.put(key, value)
        return value
