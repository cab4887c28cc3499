"""主力资金 (main-force money): net inflow of 超大单 + 大单 by broad index and by SW L1 industry, daily and weekly,
with streaks.

Net inflow of a stock on day d = elg_buy + lg_buy - elg_sell - lg_sell (CNY; order-size flows are same-day data).
A group's value = the sum over its point-in-time members on d. Streak on the week's last day = the number of
consecutive trading days, ending that day, whose net inflow has the same sign: +k = k days of inflow, -k = k days of
outflow ("five days of outflow" = -5); a zero day ends a streak (streak 0). The history looked at is
``streak_lookback`` trading days, so a streak is at most that long.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.dashboard.common import INDEX_NAMES, YI, Block, DashboardParams, Week, members_mask, need_panel, need_table

FLOW_FIELDS = ("elg_buy", "lg_buy", "elg_sell", "lg_sell")


def streak(values) -> int:
    """Signed length of the run of same-signed values at the end of ``values`` (0 if the last is 0 or NaN)."""
    v = np.sign(np.asarray(values, dtype=float))
    if len(v) == 0 or not np.isfinite(v[-1]) or v[-1] == 0:
        return 0
    k = 0
    for x in v[::-1]:
        if x != v[-1]:
            break
        k += 1
    return int(k * v[-1])


def group_net(ds, days: pd.DatetimeIndex, table: str, key: str, groups=None) -> pd.DataFrame:
    """days x group net main-force inflow (CNY) of point-in-time members."""
    st = need_panel(ds, "stocks", FLOW_FIELDS)
    days = days[days.isin(st["elg_buy"].index)]
    net = sum(st[f].reindex(days) * (1 if f.endswith("buy") else -1) for f in FLOW_FIELDS)
    mem = members_mask(need_table(ds, table, ("code", key, "start", "end")), key, days, st.codes)
    cols = groups if groups is not None else list(mem)
    return pd.DataFrame({g: net.where(mem[g]).sum(axis=1) if g in mem else np.nan for g in cols}, index=days)


def flow_table(daily: pd.DataFrame, week: Week, names: dict) -> pd.DataFrame:
    this = daily.reindex(week.days)
    out = this.T / YI
    out.columns = [f"{d:%a %m-%d}" for d in week.days]
    out["week (亿)"] = this.sum().to_numpy() / YI
    out["last week (亿)"] = daily.reindex(week.prev_days).sum().to_numpy() / YI
    out["streak (days)"] = [streak(daily.loc[: week.end, g].to_numpy()) for g in daily.columns]
    out.index = [names.get(g, g) for g in daily.columns]
    return out


def build(ds, week: Week, p: DashboardParams) -> Block:
    b = Block("mainforce", "主力资金 Main-force money (超大单 + 大单 net inflow)")
    cal = week.calendar
    i1 = cal.get_loc(week.end)
    hist = cal[max(0, i1 - p.streak_lookback + 1): i1 + 1]
    hist = hist.union(week.prev_days)
    by_index = group_net(ds, hist, "index_membership", "index", list(p.flow_indices))
    by_ind = group_net(ds, hist, "membership", "industry")
    names = {}
    if "sw_l1_info" in ds.tables:
        names = dict(zip(ds.tables["sw_l1_info"]["code"], ds.tables["sw_l1_info"]["name"]))
    idx_names = {c: f"{INDEX_NAMES.get(c, c)} ({c})" for c in p.flow_indices}
    b.tables["broad indices: daily and weekly net inflow (亿), streak"] = flow_table(by_index, week, idx_names)
    ind = flow_table(by_ind, week, names).sort_values("week (亿)", ascending=False)
    k = p.top_industries
    b.tables[f"SW L1 industries: largest net inflows and outflows (top and bottom {k})"] = pd.concat([ind.head(k),
                                                                                                    ind.tail(k)])
    b.data = {"industries": ind}
    b.chart = {"this week by index (100m CNY)": by_index.reindex(week.days).sum() / YI,
               "this week by SW L1 industry (100m CNY)": (by_ind.reindex(week.days).sum() / YI).sort_values()}
    b.notes.append(f"Streak: consecutive days of same-signed net inflow ending {week.end:%Y-%m-%d} "
                   f"(+inflow / -outflow), over at most {p.streak_lookback} trading days.")
    return b
