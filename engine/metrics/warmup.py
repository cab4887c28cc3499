"""Warm-up: when a signal is first defined, when the strategy first invests, and the metrics from then on.

A signal with long windows sits in cash until its indicators exist; over a period that starts earlier, that cash
stretch is part of every full-period number (the strategy "beats" a falling index by not having started). This
module reports, for one run:

* ``indicators``: the first date each indicator column of ``SignalResult.indicators`` is defined (non-NaN), when
  there are at most :data:`MAX_LISTED` columns (else only their count).
* ``first_defined``: the first date the signal is defined = the later of (a) the first row on which every
  *defining* indicator is non-NaN and (b) the first row of ``weights`` with a non-NaN value. Defining indicators:
  the columns named in ``indicators.attrs["defining"]`` when the signal sets it; otherwise the columns already
  defined on the first day the weights are non-zero (so a supplementary series that starts later, e.g. a put/call
  ratio listed years after the others, does not move the start; a signal that never invests uses every column).
* ``first_invested``: the first period day whose end-of-day holdings are non-zero (``weights_held``).
* ``warmup_days`` / ``warmup_share``: period trading days before ``first_defined`` (base day excluded) and their
  share of the period's n days.
* ``since_defined``: ``strategy`` / ``benchmark`` / ``excess`` blocks of :func:`engine.metrics.compute_metrics`
  over the sub-period whose base day is the last period day on or before ``first_defined`` (None when that is the
  period's own base day, or when no day follows it).

Warnings (appended to ``metrics["warnings"]``): warm-up above ``metrics.warmup_warning`` of the period; a signal
never defined inside the period; a strategy that never holds anything in the period.
"""
from __future__ import annotations

from typing import Optional

import pandas as pd

MAX_LISTED = 20
_EPS = 1e-12


def _iso(ts) -> Optional[str]:
    return None if ts is None else pd.Timestamp(ts).date().isoformat()


def _first(mask: pd.Series) -> Optional[pd.Timestamp]:
    hit = mask.index[mask.to_numpy(dtype=bool)]
    return hit[0] if len(hit) else None


def signal_start(weights: pd.DataFrame, indicators: pd.DataFrame) -> dict:
    """``first_defined`` (Timestamp or None), ``indicators`` ({column: ISO date or None} or None), ``defining``
    (column names used), ``n_indicators``, ``rule`` (one line). See the module docstring."""
    w_defined = _first(weights.notna().any(axis=1)) if len(weights) else None
    out = {"first_defined": w_defined, "indicators": None, "defining": [], "n_indicators": 0,
           "rule": "first row of weights with a non-NaN value (no indicators)"}
    ind = indicators if isinstance(indicators, pd.DataFrame) else pd.DataFrame()
    if not len(ind.columns) or not len(ind):
        return out
    firsts = {c: ind[c].first_valid_index() for c in ind.columns}
    out["n_indicators"] = len(ind.columns)
    if len(ind.columns) <= MAX_LISTED:
        out["indicators"] = {str(c): _iso(d) for c, d in firsts.items()}
    declared = ind.attrs.get("defining")
    if declared:
        cols = [c for c in ind.columns if c in set(declared)]
        rule = "indicators named by the signal (indicators.attrs['defining'])"
    else:
        invested = _first(weights.fillna(0.0).abs().sum(axis=1) > _EPS) if len(weights) else None
        cols = [c for c, d in firsts.items() if d is not None and (invested is None or d <= invested)]
        if invested is None or not cols:
            cols = list(ind.columns)
        rule = "indicators already defined when the weights first become non-zero"
    all_def = _first(ind[cols].notna().all(axis=1))
    first = None if all_def is None else (all_def if w_defined is None else max(all_def, w_defined))
    out.update(first_defined=first, defining=[str(c) for c in cols][:MAX_LISTED],
               rule=f"later of: every defining indicator non-NaN ({rule}); a non-NaN weight row")
    return out


def _sub(x: Optional[pd.Series], base) -> Optional[pd.Series]:
    if x is None:
        return None
    y = x.loc[base:].astype(float).copy()
    y.iloc[0] = 0.0                     # the base day anchors the sub-period; its own return and trades precede it
    return y


def warmup_section(sig, bt, bench: pd.Series, config, calendar=None) -> tuple[dict, list[str]]:
    """``(metrics["warmup"], warnings)`` for a run: ``sig`` a SignalResult, ``bt`` a BacktestResult, ``bench`` the
    base-row benchmark returns on ``bt.returns.index``; ``config`` the MetricsConfig; ``calendar`` as for
    :func:`engine.metrics.compute_metrics`."""
    from engine.metrics import compute_metrics

    idx = bt.returns.index
    period = idx[1:]
    n = len(period)
    st = signal_start(sig.weights, sig.indicators)
    first = st["first_defined"]
    held = bt.weights_held.reindex(period).fillna(0.0).abs().sum(axis=1) > _EPS
    invested = _first(held)
    warm = n if first is None else int((period < first).sum())
    out = {"first_defined": _iso(first), "first_invested": _iso(invested), "rule": st["rule"],
           "defining_indicators": st["defining"], "indicators_first_defined": st["indicators"],
           "n_indicators": st["n_indicators"], "warmup_days": warm, "warmup_share": warm / n,
           "warmup_warning_share": float(config.warmup_warning), "since_defined": None}
    warnings = []
    if first is None or first > idx[-1]:
        warnings.append(f"the signal is never defined in the period {_iso(period[0])}..{_iso(period[-1])}: its "
                        "indicators need more history than the data holds (a window longer than the data?)")
    elif warm / n > config.warmup_warning:
        warnings.append(f"warm-up: the signal is first defined on {_iso(first)}; {warm} of the period's {n} trading "
                        f"days ({100.0 * warm / n:.1f}%, more than metrics.warmup_warning "
                        f"{100.0 * config.warmup_warning:g}%) come before it; compare the metrics from that day")
    if invested is None:
        warnings.append(f"the strategy holds no position on any day of {_iso(period[0])}..{_iso(period[-1])} "
                        "(all cash): every number below describes cash, not the signal")
    if first is not None and idx[0] < first <= idx[-1]:
        base = idx[idx <= first][-1]
        if base < idx[-1]:
            m = compute_metrics(_sub(bt.returns, base), _sub(bench, base), config,
                                turnover=_sub(bt.turnover, base), cost_returns=_sub(bt.cost_returns, base),
                                calendar=idx if calendar is None else calendar)
            out["since_defined"] = {k: m[k] for k in ("strategy", "benchmark", "excess", "period")}
            warnings += [w for w in m["warnings"] if w.startswith("the period")]
    return out, warnings

