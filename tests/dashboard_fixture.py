"""A small hand-made dataset for the dashboard tests: 4 stocks, 3 weeks around New Year 2024 (Monday 2024-01-01 is a
holiday), every input of the four blocks. Values are random but fixed; tests recompute each number independently."""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset, Panel

DAYS = pd.DatetimeIndex(["2023-12-18", "2023-12-19", "2023-12-20", "2023-12-21", "2023-12-22",
                         "2023-12-25", "2023-12-26", "2023-12-27", "2023-12-28", "2023-12-29",
                         "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
                         "2024-01-08", "2024-01-09"], name="date")
CODES = ["600001.SH", "600002.SH", "300001.SZ", "688001.SH"]


def make(synthetic: bool = False) -> Dataset:
    rng = np.random.default_rng(7)
    T, N = len(DAYS), len(CODES)
    f = lambda a: pd.DataFrame(a, index=DAYS, columns=CODES)  # noqa: E731
    amount = rng.uniform(1e8, 5e9, (T, N))
    close = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0))
    stocks = {
        "close": f(close), "amount": f(amount),
        "margin_buy": f(amount * rng.uniform(0.05, 0.12, (T, N))),
        "margin_repay": f(amount * rng.uniform(0.05, 0.12, (T, N))),
        "short_sell": f(amount * rng.uniform(0.0, 0.01, (T, N))),
        "total_shares": f(np.array([[8e10, 2e10, 5e9, 1e9]] * T)),   # market values ~ 8000, 2000, 500, 100 亿
        "float_shares": f(np.array([[6e10, 1.5e10, 4e9, 5e8]] * T)),
    }
    for k in ("elg_buy", "lg_buy", "elg_sell", "lg_sell"):
        stocks[k] = f(amount * rng.uniform(0.1, 0.3, (T, N)))
    stocks["elg_buy"].iloc[:, 0] = stocks["elg_sell"].iloc[:, 0] + 1e6            # stock 0: always net inflow
    mkt_amount = amount.sum(axis=1) * 3
    series = {
        "market": pd.DataFrame({"amount": mkt_amount, "float_mcap": rng.uniform(7e13, 8e13, T)}, index=DAYS),
        "market_mcap": pd.DataFrame({"total_mcap": rng.uniform(9e13, 1e14, T),
                                     "free_float_mcap": rng.uniform(3e13, 4e13, T)}, index=DAYS),
        "margin": pd.DataFrame({"margin_balance": rng.uniform(1.5e12, 1.6e12, T),
                                "margin_buy": mkt_amount * rng.uniform(0.08, 0.1, T),
                                "margin_repay": mkt_amount * rng.uniform(0.08, 0.1, T),
                                "short_balance": rng.uniform(1e10, 2e10, T),
                                "short_sell": mkt_amount * rng.uniform(0.001, 0.002, T)}, index=DAYS),
        "northbound": pd.DataFrame({"turnover": mkt_amount * rng.uniform(0.08, 0.14, T),
                                    "net_buy": rng.normal(0, 1e9, T)}, index=DAYS),
    }
    for prod, s0 in (("ic", 5500.0), ("im", 6000.0)):
        fut = {}
        for j, (tag, exp) in enumerate((("m0", "2024-01-19"), ("m1", "2024-02-23"), ("q0", "2024-03-15"),
                                         ("q1", "2024-06-21"))):
            fut[f"close_{tag}"] = s0 * (1 - 0.005 * (j + 1)) + rng.normal(0, 5, T)
            fut[f"oi_{tag}"] = np.round(rng.uniform(2e4, 1e5, T))
            fut[f"expiry_{tag}"] = pd.Timestamp(exp)
        series[f"futures_{prod}"] = pd.DataFrame(fut, index=DAYS)
    index_close = pd.DataFrame({"000300.SH": 3400 + rng.normal(0, 20, T), "000905.SH": 5500 + rng.normal(0, 30, T),
                                "000852.SH": 6000 + rng.normal(0, 30, T)}, index=DAYS)
    nav = pd.DataFrame(1 + rng.normal(0, 0.02, (T, 3)), index=DAYS, columns=["F1", "F2", "F3"])
    nav.iloc[:6, 2] = np.nan                                   # F3 starts in the second week
    T0 = pd.NaT
    tables = {
        "index_membership": pd.DataFrame({
            "code": ["600001.SH", "600002.SH", "300001.SZ", "300001.SZ", "688001.SH"],
            "index": ["000300.SH", "000300.SH", "000300.SH", "399006.SZ", "000688.SH"],
            "start": pd.to_datetime(["2023-01-01", "2023-01-01", "2024-01-03", "2023-01-01", "2023-01-01"]),
            "end": pd.to_datetime([T0, "2024-01-02", T0, T0, T0])}),
        "membership": pd.DataFrame({
            "code": ["600001.SH", "600002.SH", "600002.SH", "300001.SZ", "688001.SH"],
            "industry": ["801780.SI", "801780.SI", "801080.SI", "801080.SI", "801080.SI"],
            "start": pd.to_datetime(["2020-01-01", "2020-01-01", "2024-01-03", "2020-01-01", "2020-01-01"]),
            "end": pd.to_datetime([T0, "2024-01-02", T0, T0, T0])}),
        "sw_l1_info": pd.DataFrame({"code": ["801780.SI", "801080.SI"], "name": ["银行", "电子"]}),
        "northbound_holdings": pd.DataFrame({
            "date": pd.to_datetime(["2023-09-28", "2023-09-28", "2023-09-28", "2023-12-29", "2023-12-29"]),
            "published": pd.to_datetime(["2023-10-10", "2023-10-10", "2023-10-10", "2024-01-03", "2024-01-03"]),
            "code": ["600001.SH", "600002.SH", "300001.SZ", "688001.SH", "300001.SZ"],
            "shares": [1e9, 5e8, 1e8, 1e8, 1e8], "value": [9e9, 6e9, 1e9, 5e9, 1e9]}),
        "enhanced_funds_info": pd.DataFrame({"code": ["F1", "F2", "F3"], "benchmark": ["000905.SH"] * 2 + ["000852.SH"],
                                             "quant": [True, True, True]}),
    }
    panels = {"stocks": Panel("stocks", stocks), "index": Panel("index", {"close": index_close}),
              "enhanced_funds": Panel("enhanced_funds", {"nav": nav})}
    return Dataset(panels=panels, series=series, tables=tables, meta={"synthetic": synthetic}, source="handmade")
