"""杠杆资金 (leveraged money): margin trading share, balance, balance / market value with both denominators, net
buying of index constituents, market-cap buckets, SW L1 industries and the popular stocks' leverage.

Definitions (methodology §5, reconstructed): all margin numbers use the margin rows published during the week
(T+1, :mod:`engine.dashboard.common`), i.e. as of the week's second-to-last trading day ("as of Thursday").

* 两融交易额占比 = Σ(融资买入额 + 融券卖出额) / Σ 全A成交额 over those rows (``share_method: mean`` averages the
  daily ratios instead);
* 两融余额 = 融资余额 + 融券余额 on the last of them; ratio to A股流通市值 (``market.float_mcap``) and to 自由流通市值
  (``market_mcap.free_float_mcap``) on the same day (the report's 2.55% fits 流通市值; both are shown);
* 融资净买入 of a stock = 融资买入额 - 融资偿还额 (``include_short_net`` also subtracts 融券卖出额), summed over the
  rows; an index's constituents are its members on each row's date (point in time);
* market-cap buckets by total market value (总股本 x close) on the as-of day: > ``big_cap``, ``mid_cap``..``big_cap``;
* industry leverage = Σ 融资净买入 / Σ 成交额 of the industry's members (SW L1, point in time);
* popular stocks = the ``popular_n`` largest by Σ 成交额 over the rows; their leverage = the mean over them of
  Σ 融资净买入 / Σ 成交额 (the printed 0.19% is a net-buy ratio, methodology §5).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.dashboard.common import (INDEX_NAMES, YI, Block, DashboardParams, Week, members_mask, need_panel,
                                     need_series, need_table, ratio)
from engine.dashboard.series import margin_balance_ratio, margin_share
from engine.errors import DataError

STOCK_FIELDS = ("margin_buy", "margin_repay", "amount", "close")


def _stock_net(st, days: pd.DatetimeIndex, p: DashboardParams) -> pd.DataFrame:
    net = st["margin_buy"].reindex(days) - st["margin_repay"].reindex(days)
    if p.include_short_net:
        net = net - st["short_sell"].reindex(days).fillna(0.0)
    return net


def market_summary(ds, week: Week, p: DashboardParams) -> pd.DataFrame:
    m = need_series(ds, "margin", ("margin_balance", "margin_buy", "short_balance", "short_sell"))
    mk = need_series(ds, "market", ("amount", "float_mcap"))
    if not week.margin_days.isin(m.index).any():
        raise DataError(f"{ds.source}: series margin has no rows published during {week.label} (it covers "
                        f"{m.index[0]:%Y-%m-%d}..{m.index[-1]:%Y-%m-%d}); choose a week inside it or skip the block "
                        f"with --blocks")
    free = need_series(ds, "market_mcap", ("free_float_mcap",))["free_float_mcap"]
    rows = {}
    for tag, days in (("this week", week.margin_days), ("last week", week.prev_margin_days)):
        have = days[days.isin(m.index)]
        if len(have) == 0:
            rows[tag] = [np.nan] * 5
            continue
        last = have[-1]
        bal = m.at[last, "margin_balance"] + m.at[last, "short_balance"]
        rows[tag] = [ratio(m.loc[have, "margin_buy"] + m.loc[have, "short_sell"], mk["amount"].reindex(have),
                           p.share_method),
                     bal, bal / mk.at[last, "float_mcap"], bal / free.get(last, np.nan), last]
    out = pd.DataFrame(rows, index=["margin trade share of A-share amount", "margin balance (CNY)",
                                    "balance / float mcap (流通市值)", "balance / free-float mcap (自由流通市值)",
                                    "as of (margin date, T+1)"])
    return out


def index_net_buy(st, ds, days: pd.DatetimeIndex, p: DashboardParams) -> pd.Series:
    """融资净买入 of each index's point-in-time constituents, CNY."""
    mem = members_mask(need_table(ds, "index_membership", ("code", "index", "start", "end")), "index", days, st.codes)
    net = _stock_net(st, days, p)
    return pd.Series({c: float(net.where(mem[c]).sum().sum()) if c in mem else np.nan for c in p.indices})


def bucket_net_buy(st, ds, days: pd.DatetimeIndex, p: DashboardParams) -> pd.DataFrame:
    """Net buying (CNY) and counts of the total-market-value buckets fixed on the last row of ``days``."""
    mv = (st["total_shares"].reindex([days[-1]]) * st["close"].reindex([days[-1]])).iloc[0]
    net = _stock_net(st, days, p).sum(min_count=1)
    out = {}
    for name, sel in ((f"> {p.big_cap / YI:,.0f} 亿", mv > p.big_cap),
                      (f"{p.mid_cap / YI:,.0f}-{p.big_cap / YI:,.0f} 亿", (mv > p.mid_cap) & (mv <= p.big_cap))):
        out[name] = {"net buy (CNY)": float(net[sel].sum()), "stocks": int(sel.sum())}
    return pd.DataFrame(out).T


def industry_leverage(st, ds, days: pd.DatetimeIndex, p: DashboardParams) -> pd.DataFrame:
    """Σ 融资净买入 / Σ 成交额 per SW L1 industry (point-in-time members), with the two sums."""
    mem = members_mask(need_table(ds, "membership", ("code", "industry", "start", "end")), "industry", days, st.codes)
    names = {}
    if "sw_l1_info" in ds.tables:
        names = dict(zip(ds.tables["sw_l1_info"]["code"], ds.tables["sw_l1_info"]["name"]))
    net, amt = _stock_net(st, days, p), st["amount"].reindex(days)
    rows = {}
    for k, m in mem.items():
        n_, a_ = float(net.where(m).sum().sum()), float(amt.where(m).sum().sum())
        rows[k] = {"industry": names.get(k, k), "net buy (CNY)": n_, "amount (CNY)": a_,
                   "net buy / amount": n_ / a_ if a_ > 0 else np.nan}
    return pd.DataFrame(rows).T.sort_values("net buy / amount", ascending=False)


def popular(st, days: pd.DatetimeIndex, p: DashboardParams) -> pd.DataFrame:
    """The ``popular_n`` stocks with the largest Σ amount over ``days`` and their Σ net buy / Σ amount."""
    amt = st["amount"].reindex(days).sum(min_count=1)
    net = _stock_net(st, days, p).sum(min_count=1)
    top = amt.dropna().sort_values(ascending=False, kind="stable").index[: p.popular_n]
    return pd.DataFrame({"amount (CNY)": amt[top], "net buy (CNY)": net[top], "leverage": net[top] / amt[top]})


def build(ds, week: Week, p: DashboardParams) -> Block:
    st = need_panel(ds, "stocks", STOCK_FIELDS + ("total_shares",))
    b = Block("leverage", "杠杆资金 Leveraged money (margin)")
    b.notes.append(f"Margin data are published T+1: this week = margin dates {week.margin_days[0]:%Y-%m-%d}.."
                   f"{week.margin_asof:%Y-%m-%d} (as of {week.margin_asof:%A}), last week = "
                   f"{week.prev_margin_days[0]:%Y-%m-%d}..{week.prev_margin_days[-1]:%Y-%m-%d}.")
    summ = market_summary(ds, week, p)
    b.tables["summary"] = summ
    idx = pd.DataFrame({"this week (亿)": index_net_buy(st, ds, week.margin_days, p) / YI,
                        "last week (亿)": index_net_buy(st, ds, week.prev_margin_days, p) / YI})
    idx.index = [f"{INDEX_NAMES.get(c, c)} ({c})" for c in idx.index]
    b.tables["index constituents: margin net buying"] = idx
    this_b, last_b = bucket_net_buy(st, ds, week.margin_days, p), bucket_net_buy(st, ds, week.prev_margin_days, p)
    b.tables["market-cap buckets (total market value): margin net buying"] = pd.DataFrame({
        "this week (亿)": this_b["net buy (CNY)"] / YI, "stocks": this_b["stocks"],
        "last week (亿)": last_b["net buy (CNY)"] / YI})
    ind = industry_leverage(st, ds, week.margin_days, p)
    k = p.top_industries
    sel = pd.concat([ind.head(k), ind.tail(k)])
    b.tables[f"SW L1 industries: net buy / amount, top and bottom {k}"] = pd.DataFrame({
        "industry": sel["industry"], "net buy (亿)": sel["net buy (CNY)"].astype(float) / YI,
        "net buy / amount": sel["net buy / amount"].astype(float)})
    pop, pop_prev = popular(st, week.margin_days, p), popular(st, week.prev_margin_days, p)
    b.tables[f"top {p.popular_n} popular stocks (by amount): mean leverage"] = pd.DataFrame(
        {"this week": [pop["leverage"].mean()], "last week": [pop_prev["leverage"].mean()]},
        index=["mean of Σ net buy / Σ amount"])
    b.chart = {"margin trade share": margin_share(ds, p), "balance / float mcap": margin_balance_ratio(ds, p)}
    b.data = {"industry": ind, "popular": pop, "summary": summ}
    return b
