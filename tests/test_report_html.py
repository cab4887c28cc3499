"""report.html (issue 16): the numbers on the page are metrics.json's, the metrics table is built from the dict,
the file is self-contained and offline, --report chooses the outputs; trades, drawdown periods, rolling and
monthly statistics against independent computations."""
import base64
import gzip
import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.report.html import Page, plotly_js_path
from engine.report.ticks import log_ticks

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, module="engine.run"):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)


class Cells(HTMLParser):
    """(data-key, data-value, shown text) of every value cell."""

    def __init__(self):
        super().__init__()
        self.cells, self._cur = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-key" in a:
            self._cur = [a["data-key"], a.get("data-value"), ""]

    def handle_data(self, data):
        if self._cur is not None:
            self._cur[2] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cur is not None:
            self.cells.append(tuple(self._cur))
            self._cur = None


def cells_of(text: str) -> dict:
    p = Cells()
    p.feed(text)
    return {k: (v, shown) for k, v, shown in p.cells}


def leaf(d: dict, dotted: str):
    parts, cur = dotted.split("."), d
    i = 0
    while i < len(parts):              # keys may contain dots (extra benchmark names): longest match first
        for j in range(len(parts), i, -1):
            k = ".".join(parts[i:j])
            if isinstance(cur, dict) and k in cur:
                cur, i = cur[k], j
                break
        else:
            raise KeyError(dotted)
    return cur


def leaves(d: dict, pre=""):
    for k, v in d.items():
        if k == "definitions":
            continue
        if isinstance(v, dict):
            yield from leaves(v, f"{pre}{k}.")
        else:
            yield pre + k, v


@pytest.fixture(scope="module")
def ma_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "run"
    r = cli("strategies/ma_timing.yaml", "--out", str(out), "--no-chart")
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def expected_text(v, kind_hint: str) -> str:
    if isinstance(v, str):
        return v
    return {"pct": f"{v * 100:.2f}%", "ratio": f"{v:.3f}", "times": f"{v:.2f}x"}.get(kind_hint, None)


def test_page_numbers_equal_metrics_json(ma_run):
    """Every number of metrics.json's strategy, benchmark and excess sections is on the page, its data-value is
    the JSON number exactly and its text is that number as the terminal shows it (percentages 2 decimals,
    ratios 3, turnover 2 + 'x'), derived here from the JSON value."""
    m = json.loads((ma_run / "metrics.json").read_text())
    cells = cells_of((ma_run / "report.html").read_text(encoding="utf-8"))
    pct = {"total_return", "annual_return", "annual_volatility", "max_drawdown", "best_day", "worst_day",
           "annual_excess", "annual_excess_geometric", "annual_excess_arithmetic", "total_excess_geometric",
           "total_excess_arithmetic", "tracking_error", "alpha", "daily_win_rate", "monthly_win_rate",
           "total_cost_drag", "annual_cost_drag"}
    ratio = {"sharpe", "sortino", "calmar", "information_ratio", "beta"}
    checked = 0
    for sec in ("strategy", "benchmark", "excess"):
        for key, v in leaves(m[sec]):
            dk = f"{sec}.{key}"
            assert dk in cells, f"{dk} missing from the page"
            val, shown = cells[dk]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                assert float(val) == v
                kind = "pct" if key in pct else "ratio" if key in ratio else "times" if key == "annual_turnover" \
                    else None
                if kind:
                    assert shown == expected_text(v, kind), (dk, shown, v)
                    checked += 1
            elif isinstance(v, str):
                assert shown == v
    for key, v in leaves(m.get("warmup") or {}):      # sections added later (h12-stats' warm-up) are on it too
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            assert float(cells[f"warmup.{key}"][0]) == v
    assert checked >= 25


def test_metrics_table_shows_keys_added_later():
    """A key the metrics dict gains later (e.g. h12's IR variants, ties, warm-up) appears without code changes:
    label from its name, format from its name, value exact."""
    from engine.report.run_page import metrics_block

    m = {"strategy": {"sharpe": 1.25, "warmup_days": 60}, "benchmark": {"sharpe": 0.5},
         "excess": {"information_ratio_arithmetic": 0.4321, "monthly_ties": 3, "win_rates": {"weekly": 0.61}},
         "conventions": {"periods_per_year": 244}}
    cells = cells_of(metrics_block(Page("t"), m))
    assert cells["strategy.warmup_days"] == ("60", "60")
    assert cells["excess.information_ratio_arithmetic"] == ("0.4321", "0.432")
    assert cells["excess.monthly_ties"] == ("3", "3")
    assert cells["excess.win_rates.weekly"] == ("0.61", "61.00%")
    assert "Warmup days" in metrics_block(Page("t"), m)


def test_page_is_self_contained_and_offline(ma_run):
    """No external reference: no src/href to another host, no http(s) URL anywhere in our markup; plotly.js is
    embedded exactly once (the packed blob decodes to the installed plotly.min.js byte for byte)."""
    text = (ma_run / "report.html").read_text(encoding="utf-8")
    blob = re.search(r'<script id="jg-plotly" type="application/octet-stream">([^<]*)</script>', text)
    assert blob and text.count('id="jg-plotly"') == 1
    assert gzip.decompress(base64.b64decode(blob.group(1))) == plotly_js_path().read_bytes()
    markup = text.replace(blob.group(1), "")
    assert not re.search(r"https?://", markup, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?://|[a-z]+:)""", markup, re.I)
    assert "<link" not in markup and "@import" not in markup


def test_report_none_md_html(tmp_path):
    """--report md writes summary.md and no report.html; html the reverse; none neither; the data files always.
    --open without an HTML page is refused before any work (exit 2, one line)."""
    for mode, md, html in (("md", True, False), ("html", False, True), ("none", False, False)):
        out = tmp_path / mode
        r = cli("strategies/ma_timing.yaml", "--out", str(out), "--no-chart", "--report", mode)
        assert r.returncode == 0, r.stderr[-1500:]
        assert (out / "summary.md").exists() is md and (out / "report.html").exists() is html
        assert (out / "metrics.json").exists() and (out / "equity.csv").exists()
    r = cli("strategies/ma_timing.yaml", "--out", str(tmp_path / "o"), "--report", "md", "--open")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--open" in r.stderr
    assert not (tmp_path / "o").exists()


def test_report_language_config(tmp_path):
    """report.language: zh | en | both sets the page's language; anything else is exit 2 naming the key."""
    out = tmp_path / "zh"
    r = cli("strategies/ma_timing.yaml", "--out", str(out), "--no-chart", "--report", "html",
            "--set", "report.language=zh")
    assert r.returncode == 0, r.stderr[-1500:]
    assert '<body class="lang-zh"' in (out / "report.html").read_text(encoding="utf-8")
    r = cli("strategies/ma_timing.yaml", "--out", str(tmp_path / "x"), "--set", "report.language=fr")
    assert r.returncode == 2 and "report.language" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_twenty_year_page_under_5mb(tmp_path):
    """A ~20-year daily run (2006-03 .. 2025-12 of the embedded CSI 300) writes a page under 5 MB."""
    out = tmp_path / "long"
    r = cli("strategies/ma_timing.yaml", "--out", str(out), "--no-chart", "--report", "html",
            "--set", "data.start=2006-03-01")
    assert r.returncode == 0, r.stderr[-1500:]
    n = json.loads((out / "metrics.json").read_text())["period"]["n_days"]
    assert n > 4800
    assert (out / "report.html").stat().st_size < 5_000_000


def test_quantstats_tearsheet_or_one_line(tmp_path):
    """--tearsheet quantstats writes tearsheet_quantstats.html where quantstats imports; where it does not, the
    run stops before any work with exit 2 and one line naming quantstats."""
    out = tmp_path / "qs"
    r = cli("strategies/ma_timing.yaml", "--out", str(out), "--no-chart", "--tearsheet", "quantstats")
    try:
        import quantstats  # noqa: F401
        have = True
    except Exception:  # noqa: BLE001
        have = False
    if have:
        assert r.returncode == 0, r.stderr[-1500:]
        assert (out / "tearsheet_quantstats.html").stat().st_size > 10_000
    else:
        assert r.returncode == 2 and "quantstats" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not out.exists()


# ------------------------------------------------------------------------------------------------ computations
def test_round_trips_by_hand():
    """Two codes: A bought 100 @10 (fee 1), added 50 @12 (fee 1), sold 150 @11 (fee 2): one trip, P&L = 1650 -
    1000 - 600 - 4 = 46, held 3 rows; B bought 10 @5 (fee 0.5), still open, valued at the last close 4: P&L =
    40 - 50 - 0.5. Stats: 1 closed trip, win rate 1, no loser -> profit/loss ratio undefined."""
    from engine.report.trades import round_trips, trade_stats

    idx = pd.bdate_range("2024-01-01", periods=5)
    size = pd.DataFrame({"A": [100, 50, np.nan, 150 * -1, np.nan], "B": [np.nan, np.nan, 10, np.nan, np.nan]},
                        index=idx, dtype=float)
    price = pd.DataFrame({"A": [10, 12, np.nan, 11, np.nan], "B": [np.nan, np.nan, 5, np.nan, np.nan]},
                         index=idx, dtype=float)
    fees = pd.DataFrame({"A": [1, 1, 0, 2, 0], "B": [0, 0, 0.5, 0, 0]}, index=idx, dtype=float)
    close = pd.DataFrame({"A": [10, 12, 12, 11, 11], "B": [5, 5, 5, 4.5, 4]}, index=idx, dtype=float)
    t = round_trips(size, price, fees, close)
    a, b = t.iloc[0], t.iloc[1]
    assert (a["code"], a["entry"], a["exit"], a["holding_days"], bool(a["open"])) == ("A", idx[0], idx[3], 3, False)
    assert a["pnl"] == pytest.approx(1650 - 1000 - 600 - 4)
    assert a["return"] == pytest.approx(46 / 1600)
    assert bool(b["open"]) and b["pnl"] == pytest.approx(40 - 50 - 0.5)
    s = trade_stats(t, 4)
    assert s == {"n_trades": 1, "win_rate": 1.0, "profit_loss_ratio": None, "avg_holding_days": 3.0,
                 "open_trades": 1, "n_orders": 4}


def test_round_trips_equal_vectorbt_positions():
    """On the MA timing run, our round trips from the kernel's fills equal vectorbt's position records of the
    same orders replayed (engine.backtest.bridge): same count, same entry/exit order and P&L to 1e-6."""
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import config_dir, run_strategy
    from engine.report.trades import run_trades

    cfg = load_config(str(ROOT / "strategies/ma_timing.yaml"))
    run = run_strategy(cfg, load_dataset(cfg.data, config_dir(cfg)))
    trips, stats = run_trades(run)
    pos = run.to_vectorbt().positions.records_readable
    assert len(trips) == len(pos) and stats["n_trades"] + stats["open_trades"] == len(pos)
    np.testing.assert_allclose(trips["pnl"].to_numpy(), pos["PnL"].to_numpy(), rtol=1e-9, atol=1e-6)
    closed = pos[pos["Status"] == "Closed"]
    assert stats["win_rate"] == pytest.approx((closed["PnL"] > 0).mean())
    w, lo = closed["PnL"][closed["PnL"] > 0], closed["PnL"][closed["PnL"] < 0]
    assert stats["profit_loss_ratio"] == pytest.approx(w.mean() / -lo.mean())


def test_drawdown_periods_match_metrics(ma_run):
    """The deepest drawdown period equals metrics.json's max drawdown, peak, trough and recovery; periods found by
    a naive scan (start when below the running max, end when back at it)."""
    from engine.report.run_page import drawdown_periods

    eq = pd.read_csv(ma_run / "equity.csv", index_col=0, parse_dates=True)["strategy"]
    m = json.loads((ma_run / "metrics.json").read_text())["strategy"]
    d = drawdown_periods(eq, 3)
    assert d.at[0, "depth"] == pytest.approx(m["max_drawdown"], rel=1e-9)
    assert f"{d.at[0, 'peak']:%Y-%m-%d}" == m["max_drawdown_peak"]
    assert f"{d.at[0, 'trough']:%Y-%m-%d}" == m["max_drawdown_trough"]
    rec = d.at[0, "recovery"]
    assert (None if pd.isna(rec) else f"{rec:%Y-%m-%d}") == m["max_drawdown_recovery"]
    assert list(d["depth"]) == sorted(d["depth"])


def test_rolling_and_monthly_against_naive():
    """Rolling one-year return/vol/Sharpe/beta at a few days equal numpy on the window; monthly returns equal the
    product over each calendar month."""
    from engine.report.run_page import monthly_returns, rolling_stats

    idx = pd.bdate_range("2020-01-01", periods=400)
    rng = np.random.default_rng(5)
    rb = pd.Series(rng.normal(0, 0.01, 400), idx)
    rs = 0.5 * rb + pd.Series(rng.normal(0.0003, 0.008, 400), idx)
    roll = rolling_stats(rs, rb, 252)
    for i in (251, 300, 399):
        a, b = rs.to_numpy()[i - 251:i + 1], rb.to_numpy()[i - 251:i + 1]
        assert roll["return"].iloc[i] == pytest.approx(np.prod(1 + a) - 1, rel=1e-10)
        assert roll["volatility"].iloc[i] == pytest.approx(a.std(ddof=1) * math.sqrt(252), rel=1e-10)
        assert roll["sharpe"].iloc[i] == pytest.approx(a.mean() / a.std(ddof=1) * math.sqrt(252), rel=1e-9)
        assert roll["beta"].iloc[i] == pytest.approx(np.cov(a, b, ddof=1)[0, 1] / b.var(ddof=1), rel=1e-9)
    assert roll["return"].iloc[:251].isna().all()
    mt = monthly_returns(rs)
    for (y, mo), grp in rs.groupby([rs.index.year, rs.index.month]):
        assert mt.at[y, mo] == pytest.approx(np.prod(1 + grp.to_numpy()) - 1, rel=1e-12)


@pytest.mark.parametrize("lo,hi", [(0.58, 1.5), (0.5, 3.0), (0.3, 40.0), (0.01, 0.5), (1.0, 1e6), (0.95, 1.05),
                                   (1.7, 2.9), (1.0, 1e30), (0.2, 0.95)])
def test_log_ticks_readable_over_the_range(lo, hi):
    """Issue 13: 3..12 ticks, all inside the range, plain labels, spread over it: no gap between consecutive
    ticks (or from an end to its nearest tick) wider than half the range on the log scale (a factor of 1000 for
    the 30-decade case)."""
    from engine.report.ticks import tick_text

    t = log_ticks(lo, hi)
    assert 3 <= len(t) <= 12
    assert all(lo <= v <= hi for v in t) and t == sorted(t)
    assert all("e" not in tick_text(v) or v >= 1e12 for v in t)     # plain numbers below 1e12
    edges = [math.log(lo)] + [math.log(v) for v in t] + [math.log(hi)]
    assert max(np.diff(edges)) <= 0.5 * (math.log(hi) - math.log(lo)) + 1e-9


# ------------------------------------------------------------------------------------------------ signal panel
def _signal_run(indicators, weights, tables=None):
    import types

    from engine.signals.base import SignalResult

    ns = types.SimpleNamespace
    idx = weights.index
    return ns(signal=SignalResult(weights=weights, indicators=indicators, tables=tables or {}),
              backtest=ns(returns=pd.Series(0.0, idx)), dataset=ns(synthetic=True, tables={}))


def test_signal_panel_sentiment_figure_1():
    """Flat daily indicators: 图1 = the three sentiment indicators (their values, rounded to 4 significant
    digits) over the target weight (sum of the weight row) on a second axis; the last-days table is shown; the
    page marks it SYNTHETIC."""
    from engine.report.signal_panel import signal_blocks

    idx = pd.bdate_range("2024-01-01", periods=30)
    rng = np.random.default_rng(2)
    ind = pd.DataFrame(rng.uniform(0, 1, (30, 4)), idx, columns=["concentration", "temperature", "expectation",
                                                                  "basis"])
    w = pd.DataFrame({"000300.SH": np.where(rng.uniform(size=30) > 0.5, 1.0, 0.5)}, idx)
    page = Page("t", "both", synthetic=True)
    html = "".join(signal_blocks(page, _signal_run(ind, w, {"last_days": ind.tail(3)})))
    fig = page.figs[0]
    names = [t["name"] for t in fig["data"]]
    assert names == ["情绪浓度 concentration", "情绪温度 temperature", "情绪预期 expectation",
                     "目标权重 target weight"]
    for t, c in zip(fig["data"][:3], ["concentration", "temperature", "expectation"]):
        np.testing.assert_allclose(t["y"], ind[c].to_numpy(), rtol=5e-4)   # 4 significant digits: <= 5e-4
    assert fig["data"][3]["y"] == w.sum(axis=1).tolist() and fig["data"][3]["yaxis"] == "y2"
    assert any(a["text"] == "模拟数据 SYNTHETIC" for a in fig["layout"]["annotations"])
    assert page.figs[1]["data"][0]["name"] == "basis"            # other indicators: small charts
    assert "表1" in html and "Table 1" in html and html.count("<table") == 1


def test_signal_panel_monthly_lists():
    """(quantity, code) month-end indicators: the monthly buy and sell lists name exactly the codes flagged."""
    from engine.report.signal_panel import signal_blocks

    months = pd.DatetimeIndex(["2024-01-31", "2024-02-29"])
    cols = pd.MultiIndex.from_product([["buy", "sell", "mean_rank"], ["A.SI", "B.SI", "C.SI"]])
    ind = pd.DataFrame([[1, 0, 1, 0, 1, 0, 1, 2, 3], [0, 0, 1, 1, 0, 0, 3, 1, 2]], months, cols, dtype=float)
    w = pd.DataFrame(0.0, pd.bdate_range("2024-01-01", "2024-03-29"), columns=["A.SI", "B.SI", "C.SI"])
    page = Page("t", "en")
    html = "".join(signal_blocks(page, _signal_run(ind, w)))
    rows = re.findall(r"<tr><th>(2024-0\d)</th><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td></tr>", html)
    assert rows == [("2024-02", "C.SI", "A.SI"), ("2024-01", "A.SI、C.SI", "B.SI")]
    assert page.figs[0]["data"][0]["type"] == "heatmap"


def test_open_calls_the_browser_with_the_page(tmp_path):
    """--open hands report.html's file:// URL to the default browser ($BROWSER here: a script that records it)."""
    marker = tmp_path / "opened.txt"
    opener = tmp_path / "opener.sh"
    opener.write_text(f'#!/bin/sh\necho "$1" > {marker}\n')
    opener.chmod(0o755)
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "engine.run", "strategies/ma_timing.yaml", "--out", str(out),
                        "--no-chart", "--report", "html", "--open"], cwd=ROOT, capture_output=True, text=True,
                       timeout=900, env={**__import__("os").environ, "BROWSER": str(opener)})
    assert r.returncode == 0, r.stderr[-1500:]
    import time

    for _ in range(50):
        if marker.exists() and marker.read_text().strip():
            break
        time.sleep(0.1)
    assert marker.read_text().strip() == (out / "report.html").resolve().as_uri()


def test_rounded_equals_decimal_formatting():
    """The vectorised rounding of the chart data equals Python's '%.5g' parsed back, value for value (20,000
    log-normal values of both signs over 25 orders of magnitude, zero, NaN, inf, a large number)."""
    from engine.report.html import rounded

    rng = np.random.default_rng(0)
    x = np.r_[rng.lognormal(0, 3, 20000) * rng.choice([-1, 1], 20000), 0.0, np.nan, np.inf, 123456789.0]
    assert rounded(x, 5) == [float(f"{v:.5g}") if np.isfinite(v) else None for v in x]
    assert rounded(x, 3) == [float(f"{v:.3g}") if np.isfinite(v) else None for v in x]


def test_sweep_page_heatmap_and_top_table(tmp_path):
    """Sweep page: the heatmap cell (short=s, long=l) is the in-sample Sharpe of that row of sweep.csv (a naive
    lookup), the metric menu offers the other metrics, rank 1 of the top table is the row with the highest
    in-sample Sharpe, the IS/OOS scatter holds every combination, DSR and PBO carry their one-sentence
    explanations."""
    out = tmp_path / "sw"
    r = cli("strategies/ma_timing.yaml", "--sweep", "--out", str(out), "--no-chart", "--set",
            "sweep.split={in_sample: [2010-01-04, 2017-12-29], out_of_sample: [2018-01-02, 2025-12-31]}")
    assert r.returncode == 0, r.stderr[-2000:]
    text = (out / "report.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script id="jg-data" type="application/json">(.*?)</script>', text, re.S)
                      .group(1).replace("<\\/", "</"))
    res = pd.read_csv(out / "sweep.csv")
    heat = next(f for f in data["figs"] if f["data"][0]["type"] == "heatmap")["data"][0]
    for i, ys in enumerate(heat["y"]):
        for j, xs in enumerate(heat["x"]):
            row = res[(res["signal.params.short"] == int(ys)) & (res["signal.params.long"] == int(xs))]
            assert len(row) == 1
            assert heat["z"][i][j] == pytest.approx(row["is_sharpe"].iloc[0], rel=5e-4)   # 4 significant digits
    menus = next(f for f in data["figs"] if f["data"][0]["type"] == "heatmap")["layout"]["updatemenus"][0]
    assert [b["label"] for b in menus["buttons"]][:3] == ["is_sharpe", "is_annual_return", "is_max_drawdown"]
    best = res.loc[res["is_sharpe"].idxmax()]
    first = re.search(r"<tbody><tr><th>1</th><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", text)
    assert (int(first.group(1)), int(first.group(2))) == (best["signal.params.short"], best["signal.params.long"])
    scatter = next(f for f in data["figs"] if f["data"][0].get("mode") == "markers")["data"][0]
    assert len(scatter["x"]) == len(res)
    assert "DSR (deflated Sharpe ratio)" in text and "PBO (probability of backtest overfitting" in text


def test_generic_page_for_other_callers(tmp_path):
    """The generic writer other results folders use (e.g. the dashboard): a PNG is embedded as a data: URI (the
    bytes come back), text is escaped, a table keeps its numbers; the file refers to nothing outside itself."""
    from PIL import Image

    from engine.report.html import write_page

    png = tmp_path / "b.png"
    Image.new("RGB", (8, 4), (200, 10, 10)).save(png)
    page = Page("周度看板 dashboard", "both", synthetic=True)
    page.section(("杠杆资金", "Leverage"), page.image(png, caption=("图", "chart")), page.pre("a < b & c"),
                 page.table(pd.DataFrame({"share": [0.1234]}, index=pd.Index(["x"], name="k"))))
    text = write_page(tmp_path / "report.html", page, {"week": "2025-W01"}).read_text(encoding="utf-8")
    m = re.search(r'src="data:image/png;base64,([^"]+)"', text)
    assert base64.b64decode(m.group(1)) == png.read_bytes()
    assert "a &lt; b &amp; c" in text and 'data-value="0.1234"' in text and "12.34%" in text
    assert "模拟数据" in text and "2025-W01" in text
    assert not re.search(r"https?://", text.replace(m.group(1), ""))
