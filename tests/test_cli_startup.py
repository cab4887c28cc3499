"""Start-up work of ``python -m engine.run`` (issue 6, issue 17): what a run imports, the cheap chart.

No timings are asserted: the tests check *which* modules a run imports. Checks of the process-wide import state run
in a fresh interpreter (``sys.executable -c``), because the test process itself has long imported scipy, empyrical
and matplotlib.
"""
import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_py(code: str) -> dict:
    """Run ``code`` in a fresh interpreter at the repo root; it prints one JSON line last, returned as a dict."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "MPLBACKEND": "Agg"}, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


HEAVY = ("empyrical", "scipy.stats", "scipy.optimize", "matplotlib")


# ------------------------------------------------------------------------------------------------ the run path
def test_run_imports_neither_empyrical_nor_scipy_stats_nor_matplotlib(tmp_path):
    """The imports of ``engine.run._run`` and then a whole ``--no-chart`` run of the embedded MA strategy (signal,
    numba kernels, backtest, metrics, results files) import none of empyrical (whose import loads scipy.stats and
    scipy.optimize, about 1 s), scipy.stats, scipy.optimize and matplotlib; the metrics are still written."""
    out = tmp_path / "run"
    got = run_py(textwrap.dedent(f"""
        import json, sys
        HEAVY = {HEAVY!r}
        import engine.run
        from engine.config import load_config
        from engine.data.sources import load_dataset
        from engine.metrics import compute_metrics, format_metrics_table, yearly_table
        from engine.pipeline import config_dir, run_strategy
        from engine.report import SYNTH_BANNER, format_extra_benchmarks, make_run_dir, write_results
        from engine.signals import REGISTRY
        after_imports = sorted(n for n in HEAVY if n in sys.modules)
        rc = engine.run.main(["strategies/ma_timing.yaml", "--no-chart", "--out", {str(out)!r}])
        print(json.dumps({{"imports": after_imports, "run": sorted(n for n in HEAVY if n in sys.modules), "rc": rc}}))
    """))
    assert got["imports"] == [] and got["run"] == [] and got["rc"] == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["strategy"]["sharpe"] is not None and m["benchmark"]["max_drawdown"] < 0
    assert m["excess"]["beta"] is not None and m["excess"]["alpha"] is not None


def test_no_lazy_placeholders_in_sys_modules():
    """Issue 17: the engine no longer registers placeholder modules (``importlib.util.LazyLoader``) for scipy or
    anything else; after importing the run's modules and the sweep statistics, every module in ``sys.modules`` is
    an executed module, and scipy.stats is the real one."""
    got = run_py(textwrap.dedent("""
        import importlib.util, json, sys
        import engine.run, engine.metrics.single, engine.metrics.vector, engine.report, engine.pipeline
        import engine.sweep.stats
        import scipy.stats      # a real import: the sweep statistics use scipy.special, nothing registers scipy.stats
        lazy = [n for n, m in list(sys.modules.items()) if isinstance(m, importlib.util._LazyModule)]
        print(json.dumps({"lazy": lazy, "norm": float(sys.modules["scipy.stats"].norm.cdf(0.0))}))
    """))
    assert got["lazy"] == [] and got["norm"] == 0.5


# ------------------------------------------------------------------------------------------------ the chart
def _fake_run(synthetic: bool):
    idx = pd.bdate_range("2024-01-01", periods=80)
    rng = np.random.default_rng(3)
    rs = pd.Series(np.r_[0.0, rng.normal(0.001, 0.02, 79)], idx)
    rb = pd.Series(np.r_[0.0, rng.normal(-0.002, 0.015, 79)], idx)
    re = pd.Series(np.r_[0.0, rng.normal(0.0, 0.01, 79)], idx)
    ns = types.SimpleNamespace
    return ns(backtest=ns(returns=rs), benchmark_returns=rb, extra_benchmarks={"equal_weight": re},
              cfg=ns(name="strat", benchmark=ns(name="CSI 300")), dataset=ns(synthetic=synthetic))


@pytest.mark.parametrize("synthetic", [True, False])
def test_chart_shows_equity_drawdowns_and_synthetic_banner(tmp_path, synthetic):
    """The chart as written: 900x540 PNG; title with the SYNTHETIC banner iff synthetic; top panel = (1+r).cumprod()
    of strategy, benchmark and the extra benchmark with a legend; bottom panel = drawdowns V/max(V)-1; log-axis
    labels are plain numbers equal to their tick positions (no TeX mathtext)."""
    from PIL import Image

    from engine.report import _chart, chart_figure

    run = _fake_run(synthetic)
    fig = chart_figure(run)
    png = tmp_path / "equity.png"
    fig.savefig(png, dpi=90)                                      # draws: tick labels exist after this
    a1, a2 = fig.axes
    assert ("[SYNTHETIC signal inputs]" in a1.get_title()) is synthetic
    assert [t.get_text() for t in a1.get_legend().get_texts()] == ["strat", "CSI 300", "equal_weight"]
    series = [run.backtest.returns, run.benchmark_returns, run.extra_benchmarks["equal_weight"]]
    for line, r in zip(a1.get_lines(), series):
        np.testing.assert_allclose(line.get_ydata(), np.cumprod(1 + r.to_numpy()), rtol=1e-12)
    for line, r in zip(a2.get_lines(), series[:2]):
        v = np.cumprod(1 + r.to_numpy())
        np.testing.assert_allclose(line.get_ydata(), v / np.maximum.accumulate(v) - 1, rtol=1e-12, atol=1e-15)
    labels = [(t.get_text(), t.get_position()[1]) for t in a1.yaxis.get_ticklabels(which="both") if t.get_text()]
    assert labels
    for text, y in labels:
        assert "$" not in text and float(text) == pytest.approx(y, rel=1e-9)
    out = tmp_path / "written.png"
    _chart(run, out)
    with Image.open(out) as im:
        assert im.size == (900, 540)
