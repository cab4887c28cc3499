"""Trading-calendar facts the signals need: which sessions end a month.

Inside the data the data's own calendar decides: a row is a month's last session when the next row is in another
month. The data's last row has no next row; whether it ends its month is a calendar fact published in advance
(exchanges announce their holidays), so it is decided, in order, by

1. the calendar date: on or after the month's last weekday (``BMonthEnd``) it is the last session;
2. the Shanghai Stock Exchange calendar of ``exchange_calendars`` (``XSHG``, an optional dependency:
   ``pip install exchange_calendars``) when it is installed and covers the date: the last session if the next
   XSHG session is in another month (e.g. 2014-01-30, 2017-01-26, 2020-01-23, 2023-09-28 and 2025-01-27, where
   the last weekday was a holiday);
3. otherwise the month is taken as unfinished, with a warning naming the date and the missing package.

So a run cut at a month's last session (``--asof``) sees the same month end as the full backtest.
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd


@lru_cache(maxsize=1)
def _xshg():
    try:
        import exchange_calendars as xcals
    except ImportError:
        return None
    with warnings.catch_warnings():          # the library's own pandas deprecation noise
        warnings.simplefilter("ignore")
        return xcals.get_calendar("XSHG")


def next_session(day) -> pd.Timestamp | None:
    """The XSHG session after ``day`` (a session or not), or None when exchange_calendars is missing or does not
    cover the date."""
    cal = _xshg()
    d = pd.Timestamp(day).normalize()
    with warnings.catch_warnings():          # the library's own pandas deprecation noise
        warnings.simplefilter("ignore")
        if cal is None or not (cal.first_session <= d < cal.last_session):
            return None
        return pd.Timestamp(cal.date_to_session(d, direction="next") if not cal.is_session(d)
                            else cal.next_session(d))


def ends_its_month(day) -> bool | None:
    """Whether the session ``day`` is the last of its month: True / False, or None when unknown (rule 3)."""
    d = pd.Timestamp(day)
    if d >= d + pd.offsets.BMonthEnd(0):
        return True
    nxt = next_session(d)
    if nxt is None:
        return None
    return (nxt.year, nxt.month) != (d.year, d.month)


def month_end_positions(dates: pd.DatetimeIndex) -> np.ndarray:
    """Row positions of the last trading session of each calendar month in ``dates`` (sorted, unique); the final
    month counts only if its last date ends the month (module docstring). Not look-ahead: the calendar is known."""
    dates = pd.DatetimeIndex(dates)
    if len(dates) == 0:
        return np.zeros(0, np.int64)
    per = dates.year * 12 + dates.month
    last = np.flatnonzero(np.r_[per[1:] != per[:-1], True])
    done = ends_its_month(dates[-1])
    if done is None:
        warnings.warn(f"month end: cannot tell whether {dates[-1]:%Y-%m-%d} (the data's last day) is the last session "
                      "of its month; taken as unfinished (install exchange_calendars for the XSHG calendar)",
                      stacklevel=2)
    if not done:
        last = last[:-1]
    return last.astype(np.int64)
