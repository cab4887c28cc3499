"""tushare adapters (token in ``TUSHARE_TOKEN``; points-based permissions). Fields and units from the tushare pro
documentation (tushare.pro/document/2):

=================  ============================  ===============================================================
dataset            tushare function              units as delivered -> stored
=================  ============================  ===============================================================
flows (series)     moneyflow(trade_date)         buy/sell_lg/elg_amount 万元 -> yuan (x1e4), summed over all
                                                 stocks; 大单 = lg, 超大单 = elg (主力 = elg + lg)
citic (panel       ci_daily(trade_date)          close (points); CITIC industry indices: give the level-3
citic_l3)                                        codes with --codes (ci_daily returns every level)
sw_l1              sw_daily(trade_date)          vol 万股 -> shares (x1e4), amount 万元 -> yuan (x1e4),
                                                 float_mv 万元 -> float_mcap yuan (x1e4)
index              index_daily(ts_code, s, e)    vol 手 -> shares (x100), amount 千元 -> yuan (x1e3)
=================  ============================  ===============================================================
"""
from __future__ import annotations

import os

import pandas as pd

from engine.data.codes import SW_L1
from engine.data.providers.base import Fetched, ProviderError, call, in_range, optional_import, require_columns, to_dates, ymd

P = "tushare"


def _pro():
    ts = optional_import("tushare")
    token = os.environ.get("TUSHARE_TOKEN", "").strip()
    if not token:
        raise ProviderError("tushare needs a token: set TUSHARE_TOKEN (from tushare.pro, user centre) and run the "
                            "fetch again")
    return ts.pro_api(token)


def _by_day(fn_name: str, start, end, cols, **extra):
    from engine.data.providers.akshare import _trading_days

    pro = _pro()
    calls: list = []
    frames = []
    for d in _trading_days(start, end):
        df = call(P, fn_name, getattr(pro, fn_name), calls, trade_date=ymd(d), **extra)
        if df.empty:
            continue
        require_columns(df, cols, P, fn_name)
        frames.append(df)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)), calls


def flows(start, end, codes=None) -> Fetched:
    """Market totals of moneyflow over all stocks each day: elg/lg buy and sell, and amount = all buy orders
    (small + medium + large + extra-large = the day's traded value as tushare classifies it)."""
    cols = ["ts_code", "trade_date", "buy_sm_amount", "buy_md_amount", "buy_lg_amount", "sell_lg_amount",
            "buy_elg_amount", "sell_elg_amount"]
    df, calls = _by_day("moneyflow", start, end, cols)
    if codes:
        df = df[df["ts_code"].astype(str).isin(codes)]
    df = df.assign(date=to_dates(df["trade_date"]))
    g = df.groupby("date")
    out = pd.DataFrame({"elg_buy": g["buy_elg_amount"].sum(), "elg_sell": g["sell_elg_amount"].sum(),
                        "lg_buy": g["buy_lg_amount"].sum(), "lg_sell": g["sell_lg_amount"].sum(),
                        "amount": g[["buy_sm_amount", "buy_md_amount", "buy_lg_amount", "buy_elg_amount"]].sum().sum(axis=1),
                        "n_stocks": g["ts_code"].nunique()}) * 1.0
    for c in ("elg_buy", "elg_sell", "lg_buy", "lg_sell", "amount"):
        out[c] = out[c] * 1e4
    out = out.reset_index()
    return Fetched("series", out, calls, {k: "万元 -> yuan (x1e4)" for k in ("elg_buy", "elg_sell", "lg_buy", "lg_sell", "amount")},
                   ["flows = sums over every stock tushare moneyflow returns that day; amount = all buy orders"])


def citic(start, end, codes=None) -> Fetched:
    df, calls = _by_day("ci_daily", start, end, ["ts_code", "trade_date", "close"])
    out = pd.DataFrame({"date": to_dates(df["trade_date"]), "code": df["ts_code"].astype(str), "close": df["close"]})
    if codes:
        out = out[out["code"].isin(codes)]
    return Fetched("panel", out, calls, {"close": "points"})


def sw_l1(start, end, codes=None) -> Fetched:
    cols = ["ts_code", "trade_date", "open", "high", "low", "close", "vol", "amount", "float_mv", "pe", "pb"]
    df, calls = _by_day("sw_daily", start, end, cols)
    out = pd.DataFrame({"date": to_dates(df["trade_date"]), "code": df["ts_code"].astype(str), "open": df["open"],
                        "high": df["high"], "low": df["low"], "close": df["close"], "volume": df["vol"] * 1e4,
                        "amount": df["amount"] * 1e4, "float_mcap": df["float_mv"] * 1e4, "pe": df["pe"], "pb": df["pb"]})
    out = out[out["code"].isin(list(codes or SW_L1))]
    return Fetched("panel", out, calls, {"volume": "万股 -> shares (x1e4)", "amount": "万元 -> yuan (x1e4)",
                                         "float_mcap": "万元 -> yuan (x1e4)"},
                   ["tushare sw_daily has no turnover rate: use turnover_source volume/amount or akshare's sw_l1"])


def index(start, end, codes=None) -> Fetched:
    from engine.data.providers.akshare import INDEX_CODES

    pro = _pro()
    calls: list = []
    frames = []
    cols = ["ts_code", "trade_date", "open", "high", "low", "close", "vol", "amount"]
    for code in list(codes or INDEX_CODES):
        df = call(P, "index_daily", pro.index_daily, calls, ts_code=code, start_date=ymd(start), end_date=ymd(end))
        if df.empty:
            continue
        require_columns(df, cols, P, "index_daily")
        frames.append(pd.DataFrame({"date": to_dates(df["trade_date"]), "code": code, "open": df["open"],
                                    "high": df["high"], "low": df["low"], "close": df["close"],
                                    "volume": df["vol"] * 100, "amount": df["amount"] * 1e3}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["date", "code"])
    return Fetched("panel", in_range(out, start, end), calls, {"volume": "手 -> shares (x100)", "amount": "千元 -> yuan (x1e3)"})


ADAPTERS = {"flows": flows, "citic": citic, "sw_l1": sw_l1, "index": index}
