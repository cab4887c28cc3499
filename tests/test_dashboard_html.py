"""report.html of the dashboard (issue 16 item 1): written next to dashboard.md, offline, SYNTHETIC on every table
and chart of the synthetic market, the T+1 margin convention stated, numbers equal to the CSVs the dashboard
writes; ``--report`` chooses the pages as in ``engine.run``."""
from __future__ import annotations

import base64
import gzip
import json
import re

import pandas as pd
import pytest

from engine.report.html import plotly_js_path
from tests.test_report_html import cells_of

WEEK = "2024-03-06"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    from engine.dashboard.__main__ import main

    d = tmp_path_factory.mktemp("dash") / "res"
    assert main(["--week", WEEK, "--out", str(d)]) == 0      # synthetic market, seed 42, size small
    return d


def test_report_html_written_offline_and_labelled(out):
    text = (out / "report.html").read_text(encoding="utf-8")
    assert (out / "dashboard.md").exists() and (out / "meta.json").exists()
    blob = re.search(r'<script id="jg-plotly" type="application/octet-stream">([^<]*)</script>', text)
    if plotly_js_path() is not None:
        assert gzip.decompress(base64.b64decode(blob.group(1))) == plotly_js_path().read_bytes()
    markup = text.replace(blob.group(1), "")
    markup = re.sub(r'src="data:image/png;base64,[^"]*"', "", markup)       # embedded PNGs (no plotly) are inline
    assert not re.search(r"https?://", markup, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?://|[a-z]+:)""", markup, re.I)
    assert "<link" not in markup and "@import" not in markup
    # one section per block, every table captioned with the SYNTHETIC badge, every chart annotated
    for zh in ("杠杆资金", "量化资金", "主力资金", "北向资金"):
        assert f'<span class="zh">{zh}</span>' in text
    n_tables = len(re.findall(r"<table>", text))
    assert n_tables >= 12 and len(re.findall(r'<caption>[^<]*<span class="synth">', text)) == n_tables
    data = json.loads(re.search(r'<script id="jg-data" type="application/json">(.*?)</script>', text, re.S)
                      .group(1).replace("<\\/", "</"))
    assert len(data["figs"]) >= 4
    assert all(any("SYNTHETIC" in a["text"] for a in f["layout"]["annotations"]) for f in data["figs"])
    assert "SYNTHETIC DATA" in text and 'class="banner"' in text
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert "T+1 margin convention" in text and f"as of {meta['margin_asof']}" in text
    assert "git_commit" in text and meta["data"] in text                   # provenance section


def test_page_numbers_equal_the_csv_tables(out):
    text = (out / "report.html").read_text(encoding="utf-8")
    cells = cells_of(text)
    csv = pd.read_csv(out / "tables" / "SYNTHETIC-leverage__0.csv", index_col=0)
    assert csv.index.name == "summary"
    bal = float(csv.at["margin balance (CNY)", "this week"])
    val, shown = cells["leverage|summary|margin balance (CNY)|this week"]
    assert float(val) == bal and shown == f"{bal / 1e12:,.3f} 万亿"
    share = float(csv.at["margin trade share of A-share amount", "last week"])
    val, shown = cells["leverage|summary|margin trade share of A-share amount|last week"]
    assert float(val) == share and shown == f"{share * 100:.2f}%"
    md = (out / "dashboard.md").read_text(encoding="utf-8")
    assert f"| margin balance (CNY) | {bal / 1e12:,.3f} 万亿 |" in md        # the same cell on both pages


def test_report_option_chooses_pages(tmp_path, capsys):
    from engine.dashboard.__main__ import main

    args = ["--week", WEEK, "--blocks", "northbound", "--no-chart"]
    for mode, md, html in (("md", True, False), ("html", False, True), ("none", False, False)):
        d = tmp_path / mode
        assert main([*args, "--out", str(d), "--report", mode]) == 0
        assert (d / "dashboard.md").exists() is md and (d / "report.html").exists() is html
        assert (d / "meta.json").exists() and any((d / "tables").glob("*.csv"))
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "o"), "--report", "md", "--open"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--open" in err[0] and not (tmp_path / "o").exists()


def test_real_data_page_has_no_synthetic_label(tmp_path):
    from engine.dashboard import build_dashboard, render
    from tests.dashboard_fixture import make

    render.write(build_dashboard(make(synthetic=False), "2024-01-03"), tmp_path, chart=False)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "SYNTHETIC" not in text and "模拟数据" not in text and "杠杆资金" in text


def test_without_plotly_the_block_pngs_are_embedded(tmp_path, monkeypatch):
    from engine.dashboard import build_dashboard, html_page, render
    from tests.dashboard_fixture import make

    monkeypatch.setattr(html_page, "plotly_js_path", lambda: None)
    render.write(build_dashboard(make(synthetic=True), "2024-01-03"), tmp_path, chart=True)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert [base64.b64decode(b) for b in imgs] == [(tmp_path / f"{k}.png").read_bytes()
                                                   for k in ("leverage", "quant", "mainforce", "northbound")]
    assert '"figs":[]' in text and len(re.findall(r'<figcaption>[^<]*<span class="zh">[^<]*</span>'
                                                  r'<span class="en">[^<]*</span><span class="synth">', text)) == 4
