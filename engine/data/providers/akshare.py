"""akshare adapters (no account). Function names, columns and units from the installed akshare 1.19 source and
its documentation; every adapter converts to canonical units (yuan, shares, percent turnover).

========================  ==========================================  ==========================================
dataset                   akshare function(s)                         units as delivered -> stored
========================  ==========================================  ==========================================
sw_l1 (panel sw_l1)       index_hist_sw(symbol, period="day")         成交量 亿股 -> shares (x1e8), 成交额 亿元 ->
                          index_analysis_daily_sw("一级行业", s, e)   yuan (x1e8); 换手率 % (kept), 流通市值 亿元
                                                                      -> float_mcap yuan (x1e8), 市盈率 -> pe,
                                                                      市净率 -> pb
sw_membership (table)     stock_industry_clf_hist_sw()                6-digit SW code -> 801xxx.SI by its first two
                                                                      digits (2021 scheme)
index (panel index)       stock_zh_index_hist_csindex(symbol, s, e)   成交量 万手 -> shares (x1e6), 成交金额 亿元 ->
                                                                      yuan (x1e8), 滚动市盈率 -> pe_ttm
margin (series)           stock_margin_sse(s, e);                     SSE 元; SZSE 亿元 (x1e8); market = SSE + SZSE
                          stock_margin_szse(date) per day
northbound (series)       stock_hsgt_hist_em("北向资金")              亿元 -> yuan (x1e8); net buy blank from
                                                                      2024-08-19 (no longer published): kept blank
futures_if (series)       get_futures_daily(s, e, market="CFFEX")     IF contracts; main = max open interest;
                                                                      expiry = third Friday of the contract month
options_50etf (series)    option_daily_stats_sse(date) per day        contracts; the put/call split is by VOLUME
fund_issuance (series)    fund_new_found_em()                         monthly count of new equity/hybrid funds
etf_shares (panel)        fund_etf_scale_sse(date) per day            基金份额 份 (units)
========================  ==========================================  ==========================================

The SW trend API's 成交量/成交额 carry the same field names (bargainamount/bargainsum) as the analysis API whose
units akshare documents (亿股/亿元); the adapter warns when the converted magnitudes are implausible.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from engine.data.codes import SW_L1, SW_PREFIX_TO_L1, normalize_code, to_provider
from engine.data.panel import DataWarning
from engine.data.providers.base import Fetched, ProviderError, call, in_range, optional_import, require_columns, to_dates, ymd

P = "akshare"
YI = 1e8                 # 亿
INDEX_CODES = ("000300.SH", "000905.SH", "000852.SH", "000016.SH")


def _ak():
    return optional_import("akshare")


def _trading_days(start, end) -> pd.DatetimeIndex:
    """SSE trading days for per-day functions: the embedded CSI 300 calendar, then weekdays after 2025-12-31."""
    from engine.data.embedded import load_csi300

    cal = load_csi300().index
    days = cal[(cal >= pd.Timestamp(start)) & (cal <= pd.Timestamp(end))]
    if pd.Timestamp(end) > cal[-1]:
        extra = pd.bdate_range(max(pd.Timestamp(start), cal[-1] + pd.Timedelta(days=1)), pd.Timestamp(end))
        days = days.append(pd.DatetimeIndex(extra, name=days.name))
    return days


def _magnitude(df: pd.DataFrame, col: str, lo: float, hi: float, what: str) -> None:
    v = pd.to_numeric(df[col], errors="coerce").abs().median() if col in df and len(df) else np.nan
    if np.isfinite(v) and not lo <= v <= hi:
        warnings.warn(DataWarning(f"akshare {what}: median {col} {v:.3g} is outside the plausible {lo:.0e}..{hi:.0e}; "
                                  f"the provider may have changed its units: check before use"), stacklevel=3)


def sw_l1(start, end, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    codes = list(codes or SW_L1)
    frames = []
    for code in codes:
        df = call(P, "index_hist_sw", ak.index_hist_sw, calls, symbol=to_provider(code, "six"), period="day")
        if df.empty:
            continue
        require_columns(df, ["日期", "收盘", "开盘", "最高", "最低", "成交量", "成交额"], P, "index_hist_sw")
        out = pd.DataFrame({"date": to_dates(df["日期"]), "code": code, "open": df["开盘"], "high": df["最高"],
                            "low": df["最低"], "close": df["收盘"], "volume": df["成交量"] * YI,
                            "amount": df["成交额"] * YI})
        frames.append(in_range(out, start, end))
    hist = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["date", "code"])
    ana = call(P, "index_analysis_daily_sw", ak.index_analysis_daily_sw, calls, symbol="一级行业",
               start_date=ymd(start), end_date=ymd(end))
    if not ana.empty:
        require_columns(ana, ["指数代码", "发布日期", "换手率", "市盈率", "市净率", "流通市值"], P, "index_analysis_daily_sw")
        a = pd.DataFrame({"date": to_dates(ana["发布日期"]),
                          "code": [normalize_code(c, "sw_l1") for c in ana["指数代码"].astype(str)],
                          "turnover": ana["换手率"], "pe": ana["市盈率"], "pb": ana["市净率"],
                          "float_mcap": ana["流通市值"] * YI})
        a = in_range(a[a["code"].isin(codes)], start, end)
        hist = hist.merge(a, on=["date", "code"], how="outer") if len(hist) else a
    _magnitude(hist, "amount", 1e7, 1e12, "index_hist_sw amount (yuan)")
    return Fetched("panel", hist, calls, {"volume": "亿股 -> shares (x1e8)", "amount": "亿元 -> yuan (x1e8)",
                                          "turnover": "% (kept)", "float_mcap": "亿元 -> yuan (x1e8)",
                                          "pe": "倍", "pb": "倍"})


def sw_membership(start=None, end=None, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    df = call(P, "stock_industry_clf_hist_sw", ak.stock_industry_clf_hist_sw, calls)
    if df.empty:
        return Fetched("table", pd.DataFrame(columns=["code", "industry", "start", "end"]), calls)
    require_columns(df, ["symbol", "start_date", "industry_code"], P, "stock_industry_clf_hist_sw")
    ind = df["industry_code"].astype(str).str.zfill(6).str[:2].map(SW_PREFIX_TO_L1)
    t = pd.DataFrame({"code": [normalize_code(str(c).zfill(6), "stocks") for c in df["symbol"]],
                      "industry": ind, "start": pd.to_datetime(df["start_date"], errors="coerce")})
    notes = []
    if t["industry"].isna().any():
        notes.append(f"{int(t['industry'].isna().sum())} rows with industry codes outside the 2021 SW L1 scheme dropped")
    t = t.dropna(subset=["industry", "start"]).sort_values(["code", "start"], kind="stable").reset_index(drop=True)
    nxt = t.groupby("code")["start"].shift(-1)
    t["end"] = nxt - pd.Timedelta(days=1)               # a stock is in one industry until the day before its next entry
    return Fetched("table", t, calls, {"industry": "SW 6-digit code -> 801xxx.SI"}, notes)


def index(start, end, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    frames = []
    for code in list(codes or INDEX_CODES):
        df = call(P, "stock_zh_index_hist_csindex", ak.stock_zh_index_hist_csindex, calls,
                  symbol=to_provider(code, "six"), start_date=ymd(start), end_date=ymd(end))
        if df.empty:
            continue
        require_columns(df, ["日期", "开盘", "最高", "最低", "收盘", "成交量", "成交金额", "滚动市盈率"], P,
                        "stock_zh_index_hist_csindex")
        frames.append(pd.DataFrame({"date": to_dates(df["日期"]), "code": code, "open": df["开盘"], "high": df["最高"],
                                    "low": df["最低"], "close": df["收盘"], "volume": df["成交量"] * 1e6,
                                    "amount": df["成交金额"] * YI, "pe_ttm": df["滚动市盈率"]}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["date", "code"])
    return Fetched("panel", in_range(out, start, end), calls,
                   {"volume": "万手 -> shares (x1e6)", "amount": "亿元 -> yuan (x1e8)", "pe_ttm": "倍"})


def margin(start, end, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    sse = call(P, "stock_margin_sse", ak.stock_margin_sse, calls, start_date=ymd(start), end_date=ymd(end))
    if sse.empty:
        return Fetched("series", pd.DataFrame(columns=["date"]), calls)
    require_columns(sse, ["信用交易日期", "融资余额", "融资买入额", "融券余量金额", "融券卖出量"], P, "stock_margin_sse")
    a = pd.DataFrame({"date": to_dates(sse["信用交易日期"]), "sse_margin_balance": sse["融资余额"].astype(float),
                      "sse_margin_buy": sse["融资买入额"].astype(float), "sse_short_balance": sse["融券余量金额"].astype(float)})
    rows = []
    for d in a["date"]:
        z = call(P, "stock_margin_szse", ak.stock_margin_szse, calls, date=ymd(d))
        if z.empty:
            continue
        require_columns(z, ["融资买入额", "融资余额", "融券余额"], P, "stock_margin_szse")
        rows.append({"date": d, "szse_margin_balance": float(z["融资余额"].iloc[0]) * YI,
                     "szse_margin_buy": float(z["融资买入额"].iloc[0]) * YI,
                     "szse_short_balance": float(z["融券余额"].iloc[0]) * YI})
    out = a.merge(pd.DataFrame(rows, columns=["date", "szse_margin_balance", "szse_margin_buy", "szse_short_balance"]),
                  on="date", how="left")
    for k in ("margin_balance", "margin_buy", "short_balance"):
        out[k] = out[f"sse_{k}"] + out[f"szse_{k}"]          # blank when one exchange is missing, never half a total
    out = out.sort_values("date").reset_index(drop=True)
    out["margin_repay"] = out["margin_buy"] - out["margin_balance"].diff()
    return Fetched("series", in_range(out, start, end), calls,
                   {"sse_*": "元 (kept)", "szse_*": "亿元 -> yuan (x1e8)",
                    "margin_repay": "derived: buy - change in balance"})


def northbound(start, end, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    df = call(P, "stock_hsgt_hist_em", ak.stock_hsgt_hist_em, calls, symbol="北向资金")
    if df.empty:
        return Fetched("series", pd.DataFrame(columns=["date"]), calls)
    require_columns(df, ["日期", "当日成交净买额", "买入成交额", "卖出成交额"], P, "stock_hsgt_hist_em")
    out = pd.DataFrame({"date": to_dates(df["日期"]), "net_buy": pd.to_numeric(df["当日成交净买额"], errors="coerce") * YI,
                        "buy": pd.to_numeric(df["买入成交额"], errors="coerce") * YI,
                        "sell": pd.to_numeric(df["卖出成交额"], errors="coerce") * YI})
    out["turnover"] = out["buy"] + out["sell"]
    out.loc[out["date"] >= pd.Timestamp("2024-08-19"), "net_buy"] = np.nan
    _magnitude(out.dropna(subset=["turnover"]), "turnover", 1e9, 1e12, "stock_hsgt_hist_em turnover (yuan)")
    return Fetched("series", in_range(out, start, end), calls, {"net_buy": "亿元 -> yuan (x1e8)", "buy": "亿元 -> yuan",
                                                                 "sell": "亿元 -> yuan"},
                   ["net_buy is blank from 2024-08-19: the exchanges stopped publishing daily northbound net buying"])


def _third_friday(year: int, month: int) -> pd.Timestamp:
    first = pd.Timestamp(year=year, month=month, day=1)
    return first + pd.Timedelta(days=(4 - first.weekday()) % 7 + 14)


def futures_if(start, end, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    df = call(P, "get_futures_daily", ak.get_futures_daily, calls, start_date=ymd(start), end_date=ymd(end), market="CFFEX")
    if df.empty:
        return Fetched("series", pd.DataFrame(columns=["date"]), calls)
    require_columns(df, ["symbol", "date", "close", "settle", "open_interest", "variety"], P, "get_futures_daily")
    f = df[df["variety"].astype(str) == "IF"].copy()
    f["date"] = to_dates(f["date"])
    f["open_interest"] = pd.to_numeric(f["open_interest"], errors="coerce")
    f = f.sort_values(["date", "open_interest", "symbol"], ascending=[True, False, True], kind="stable")
    main = f.drop_duplicates("date", keep="first")
    ym = main["symbol"].astype(str).str.extract(r"IF(\d{2})(\d{2})").astype(int)
    # CFFEX: IF contracts expire on the third Friday of the contract month (next trading day if a holiday)
    expiry = [_third_friday(2000 + y, m) for y, m in zip(ym[0], ym[1])]
    out = pd.DataFrame({"date": main["date"].to_numpy(), "contract": main["symbol"].astype(str).to_numpy(),
                        "close": pd.to_numeric(main["close"], errors="coerce").to_numpy(),
                        "settle": pd.to_numeric(main["settle"], errors="coerce").to_numpy(),
                        "open_interest": main["open_interest"].to_numpy(), "expiry": expiry})
    return Fetched("series", in_range(out, start, end), calls, {"close": "index points"},
                   ["main contract = largest open interest that day; expiry = third Friday of the contract month "
                    "(a holiday moves it to the next trading day: not applied)"])


def options_50etf(start, end, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    rows = []
    for d in _trading_days(start, end):
        df = call(P, "option_daily_stats_sse", ak.option_daily_stats_sse, calls, date=ymd(d))
        if df.empty:
            continue
        require_columns(df, ["合约标的代码", "认购成交量", "认沽成交量"], P, "option_daily_stats_sse")
        r = df[df["合约标的代码"].astype(str) == "510050"]
        if len(r):
            rows.append({"date": d, "call_volume": float(r["认购成交量"].iloc[0]), "put_volume": float(r["认沽成交量"].iloc[0])})
    out = pd.DataFrame(rows, columns=["date", "call_volume", "put_volume"])
    out["pcr_volume"] = out["put_volume"] / out["call_volume"]
    return Fetched("series", out, calls, {"call_volume": "contracts", "put_volume": "contracts"},
                   ["put/call split by traded VOLUME (contracts), not by turnover (CNY): the SSE statistic has no split by value"])


def fund_issuance(start, end, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    df = call(P, "fund_new_found_em", ak.fund_new_found_em, calls)
    if df.empty:
        return Fetched("series", pd.DataFrame(columns=["date", "count"]), calls)
    require_columns(df, ["基金代码", "基金类型", "募集份额", "成立日期"], P, "fund_new_found_em")
    f = df[df["基金类型"].astype(str).str.contains("股票|混合")].copy()
    f["date"] = pd.to_datetime(f["成立日期"], errors="coerce")
    f = in_range(f.dropna(subset=["date"]), start, end)
    m = f.groupby(f["date"].dt.to_period("M")).agg(count=("基金代码", "size"), shares=("募集份额", "sum"))
    out = pd.DataFrame({"date": m.index.to_timestamp(how="end").normalize(), "count": m["count"].to_numpy(),
                        "shares": m["shares"].to_numpy() * YI})
    return Fetched("series", out, calls, {"shares": "亿份 -> units (x1e8)"},
                   ["equity and hybrid funds by month of establishment (成立日期), dated the calendar month end"])


def etf_shares(start, end, codes=None) -> Fetched:
    ak = _ak()
    calls: list = []
    frames = []
    for d in _trading_days(start, end):
        df = call(P, "fund_etf_scale_sse", ak.fund_etf_scale_sse, calls, date=ymd(d))
        if df.empty:
            continue
        require_columns(df, ["基金代码", "统计日期", "基金份额"], P, "fund_etf_scale_sse")
        frames.append(pd.DataFrame({"date": to_dates(df["统计日期"]), "code": [f"{c}.SH" for c in df["基金代码"].astype(str)],
                                    "shares": pd.to_numeric(df["基金份额"], errors="coerce")}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["date", "code", "shares"])
    if codes:
        out = out[out["code"].isin(codes)]
    return Fetched("panel", out, calls, {"shares": "份 (units, kept)"})


ADAPTERS = {"sw_l1": sw_l1, "sw_membership": sw_membership, "index": index, "margin": margin,
            "northbound": northbound, "futures_if": futures_if, "options_50etf": options_50etf,
            "fund_issuance": fund_issuance, "etf_shares": etf_shares}
