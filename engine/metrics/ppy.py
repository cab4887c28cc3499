"""The annualisation base ``ppy`` (``metrics.periods_per_year``): a number from the config, or ``auto``.

``auto`` (the default) = the data's own number of trading days per year, defined as

    ppy = (trading days in the complete calendar years of the calendar) / (number of complete years)

where the calendar is the data's trading days (the dates of the panel the strategy trades, or of the return series
when no calendar is given) and a calendar year is **complete** when the calendar also has trading days in the year
before and in the year after it, so the whole year lies inside the data. Days missing from the data inside such a
year count as they are (it is the calendar the returns were computed on). Why: the A-share calendar has about 243
sessions a year (SSE 2007-2025: 238..246, mean 243.06), so the US convention 252 overstates annual return,
volatility, Sharpe and turnover (a 3.35% calendar CAGR prints as 3.48%), and 250 (a common Chinese broker
convention) by less. The exact mean is used, not a rounded integer.

With no complete year in the calendar (less than about three calendar years of data) ``auto`` falls back to
:data:`FALLBACK_PPY` = 243 (the mean above, rounded) and says so in a warning. A number (250, 252, 365, ...) is used
as given.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd

FALLBACK_PPY = 243
AUTO = "auto"


def complete_year_counts(calendar) -> dict[int, int]:
    """{year: trading days} for every complete calendar year of ``calendar`` (module docstring)."""
    years = np.asarray(pd.DatetimeIndex(calendar).year)
    if not len(years):
        return {}
    uniq, counts = np.unique(years, return_counts=True)
    present = set(int(y) for y in uniq)
    return {int(y): int(c) for y, c in zip(uniq, counts) if int(y) - 1 in present and int(y) + 1 in present}


def format_ppy(ppy: float) -> str:
    """252 -> '252'; 243.0555 -> '243.06'."""
    return f"{ppy:.0f}" if float(ppy).is_integer() else f"{ppy:.2f}"


def resolve_ppy(value, calendar) -> tuple[float, dict]:
    """``(ppy, info)`` for ``metrics.periods_per_year`` = ``value`` ('auto' or a positive number).

    ``info``: ``value`` (the ppy used), ``setting`` (what the config said), ``rule`` (one line: how it was
    obtained), ``years`` ([first, last] complete year or None), ``n_years``, ``days``, ``warning`` (None or one
    line). Raises nothing: the value is validated by :func:`engine.metrics.inputs.check_config`.
    """
    if isinstance(value, str) and value == AUTO:
        counts = complete_year_counts(calendar)
        if not counts:
            info = {"value": float(FALLBACK_PPY), "setting": AUTO, "years": None, "n_years": 0, "days": 0,
                    "rule": f"auto: the data's calendar has no complete calendar year; fallback {FALLBACK_PPY} "
                            "(mean A-share sessions per year 2007-2025)"}
            info["warning"] = (f"metrics.periods_per_year: auto: the data's calendar holds no complete calendar year, "
                               f"so annualisation uses the fallback {FALLBACK_PPY} A-share trading days per year")
            return float(FALLBACK_PPY), info
        days, k = sum(counts.values()), len(counts)
        ppy = days / k
        y0, y1 = min(counts), max(counts)
        return ppy, {"value": ppy, "setting": AUTO, "years": [y0, y1], "n_years": k, "days": days, "warning": None,
                     "rule": f"auto: {days} trading days / {k} complete calendar years {y0}-{y1} of the data's "
                             f"calendar = {format_ppy(ppy)}"}
    ppy = float(value)
    return ppy, {"value": ppy, "setting": value, "years": None, "n_years": None, "days": None, "warning": None,
                 "rule": f"set in the config: {format_ppy(ppy)}"}


def valid_ppy(value) -> Optional[str]:
    """None when ``value`` is a usable ``periods_per_year``, else what is wrong (one phrase)."""
    if isinstance(value, str):
        return None if value == AUTO else f"'{value}' is not allowed; use auto or a number of periods such as 252"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return f"expected auto or a positive number (e.g. 252), got {value!r}"
    if not math.isfinite(float(value)) or value <= 0:
        return f"must be auto or a positive number (e.g. 252), got {value!r}"
    return None
