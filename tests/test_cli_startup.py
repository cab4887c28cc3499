"""Start-up work of ``python -m engine.run`` (issue 6): what a run imports, the lazy modules, the cheap chart.

No timings are asserted: the tests check *which* modules a run executes and that deferred ones work when used.
Checks of the process-wide import state run in a fresh interpreter (``sys.executable -c``), because the test
process itself has long imported scipy and matplotlib.
"""
import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import types
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine._lazy import is_lazy, lazy_import

ROOT = Path(__file__).resolve().parents[1]


def run_py(code: str) -> dict:
    """Run ``code`` in a fresh interpreter at the repo root; it prints one JSON line last, returned as a dict."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "MPLBACKEND": "Agg"}, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


STATE = """
import sys
from engine._lazy import is_lazy
def state(name):
    m = sys.modules.get(name)
    return "absent" if m is None else ("lazy" if is_lazy(m) else "loaded")
def states():
    return {n: state(n) for n in ("scipy.stats", "scipy.optimize", "scipy.linalg", "matplotlib")}
"""


# ------------------------------------------------------------------------------------------------ the run path
def test_run_leaves_scipy_and_matplotlib_unexecuted(tmp_path):
    """The imports of ``engine.run._run`` and then a whole ``--no-chart`` run of the embedded MA strategy (signal,
    numba kernels, backtest, empyrical metrics, results files) never execute scipy.stats/optimize/linalg (they stay
    lazy placeholders) and never import matplotlib."""
    out = tmp_path / "run"
    got = run_py(STATE + textwrap.dedent(f"""
        import json
        import engine.run
        from engine.config import load_config
        from engine.data.sources import load_dataset
        from engine.metrics import format_metrics_table
        from engine.pipeline import config_dir, run_strategy
        from engine.report import SYNTH_BANNER, format_extra_benchmarks, make_run_dir, write_results
        from engine.signals import REGISTRY
        after_imports = states()
        rc = engine.run.main(["strategies/ma_timing.yaml", "--no-chart", "--out", {str(out)!r}])
        print(json.dumps({{"imports": after_imports, "run": states(), "rc": rc}}))
    """))
    # engine.metrics is a package whose names load on first use: the imports alone do not reach engine.metrics.single
    assert got["imports"] == {"scipy.stats": "absent", "scipy.optimize": "absent", "scipy.linalg": "absent",
                              "matplotlib": "absent"}
    lazy = {"scipy.stats": "lazy", "scipy.optimize": "lazy", "scipy.linalg": "lazy", "matplotlib": "absent"}
    assert got["rc"] == 0 and got["run"] == lazy
    m = json.loads((out / "metrics.json").read_text())
    assert m["strategy"]["sharpe"] is not None and m["benchmark"]["max_drawdown"] < 0


def test_lazy_scipy_works_when_touched():
    """After the run-path registrations, first use loads the real modules in place: norm.cdf(1.96) equals the erf
    closed form; empyrical's own scipy users work (stability_of_timeseries = R^2 of the cumulative log returns on
    time, via stats.linregress); the skew/kurtosis entries empyrical took before the load compute the population
    moment formulas; scipy.optimize solves x^2 = 2."""
    got = run_py(STATE + textwrap.dedent("""
        import json, numpy as np
        import engine.metrics.single
        before = states()
        from scipy.stats import norm
        import scipy.stats, scipy.optimize, empyrical
        x = np.random.default_rng(1).standard_normal(300) * 0.01
        simple = {f.__name__: f for f in empyrical.stats.SIMPLE_STAT_FUNCS}
        print(json.dumps({
            "before": before, "after": states(),
            "cdf": float(norm.cdf(1.96)),
            "same_module": empyrical.stats.stats is sys.modules["scipy.stats"] is scipy.stats,
            "skew_is_real": type(scipy.stats.skew).__name__ == "function",
            "skew": float(simple["skew"](x)), "kurtosis": float(simple["kurtosis"](x)),
            "stability": float(empyrical.stability_of_timeseries(x)),
            "x": x.tolist(),
            "root": float(scipy.optimize.brentq(lambda v: v * v - 2.0, 0.0, 2.0, xtol=1e-14)),
        }))
    """))
    assert got["before"]["scipy.stats"] == got["before"]["scipy.optimize"] == "lazy"
    assert got["after"]["scipy.stats"] == got["after"]["scipy.optimize"] == "loaded"
    assert got["cdf"] == pytest.approx(0.5 * (1 + math.erf(1.96 / math.sqrt(2))), rel=1e-12)
    assert got["same_module"] and got["skew_is_real"]
    x = np.array(got["x"])
    d = x - x.mean()
    m2, m3, m4 = (d ** 2).mean(), (d ** 3).mean(), (d ** 4).mean()
    assert got["skew"] == pytest.approx(m3 / m2 ** 1.5, rel=1e-9)
    assert got["kurtosis"] == pytest.approx(m4 / m2 ** 2 - 3, rel=1e-9)
    t = np.arange(len(x))
    assert got["stability"] == pytest.approx(np.corrcoef(t, np.cumsum(np.log1p(x)))[0, 1] ** 2, rel=1e-9)
    assert got["root"] == pytest.approx(math.sqrt(2), rel=1e-12)


# ------------------------------------------------------------------------------------------------ engine._lazy
@pytest.fixture
def make_pkg(tmp_path, monkeypatch):
    """Write a fresh uniquely named package from {relative path: source}; every module body records its run in
    ``<pkg>.probe.RUNS`` (the probe module is imported eagerly). Cleans sys.modules afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names = []

    def make(files: dict) -> tuple[str, list]:
        pkg = f"lzpkg_{uuid.uuid4().hex[:10]}"
        names.append(pkg)
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "probe.py").write_text("RUNS = []\n")
        for rel, src in {"__init__.py": "", **files}.items():
            p = tmp_path / pkg / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"from {pkg}.probe import RUNS\nRUNS.append(__name__)\n" + textwrap.dedent(src))
        probe = __import__(f"{pkg}.probe", fromlist=["RUNS"])
        probe.RUNS.clear()                                        # the package __init__ itself ran
        return pkg, probe.RUNS

    yield make
    for k in [k for k in sys.modules if k.split(".")[0] in names]:
        del sys.modules[k]


def test_placeholder_runs_on_first_attribute_only(make_pkg):
    pkg, runs = make_pkg({"heavy.py": "VALUE = 6 * 7\n"})
    m = lazy_import(f"{pkg}.heavy")
    assert is_lazy(m) and runs == [] and sys.modules[f"{pkg}.heavy"] is m
    child = __import__(pkg, fromlist=["heavy"]).heavy              # from pkg import heavy
    __import__(f"{pkg}.heavy")                                     # import pkg.heavy
    assert child is m and runs == [] and m.__name__ == f"{pkg}.heavy"
    assert m.VALUE == 42 and runs == [f"{pkg}.heavy"] and not is_lazy(m)
    assert m.VALUE == 42 and runs == [f"{pkg}.heavy"]              # executed once
    assert lazy_import(f"{pkg}.heavy") is m                        # already imported: returned as is


def test_submodule_of_placeholder_package_skips_package_init(make_pkg):
    """numba's first kernel call imports scipy.linalg.cython_blas: with scipy.linalg a placeholder, only the
    submodule runs; the package runs on its first real use and keeps the submodule."""
    pkg, runs = make_pkg({"big/__init__.py": "SIZE = 3\n", "big/blas.py": "X = 1\n"})
    big = lazy_import(f"{pkg}.big")
    blas = __import__(f"{pkg}.big.blas", fromlist=["X"])
    assert blas.X == 1 and runs == [f"{pkg}.big.blas"] and is_lazy(big)
    assert big.SIZE == 3 and runs == [f"{pkg}.big.blas", f"{pkg}.big"] and big.blas is blas


def test_deferred_callable_before_load(make_pkg):
    pkg, runs = make_pkg({"fns.py": "def double(x):\n    return 2 * x\n"})
    m = lazy_import(f"{pkg}.fns", deferred=("double",))
    f = m.double                                                   # looked up, not loaded
    assert runs == [] and is_lazy(m) and f.__name__ == "double"
    assert f(21) == 42 and runs == [f"{pkg}.fns"]
    assert m.double is not f and m.double(5) == 10 == f(5)         # the module attribute is the real function


def test_threads_wait_for_a_complete_module(make_pkg):
    """Python 3.11's LazyLoader lets a second thread read a half-executed module (AttributeError); here every
    thread gets the finished module (the body sleeps so that all threads arrive during the load)."""
    pkg, runs = make_pkg({"slow.py": "import time\ntime.sleep(0.3)\nDONE = 'yes'\n"})
    m = lazy_import(f"{pkg}.slow")
    barrier, got, errors = threading.Barrier(4), [], []

    def touch():
        barrier.wait()
        try:
            got.append(m.DONE)
        except Exception as e:          # noqa: BLE001 - the failure being tested
            errors.append(repr(e))

    threads = [threading.Thread(target=touch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and got == ["yes"] * 4 and runs == [f"{pkg}.slow"]


def test_failed_load_is_forgotten_like_a_failed_import(make_pkg):
    pkg, _ = make_pkg({"broken.py": "raise ValueError('broken on purpose')\n"})
    m = lazy_import(f"{pkg}.broken")
    with pytest.raises(ValueError, match="broken on purpose"):
        m.anything
    assert f"{pkg}.broken" not in sys.modules


def test_lazy_import_missing_module():
    with pytest.raises(ModuleNotFoundError):
        lazy_import(f"json.no_such_module_{uuid.uuid4().hex[:6]}")


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
