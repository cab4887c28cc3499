"""Month ends from the exchange calendar (issue 12 item 4): a run cut at a month's last session (--asof) and the
full backtest decide on the same day, also in months whose last weekday was a holiday."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.calendar import ends_its_month, month_end_positions
from engine.data.embedded import csi300_panel
from engine.data.panel import Dataset, Panel
from engine.data.truncate import truncate
from engine.signals.industry_common import equal_weight

# the last sessions of months whose last weekday was a holiday (Spring Festival, National Day)
HOLIDAY_MONTH_ENDS = ["2014-01-30", "2017-01-26", "2020-01-23", "2023-09-28", "2025-01-27"]


def _dataset():
    dates = csi300_panel().dates                                   # the real SSE calendar, 2006..2025
    close = pd.DataFrame(np.linspace(1000, 2000, len(dates))[:, None] * [1.0, 1.1], index=dates,
                         columns=["801010.SI", "801030.SI"])
    return Dataset(panels={"sw_l1": Panel("sw_l1", {"close": close}, "test")}, series={}, tables={}, meta={},
                   source="test (real calendar, made-up closes)")


def test_the_months_last_session_is_a_month_end_in_the_data():
    d = csi300_panel().dates
    full = d[month_end_positions(d)]
    for day in HOLIDAY_MONTH_ENDS:
        t = pd.Timestamp(day)
        assert t in full and t + pd.offsets.BMonthEnd(0) > t      # a weekday followed it in the same month
        cut = d[d <= t]
        assert cut[month_end_positions(cut)][-1] == t, day
        assert ends_its_month(t) is True
    assert ends_its_month("2014-01-29") is False and ends_its_month("2023-11-30") is True


@pytest.mark.parametrize("day", HOLIDAY_MONTH_ENDS)
def test_asof_run_and_full_backtest_decide_on_the_same_day(day):
    ds = _dataset()
    full = equal_weight(ds, {}).rebalance_dates
    cut = equal_weight(truncate(ds, day), {}).rebalance_dates
    t = pd.Timestamp(day)
    assert t in full and cut[-1] == t
    assert list(cut) == [x for x in full if x <= t]


def test_unknown_beyond_the_calendar_is_unfinished_with_a_warning(monkeypatch):
    import engine.data.calendar as cal

    monkeypatch.setattr(cal, "_xshg", lambda: None)                # exchange_calendars not installed
    dates = pd.DatetimeIndex(["2014-01-29", "2014-01-30"])
    with pytest.warns(UserWarning, match="exchange_calendars"):
        assert list(month_end_positions(dates)) == []
    assert list(month_end_positions(pd.DatetimeIndex(["2014-01-30", "2014-02-28"]))) == [0, 1]
