"""北向资金 (northbound money): average daily turnover and its share of A-share turnover, and the weekly return of
the northbound heavy-holdings basket.

* Turnover = buy + sell of Shanghai/Shenzhen Connect northbound trading (CNY, published the same day); the week's
  value is the mean over its trading days; share = Σ northbound / Σ all-A amount (the A-share amount counts each
  trade once; ``nb_denominator: double`` divides by twice it). Printed check: 243.5 bn <-> 12.1% implies an all-A
  amount of about 2.0 万亿 a day (methodology §5).
* Heavy holdings: since August 2024 northbound holdings are disclosed quarterly only, so the basket is the
  ``heavy_n`` largest holdings by value in the latest disclosure published before the week starts (table
  ``northbound_holdings``: date = quarter end, published = disclosure day). Basket return = the equal-weight mean of
  close(week's last day) / close(previous week's last day) - 1 over its stocks, next to the CSI 300's return.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.dashboard.common import YI, Block, DashboardParams, Week, need_panel, need_series, need_table, ratio
from engine.dashboard.series import northbound_share, northbound_turnover
from engine.errors import DataError


def turnover_table(ds, week: Week, p: DashboardParams) -> pd.DataFrame:
    nb = need_series(ds, "northbound", ("turnover",))["turnover"]
    amt = need_series(ds, "market", ("amount",))["amount"]
    if not week.days.isin(nb.index).any():
        raise DataError(f"{ds.source}: series northbound has no rows in {week.label} (it covers {nb.index[0]:%Y-%m-%d}.."
                        f"{nb.index[-1]:%Y-%m-%d}); choose a week inside it or skip the block with --blocks")
    rows = {}
    for tag, days in (("this week", week.days), ("last week", week.prev_days)):
        d = days[days.isin(nb.index)]
        den = amt.reindex(d) * (2.0 if p.nb_denominator == "double" else 1.0)
        rows[tag] = {"avg daily turnover (亿)": nb.reindex(d).mean() / YI if len(d) else np.nan,
                     "share of A-share amount": ratio(nb.reindex(d), den, p.share_method), "days": len(d)}
    return pd.DataFrame(rows)


def heavy_basket(ds, week: Week, p: DashboardParams) -> tuple[pd.DataFrame, pd.Timestamp]:
    h = need_table(ds, "northbound_holdings", ("date", "published", "code", "value"))
    known = h[pd.to_datetime(h["published"]) < week.days[0]]
    if known.empty:
        raise DataError(f"{ds.source}: table northbound_holdings has no disclosure published before "
                        f"{week.days[0]:%Y-%m-%d}; add earlier quarterly holdings (docs/dashboard.md) or pick a later week")
    q = pd.to_datetime(known["date"]).max()
    top = known[pd.to_datetime(known["date"]) == q].sort_values("value", ascending=False, kind="stable").head(p.heavy_n)
    close = need_panel(ds, "stocks", ("close",))["close"]
    c0 = close.reindex(index=[week.prev_end], columns=top["code"]).iloc[0]
    c1 = close.reindex(index=[week.end], columns=top["code"]).iloc[0]
    out = pd.DataFrame({"value (亿)": top["value"].to_numpy() / YI, "week return": (c1 / c0 - 1.0).to_numpy()},
                       index=top["code"].to_numpy())
    return out, q


def build(ds, week: Week, p: DashboardParams) -> Block:
    b = Block("northbound", "北向资金 Northbound money")
    b.tables["northbound turnover and share of A-share amount"] = turnover_table(ds, week, p)
    basket, q = heavy_basket(ds, week, p)
    csi = need_panel(ds, "index", ("close",))["close"]
    csi_ret = np.nan
    if "000300.SH" in csi.columns and week.end in csi.index and week.prev_end in csi.index:
        csi_ret = csi.at[week.end, "000300.SH"] / csi.at[week.prev_end, "000300.SH"] - 1.0
    b.tables[f"heavy holdings basket (top {p.heavy_n} by value, disclosure of {q:%Y-%m-%d})"] = pd.DataFrame(
        {"week return": [basket["week return"].mean(), csi_ret],
         "stocks": [int(basket["week return"].notna().sum()), np.nan]},
        index=["northbound heavy holdings, equal weight", "CSI 300"])
    b.data = {"heavy_holdings": basket}
    b.chart = {"avg daily turnover (100m CNY)": northbound_turnover(ds, p) / YI, "share of A-share amount": northbound_share(ds, p)}
    b.notes.append("Northbound turnover is same-day data; holdings are the latest quarterly disclosure published "
                   "before the week (quarterly only since 2024-08).")
    return b
