"""Report 000 (methodology §6 Z1) rows: one Check per printed number, labelled synthetic on the synthetic market, and
the values equal to a plain pandas computation on the same data."""
from __future__ import annotations

import pandas as pd
import pytest

from engine.dashboard.reproduce import checks
from tests.test_synthetic_support import small


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("z1") / "z1.yaml"
    cfg.write_text("name: z1\ndata: {source: synthetic, seed: 42, size: small}\n", encoding="utf-8")
    return checks(str(cfg))


def test_rows_and_labels(rows):
    assert len(rows) == 13 and {r.report for r in rows} == {"000"} and {r.id for r in rows} == {"Z1"}
    assert {r.inputs for r in rows} == {"synthetic"} and all("synthetic" in r.note for r in rows)
    pub = {r.item: r.published for r in rows}
    assert pub["margin trade share of A-share amount, week of 11-03"] == 0.109
    assert pub["northbound average daily turnover, week of 10-27"] == 272.9     # bn CNY
    assert all(isinstance(r.ours, float) and r.diff is not None for r in rows)


def test_values_equal_plain_pandas(rows):
    ds = small()
    got = {r.item: r.ours for r in rows}
    m, mk, nb = ds.series["margin"], ds.series["market"], ds.series["northbound"]
    this = pd.DatetimeIndex(["2025-10-31", "2025-11-03", "2025-11-04", "2025-11-05", "2025-11-06"])   # T+1 rows
    share = (m.loc[this, "margin_buy"] + m.loc[this, "short_sell"]).sum() / mk.loc[this, "amount"].sum()
    assert got["margin trade share of A-share amount, week of 11-03"] == pytest.approx(share, rel=1e-12)
    bal = m.at[this[-1], "margin_balance"] + m.at[this[-1], "short_balance"]
    assert got["margin balance (融资融券余额), as of Thursday 11-06"] == pytest.approx(bal / 1e12, rel=1e-12)   # 万亿
    assert got["margin balance / A-share float market value (流通市值)"] == pytest.approx(
        bal / mk.at[this[-1], "float_mcap"], rel=1e-12)
    week = pd.bdate_range("2025-11-03", "2025-11-07")
    assert got["northbound average daily turnover, week of 11-03"] == pytest.approx(nb.loc[week, "turnover"].mean() / 1e9,
                                                                                     rel=1e-12)   # bn CNY
    assert got["northbound share of A-share amount, week of 11-03"] == pytest.approx(
        nb.loc[week, "turnover"].sum() / mk.loc[week, "amount"].sum(), rel=1e-12)
    nav, idx = ds.panel("enhanced_funds")["nav"], ds.panel("index")["close"]
    info = ds.table("enhanced_funds_info")
    q = info[(info.benchmark == "000905.SH") & info.quant].code
    e, p = pd.Timestamp("2025-11-07"), pd.Timestamp("2025-10-31")
    ex = (nav.loc[e, q] / nav.loc[p, q] - 1) - (idx.at[e, "000905.SH"] / idx.at[p, "000905.SH"] - 1)
    assert got["CSI 500 quant index-enhanced excess, week of 11-03"] == pytest.approx(ex.mean(), rel=1e-12)


def test_engine_reproduce_000(tmp_path, capsys):
    from engine.reproduce import REPORTS, main

    assert "000" in REPORTS
    cfg = tmp_path / "z1.yaml"
    cfg.write_text("name: z1\ndata: {source: synthetic, seed: 42, size: small}\n", encoding="utf-8")
    assert main(["000", "--config", str(cfg), "--out", str(tmp_path / "z1.md")]) == 0
    out = capsys.readouterr().out
    assert "report 000: 13 published numbers" in out
    md = (tmp_path / "z1.md").read_text(encoding="utf-8")
    assert md.count("| Z1 |") == 13 and "synthetic" in md


def test_conventions_name_each_weeks_margin_dates(rows):
    conv = {r.item: r.convention for r in rows}
    assert "(10-24..10-30)" in conv["margin trade share of A-share amount, week of 10-27"]
    assert "(10-31..11-06)" in conv["margin trade share of A-share amount, week of 11-03"]
