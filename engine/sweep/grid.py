"""The ``sweep:`` section of a strategy YAML -> a validated list of parameter combinations.

Format (every key except the reserved ones is a dotted config path, exactly as ``--set`` takes it)::

    sweep:
      signal.params.short: [5, 10, 20]              # a list of values
      signal.params.long: {start: 30, stop: 250, step: 10}   # a range, stop INCLUSIVE; or {start, stop, num}
      costs.slippage_bps: [0, 5]                     # any config key: execution, costs, market_rules, data, ...
      mode: grid            # grid (default: every combination) | random (``samples`` distinct grid points)
      samples: 200          # random mode only
      seed: 0               # random mode only
      chunk_size: 250       # combinations per chunk (default: sized to bound memory, see engine.sweep.execute)
      top_n: 10             # rows of the top table in summary.md
      rank_by: sharpe       # a metric column (engine.metrics.vector); lower-is-better metrics rank ascending
      cscv_blocks: 16       # S, even: blocks of the CSCV estimate of the probability of backtest overfitting
      split: {in_sample: [2010-01-01, 2019-12-31], out_of_sample: [2020-01-01, 2025-12-31]}
      # or: split: {walk_forward: {folds: 4, anchored: true}}

Nested mappings are flattened (``--set sweep.signal.params.short=[5,10]`` works). Combination order: data keys,
then signal parameters, then the rest (each group in YAML order), the last key varying fastest; this keeps
combinations that share signal parameters next to each other, so their signal is computed once.

Validation happens before anything runs: every swept key must be a config key (did-you-mean on typos), every
signal-parameter value is checked like a ``--set`` override of that parameter (the per-value rules of the
signal's validator, :meth:`engine.signals.base.ParamRules.validate`), each combination's signal parameters once with
the rules between them (``not_above``, the signal's ``check``), and every distinct tuple of the other swept values
with :func:`engine.config.config_from_dict` (so cross-field rules apply). A value that fails everywhere is a
ConfigError; a combination that fails only as a combination (e.g. ``price: open`` with ``lag: 0``, or
``val_min_periods`` above ``val_window``, ma_timing's ``short >= long``) is skipped and counted, as are the
failures the signals find later in the data (a code not in a panel). The combinations' params reach the signals
validated: the compute paths of a sweep do not check them again.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.config import _Ctx, _suggest, _validate_signal, config_from_dict
from engine.config_schema import SignalConfig, StrategyConfig
from engine.errors import ConfigError, ParamError
from engine.metrics.vector import METRIC_NAMES

if TYPE_CHECKING:
    import pandas as pd

RESERVED = ("mode", "samples", "seed", "chunk_size", "top_n", "rank_by", "split", "cscv_blocks")
LOWER_IS_BETTER = frozenset({"annual_volatility", "tracking_error", "annual_turnover", "total_cost_drag",
                             "annual_cost_drag"})
_NOT_SWEEPABLE = ("name", "description", "output", "sweep", "extra_benchmarks", "signal.name")
_RANGE_KEYS = {"start", "stop", "step", "num"}


@dataclass(frozen=True)
class SweepSpec:
    """A parsed ``sweep:`` section. ``keys`` are dotted config paths (column order), ``values`` one tuple per key."""

    keys: tuple[str, ...]
    values: tuple[tuple, ...]
    mode: str = "grid"
    samples: int | None = None
    seed: int = 0
    chunk_size: int | None = None
    top_n: int = 10
    rank_by: str = "sharpe"
    cscv_blocks: int = 16
    split: dict | None = None

    @property
    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.values)


@dataclass
class Plan:
    """Validated combinations: ``configs[i]`` is the full resolved config of combination ``rows[i]`` (values in
    ``spec.keys`` order); ``skipped`` lists (values, reason) of combinations invalid as combinations."""

    spec: SweepSpec
    base: StrategyConfig
    rows: list[tuple]
    configs: list[StrategyConfig]
    skipped: list[tuple[tuple, str]]


def _flatten(node: Any, prefix: str, out: dict, where: str) -> None:
    if isinstance(node, dict) and not (set(node) <= _RANGE_KEYS and {"start", "stop"} <= set(node)):
        for k, v in node.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, where)
    else:
        out[prefix] = node


def _range_values(key: str, spec: dict) -> tuple:
    start, stop = spec["start"], spec["stop"]
    nums = [start, stop] + [spec[k] for k in ("step", "num") if k in spec]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in nums):
        raise ConfigError(f"sweep.{key}: a range needs numbers start, stop and step (or num), got {spec!r}")
    if ("step" in spec) == ("num" in spec):
        raise ConfigError(f"sweep.{key}: give exactly one of step or num in a range, got {spec!r}")
    if "num" in spec:
        num = spec["num"]
        if not isinstance(num, int) or num < 1:
            raise ConfigError(f"sweep.{key}: num must be a positive integer, got {num!r}")
        vals = np.linspace(start, stop, num)
    else:
        step = spec["step"]
        if step <= 0 or stop < start:
            raise ConfigError(f"sweep.{key}: a range needs step > 0 and stop >= start, got {spec!r}")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > 1_000_000:
            raise ConfigError(f"sweep.{key}: the range has {count} values; at most 1,000,000")
        vals = start + step * np.arange(count)
    if all(isinstance(x, int) for x in (start, stop, spec.get("step", 1))) and "num" not in spec:
        return tuple(int(v) for v in vals)
    return tuple(float(f"{v:.12g}") for v in vals)


def _values(key: str, node: Any) -> tuple:
    if isinstance(node, dict):
        return _range_values(key, node)
    vals = tuple(node) if isinstance(node, (list, tuple)) else (node,)
    if not vals:
        raise ConfigError(f"sweep.{key}: empty list of values")
    seen = []
    for v in vals:
        if v in seen:
            raise ConfigError(f"sweep.{key}: value {v!r} is listed twice")
        seen.append(v)
    return vals


def _int_opt(raw: dict, key: str, default, low: int):
    v = raw.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise ConfigError(f"sweep.{key}: expected an integer >= {low}, got {v!r}")
    return v


def parse_sweep(sweep: dict) -> SweepSpec:
    """Parse a raw ``sweep:`` mapping (keys/values as in the module docstring). ConfigError on a bad option."""
    if not isinstance(sweep, dict) or not sweep:
        raise ConfigError("sweep: --sweep needs a 'sweep:' section mapping config keys to lists of values "
                          "(e.g. signal.params.short: [5, 10, 20])")
    opts = {k: sweep[k] for k in RESERVED if k in sweep}
    flat: dict = {}
    for k, v in sweep.items():
        if k not in RESERVED:
            _flatten(v, str(k), flat, "sweep")
    if not flat:
        raise ConfigError("sweep: no parameters to sweep; add e.g. signal.params.short: [5, 10, 20]")
    for k in flat:
        if k in _NOT_SWEEPABLE or k.split(".")[0] in _NOT_SWEEPABLE[:5]:
            raise ConfigError(f"sweep.{k}: cannot be swept (compare different signals with python -m engine.compare)")
    mode = opts.get("mode", "grid")
    if mode not in ("grid", "random"):
        raise ConfigError(f"sweep.mode: '{mode}' is not allowed{_suggest(mode, ('grid', 'random'))}")
    rank_by = opts.get("rank_by", "sharpe")
    if rank_by not in METRIC_NAMES:
        raise ConfigError(f"sweep.rank_by: unknown metric '{rank_by}'{_suggest(rank_by, METRIC_NAMES)}")
    cscv = _int_opt(opts, "cscv_blocks", 16, 2)
    if cscv % 2:
        raise ConfigError(f"sweep.cscv_blocks: must be even (CSCV splits the blocks in halves), got {cscv}")
    split = opts.get("split")
    if split is not None:
        _check_split(split)
    order = sorted(flat, key=lambda k: 0 if k.startswith("data.") else 1 if k.startswith("signal.params.") else 2)
    spec = SweepSpec(keys=tuple(order), values=tuple(_values(k, flat[k]) for k in order), mode=mode,
                     samples=_int_opt(opts, "samples", None, 1), seed=_int_opt(opts, "seed", 0, 0),
                     chunk_size=_int_opt(opts, "chunk_size", None, 1), top_n=_int_opt(opts, "top_n", 10, 1),
                     rank_by=rank_by, cscv_blocks=cscv, split=split)
    if mode == "random" and spec.samples is None:
        raise ConfigError("sweep.samples: random mode needs the number of combinations to draw (e.g. samples: 200)")
    return spec


def _check_split(split) -> None:
    if not isinstance(split, dict) or not split:
        raise ConfigError("sweep.split: expected {in_sample: [start, end], out_of_sample: [start, end]} or "
                          "{walk_forward: {folds: N}}")
    if "walk_forward" in split:
        wf = split["walk_forward"]
        wf = {"folds": wf} if isinstance(wf, int) and not isinstance(wf, bool) else wf
        if set(split) != {"walk_forward"} or not isinstance(wf, dict) or set(wf) - {"folds", "anchored"}:
            raise ConfigError("sweep.split.walk_forward: expected {folds: N, anchored: true|false}")
        folds = wf.get("folds")
        if isinstance(folds, bool) or not isinstance(folds, int) or folds < 1:
            raise ConfigError(f"sweep.split.walk_forward.folds: expected an integer >= 1, got {folds!r}")
        if not isinstance(wf.get("anchored", True), bool):
            raise ConfigError("sweep.split.walk_forward.anchored: expected true or false")
        return
    for k in split:
        if k not in ("in_sample", "out_of_sample"):
            opts = ("in_sample", "out_of_sample", "walk_forward")
            raise ConfigError(f"sweep.split: unknown key '{k}'{_suggest(k, opts)}")
    for k in ("in_sample", "out_of_sample"):
        v = split.get(k)
        if not (isinstance(v, (list, tuple)) and len(v) == 2):
            raise ConfigError(f"sweep.split.{k}: expected [start, end] dates (YYYY-MM-DD), got {v!r}")


def combinations(spec: SweepSpec) -> list[tuple]:
    """The combinations to run, as value tuples in ``spec.keys`` order: the full grid (last key fastest) or, in
    random mode, ``samples`` distinct grid points drawn with ``numpy.random.default_rng(seed)``, in grid order."""
    if spec.mode == "grid":
        return list(itertools.product(*spec.values))
    n = spec.grid_size
    k = min(spec.samples, n)
    picks = np.sort(np.random.default_rng(spec.seed).choice(n, size=k, replace=False))
    dims = [len(v) for v in spec.values]
    idx = np.unravel_index(picks, dims) if dims else ()
    return [tuple(spec.values[j][int(idx[j][i])] for j in range(len(dims))) for i in range(k)]


def _set(raw: dict, key: str, value) -> dict:
    return _set_path(copy.deepcopy(raw), key.split("."), value)


def _set_path(raw: dict, path: list[str], value) -> dict:
    node = raw
    for part in path[:-1]:
        if node.get(part) is None:
            node[part] = {}
        if not isinstance(node[part], dict):
            raise ConfigError(f"sweep.{'.'.join(path)}: '{part}' is not a section")
        node = node[part]
    node[path[-1]] = value
    return raw


def plan(raw: dict, source: str, spec: SweepSpec, lines=None) -> Plan:
    """Validate ``spec`` against the base config ``raw`` (overrides applied) and build every combination's config.

    Raises ConfigError (before anything runs) for a key that is not a config key, or a value that is invalid in
    every combination it appears in. Combinations invalid only as a whole are returned in ``Plan.skipped``.
    """
    from engine.signals import REGISTRY

    base_raw = {k: v for k, v in raw.items() if k != "sweep"}
    base = config_from_dict(raw, source=source, lines=lines)
    sig_keys = [k for k in spec.keys if k.startswith("signal.params.")]
    other = [k for k in spec.keys if k not in sig_keys]
    sig_vals: dict[str, dict] = {}
    ctx = _Ctx(f"{source}: sweep", {})
    for k in sig_keys:     # each signal parameter value on its own, by the signal's one validator (per-value rules)
        name = k[len("signal.params."):]
        sig_vals[k] = {}
        for v in spec.values[spec.keys.index(k)]:
            sig = _validate_signal(SignalConfig(base.signal.name, {**base.signal.params, name: v}), ctx,
                                   combination=False)
            sig_vals[k][_hashable(v)] = sig.params[name]
    sig_spec = REGISTRY[base.signal.name]
    rows = combinations(spec)
    pos = [spec.keys.index(k) for k in other]
    tuple_cfg: dict[tuple, StrategyConfig | str] = {}
    for row in rows:                         # each distinct tuple of the other swept values, with config rules
        t = tuple(_hashable(row[i]) for i in pos)
        if t not in tuple_cfg:
            r = base_raw
            for k, i in zip(other, pos):
                r = _set(r, k, row[i])
            try:
                tuple_cfg[t] = config_from_dict(r, source=source, lines=lines)
            except ConfigError as exc:
                tuple_cfg[t] = _strip(exc, source)
    _fail_values_invalid_everywhere(spec, other, pos, tuple_cfg)
    configs, ok_rows, skipped = [], [], []
    for row in rows:
        c = tuple_cfg[tuple(_hashable(row[i]) for i in pos)]
        if isinstance(c, str):
            skipped.append((row, c))
            continue
        if sig_keys:
            params = dict(c.signal.params)
            for k in sig_keys:
                params[k[len("signal.params."):]] = sig_vals[k][_hashable(row[spec.keys.index(k)])]
            try:                # the rules between parameters (e.g. min_periods <= window), once per combination
                sig_spec.check_combination(params)
            except ParamError as exc:
                skipped.append((row, f"signal.params.{exc.key}: {exc.reason}"))
                continue
            c = dataclasses.replace(c, signal=dataclasses.replace(c.signal, params=params))
        configs.append(dataclasses.replace(c, sweep=base.sweep))
        ok_rows.append(row)
    if not configs:
        raise ConfigError(f"sweep: every combination is invalid; first problem: {skipped[0][1]}")
    return Plan(spec, base, ok_rows, configs, skipped)


def _fail_values_invalid_everywhere(spec, other, pos, tuple_cfg) -> None:
    for j, k in enumerate(other):
        good = {t[j] for t, c in tuple_cfg.items() if not isinstance(c, str)}
        for t, c in tuple_cfg.items():
            if isinstance(c, str) and t[j] not in good:
                raise ConfigError(f"sweep.{k}: value {t[j]!r} is invalid in every combination: {c}")


def _strip(exc: Exception, source: str) -> str:
    msg = str(exc)
    return msg[len(source) + 1:].lstrip(": ").strip() if msg.startswith(source) else msg


def _hashable(v):
    if isinstance(v, (list, dict)):
        import json

        return json.dumps(v, sort_keys=True, default=str)
    return v


def column_names(keys: tuple[str, ...]) -> list[str]:
    """Short display names for swept keys: the last path part when unique, else the full dotted key."""
    last = [k.split(".")[-1] for k in keys]
    return [s if last.count(s) == 1 and s not in METRIC_NAMES else k for k, s in zip(keys, last)]

def rank(res: pd.DataFrame, metric: str, prefix: str = "") -> pd.DataFrame:
    """Rows sorted best first by ``prefix + metric`` (descending; ascending for lower-is-better metrics), NaN
    last, ties in combination order."""
    col = prefix + metric
    return res.sort_values(col, ascending=metric in LOWER_IS_BETTER, na_position="last", kind="stable")
