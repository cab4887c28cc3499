"""Every dashboard block against an independent pandas/loop computation on the hand-made dataset of
tests/dashboard_fixture.py (weekly windows, T+1 margin dates, both denominators, contract months, streaks), and the
bad inputs (a week without data, a missing dataset) as one-line errors with exit status 2."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.dashboard import DashboardParams, build_dashboard
from engine.dashboard.common import make_week
from engine.dashboard.mainforce import streak
from engine.dashboard.quant import select_contracts
from engine.errors import DataError
from tests.dashboard_fixture import make

D = pd.Timestamp
THIS = [D("2023-12-29"), D("2024-01-02"), D("2024-01-03"), D("2024-01-04")]            # published Tue..Fri
LAST = [D("2023-12-22"), D("2023-12-25"), D("2023-12-26"), D("2023-12-27"), D("2023-12-28")]


@pytest.fixture(scope="module")
def ds():
    return make()


@pytest.fixture(scope="module")
def dash(ds):
    return build_dashboard(ds, "2024-01-03", DashboardParams(popular_n=2, top_industries=1))


def _member(table, key, group, code, day) -> bool:
    for _, r in table.iterrows():
        if r["code"] == code and r[key] == group and r["start"] <= day and (pd.isna(r["end"]) or day <= r["end"]):
            return True
    return False


def test_week_windows_and_t_plus_1_margin_dates(ds):
    wk = make_week(ds.series["market"].index, "2024-01-05")
    assert list(wk.days) == [D("2024-01-02"), D("2024-01-03"), D("2024-01-04"), D("2024-01-05")]   # 01-01 holiday
    assert list(wk.prev_days) == [D(f"2023-12-{d}") for d in (25, 26, 27, 28, 29)]
    assert list(wk.margin_days) == THIS and wk.margin_asof == D("2024-01-04")        # "as of Thursday"
    assert list(wk.prev_margin_days) == LAST
    wk0 = make_week(ds.series["market"].index, "2024-01-05", margin_lag=0)
    assert list(wk0.margin_days) == list(wk0.days)


def test_leverage_summary_both_denominators(ds, dash):
    m, mk, mm = ds.series["margin"], ds.series["market"], ds.series["market_mcap"]
    t = dash.block("leverage").tables["summary"]
    for col, days in (("this week", THIS), ("last week", LAST)):
        num = sum(m.at[d, "margin_buy"] + m.at[d, "short_sell"] for d in days)
        den = sum(mk.at[d, "amount"] for d in days)
        last = days[-1]
        bal = m.at[last, "margin_balance"] + m.at[last, "short_balance"]
        assert t[col].iloc[0] == pytest.approx(num / den, rel=1e-12)
        assert t[col].iloc[1] == pytest.approx(bal, rel=1e-12)
        assert t[col].iloc[2] == pytest.approx(bal / mk.at[last, "float_mcap"], rel=1e-12)
        assert t[col].iloc[3] == pytest.approx(bal / mm.at[last, "free_float_mcap"], rel=1e-12)
        assert t[col].iloc[4] == last
    mean_dash = build_dashboard(ds, "2024-01-03", DashboardParams(share_method="mean"), blocks=("leverage",))
    want = np.mean([(m.at[d, "margin_buy"] + m.at[d, "short_sell"]) / mk.at[d, "amount"] for d in THIS])
    assert mean_dash.block("leverage").tables["summary"]["this week"].iloc[0] == pytest.approx(want, rel=1e-12)


def test_leverage_index_bucket_industry_popular(ds, dash):
    st = ds.panel("stocks")
    net = lambda d, c: st["margin_buy"].at[d, c] - st["margin_repay"].at[d, c]  # noqa: E731
    b = dash.block("leverage")
    idx = b.tables["index constituents: margin net buying"]
    im = ds.table("index_membership")
    for code, row in (("000300.SH", "CSI 300 (000300.SH)"), ("399006.SZ", "ChiNext (399006.SZ)")):
        want = sum(net(d, c) for d in THIS for c in st.codes if _member(im, "index", code, c, d))
        assert idx.at[row, "this week (亿)"] * 1e8 == pytest.approx(want, rel=1e-12)
    assert idx.at["SSE 50 (000016.SH)", "this week (亿)"] != idx.at["SSE 50 (000016.SH)", "this week (亿)"]  # no members: n/a
    # buckets on total market value at the as-of day: 600001 (> 5000 亿) and 600002 (1000-5000 亿)
    bk = b.tables["market-cap buckets (total market value): margin net buying"]
    mv = st["total_shares"].loc[D("2024-01-04")] * st["close"].loc[D("2024-01-04")]
    big = [c for c in st.codes if mv[c] > 5e11]
    mid = [c for c in st.codes if 1e11 < mv[c] <= 5e11]
    assert bk.iloc[0]["this week (亿)"] * 1e8 == pytest.approx(sum(net(d, c) for d in THIS for c in big), rel=1e-12)
    assert bk.iloc[1]["this week (亿)"] * 1e8 == pytest.approx(sum(net(d, c) for d in THIS for c in mid), rel=1e-12)
    assert (bk.iloc[0]["stocks"], bk.iloc[1]["stocks"]) == (len(big), len(mid))
    # industries: Σ net / Σ amount over point-in-time members (600002 moves from 银行 to 电子 on 2024-01-03)
    mem = ds.table("membership")
    ind = b.data["industry"]
    for k in ("801780.SI", "801080.SI"):
        cs = [(d, c) for d in THIS for c in st.codes if _member(mem, "industry", k, c, d)]
        want = sum(net(d, c) for d, c in cs) / sum(st["amount"].at[d, c] for d, c in cs)
        assert ind.at[k, "net buy / amount"] == pytest.approx(want, rel=1e-12)
    # popular: the 2 largest by Σ amount, mean of their Σ net / Σ amount
    tot = {c: sum(st["amount"].at[d, c] for d in THIS) for c in st.codes}
    top = sorted(tot, key=tot.get, reverse=True)[:2]
    want = np.mean([sum(net(d, c) for d in THIS) / tot[c] for c in top])
    pop = b.tables["top 2 popular stocks (by amount): mean leverage"]
    assert pop["this week"].iloc[0] == pytest.approx(want, rel=1e-12)


def test_quant_excess_and_basis(ds, dash):
    nav, idx = ds.panel("enhanced_funds")["nav"], ds.panel("index")["close"]
    e, p, pp = D("2024-01-05"), D("2023-12-29"), D("2023-12-22")
    ex = dash.block("quant").tables["index-enhanced funds: weekly excess over the benchmark (quant funds)"]
    r = [nav.at[e, f] / nav.at[p, f] - idx.at[e, "000905.SH"] / idx.at[p, "000905.SH"] for f in ("F1", "F2")]
    assert ex.at["CSI 500 enhanced, this week", "mean"] == pytest.approx(np.mean(r), rel=1e-12)
    assert ex.at["CSI 500 enhanced, this week", "median"] == pytest.approx(np.median(r), rel=1e-12)
    r3 = nav.at[p, "F3"] / nav.at[pp, "F3"]     # F3 has no NAV on 2023-12-22: not counted last week
    assert np.isnan(r3) and ex.at["CSI 1000 enhanced, last week", "funds"] == 0
    fut, s = ds.series["futures_im"], idx.at[e, "000852.SH"]
    t = dash.block("quant").tables["IM (CSI 1000) basis and open interest on 2024-01-05"]
    for tag, cn, days in (("m0", "当月", 14), ("q1", "下季", 168)):
        F = fut.at[e, f"close_{tag}"]
        assert t.at[f"{cn} {tag}", "F - S"] == pytest.approx(F - s, rel=1e-12)
        assert t.at[f"{cn} {tag}", "annualised"] == pytest.approx((F - s) / s * 365 / days, rel=1e-12)
        assert t.at[f"{cn} {tag}", "OI change"] == fut.at[e, f"oi_{tag}"] - fut.at[p, f"oi_{tag}"]


def test_contract_month_selection():
    exp = {"2401": "2024-01-19", "2402": "2024-02-23", "2403": "2024-03-15", "2406": "2024-06-21",
           "2409": "2024-09-20"}
    listed = {"2024-01-10": ("2401", "2402", "2403", "2406"), "2024-01-19": ("2401", "2402", "2403", "2406"),
              "2024-01-22": ("2402", "2403", "2406", "2409")}
    rows = [(d, c, exp[c], 100.0 + i, 10.0 * i) for d, cs in listed.items() for i, c in enumerate(cs)]
    out = select_contracts(pd.DataFrame(rows, columns=["date", "contract", "expiry", "close", "oi"]))
    want = {"2024-01-10": ("2401", "2402", "2403", "2406"),   # 当月 Jan, 下月 Feb, 当季 Mar, 下季 Jun
            "2024-01-19": ("2401", "2402", "2403", "2406"),   # expiry day: Jan is still 当月
            "2024-01-22": ("2402", "2403", "2406", "2409")}   # 下月 = Mar, so 当季 = Jun (the quarter after 下月)
    for d, cs in want.items():
        got = [f"{pd.Timestamp(out.at[D(d), f'expiry_{t}']):%y%m}" for t in ("m0", "m1", "q0", "q1")]
        assert got == list(cs), d


def test_expiry_is_third_friday_or_next_trading_day():
    from engine.data.synthetic.derivatives import expiry_table

    cal = pd.bdate_range("2024-01-01", "2024-12-31").drop(pd.Timestamp("2024-02-16"))   # third Friday closed
    exp = expiry_table(cal)
    assert D("2024-01-19") in exp and D("2024-03-15") in exp and D("2024-02-19") in exp   # Mon after 02-16


def test_mainforce_daily_weekly_streaks(ds, dash):
    st = ds.panel("stocks")
    net = lambda d, c: (st["elg_buy"].at[d, c] + st["lg_buy"].at[d, c]  # noqa: E731
                        - st["elg_sell"].at[d, c] - st["lg_sell"].at[d, c])
    t = dash.block("mainforce").tables["broad indices: daily and weekly net inflow (亿), streak"]
    im = ds.table("index_membership")
    row = "CSI 300 (000300.SH)"
    daily = {d: sum(net(d, c) for c in st.codes if _member(im, "index", "000300.SH", c, d)) for d in st["close"].index}
    week = [D("2024-01-02"), D("2024-01-03"), D("2024-01-04"), D("2024-01-05")]
    assert t.at[row, "Wed 01-03"] * 1e8 == pytest.approx(daily[D("2024-01-03")], rel=1e-12)
    assert t.at[row, "week (亿)"] * 1e8 == pytest.approx(sum(daily[d] for d in week), rel=1e-12)
    prev = [D(f"2023-12-{x}") for x in (25, 26, 27, 28, 29)]
    assert t.at[row, "last week (亿)"] * 1e8 == pytest.approx(sum(daily[d] for d in prev), rel=1e-12)
    signs = [np.sign(daily[d]) for d in st["close"].index if d <= D("2024-01-05")]
    k = 0
    while k < len(signs) and signs[-1 - k] == signs[-1]:
        k += 1
    assert t.at[row, "streak (days)"] == k * signs[-1]


def test_streak_counting_by_hand():
    assert streak([1.0, -2.0, -3.0, -1.0, -5.0]) == -4           # "four days of outflow"
    assert streak([-1.0, 2.0, 3.0]) == 2
    assert streak([-1.0, -2.0, 0.0]) == 0 and streak([]) == 0 and streak([1.0, np.nan]) == 0
    assert streak([-1.0] * 7) == -7


def test_northbound_turnover_share_and_heavy_basket(ds, dash):
    nb, mk = ds.series["northbound"]["turnover"], ds.series["market"]["amount"]
    week = [D("2024-01-02"), D("2024-01-03"), D("2024-01-04"), D("2024-01-05")]
    t = dash.block("northbound").tables["northbound turnover and share of A-share amount"]
    assert t.at["avg daily turnover (亿)", "this week"] * 1e8 == pytest.approx(np.mean([nb[d] for d in week]), rel=1e-12)
    assert t.at["share of A-share amount", "this week"] == pytest.approx(sum(nb[d] for d in week) / sum(mk[d] for d in week),
                                                                        rel=1e-12)
    # the 2023-12-29 disclosure is published 2024-01-03, inside the week: the basket uses 2023-09-28's (top 2 of 3)
    d2 = build_dashboard(ds, "2024-01-03", DashboardParams(heavy_n=2), blocks=("northbound",))
    close = ds.panel("stocks")["close"]
    want = np.mean([close.at[D("2024-01-05"), c] / close.at[D("2023-12-29"), c] - 1 for c in ("600001.SH", "600002.SH")])
    tab = next(v for k, v in d2.block("northbound").tables.items() if k.startswith("heavy"))
    assert "2023-09-28" in next(k for k in d2.block("northbound").tables if k.startswith("heavy"))
    assert tab.iloc[0]["week return"] == pytest.approx(want, rel=1e-12)


def test_week_without_data_and_missing_dataset_are_one_line_errors(ds):
    with pytest.raises(DataError, match=r"2030-01-07\.\.2030-01-11 has no trading days .*choose a week inside it"):
        build_dashboard(ds, "2030-01-09")
    with pytest.raises(DataError, match="first week of the data"):
        build_dashboard(ds, "2023-12-20")
    from engine.data.panel import Dataset

    gone = Dataset(panels=dict(ds.panels), series={k: v for k, v in ds.series.items() if k != "margin"},
                   tables=dict(ds.tables), meta=ds.meta, source="handmade")
    with pytest.raises(DataError) as e:
        build_dashboard(gone, "2024-01-03")
    msg = str(e.value)
    assert "series margin" in msg and "series/margin.parquet" in msg and "\n" not in msg


def test_cli_exit_2_one_line(tmp_path, capsys):
    from engine.dashboard.__main__ import main

    rc = main(["--week", "not-a-date", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "not a date" in err[0]
    rc = main(["--week", "2030-01-08", "--out", str(tmp_path / "y")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "has no trading days" in err[0]


def test_render_labels_synthetic_everywhere(tmp_path):
    from engine.dashboard import render

    dsyn = build_dashboard(make(synthetic=True), "2024-01-03")
    out = render.write(dsyn, tmp_path, chart=True)
    md = (out / "dashboard.md").read_text(encoding="utf-8")
    n_tables = sum(len(b.tables) for b in dsyn.blocks)
    assert md.count("— synthetic") == n_tables and "SYNTHETIC DATA" in md
    text = render.terminal(dsyn)
    assert text.count("(synthetic)") == n_tables and text.startswith("Fund-behaviour")
    assert sorted(p.name for p in out.glob("*.png")) == ["leverage.png", "mainforce.png", "northbound.png", "quant.png"]
    csvs = list((out / "tables").glob("*.csv"))
    assert len(csvs) >= n_tables and all(p.name.startswith("SYNTHETIC-") for p in csvs)
    real = render.terminal(build_dashboard(make(synthetic=False), "2024-01-03"))
    assert "synthetic" not in real.lower()


def test_block_without_rows_in_the_week_names_the_series(ds):
    from engine.data.panel import Dataset

    late = {k: v for k, v in ds.series.items()}
    late["northbound"] = ds.series["northbound"].loc["2024-01-08":]
    late["margin"] = ds.series["margin"].loc["2024-01-08":]
    d2 = Dataset(panels=dict(ds.panels), series=late, tables=dict(ds.tables), meta=ds.meta, source="handmade")
    with pytest.raises(DataError, match=r"series northbound has no rows in 2024-01-02\.\.2024-01-05 .*--blocks"):
        build_dashboard(d2, "2024-01-03", blocks=("northbound",))
    with pytest.raises(DataError, match=r"series margin has no rows published during 2024-01-02\.\.2024-01-05"):
        build_dashboard(d2, "2024-01-03", blocks=("leverage",))
    assert build_dashboard(d2, "2024-01-03", blocks=("mainforce", "quant")).blocks


def test_weekly_basis_series_matches_the_block(ds, dash):
    from engine.dashboard.series import weekly

    s = weekly(ds, "basis_im_q1")
    t = dash.block("quant").tables["IM (CSI 1000) basis and open interest on 2024-01-05"]
    assert s.at[D("2024-01-05")] == pytest.approx(t.at["下季 q1", "annualised"], rel=1e-12)
    F, S = ds.series["futures_im"].at[D("2023-12-29"), "close_q1"], ds.panel("index")["close"].at[D("2023-12-29"), "000852.SH"]
    assert s.at[D("2023-12-29")] == pytest.approx((F - S) / S * 365 / (D("2024-06-21") - D("2023-12-29")).days, rel=1e-12)


def test_cli_on_user_files_writes_a_new_folder_and_never_overwrites(tmp_path, capsys):
    """The documented user-file layout (docs/dashboard.md) read through data.source: dataset, end to end."""
    from engine.dashboard.__main__ import main
    from engine.data.io import write_dataset

    root = write_dataset(make(), tmp_path / "mydata")
    cfg = tmp_path / "mine.yaml"
    cfg.write_text(f"name: mine\ndata: {{source: dataset, path: {root}}}\n", encoding="utf-8")
    out = tmp_path / "res"
    assert main(["--week", "2024-01-03", str(cfg), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.rstrip().endswith(f"results: {out}") and "synthetic" not in text.lower()
    assert {p.name for p in out.iterdir()} >= {"dashboard.md", "meta.json", "leverage.png", "quant.png", "tables"}
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert main(["--week", "2024-01-03", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0]
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob("*")}
