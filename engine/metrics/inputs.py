"""Input validation for :mod:`engine.metrics`: one normaliser, loud one-line errors.

The return series that :func:`engine.metrics.compute_metrics` accepts have a **base row**: the first row is the
base day (the close the period is measured from) and carries return 0 (NaN is accepted there too, as produced by
``pct_change``). It is excluded from every statistic, so ``n = rows - 1`` = the number of trading days in the
period.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from engine.config_schema import MetricsConfig
from engine.errors import ConfigError, DataError

_MAX_LISTED = 3


def _dates(idx) -> str:
    shown = ", ".join(pd.Timestamp(d).date().isoformat() for d in list(idx)[:_MAX_LISTED])
    more = len(idx) - _MAX_LISTED
    return shown + (f" (+{more} more)" if more > 0 else "")


# Annual risk-free rates are fractions; above this the value is almost surely a percentage typed as a number
# (risk_free: 3 meaning 3%). The highest CNY one-year deposit rate on record is 10.98% (1993-1995).
MAX_RISK_FREE = 0.2


def config_problem(config: MetricsConfig) -> Optional[tuple[str, str]]:
    """``(key, what is wrong)`` for the first unusable ``metrics.*`` value, or None."""
    from engine.metrics.ppy import valid_ppy

    bad = valid_ppy(config.periods_per_year)
    if bad:
        return "periods_per_year", bad
    rf = config.risk_free
    if isinstance(rf, bool) or not isinstance(rf, (int, float, np.integer, np.floating)) or not np.isfinite(rf) \
            or rf <= -1:
        return "risk_free", f"must be an annual rate as a fraction (0.03 = 3%), got {rf!r}"
    if rf > MAX_RISK_FREE:
        return "risk_free", (f"{rf!r} would be {100.0 * rf:g}% a year; rates are fractions (0.03 = 3%); "
                             f"values above {MAX_RISK_FREE:g} are refused")
    if config.primary_excess not in ("geometric", "arithmetic"):
        return "primary_excess", f"must be 'geometric' or 'arithmetic', got {config.primary_excess!r}"
    w = config.warmup_warning
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w <= 1:
        return "warmup_warning", f"must be a share of the period between 0 and 1 (0.1 = 10%), got {w!r}"
    return None


def check_config(config: MetricsConfig) -> None:
    """Raise ConfigError (naming the ``metrics.*`` key) for an unusable MetricsConfig."""
    if not isinstance(config, MetricsConfig):
        raise ConfigError(f"metrics: expected a MetricsConfig, got {type(config).__name__}")
    bad = config_problem(config)
    if bad:
        raise ConfigError(f"metrics.{bad[0]}: {bad[1]}")


def _as_float_series(x, name: str) -> pd.Series:
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise DataError(f"{name}: expected a Series of daily returns, got a DataFrame with {x.shape[1]} columns")
        x = x.iloc[:, 0]
    if not isinstance(x, pd.Series):
        raise DataError(f"{name}: expected a pandas Series indexed by date, got {type(x).__name__}")
    if not isinstance(x.index, pd.DatetimeIndex):
        raise DataError(f"{name}: the index must be a DatetimeIndex of trading days, got {type(x.index).__name__}")
    if x.index.has_duplicates:
        raise DataError(f"{name}: duplicate dates {_dates(x.index[x.index.duplicated()])}; keep one row per day")
    if not x.index.is_monotonic_increasing:
        raise DataError(f"{name}: dates are not in increasing order; sort the series by date")
    try:
        return pd.Series(x.to_numpy(dtype=float, na_value=np.nan), index=x.index, name=name)
    except (TypeError, ValueError):
        raise DataError(f"{name}: values must be numeric daily returns (fractions, 0.01 = 1%)") from None


def check_returns(x, name: str) -> pd.Series:
    """Validate one base-row return series; return it as float with the base row set to 0.0.

    Raises DataError when: not a date-indexed Series; fewer than 2 rows (base day + >= 1 period day);
    the base row is neither 0 nor NaN; a period day is NaN/inf; a return is below -1 (-100%).
    """
    s = _as_float_series(x, name)
    if len(s) < 2:
        raise DataError(f"{name}: need the base day plus at least one trading day, got {len(s)} row(s)")
    base = s.iloc[0]
    if not (np.isnan(base) or base == 0.0):
        raise DataError(
            f"{name}: the first row ({_dates(s.index[:1])}) is the base day and must have return 0 (got {base:.6g}); "
            "prepend the close before the period starts as the base row"
        )
    body = s.iloc[1:]
    bad = body.index[~np.isfinite(body.to_numpy())]
    if len(bad):
        raise DataError(f"{name}: missing or infinite returns on {_dates(bad)}; fill or drop those days before metrics")
    low = body.index[body.to_numpy() < -1.0]
    if len(low):
        raise DataError(f"{name}: returns below -100% on {_dates(low)}; returns must be simple fractions >= -1")
    s.iloc[0] = 0.0
    return s


def check_pair(strategy_returns, benchmark_returns) -> tuple[pd.Series, pd.Series]:
    """Validate both series and require the same dates (same base day, same trading days)."""
    s = check_returns(strategy_returns, "strategy_returns")
    b = check_returns(benchmark_returns, "benchmark_returns")
    if not s.index.equals(b.index):
        only_s = s.index.difference(b.index)
        only_b = b.index.difference(s.index)
        parts = []
        if len(only_s):
            parts.append(f"only in strategy_returns: {_dates(only_s)}")
        if len(only_b):
            parts.append(f"only in benchmark_returns: {_dates(only_b)}")
        raise DataError("strategy_returns and benchmark_returns must share the same dates; " + "; ".join(parts))
    return s, b


def check_aux(x, name: str, index: pd.DatetimeIndex) -> Optional[pd.Series]:
    """Validate an optional daily turnover / cost-return series; return its period rows (base row dropped).

    Accepted indexes: the full return index (base row included; its value must be 0 or NaN, because the base day
    has no trading inside the period) or the period index (base row omitted). Values must be finite and >= 0.
    """
    if x is None:
        return None
    a = _as_float_series(x, name)
    period = index[1:]
    if a.index.equals(index):
        base = a.iloc[0]
        if not (np.isnan(base) or base == 0.0):
            raise DataError(
                f"{name}: the base day {_dates(index[:1])} must be 0 or empty (got {base:.6g}); "
                "trades and costs belong to the period days, the base day only anchors the start value"
            )
        a = a.iloc[1:]
    elif not a.index.equals(period):
        missing = period.difference(a.index)
        extra = a.index.difference(index)
        raise DataError(
            f"{name}: dates must match the return series (with or without its base row); "
            f"missing {_dates(missing) or 'none'}; extra {_dates(extra) or 'none'}"
        )
    vals = a.to_numpy()
    bad = a.index[~np.isfinite(vals)]
    if len(bad):
        raise DataError(f"{name}: missing or infinite values on {_dates(bad)}; use 0 for days without trading")
    neg = a.index[vals < 0]
    if len(neg):
        raise DataError(f"{name}: negative values on {_dates(neg)}; {name} must be >= 0")
    return a
