"""Assemble the simulated blocks into a :class:`Dataset` in the documented layout, and cut a date window."""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.embedded import CSI300_CODE
from engine.data.panel import Dataset, Panel
from engine.data.synthetic import capital, derivatives, flows, funds
from engine.data.synthetic.enhanced_funds import enhanced_funds
from engine.data.synthetic.effects import Effects
from engine.data.synthetic.industries import CODES as SW_CODES, NAMES as SW_NAMES, simulate_industries
from engine.data.synthetic.market import build_market, stream
from engine.data.synthetic.stocks import simulate_stocks
from engine.data.synthetic.subindustries import simulate_citic_l3
from engine.data.synthetic.universe import build_universe

STOCK_FIELDS = ("open", "high", "low", "close", "volume", "amount", "turnover", "float_shares", "suspended",
                "limit_up", "limit_down", "elg_buy", "elg_sell", "lg_buy", "lg_sell", "margin_balance",
                "margin_buy", "margin_repay", "short_sell", "short_balance", "total_shares", "free_float_shares")
FLOW_COLUMNS = ("elg_buy", "elg_sell", "lg_buy", "lg_sell", "amount")
IC_OI = ((2015.3, 3e4), (2016.0, 2e4), (2019.0, 1.5e5), (2021.0, 3e5), (2026.0, 3.5e5))
IM_OI = ((2022.55, 5e4), (2023.5, 2e5), (2026.0, 3e5))


def _frame(arr, dates, codes) -> pd.DataFrame:
    return pd.DataFrame(arr, index=dates, columns=pd.Index([str(c) for c in codes]), copy=False)


def simulate(seed: int, n_stocks: int, n_l3: int, effects: Effects) -> Dataset:
    """The whole synthetic world on the full real calendar (2006-01-06..2025-12-31), unsliced, without meta."""
    mkt = build_market(seed)
    d = mkt.dates
    ind = simulate_industries(mkt, seed, effects)
    uni = build_universe(mkt, n_stocks, seed)
    st = simulate_stocks(mkt, ind, uni, seed)
    mf = flows.main_force(mkt, uni, st, seed)
    heat_s = ind.heat[np.arange(mkt.n)[:, None], np.maximum(uni.ind, 0)]
    mg = flows.margin(mkt, uni, st, heat_s, seed)
    listed = uni.ind >= 0
    margin_mkt = flows.margin_market(mkt, mg, seed)
    short = capital.short_side(mkt, mg, st.amount, margin_mkt, seed)
    shares = capital.share_capital(mkt, uni, seed)
    arrays = {"open": st.open, "high": st.high, "low": st.low, "close": st.close, "volume": st.volume,
              "amount": st.amount, "turnover": st.turnover, "float_shares": uni.fs,
              "suspended": uni.susp & listed, "limit_up": st.limit_up, "limit_down": st.limit_down, **mf, **mg,
              **short, **shares}
    stocks = Panel("stocks", {f: _frame(arrays[f], d, uni.codes) for f in STOCK_FIELDS}, source="synthetic")
    sw = Panel("sw_l1", {f: _frame(v, d, SW_CODES) for f, v in st.sw.items()}, source="synthetic")
    # broad indices and PE
    broad_m = derivatives.broad_members(mkt, uni, st)
    broad = derivatives.broad_indices(mkt, uni, st, broad_m)
    idx_codes = [CSI300_CODE] + [c for c, _ in derivatives.BROAD]
    idx = {f: np.column_stack([mkt.csi300[f].to_numpy()] + [broad[c][f] for c, _ in derivatives.BROAD])
           for f in ("open", "high", "low", "close", "volume")}
    idx["pe_ttm"] = derivatives.pe_ttm(mkt, idx["close"], np.array([12.0, 25.0, 35.0, 10.0]), stream(seed, "index/pe"))
    index = Panel("index", {f: _frame(v, d, idx_codes) for f, v in idx.items()}, source="synthetic")
    l3 = simulate_citic_l3(mkt, ind, n_l3, seed)
    citic = Panel("citic_l3", {"close": _frame(l3["close"], d, l3["codes"])}, source="synthetic")
    sec = funds.sectors(mkt, st.sw["close"], SW_CODES, seed, drift=effects.sector_drift(mf, uni.ind, st.sw["close"]))
    sectors = Panel("sectors", {f: _frame(sec[f], d, sec["codes"]) for f in ("close", "pe_ttm")}, source="synthetic")
    etf = funds.sector_etfs(mkt, sec["close"], seed)
    etfs = Panel("sector_etfs", {f: _frame(etf[f], d, etf["codes"]) for f in ("shares", "nav")}, source="synthetic")
    # market-level series: exact sums over stocks
    tot = {k: np.nansum(v, axis=1) for k, v in mf.items()}
    amount = np.nansum(st.amount, axis=1)
    series = {
        "flows": pd.DataFrame({**tot, "amount": amount}, index=d)[list(FLOW_COLUMNS)],
        "futures_if": derivatives.futures_if(mkt, seed),
        "options_50etf": derivatives.options_50etf(mkt, seed),
        "margin": margin_mkt,
        "northbound": flows.northbound(mkt, amount, seed),
        "market": pd.DataFrame({"amount": amount, "float_mcap": np.nansum(uni.fs * st.close, axis=1)}, index=d),
        "market_mcap": pd.DataFrame({"total_mcap": np.nansum(shares["total_shares"] * st.close, axis=1),
                                     "free_float_mcap": np.nansum(shares["free_float_shares"] * st.close, axis=1)},
                                    index=d),
        "fund_issuance": funds.fund_issuance(mkt, seed),
        "fund_indices": funds.fund_indices(mkt, st.sw["close"], SW_CODES, sec["close"], seed),
        "index_enhanced": derivatives.index_enhanced(mkt, seed),
        "futures_ic": derivatives.futures_by_maturity(mkt, broad["000905.SH"]["close"], "ic", derivatives.IC_START,
                                                      IC_OI, seed),
        "futures_im": derivatives.futures_by_maturity(mkt, broad["000852.SH"]["close"], "im", derivatives.IM_START,
                                                      IM_OI, seed),
    }
    for s in series.values():
        s.index = pd.DatetimeIndex(s.index, name="date")
    ef = enhanced_funds(mkt, {c: broad[c]["close"] for c in ("000905.SH", "000852.SH")}, series["index_enhanced"], seed)
    funds_panel = Panel("enhanced_funds", {"nav": _frame(ef["nav"], d, ef["info"]["code"])}, source="synthetic")
    tables = _tables(d, uni, l3, etf)
    members = capital.index_members(mkt, uni, st, broad_m)
    tables["index_membership"] = capital.membership_table(d, uni.codes, members)
    tables["northbound_holdings"] = capital.northbound_holdings(mkt, uni, st, seed)
    tables["enhanced_funds_info"] = ef["info"]
    return Dataset(panels={p.name: p for p in (index, sw, stocks, citic, sectors, etfs, funds_panel)}, series=series,
                   tables=tables, source="synthetic")


def _day(d: pd.DatetimeIndex, i) -> pd.Series:
    i = np.asarray(i)
    return pd.Series(pd.DatetimeIndex(np.where(i >= 0, d[np.clip(i, 0, len(d) - 1)], pd.NaT)), dtype="datetime64[us]")


def _tables(d, uni, l3, etf) -> dict:
    T = len(d)
    n = len(uni.codes)
    never = np.full(n, -1)
    info = pd.DataFrame({
        "code": uni.codes, "name": uni.names, "board": list(uni.board),
        "list_date": _day(d, uni.list_day), "delist_date": _day(d, np.where(uni.delisted, uni.last_day, never)),
        "st_start": _day(d, uni.st_start), "st_end": _day(d, uni.st_end),
    }).sort_values("code", kind="stable").reset_index(drop=True)
    rows = []
    for s in range(n):
        end = uni.last_day[s] if uni.delisted[s] else -1
        if uni.reclass[s] >= 0:
            rows.append((uni.codes[s], SW_CODES[uni.ind0[s]], uni.list_day[s], uni.reclass[s] - 1))
            rows.append((uni.codes[s], SW_CODES[uni.ind1[s]], uni.reclass[s], end))
        else:
            rows.append((uni.codes[s], SW_CODES[uni.ind0[s]], uni.list_day[s], end))
    mem = pd.DataFrame(rows, columns=["code", "industry", "s", "e"])
    mem = pd.DataFrame({"code": mem["code"], "industry": mem["industry"], "start": _day(d, mem["s"]),
                        "end": _day(d, mem["e"])}).sort_values(["code", "start"], kind="stable").reset_index(drop=True)
    l3_info = pd.DataFrame({"code": l3["codes"], "name": l3["names"], "start": _day(d, l3["start"]),
                            "end": _day(d, np.where(l3["end"] < T - 1, l3["end"], -1)),
                            "parent": [SW_CODES[p] for p in l3["parent"]]})
    return {
        "sw_l1_info": pd.DataFrame({"code": list(SW_CODES), "name": list(SW_NAMES)}),
        "stocks_info": info,
        "membership": mem,
        "citic_l3_info": l3_info,
        "sector_etfs_info": pd.DataFrame({"code": etf["codes"], "sector": etf["sectors"]}),
    }


def cut_window(ds: Dataset, start: pd.Timestamp, end: pd.Timestamp) -> Dataset:
    """Rows in [start, end]; codes with no data in the window dropped; table dates after ``end`` blanked
    (a dataset cut at ``end`` must not know later delistings or reclassifications)."""
    panels = {}
    for name, p in ds.panels.items():
        key = next(f for f in ("shares", "close", "nav") if f in p.fields)
        keep = p.fields[key].loc[start:end].notna().any(axis=0)
        if not keep.any():
            continue
        rows = (p.dates >= start) & (p.dates <= end)
        if rows.all() and keep.all():
            panels[name] = Panel(name, dict(p.fields), source=p.source)
            continue
        rows, cols = np.flatnonzero(rows), np.flatnonzero(keep.to_numpy())
        panels[name] = Panel(name, {f: v.iloc[rows, cols] for f, v in p.fields.items()}, source=p.source)
    series = {k: v.loc[start:end] for k, v in ds.series.items() if len(v.loc[start:end])}
    kept = {n: set(p.codes) for n, p in panels.items()}
    tables = {}
    for name, t in ds.tables.items():
        t = t.copy()
        panel = {"stocks_info": "stocks", "membership": "stocks", "citic_l3_info": "citic_l3",
                 "sector_etfs_info": "sector_etfs", "sw_l1_info": "sw_l1", "index_membership": "stocks",
                 "northbound_holdings": "stocks", "enhanced_funds_info": "enhanced_funds"}[name]
        t = t[t["code"].isin(kept.get(panel, set()))]
        for col in ("published", "date", "inception"):   # facts disclosed after the window are not known in it
            if col in t:
                t = t[t[col] <= end]
        for col in ("list_date", "start"):
            if col in t:
                t = t[t[col] <= end]
        for col in ("delist_date", "end", "st_start", "st_end"):
            if col in t:
                if col in ("end", "delist_date"):
                    t = t[~(t[col] < start)]
                t[col] = t[col].where(t[col] <= end)
        tables[name] = t.reset_index(drop=True)
    return Dataset(panels=panels, series=series, tables=tables, meta=dict(ds.meta), source=ds.source)
