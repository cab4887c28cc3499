"""report.html in a real headless browser (Debian's Chromium; .ci/run installs it where apt-get works): the run,
sweep, comparison and dashboard pages load with no errors, every chart renders, the screenshot is not blank, and
the numbers in the rendered page equal metrics.json / comparison.csv / the dashboard's table CSVs. Skipped with
the reason where Chromium cannot run.

The pages report their own errors: a ``window.onerror`` / ``console.error`` / unhandled-rejection hook written
into the page (engine/report/html.py) appends each to ``#jg-errors``, and the page sets ``data-charts-rendered``
when plotly has drawn every chart; ``--dump-dom`` returns the DOM after the scripts ran."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_report_html import cells_of

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-extensions", "--virtual-time-budget=30000", "--run-all-compositor-stages-before-draw"]


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = chromium()
    if exe is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it when apt works)")
    probe = tmp_path_factory.mktemp("probe") / "p.html"
    probe.write_text("<html><body><p id=x></p><script>document.getElementById('x').textContent='ok'</script>"
                     "</body></html>")
    try:
        r = subprocess.run([exe, *FLAGS, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"Chromium cannot run here: {exc}")
    if '<p id="x">ok</p>' not in r.stdout:
        pytest.skip(f"Chromium cannot run here: {r.stderr.strip().splitlines()[-1:]}")
    return exe


def dump(exe, page: Path) -> str:
    r = subprocess.run([exe, *FLAGS, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def screenshot(exe, page: Path, out: Path) -> np.ndarray:
    from PIL import Image

    subprocess.run([exe, *FLAGS, "--hide-scrollbars", "--window-size=1280,2000", f"--screenshot={out}",
                    page.as_uri()], capture_output=True, text=True, timeout=300)
    with Image.open(out) as im:
        return np.asarray(im.convert("RGB"))


def check_rendered(dom: str, min_charts: int):
    """No error reported by the page; every chart placeholder drawn by plotly (an SVG per chart)."""
    import re

    errs = re.search(r'<div id="jg-errors"[^>]*>(.*?)</div>', dom, re.S)
    assert errs is not None and errs.group(1).strip() == "", errs and errs.group(1)[:2000]
    n = int(re.search(r'data-charts="(\d+)"', dom).group(1))
    assert n >= min_charts
    assert f'data-charts-rendered="{n}"' in dom
    assert dom.count('class="chart ') >= n or dom.count('class="chart') >= n
    assert len(re.findall(r'<svg class="main-svg"', dom)) >= n


def check_not_blank(img: np.ndarray):
    """Not one colour: many distinct colours, and ink (dark pixels) and chart colours present."""
    flat = img.reshape(-1, 3)
    assert len(np.unique(flat[:: 7], axis=0)) > 100
    assert (flat.sum(axis=1) < 200).mean() > 0.001
    assert img.std() > 10


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    base = tmp_path_factory.mktemp("pages")

    def run(*args, module="engine.run"):
        r = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                           timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]

    run("strategies/ma_timing.yaml", "--out", str(base / "run"), "--no-chart")
    run("strategies/ma_timing.yaml", "--sweep", "--out", str(base / "sweep"), "--no-chart", "--set",
        "sweep.split={in_sample: [2010-01-04, 2017-12-29], out_of_sample: [2018-01-02, 2025-12-31]}")
    run("strategies/ma_timing.yaml", "strategies/hold.yaml", "--out", str(base / "compare"), "--no-chart",
        module="engine.compare")
    run("--week", "2024-03-06", "--out", str(base / "dashboard"), "--no-chart", module="engine.dashboard")
    return base


def test_run_page_in_browser(browser, pages, tmp_path):
    page = pages / "run" / "report.html"
    dom = dump(browser, page)
    check_rendered(dom, 10)
    m = json.loads((pages / "run" / "metrics.json").read_text())
    cells = cells_of(dom)
    for sec in ("strategy", "benchmark", "excess"):
        for k, v in m[sec].items():
            if isinstance(v, float):
                assert float(cells[f"{sec}.{k}"][0]) == v
    assert cells["strategy.sharpe"][1] == f"{m['strategy']['sharpe']:.3f}"
    assert cells["strategy.annual_return"][1] == f"{m['strategy']['annual_return'] * 100:.2f}%"
    check_not_blank(screenshot(browser, page, tmp_path / "run.png"))


def test_sweep_page_in_browser(browser, pages, tmp_path):
    page = pages / "sweep" / "report.html"
    dom = dump(browser, page)
    check_rendered(dom, 2)                          # one heatmap (short x long) and the IS/OOS scatter
    meta = json.loads((pages / "sweep" / "meta.json").read_text())
    cells = cells_of(dom)
    assert float(cells["selection.dsr"][0]) == pytest.approx(meta["selection"]["dsr"]["dsr"], rel=1e-12)
    assert float(cells["selection.pbo"][0]) == pytest.approx(meta["selection"]["pbo"]["pbo"], rel=1e-12)
    for word in ("DSR (deflated Sharpe ratio)", "PBO (probability of backtest overfitting"):
        assert word in dom
    check_not_blank(screenshot(browser, page, tmp_path / "sweep.png"))


def test_compare_page_in_browser(browser, pages, tmp_path):
    page = pages / "compare" / "report.html"
    dom = dump(browser, page)
    check_rendered(dom, 2)
    tab = pd.read_csv(pages / "compare" / "comparison.csv", index_col=0)
    cells = cells_of(dom)
    n = 0
    for col in tab.columns:
        for key, v in pd.to_numeric(tab[col], errors="coerce").items():   # date rows are text
            if pd.notna(v):
                assert float(cells[f"{col}.{key}"][0]) == pytest.approx(float(v), rel=1e-15)
                n += 1
    assert n >= 30
    for name in tab.columns:                       # every column's curve is in the equity chart's legend
        assert f'data-unformatted="{name}"' in dom or f">{name}<" in dom
    check_not_blank(screenshot(browser, page, tmp_path / "compare.png"))


def test_dashboard_page_in_browser(browser, pages, tmp_path):
    page = pages / "dashboard" / "report.html"
    dom = dump(browser, page)
    check_rendered(dom, 10)                         # 2 leverage, 4 quant, 2 main-force, 2 northbound charts
    tab = pd.read_csv(pages / "dashboard" / "tables" / "SYNTHETIC-leverage__0.csv", index_col=0)
    v = float(tab.at["margin balance (CNY)", "this week"])
    assert float(cells_of(dom)["leverage|summary|margin balance (CNY)|this week"][0]) == v
    check_not_blank(screenshot(browser, page, tmp_path / "dashboard.png"))
