"""The contract between signal generators, the config and the backtester.

A signal generator is a plain function ``compute(ds: Dataset, params: dict) -> SignalResult`` plus a
``SignalSpec`` in :data:`engine.signals.REGISTRY`. ``SignalSpec.compute`` receives params already validated by
:meth:`ParamRules.validate` (merged with the spec's defaults, unknown keys refused, each value coerced to its
default's type and checked against the declared rules): :mod:`engine.config` does it for a YAML (and
:mod:`engine.sweep.grid` per combination), a signal module's public functions do it for a direct Python call. That
one function is the only place a signal's parameters are checked; a check that needs the data (an unknown code)
stays with the data.

Timing contract (every generator's docstring restates it): ``weights.loc[t]`` is decided with data up to the
close of ``t`` only; the backtester executes it at ``t + lag``. Proven per signal by the look-ahead test helper
``tests/lookahead.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pandas as pd

from engine.errors import ParamError
from engine.values import coerce, suggest


@dataclass
class SignalResult:
    """``weights``: date x code target weights (rows sum to <= 1, cash is the rest), decided at close t.

    ``indicators``: date-indexed frame of the signal's intermediate series, for reports (may be empty).
    ``tables``: named frames for report-style output (e.g. the last 20 days table, monthly signal tables).
    ``rebalance_dates``: decision dates on which the backtester re-applies the target even if it did not change
    (scheduled rebalancing, e.g. back to equal weight at every month end). ``None``: trade only on changes.
    ``targets``: optionally the same target path in compact form (``engine.backtest.weightpaths.SparsePaths``:
    decision dates and the codes held), which the backtester then uses instead of ``weights`` (same result).
    """

    weights: pd.DataFrame
    indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rebalance_dates: Optional[pd.DatetimeIndex] = None
    targets: Any = None


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of a signal that can be computed on its own (``python -m engine.signals CONFIG --indicator
    NAME``): ``compute(ds, params) -> DataFrame`` (date-indexed) needs only ``requires``."""

    name: str
    compute: Callable[[Any, dict], pd.DataFrame]
    requires: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()      # e.g. the report's Chinese name
    description: str = ""


_BRACKETS = {"[]", "(]", "[)", "()"}


@dataclass(frozen=True, kw_only=True)
class _Rules:
    """The parameter rules shared by :class:`ParamRules` and :class:`SignalSpec` (same field names):

    ``defaults`` (every parameter; the default's type is the expected type), ``choices`` (param -> allowed values),
    ``positive`` (params that must be > 0), ``ranges`` (param -> ``(lo, hi, "[]")``: the interval, brackets ``[]``,
    ``(]``, ``[)`` or ``()``, a bound None = unbounded), ``not_above`` (param -> the param whose value it must not
    exceed, e.g. ``{"val_min_periods": "val_window"}``), ``below`` (param -> the param it must be smaller than, e.g.
    ma_timing's ``{"short": "long"}``), ``check`` (optional ``check(params)`` for what is truly
    specific; raises :class:`~engine.errors.ParamError` naming the parameter). Params None skip the checks (as
    before: a None default or value means "not set")."""

    choices: dict = field(default_factory=dict)
    positive: tuple[str, ...] = ()
    ranges: dict = field(default_factory=dict)
    not_above: dict = field(default_factory=dict)
    below: dict = field(default_factory=dict)
    check: Optional[Callable[[dict], None]] = None

    def __post_init__(self):
        _check_rules(self)

    def validate(self, params: Optional[dict] = None, combination: bool = True) -> dict:
        """``params`` merged over the defaults, each given value coerced and checked (unknown key with a "did you
        mean", type, choice, positive, range), then, with ``combination``, the rules between parameters
        (``not_above``, ``below``, ``check``). Raises :class:`~engine.errors.ParamError` (a ConfigError) naming the
        parameter and the allowed values. ``combination=False``: the per-value rules only (a sweep checks each swept value so,
        then each combination with :meth:`check_combination`)."""
        name, defaults = self.name, self.defaults
        out = dict(defaults)
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ParamError("", f"expected a mapping of parameter: value, got {params!r}", name)
        for key, value in params.items():
            if key not in defaults:
                raise ParamError(key, f"unknown parameter of signal '{name}'{suggest(key, defaults)}", name)
            default = defaults[key]
            if default is None or value is None:
                out[key] = value
                continue
            try:
                v = coerce(value, type(default))
            except ValueError as exc:
                raise ParamError(key, str(exc), name) from None
            if key in self.choices and v not in self.choices[key]:
                allowed = self.choices[key]
                hint = suggest(v, allowed)
                raise ParamError(key, f"'{v}' is not allowed (expected one of: {', '.join(map(str, allowed))})"
                                      + (hint if "did you mean" in hint else ""), name)
            if key in self.positive and v <= 0:
                raise ParamError(key, f"must be > 0, got {v}", name)
            if key in self.ranges:
                _check_range(key, v, self.ranges[key], name)
            out[key] = v
        if combination:
            self.check_combination(out)
        return out

    def check_combination(self, p: dict) -> None:
        """The rules between the parameters of merged, per-value-valid params ``p``: ``not_above``, ``below``,
        ``check``."""
        for key, other in self.not_above.items():
            v, ov = p[key], p[other]
            if v is not None and ov is not None and v > ov:
                raise ParamError(key, f"must not exceed {other} ({ov}), got {v}", self.name)
        for key, other in self.below.items():
            v, ov = p[key], p[other]
            if v is not None and ov is not None and v >= ov:
                raise ParamError(key, f"must be smaller than {other} ({ov}), got {v}", self.name)
        if self.check is not None:
            try:
                self.check(p)
            except ParamError as exc:
                if exc.signal:
                    raise
                raise ParamError(exc.key, exc.reason, self.name) from None


def _check_range(key: str, v, rng: tuple, who: str) -> None:
    lo, hi, br = rng
    ok = ((lo is None or (v > lo if br[0] == "(" else v >= lo))
          and (hi is None or (v < hi if br[1] == ")" else v <= hi)))
    if not ok:
        if lo is None:
            want = f"{'<' if br[1] == ')' else '<='} {hi}"
        elif hi is None:
            want = f"{'>' if br[0] == '(' else '>='} {lo}"
        else:
            want = f"in {br[0]}{lo}, {hi}{br[1]}"
        raise ParamError(key, f"must be {want}, got {v}", who)


@dataclass(frozen=True)
class ParamRules(_Rules):
    """Parameter rules outside a :class:`SignalSpec` (a signal module's part shared by several signals, e.g. the
    crowding indicators); ``name`` names the signal in messages. Fields: :class:`_Rules`."""

    name: str
    defaults: dict


def _check_rules(r) -> None:
    """The declared rules name parameters that exist (a typo here would silently check nothing)."""
    names = [*r.choices, *r.positive, *r.ranges, *r.not_above, *r.not_above.values(), *r.below, *r.below.values()]
    bad = [k for k in names if k not in r.defaults]
    if bad:
        raise ValueError(f"{r.name}: parameter rules name unknown parameters {bad}")
    for k, rng in r.ranges.items():
        if not (isinstance(rng, tuple) and len(rng) == 3 and rng[2] in _BRACKETS):
            raise ValueError(f"{r.name}: ranges[{k!r}] must be (lo, hi, '[]' | '(]' | '[)' | '()')")


@dataclass(frozen=True)
class SignalSpec(_Rules):
    name: str
    compute: Callable[[Any, dict], SignalResult]
    defaults: dict                      # every parameter with its default; the default's type is the expected type
    universe: str                       # dataset panel the weights refer to ('index' = CSI 300 timing, 'sw_l1', ...)
    requires: tuple[str, ...] = ()      # e.g. ("panel:index.close", "series:flows.elg_buy", "table:membership")
    description: str = ""
    # parameter rules, keyword-only (inherited from _Rules): choices, positive, ranges, not_above, below, check
    format_tables: Optional[Callable[[dict], str]] = None   # report-style text of SignalResult.tables
    indicators: tuple = ()              # IndicatorSpec: indicators computable alone, with only their inputs
    after_run: Optional[Callable[[Any], dict]] = None   # run -> extra tables for the single-run summary only
    charts: Optional[Callable[[SignalResult, Any, bool], list]] = None   # (result, out_dir, synthetic) -> PNG paths
    # (dataset, params, data.start, data.end) -> (params, line): data-dependent params fixed for the run's period
    # (e.g. xinbanjun's real-or-sector tradable); the pipeline prints the line
    resolve: Optional[Callable[[Any, dict, Any, Any], tuple]] = None
    # engine.signals.components.ComponentMap: parameters -> indicator components, and the weights from them; sweeps
    # then compute each component once per distinct value of the parameters it reads (None: one compute per set)
    components: Optional[Any] = None

    def universe_for(self, params: Optional[dict] = None) -> str:
        """The panel the weights refer to: ``params['panel']`` for a signal with a ``panel`` parameter (``hold``,
        ``ma_timing``, ``weights_file`` trade the panel they name), else :attr:`universe`."""
        if "panel" in self.defaults and params and params.get("panel"):
            return str(params["panel"])
        return self.universe

    def requires_for(self, params: Optional[dict] = None) -> tuple[str, ...]:
        """:attr:`requires` with the default panel replaced by the one ``params`` names."""
        u = self.universe_for(params)
        head = f"panel:{self.universe}."
        if u == self.universe:
            return self.requires
        return tuple(f"panel:{u}." + r[len(head):] if r.startswith(head) else r for r in self.requires)


def format_tables_by_month(tables: dict, fmt: Callable[[dict, Any], str]) -> str:
    """Helper for monthly signals: call ``fmt(tables, month_end)`` with the month stored in the tables' attrs."""
    month = next((t.attrs.get("month_end") for t in tables.values() if hasattr(t, "attrs")), None)
    return fmt(tables, month)


def rolling_mean(obj, window: int, min_periods: int):
    """``obj.rolling(window, min_periods=min_periods).mean()`` for a float Series or DataFrame, through the project's
    one rolling-mean kernel (:func:`engine.kernels.rolling.rolling_mean`, bit for bit pandas' values); same index,
    columns and name."""
    import numpy as np

    from engine.kernels.rolling import rolling_mean as kernel

    series = isinstance(obj, pd.Series)
    a = obj.to_numpy(dtype=float, na_value=np.nan)
    out = kernel(np.ascontiguousarray(a.reshape(-1, 1) if series else a), int(window), int(min_periods))
    if series:
        return pd.Series(out[:, 0], index=obj.index, name=obj.name)
    return pd.DataFrame(out, index=obj.index, columns=obj.columns)
