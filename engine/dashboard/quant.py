"""量化资金 (quant money): index-enhanced funds' weekly excess, and the IC / IM basis and open interest by contract
month.

* Weekly excess of a fund = NAV(week's last day) / NAV(previous week's last day) - 1 minus the benchmark index's
  return over the same two closes; mean and median across the quant-managed funds (``enhanced_funds_info.quant``)
  with a NAV on both days. The benchmark is the index itself (real funds' contracts use ~95% index + deposit rate;
  the difference is about 0.002% a week).
* Basis of contract c on day t: ``F - S`` (points), rate ``(F - S) / S``, annualised ``rate x 365 / calendar days
  to expiry`` (undefined on the expiry day). Contract months follow CFFEX: 当月 m0 (the nearest expiry on or after
  t), 下月 m1 (the next month), 当季 q0 and 下季 q1 (the next two March/June/September/December months after m1);
  expiry = the third Friday of the month, the next trading day when it is a holiday (中金所 股指期货合约 交易规则).
  :func:`select_contracts` builds this layout from a long per-contract table (e.g. a vendor export).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.dashboard.common import Block, DashboardParams, Week, need_panel, need_series, need_table
from engine.dashboard.series import fund_week_excess, quant_excess
from engine.errors import DataError

TAGS = (("m0", "当月"), ("m1", "下月"), ("q0", "当季"), ("q1", "下季"))
PRODUCTS = (("ic", "IC (CSI 500)", "000905.SH"), ("im", "IM (CSI 1000)", "000852.SH"))


def select_contracts(contracts: pd.DataFrame) -> pd.DataFrame:
    """Long table (date, expiry, close, oi[, contract]) of every listed contract -> one row per date with
    close_m0..q1, oi_m0..q1, expiry_m0..q1 (CFFEX months, see module doc; NaN when a month is not listed)."""
    need = {"date", "expiry", "close", "oi"} - set(contracts.columns)
    if need:
        raise DataError(f"futures contracts table lacks column(s) {', '.join(sorted(need))} (date, expiry, close, oi)")
    c = contracts.assign(date=pd.to_datetime(contracts["date"]), expiry=pd.to_datetime(contracts["expiry"]))
    c = c[c["expiry"] >= c["date"]]
    rows = {}
    for d, g in c.groupby("date", sort=True):
        g = g.sort_values("expiry")
        m0 = g.iloc[0]
        ym0 = m0["expiry"].year * 12 + m0["expiry"].month
        ym = g["expiry"].dt.year * 12 + g["expiry"].dt.month
        pick = {"m0": m0}
        nxt = g[ym == ym0 + 1]
        pick["m1"] = nxt.iloc[0] if len(nxt) else None
        quarterly = g[(ym > ym0 + 1) & g["expiry"].dt.month.isin([3, 6, 9, 12])]
        pick["q0"] = quarterly.iloc[0] if len(quarterly) > 0 else None
        pick["q1"] = quarterly.iloc[1] if len(quarterly) > 1 else None
        row = {}
        for tag, r in pick.items():
            row[f"close_{tag}"] = np.nan if r is None else float(r["close"])
            row[f"oi_{tag}"] = np.nan if r is None else float(r["oi"])
            row[f"expiry_{tag}"] = pd.NaT if r is None else r["expiry"]
        rows[d] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.DatetimeIndex(out.index, name="date")
    return out


def basis_frame(fut: pd.DataFrame, spot: pd.Series, days: pd.DatetimeIndex, tag: str) -> pd.DataFrame:
    """Rows ``days``: expiry, F, S, F - S, (F - S)/S, annualised (x 365 / calendar days to expiry), days, oi."""
    F = fut[f"close_{tag}"].reindex(days).astype(float)
    S = spot.reindex(days).astype(float)
    exp = pd.to_datetime(fut[f"expiry_{tag}"].reindex(days))
    n = (exp - days).dt.days.astype(float) if hasattr(exp, "dt") else pd.Series(np.nan, index=days)
    rate = (F - S) / S
    ann = (rate * 365.0 / n).where(n > 0)
    return pd.DataFrame({"expiry": exp, "F": F, "S": S, "basis": F - S, "rate": rate, "annualised": ann, "days": n,
                         "oi": fut[f"oi_{tag}"].reindex(days).astype(float)})


def basis_table(fut: pd.DataFrame, spot: pd.Series, day: pd.Timestamp) -> pd.DataFrame:
    """Per contract month on ``day``: expiry, F, S, F - S, (F - S)/S, annualised, days to expiry, open interest."""
    day = pd.DatetimeIndex([day])
    return pd.DataFrame({f"{cn} {tag}": basis_frame(fut, spot, day, tag).iloc[0] for tag, cn in TAGS}).T


def excess_table(ds, week: Week) -> pd.DataFrame:
    rows = {}
    for name, code in (("CSI 500 enhanced", "000905.SH"), ("CSI 1000 enhanced", "000852.SH")):
        ex = fund_week_excess(ds, code)
        for tag, d in (("this week", week.end), ("last week", week.prev_end)):
            r = ex.loc[d].dropna() if d in ex.index else pd.Series(dtype=float)
            rows[(name, tag)] = {"mean": r.mean() if len(r) else np.nan, "median": r.median() if len(r) else np.nan,
                                 "funds": len(r)}
    out = pd.DataFrame(rows).T
    out.index = [f"{a}, {b}" for a, b in out.index]
    return out


def build(ds, week: Week, p: DashboardParams) -> Block:
    b = Block("quant", "量化资金 Quant money (index-enhanced excess, futures basis)")
    need_table(ds, "enhanced_funds_info", ("code", "benchmark"))
    need_panel(ds, "enhanced_funds", ("nav",))
    b.tables["index-enhanced funds: weekly excess over the benchmark (quant funds)"] = excess_table(ds, week)
    idx = need_panel(ds, "index", ("close",))["close"]
    chart = {}
    for prod, label, code in PRODUCTS:
        fut = need_series(ds, f"futures_{prod}", tuple(f"{k}_{t}" for k in ("close", "oi", "expiry") for t, _ in TAGS))
        if code not in idx.columns:
            raise DataError(f"{ds.source}: dashboard needs {code} in panel 'index' (close) as the spot of {label}; "
                            f"add it to panels/index/close.parquet (docs/dashboard.md)")
        if week.end not in fut.index or week.prev_end not in fut.index:
            raise DataError(f"{ds.source}: series futures_{prod} has no row on {week.end:%Y-%m-%d} or "
                            f"{week.prev_end:%Y-%m-%d}; it covers {fut.index[0]:%Y-%m-%d}..{fut.index[-1]:%Y-%m-%d} (skip the "
                            f"block with --blocks)")
        now, before = basis_table(fut, idx[code], week.end), basis_table(fut, idx[code], week.prev_end)
        wk = fut.index[fut.index.isin(week.days)]
        mean_ann = {f"{cn} {tag}": basis_frame(fut, idx[code], wk, tag)["annualised"].mean() for tag, cn in TAGS}
        b.tables[f"{label} basis and open interest on {week.end:%Y-%m-%d}"] = pd.DataFrame({
            "expiry": now["expiry"].map(lambda x: "n/a" if pd.isna(x) else f"{pd.Timestamp(x):%Y-%m-%d}"), "F - S": now["basis"].astype(float),
            "annualised": now["annualised"].astype(float), "week mean ann.": pd.Series(mean_ann),
            "last week ann.": before["annualised"].astype(float), "OI": now["oi"].astype(float),
            "OI last week": before["oi"].astype(float), "OI change": (now["oi"] - before["oi"]).astype(float)})
        chart[f"{label} annualised basis"] = pd.DataFrame({"this week": now["annualised"].astype(float),
                                                          "last week": before["annualised"].astype(float)})
    b.chart = {"weekly excess, CSI 500 quant funds (mean)": quant_excess("000905.SH")(ds, p),
               "weekly excess, CSI 1000 quant funds (mean)": quant_excess("000852.SH")(ds, p), **chart}
    b.notes.append("Excess = fund NAV return minus the benchmark index return between the two weeks' last closes; "
                   "basis annualised by 365 / calendar days to expiry (CFFEX months: 当月/下月/当季/下季).")
    return b
