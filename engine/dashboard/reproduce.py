"""Seed report 000's checkable numbers (methodology §6 Z1, week 2025-11-03..07) as rows of ``engine.reproduce 000``.

``checks(config_path=None)`` loads the data of ``strategies/dashboard_margin_timing.yaml`` (or the given strategy
YAML), builds the dashboard of that week and returns one :class:`~engine.reproduce.checks.Check` per printed
number. On the shipped synthetic market the rows show the pipeline end to end and are labelled ``synthetic``: their
differences from the printed figures say nothing about the method. Percentages are fractions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.reproduce.checks import Check

WEEK = "2025-11-07"
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "strategies" / "dashboard_margin_timing.yaml"
SOURCES = {
    "margin": "SSE/SZSE 融资融券 daily margin data, market and per stock (series margin, panel stocks)",
    "market": "all-A daily amount and 流通市值 (series market), 自由流通市值 (series market_mcap)",
    "funds": "CSI 500 / CSI 1000 index-enhanced fund NAVs and their list (panel enhanced_funds, table enhanced_funds_info)",
    "northbound": "HKEX northbound daily turnover (series northbound)",
}


def _num(x):
    return None if x is None or not np.isfinite(x) else float(x)


def checks(config_path: str | None = None) -> list[Check]:
    from engine.config import load_config
    from engine.dashboard import DashboardParams, build_dashboard
    from engine.data.sources import load_dataset
    from engine.pipeline import config_dir

    cfg = load_config(str(config_path or DEFAULT_CONFIG))
    ds = load_dataset(cfg.data, config_dir(cfg))
    p = DashboardParams()
    dash = build_dashboard(ds, WEEK, p)
    kind = "synthetic" if ds.synthetic else "real"
    wk = dash.week
    conv = "T+1: margin dates published in the week ({:%m-%d}..{:%m-%d}); Σ(融资买入额 + 融券卖出额) / Σ 全A成交额"
    conv_m = conv.format(wk.margin_days[0], wk.margin_asof)
    conv_p = conv.format(wk.prev_margin_days[0], wk.prev_margin_days[-1])
    lev = dash.block("leverage")
    s = lev.tables["summary"]
    pop = next(v for k, v in lev.tables.items() if k.startswith("top "))
    q = dash.block("quant").tables["index-enhanced funds: weekly excess over the benchmark (quant funds)"]
    nb = dash.block("northbound").tables["northbound turnover and share of A-share amount"]
    free = _num(s.at["balance / free-float mcap (自由流通市值)", "this week"])
    rows = [
        ("margin trade share of A-share amount, week of 10-27", 0.119, s.iat[0, 1], "%", conv_p, "margin"),
        ("margin trade share of A-share amount, week of 11-03", 0.109, s.iat[0, 0], "%", conv_m, "margin"),
        ("margin balance (融资融券余额), as of Thursday 11-06", 2.50, s.iat[1, 0] / 1e12, "万亿 CNY",
         "融资余额 + 融券余额 on the last margin date published in the week", "margin"),
        ("margin balance / A-share float market value (流通市值)", 0.0255, s.iat[2, 0], "%",
         "balance / market.float_mcap on the as-of day" + (f"; with 自由流通市值 instead: {free:.2%}" if free else ""),
         "market"),
        ("CSI 500 quant index-enhanced excess, week of 10-27", -0.009, q.at["CSI 500 enhanced, last week", "mean"], "%",
         "mean across quant funds of NAV return - CSI 500 return, week-end to week-end", "funds"),
        ("CSI 500 quant index-enhanced excess, week of 11-03", 0.001, q.at["CSI 500 enhanced, this week", "mean"], "%",
         "as above", "funds"),
        ("CSI 1000 quant index-enhanced excess, week of 10-27", -0.010, q.at["CSI 1000 enhanced, last week", "mean"],
         "%", "as above, CSI 1000", "funds"),
        ("CSI 1000 quant index-enhanced excess, week of 11-03", -0.005, q.at["CSI 1000 enhanced, this week", "mean"],
         "%", "as above, CSI 1000", "funds"),
        ("northbound average daily turnover, week of 10-27", 272.9, nb.at["avg daily turnover (亿)", "last week"] / 10,
         "bn CNY", "mean over the week's trading days of buy + sell", "northbound"),
        ("northbound average daily turnover, week of 11-03", 243.5, nb.at["avg daily turnover (亿)", "this week"] / 10,
         "bn CNY", "as above", "northbound"),
        ("northbound share of A-share amount, week of 10-27", 0.117, nb.at["share of A-share amount", "last week"], "%",
         "Σ northbound / Σ all-A amount (single-counted)", "northbound"),
        ("northbound share of A-share amount, week of 11-03", 0.121, nb.at["share of A-share amount", "this week"], "%",
         "as above", "northbound"),
        ("top-35 popular stocks' mean leverage, week of 11-03", 0.0019, pop["this week"].iloc[0], "%",
         "35 largest by Σ amount over the margin week; mean of Σ(融资买入额 - 融资偿还额) / Σ 成交额", "margin"),
    ]
    note = "synthetic market: shows the computation, not evidence" if ds.synthetic else ""
    return [Check(report="000", id="Z1", item=item, published=pub, ours=_num(ours), unit=unit, convention=conv,
                  inputs=kind, dataset=SOURCES[src], fetch="", note=note)
            for item, pub, ours, unit, conv, src in rows]
