"""The synthetic inputs of the fund-behaviour dashboard (engine/data/synthetic/capital.py, enhanced_funds.py):
accounting identities, point-in-time index rules and magnitudes, each recomputed here with plain numpy/pandas.
Ranges are the documented magnitudes of docs/data.md, not numbers copied from a run."""
from __future__ import annotations

import numpy as np
import pandas as pd

from tests.test_synthetic_support import small


def test_short_side_sums_to_market_and_lives_on_margin_stocks():
    ds = small()
    st, m = ds.panel("stocks"), ds.series["margin"]
    for col in ("short_balance", "short_sell"):
        tot = st[col].sum(axis=1).loc[m.index]
        np.testing.assert_allclose(tot.to_numpy(), m[col].to_numpy(), rtol=1e-9)
        off = (st["margin_balance"].fillna(0) <= 0) & st[col].notna()
        assert (st[col].to_numpy()[off.to_numpy()] == 0).all()
    assert (st["short_balance"].stack().dropna() >= 0).all()


def test_share_capital_order_and_market_sums():
    ds = small()
    st = ds.panel("stocks")
    tot, flt, free = st["total_shares"], st["float_shares"], st["free_float_shares"]
    listed = flt.notna().to_numpy()
    t_, f_, ff_ = tot.to_numpy()[listed], flt.to_numpy()[listed], free.to_numpy()[listed]
    assert (t_ >= f_).all() and (ff_ <= f_).all()
    assert ((tot.notna()) == listed).all().all() and ((free.notna()) == listed).all().all()
    mm = ds.series["market_mcap"]
    np.testing.assert_allclose(mm["total_mcap"], (tot * st["close"]).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(mm["free_float_mcap"], (free * st["close"]).sum(axis=1), rtol=1e-12)
    last = mm.loc["2025"]
    fl = ds.series["market"]["float_mcap"].loc["2025"]
    # docs/data.md: free float about half of 流通市值; total market value 1.0-1.5x float market value
    assert ((last["free_float_mcap"] / fl).between(0.3, 0.7)).all()
    assert ((last["total_mcap"] / fl).between(1.0, 1.5)).all()


def _active(im: pd.DataFrame, day) -> dict:
    day = pd.Timestamp(day)
    a = im[(im.start <= day) & (im.end.isna() | (im.end >= day))]
    return {k: set(v) for k, v in a.groupby("index")["code"]}


def test_index_memberships_follow_the_rules():
    ds = small()
    im, info = ds.table("index_membership"), ds.table("stocks_info").set_index("code")
    cap = ds.panel("stocks")["float_shares"] * ds.panel("stocks")["close"]
    for day in ("2015-06-01", "2021-12-01", "2025-11-03"):
        a = _active(im, day)
        assert not (a["000300.SH"] & a["000905.SH"]) and not (a["000905.SH"] & a["000852.SH"])
        assert all(info.at[c, "board"] == "chinext" for c in a.get("399006.SZ", ()))
        assert all(info.at[c, "board"] == "star" for c in a.get("000688.SH", ()))
        assert all(c.endswith(".SH") and info.at[c, "board"] == "main" for c in a["000016.SH"])
        # CSI 300 = the largest float caps on the review's selection day (the trading day before the review)
        review = im[(im["index"] == "000300.SH") & (im.start <= day)].start.max()
        sel = cap.index[cap.index.get_loc(review) - 1]
        c300, c500 = cap.loc[sel, list(a["000300.SH"])], cap.loc[sel, list(a["000905.SH"])]
        assert c300.min() >= c500.max()
    starts = im.groupby("index").start.min()
    assert starts["000688.SH"] >= pd.Timestamp("2020-07-23") and starts["399006.SZ"] >= pd.Timestamp("2010-06-01")
    assert {"000688.SH", "399006.SZ", "000300.SH"} <= set(_active(im, "2025-11-03"))


def test_northbound_holdings_disclosed_after_quarter_end_with_plausible_size():
    ds = small()
    h = ds.table("northbound_holdings")
    assert (h["published"] > h["date"]).all()
    close = ds.panel("stocks")["close"]
    px = np.array([close.at[d, c] for d, c in zip(h["date"], h["code"])])
    np.testing.assert_allclose(h["value"].to_numpy(), h["shares"].to_numpy() * px, rtol=1e-12)
    share = h.groupby("date")["value"].sum() / ds.series["market"]["float_mcap"].reindex(h["date"].unique())
    assert share.between(0.01, 0.06).all()     # northbound owns a few percent of the float (docs/data.md)
    q = pd.DatetimeIndex(h["date"].unique())
    assert (q.month.isin([3, 6, 9, 12])).all()


def test_enhanced_fund_navs_match_the_published_mean_excess():
    ds = small()
    nav, info = ds.panel("enhanced_funds")["nav"], ds.table("enhanced_funds_info")
    idx = ds.panel("index")["close"]
    ex = ds.series["index_enhanced"]
    for bench, col in (("000905.SH", "csi500_excess"), ("000852.SH", "csi1000_excess")):
        q = info[(info.benchmark == bench) & info.quant].code
        live = nav.loc["2021-07-01":, q]
        fr = live.pct_change().iloc[1:]
        br = idx[bench].loc["2021-07-01":].pct_change().iloc[1:]
        mean_ex = fr.sub(br, axis=0).mean(axis=1)
        # NAVs are rounded to 4 decimals: each daily return is off by at most 1e-4 / NAV
        bound = 1e-4 / live.min().min() + 1e-12
        assert (mean_ex - ex[col].loc[mean_ex.index]).abs().max() <= bound
        ann = (1 + ex[col].dropna()).prod() ** (252 / ex[col].notna().sum()) - 1
        assert 0.0 < ann < 0.2     # enhanced funds beat their index on average (docs/data.md: ~+7-11%/year)
    assert nav.notna().sum().min() > 250 and np.nanmin(nav.to_numpy()) > 0
