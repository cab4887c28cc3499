"""baostock adapter (no account; ``bs.login()`` anonymous): unadjusted stock bars plus adjustment factors.

``query_history_k_data_plus(code, "date,code,open,high,low,close,volume,amount,turn,tradestatus,isST",
start_date, end_date, frequency="d", adjustflag="3")`` (3 = unadjusted): volume in shares, amount in yuan, turn in
percent, tradestatus 1 = trading / 0 = suspended, isST 1/0 (all delivered as strings). ``query_adjust_factor(code,
start_date, end_date)`` gives ``backAdjustFactor`` on each ex-date; stored as ``adj_factor`` (forward-filled on
load: adjusted price = raw close x adj_factor, docs/data.md).
"""
from __future__ import annotations

import pandas as pd

from engine.data.codes import to_provider
from engine.data.providers.base import Fetched, ProviderError, call, require_columns, to_dates

P = "baostock"
FIELDS = "date,code,open,high,low,close,volume,amount,turn,tradestatus,isST"


def _bs():
    from engine.data.providers.base import optional_import

    return optional_import("baostock")


def _frame(rs, fn_name: str) -> pd.DataFrame:
    if getattr(rs, "error_code", "0") != "0":
        raise ProviderError(f"baostock.{fn_name} failed: {getattr(rs, 'error_msg', '')}; run the fetch again later")
    return rs.get_data() if hasattr(rs, "get_data") else pd.DataFrame(rs.data, columns=rs.fields)


def stocks(start, end, codes=None) -> Fetched:
    if not codes:
        raise ProviderError("stocks: give the codes to fetch with --codes (baostock fetches one stock per call)")
    bs = _bs()
    calls: list = []
    call(P, "login", bs.login, calls, _frame=False)
    frames = []
    try:
        for code in codes:
            s, e = pd.Timestamp(start).strftime("%Y-%m-%d"), pd.Timestamp(end).strftime("%Y-%m-%d")
            k = _frame(call(P, "query_history_k_data_plus", bs.query_history_k_data_plus, calls, _frame=False,
                            code=to_provider(code, "baostock"), fields=FIELDS, start_date=s, end_date=e,
                            frequency="d", adjustflag="3"), "query_history_k_data_plus")
            if k.empty:
                continue
            require_columns(k, FIELDS.split(","), P, "query_history_k_data_plus")
            num = {c: pd.to_numeric(k[c], errors="coerce") for c in ("open", "high", "low", "close", "volume", "amount", "turn")}
            out = pd.DataFrame({"date": to_dates(k["date"]), "code": code, **{c: num[c] for c in ("open", "high", "low", "close", "volume", "amount")},
                                "turnover": num["turn"], "suspended": k["tradestatus"].astype(str) == "0",
                                "st": k["isST"].astype(str) == "1"})
            a = _frame(call(P, "query_adjust_factor", bs.query_adjust_factor, calls, _frame=False,
                            code=to_provider(code, "baostock"), start_date="1990-01-01", end_date=e),
                       "query_adjust_factor")
            if not a.empty:
                require_columns(a, ["dividOperateDate", "backAdjustFactor"], P, "query_adjust_factor")
                f = pd.Series(pd.to_numeric(a["backAdjustFactor"], errors="coerce").to_numpy(),
                              index=to_dates(a["dividOperateDate"])).sort_index()
                f = f[~f.index.duplicated(keep="last")]
                out["adj_factor"] = f.reindex(f.index.union(out["date"])).ffill().reindex(out["date"]).to_numpy()
            frames.append(out)
    finally:
        bs.logout()
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["date", "code"])
    return Fetched("panel", out, calls, {"volume": "shares", "amount": "yuan", "turnover": "% (turn)",
                                         "adj_factor": "backAdjustFactor (cumulative, from listing)"})


ADAPTERS = {"stocks": stocks}
