"""Sweeps that share indicator components (engine.signals.components): swept rows equal single runs exactly, the
array rules equal the pandas rules, each component is computed once per distinct value of its parameters, the
store is bounded, chunks keep combinations that share components together, signals without a map still work."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import engine.sweep.execute as se
from engine.config import load_config
from engine.metrics.vector import metrics_json_view
from engine.pipeline import run_strategy
from engine.signals import REGISTRY
from engine.signals.components import ComponentMap, Components, ComponentStore, merge_deps, nbytes
from engine.sweep import assemble, load_raw, make_tasks, resolve_periods
from engine.sweep.grid import parse_sweep, plan
from engine.sweep.pool import run_tasks

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["data.size=small", "data.start=2014-01-01", "data.end=2019-12-31"]


def _sweep(tmp_path, monkeypatch, yaml, sweep, fixed=SMALL):
    monkeypatch.setattr(se, "cache_root", lambda: tmp_path / "sweeps")
    raw, source, lines = load_raw(ROOT / "strategies" / yaml, fixed + [f"sweep={sweep}"])
    p = plan(raw, source, parse_sweep(raw["sweep"]), lines)
    tasks = make_tasks(p, resolve_periods(p, None), None)
    res, _, skipped = assemble(p, run_tasks(tasks, "serial")[0])
    return p, tasks, res, skipped


def _assert_rows_equal_single_runs(yaml, p, res, picks, fixed=SMALL):
    """Rows ``picks`` of the sweep table equal run_strategy of the same --set overrides: ==, NaN where NaN."""
    for i in picks:
        row = res.iloc[i]
        sets = fixed + [f"{k}={row[k]}" for k in p.spec.keys]
        cfg = load_config(ROOT / "strategies" / yaml, sets)
        run = run_strategy(cfg, se.get_dataset(cfg, None))
        for k, v in metrics_json_view(run.metrics).items():
            got = row[k]
            assert (np.isnan(v) and np.isnan(got)) or got == v, (yaml, sets, k, got, v)


@pytest.mark.parametrize("yaml, sweep, picks", [
    ("sentiment.yaml", "{signal.params.trend_k: [5, 9], signal.params.trend: [diff, slope], "
     "signal.params.temp_window: [500, 750], signal.params.conc_overlay: [false, true], chunk_size: 3}",
     [0, 5, 10, 15]),
    ("turnover_rotation.yaml", "{signal.params.variant: [A, C], signal.params.st_window: [10, 20], "
     "signal.params.relative: [none, equal_weight], signal.params.portfolio: [buy_list, tilt], "
     "signal.params.norm_window: [120, 250], chunk_size: 5}", [0, 7, 13, 22, 31]),
    ("rotation_crowding.yaml", "{signal.params.hot_pct: [0.9, 0.95], signal.params.flag_when: [month_end, any_day], "
     "signal.params.crowd_st_window: [10, 20], signal.params.dropped: [renormalise, cash], chunk_size: 4}",
     [0, 6, 9, 15]),
    ("crowding.yaml", "{signal.params.share_variant: [market, hhi], signal.params.flag_when: [month_end, min_days], "
     "chunk_size: 2}", [0, 3]),
])
def test_swept_rows_equal_single_runs_exactly(tmp_path, monkeypatch, yaml, sweep, picks):
    p, tasks, res, skipped = _sweep(tmp_path, monkeypatch, yaml, sweep)
    assert not skipped and len(res) == len(p.configs) and len(tasks) > 1
    _assert_rows_equal_single_runs(yaml, p, res, picks)


def test_cli_set_run_equals_the_swept_row(tmp_path, monkeypatch):
    """The command line single run (python -m engine.run X.yaml --set ...) gives the swept row's metrics exactly."""
    import json
    import subprocess
    import sys

    p, _, res, _ = _sweep(tmp_path, monkeypatch, "turnover_rotation.yaml",
                          "{signal.params.variant: [B], signal.params.mt_window: [40, 120], chunk_size: 1}")
    row = res[res["signal.params.mt_window"] == 120].iloc[0]
    sets = SMALL + ["signal.params.variant=B", "signal.params.mt_window=120"]
    out = tmp_path / "one"
    r = subprocess.run([sys.executable, "-m", "engine.run", "strategies/turnover_rotation.yaml", "--out", str(out),
                        "--no-chart", "--report", "md", *[a for s in sets for a in ("--set", s)]],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    for k, v in metrics_json_view(json.loads((out / "metrics.json").read_text())).items():
        assert (np.isnan(v) and np.isnan(row[k])) or row[k] == v, (k, row[k], v)


def test_a_component_is_computed_once_per_distinct_parameters(tmp_path, monkeypatch):
    """60 sentiment combinations over two 温度 windows: 温度 twice, 预期 three times, in this process's store
    across 8 chunks; 浓度 never (without conc_overlay the weights do not read it; with it, once: the next test)."""
    store = ComponentStore(2**30)
    monkeypatch.setattr(se, "_STORE", store)
    sweep = ("{signal.params.trend_k: [5, 8, 9, 10, 15], signal.params.trend: [diff, slope], "
             "signal.params.temp_window: [750, 1050], signal.params.exp_smooth: [1, 3, 5], chunk_size: 8}")
    p, tasks, res, _ = _sweep(tmp_path, monkeypatch, "sentiment.yaml", sweep, fixed=["data.size=small"])
    assert len(res) == 60 and len(tasks) == 8
    made = pd.Series([k[1].__name__ for k in store._items]).value_counts()
    assert "_c_concentration" not in made and made["_c_temperature"] == 2 and made["_c_expectation"] == 3
    assert store.misses == len(store._items)            # nothing computed twice (the budget holds everything)


def test_concentration_is_computed_once_when_the_overlay_reads_it(tmp_path, monkeypatch):
    """With conc_overlay swept [false, true], 浓度 is computed once (for the overlay rows) and shared."""
    store = ComponentStore(2**30)
    monkeypatch.setattr(se, "_STORE", store)
    sweep = "{signal.params.trend_k: [5, 9], signal.params.conc_overlay: [false, true], chunk_size: 2}"
    p, tasks, res, _ = _sweep(tmp_path, monkeypatch, "sentiment.yaml", sweep, fixed=["data.size=small"])
    assert len(res) == 4
    made = pd.Series([k[1].__name__ for k in store._items]).value_counts()
    assert made["_c_concentration"] == 1 and made["_c_temperature"] == 1


def test_chunks_follow_the_costliest_component():
    """Combinations are cut into chunks in the order of their component keys: the costliest component (the
    turnover slope: norm_window) changes at most once per chunk boundary, and every plan row is in one chunk."""
    raw, source, lines = load_raw(ROOT / "strategies" / "turnover_rotation.yaml", SMALL + [
        "sweep={signal.params.st_window: [5, 10, 20], signal.params.norm_window: [60, 120, 250], chunk_size: 3}"])
    p = plan(raw, source, parse_sweep(raw["sweep"]), lines)
    tasks = make_tasks(p, resolve_periods(p, None), None)
    assert sorted(r for t in tasks for r in t.rows) == list(range(9))
    for t in tasks:
        assert len({c.signal.params["norm_window"] for c in t.configs}) == 1
        assert [c.signal.params["st_window"] for c in t.configs] == [p.rows[r][0] for r in t.rows]


def test_signal_without_a_map_sweeps_as_before(tmp_path, monkeypatch):
    """dashboard_timing declares no components: one compute per parameter set; rows equal single runs."""
    assert REGISTRY["dashboard_timing"].components is None
    fixed = ["data.size=small", "data.start=2014-01-01", "data.end=2019-12-31"]
    p, _, res, _ = _sweep(tmp_path, monkeypatch, "dashboard_margin_timing.yaml",
                          "{signal.params.threshold: [0.1, 0.3], signal.params.window: [26, 52]}", fixed=fixed)
    assert len(res) == 4
    _assert_rows_equal_single_runs("dashboard_margin_timing.yaml", p, res, [0, 3], fixed=fixed)


# ----------------------------------------------------------------------------------------------- array rules
def _pandas_rotation_rows(valid, buy, sell, empty, portfolio, buy_tilt, sell_cut):
    """The rule as pandas frames (engine.signals.turnover_rotation.rotation_weights, the documented reference)."""
    from engine.signals.turnover_rotation import rotation_weights

    f = lambda a: pd.DataFrame(a)  # noqa: E731
    return rotation_weights({"valid": f(valid), "buy": f(buy), "sell": f(sell)}, empty, portfolio, buy_tilt,
                            sell_cut).to_numpy()


@pytest.mark.parametrize("portfolio, empty, tilt, cut", [("buy_list", "cash", 1.0, 0.5),
                                                         ("buy_list", "equal_weight", 1.0, 0.5),
                                                         ("tilt", "cash", 1.0, 0.5), ("tilt", "cash", 0.37, 0.9),
                                                         ("tilt", "cash", 2.5, 1.0)])
def test_array_rotation_rule_equals_the_pandas_rule(portfolio, empty, tilt, cut):
    from engine.signals.turnover_rotation import rule_rows_from

    rng = np.random.default_rng(7)
    for _ in range(20):
        g, n = rng.integers(1, 60), rng.integers(1, 40)
        valid = rng.random((g, n)) < rng.uniform(0.0, 1.0)
        buy, sell = rng.random((g, n)) < 0.3, rng.random((g, n)) < 0.3
        got = rule_rows_from(valid, buy, sell, empty, portfolio, tilt, cut)
        want = _pandas_rotation_rows(valid, buy, sell, empty, portfolio, tilt, cut)
        assert np.array_equal(got, want)             # bit for bit, incl. the row sums' rounding


def _pandas_crowding_flags(ds, p):
    """The crowding flags as the pandas frames of the rule's definition (daily hot flags, then per month)."""
    from engine.signals.crowding_indicators import crowding_daily
    from engine.signals.industry_common import rolling_pct, sw_l1_months

    close, dates, ends, bounds = sw_l1_months(ds)
    daily = crowding_daily(ds, p)
    mp = int(p["pct_min_periods"])
    pb = rolling_pct(daily["bias"], p["pct_long"], mp)
    hot = {"bias": (pb >= p["hot_pct"]) | ((pb <= p["cold_pct"]) if p["stampede"] else False),
           "rho": (rolling_pct(daily["rho"], p["pct_long"], mp) >= p["hot_pct"]) if "rho" in daily
           else pd.DataFrame(False, index=dates, columns=close.columns),
           "share": rolling_pct(daily["share"], p["pct_short"], mp) >= p["hot_pct"]}
    month_id = np.repeat(np.arange(len(ends)), np.diff(bounds))
    out = {}
    for k, h in hot.items():
        if p["flag_when"] == "month_end":
            out[k] = h.iloc[ends].to_numpy()
        else:
            days = h.iloc[bounds[0]:bounds[-1]].astype(int).groupby(month_id).sum().to_numpy()
            out[k] = days >= (1 if p["flag_when"] == "any_day" else int(p["min_days"]))
    return out


@pytest.mark.parametrize("over", [{}, {"flag_when": "any_day"}, {"flag_when": "min_days", "min_days": 2},
                                  {"stampede": False, "correlation": False}, {"hot_pct": 0.8, "cold_pct": 0.2}])
def test_array_crowding_flags_equal_the_pandas_rule(small_ds, over):
    from engine.signals.crowding_indicators import CROWD_DEFAULTS, CROWDING_DEPS, crowding_flags

    p = {**CROWD_DEFAULTS, "pct_long": 250, "pct_min_periods": 120, **over}
    got = crowding_flags(p, Components(small_ds, CROWDING_DEPS, p))
    want = _pandas_crowding_flags(small_ds, p)
    for k in ("bias", "rho", "share"):
        assert np.array_equal(got[k], want[k]), k
    assert got["bias"].any() and np.array_equal(got["crowd"], want["bias"] | want["rho"] | want["share"])


@pytest.fixture(scope="module")
def small_ds():
    cfg = load_config(ROOT / "strategies" / "crowding.yaml", ["data.size=small"])
    return se.get_dataset(cfg, None)


# ----------------------------------------------------------------------------------------------- the store
def test_store_is_bounded_lru_and_values_read_only():
    st = ComponentStore(budget=3 * 8000 + 10)
    calls = []
    deps = {"a": ("x",)}

    def fn(ds, q, sub):
        calls.append(q["x"])
        return np.full(1000, float(q["x"]))          # 8,000 bytes

    for x in (1, 2, 3, 1, 4, 2):
        v = Components(None, deps, {"x": x, "other": 0}, st).get("a", fn)
        assert v[0] == x and not v.flags.writeable
    assert calls == [1, 2, 3, 4, 2]                  # 1 was reused; 4 evicted the least recently used (2)
    assert st.used <= st.budget and len(st) == 3 and st.hits == 1
    big = Components(None, {"a": ("x",)}, {"x": 9}, ComponentStore(100)).get("a", fn)
    assert big[0] == 9                                # larger than the budget: returned, not kept


def test_a_component_sees_only_its_declared_parameters():
    deps = {"a": ("x",), "b": ("x", "y")}

    def a(ds, q, sub):
        return q["y"]                                 # reads a parameter it did not declare

    with pytest.raises(KeyError):
        Components(None, deps, {"x": 1, "y": 2}).get("a", a)

    def b(ds, q, sub):
        assert set(q) == {"x", "y"}
        return sub.get("a", lambda ds, q, sub: q["x"] * 10)     # nested: its parameters must be among b's

    assert Components(None, deps, {"x": 1, "y": 2, "z": 3}).get("b", b) == 10


def test_same_name_different_function_is_not_shared_and_merge_checks_names():
    st = ComponentStore(2**20)
    deps = {"a": ("x",)}
    one = Components(None, deps, {"x": 1}, st).get("a", lambda ds, q, sub: "first")
    two = Components(None, deps, {"x": 1}, st).get("a", lambda ds, q, sub: "second")
    assert (one, two) == ("first", "second")
    assert merge_deps({"a": ("x",)}, {"a": ("x",), "b": ()}) == {"a": ("x",), "b": ()}
    with pytest.raises(ValueError):
        merge_deps({"a": ("x",)}, {"a": ("y",)})
    assert nbytes((np.zeros(10), {"k": np.zeros(5)})) >= 120


def test_shipped_maps_declare_only_signal_parameters():
    """Every parameter a component map names is a parameter of its signal (a typo would make a key constant and
    share a component that should differ)."""
    for name, spec in REGISTRY.items():
        if spec.components is None:
            continue
        assert isinstance(spec.components, ComponentMap)
        for comp, params in spec.components.deps.items():
            assert set(params) <= set(spec.defaults), (name, comp, set(params) - set(spec.defaults))


def _fake_tasks(n):
    from types import SimpleNamespace

    return [SimpleNamespace(key=f"k{i}", index=i, rows=[i]) for i in range(n)]


@pytest.mark.parametrize("first_s,rest_s,expect", [(0.6, 0.01, "serial"), (0.0, 0.2, "processes")])
def test_auto_executor_times_a_warm_chunk(monkeypatch, first_s, rest_s, expect):
    """``auto`` decides from the second chunk, not the first: the first also pays the process's one-time costs
    (numba's set-up on its first call), which made a 15-chunk rotation sweep of 0.1 s chunks look like 8 s of work
    and start a process pool that cost more than it saved. Fake chunks: a first chunk of ``first_s`` seconds then
    ``rest_s`` each; 12 chunks, threshold AUTO_PARALLEL_S = 1 s, so 10 x 0.2 s -> processes, 10 x 0.01 s -> serial
    (0.6 s first chunk alone would have read as 10 x 0.6 s)."""
    import time as _time

    import engine.sweep.pool as pool

    calls = []

    def fake_chunk(task):
        _time.sleep(first_s if not calls else rest_s)
        calls.append(task.index)
        return pd.DataFrame({"_row": task.rows})

    ran = {}
    monkeypatch.setattr(pool, "compute_chunk", fake_chunk)
    monkeypatch.setattr(pool, "load_cached", lambda key: None)
    monkeypatch.setattr(pool, "store", lambda key, table: None)
    monkeypatch.setattr(pool, "AUTO_PARALLEL_S", 1.0)
    monkeypatch.setattr(pool, "_run_processes", lambda todo, workers, done: ran.setdefault("pool", [t.index for t in todo]))
    tables, stats = run_tasks(_fake_tasks(12), "auto", workers=2)
    assert calls[:2] == [0, 1]                        # the first two chunks run here
    assert stats["executor"] == expect
    if expect == "processes":
        assert ran["pool"] == list(range(2, 12)) and len(tables) == 2
    else:
        assert "pool" not in ran and calls == list(range(12)) and len(tables) == 12


def test_rotation_sweeps_backtest_its_month_end_decisions_only():
    """turnover_rotation declares ``decisions``: a sweep batch is a SparsePaths of the month-end rows (held until
    the next), not a (T, P, N) array; forward filled it is ``compute``'s daily frame (NaN = keep positions where
    compute says 0 = cash, before the first month end), and the rebalance dates are compute's."""
    from engine.backtest.weightpaths import SparsePaths
    from engine.signals.batch import batch_weights

    cfg = load_config(ROOT / "strategies" / "turnover_rotation.yaml", SMALL)
    ds = se.get_dataset(cfg, None)
    spec = REGISTRY["turnover_rotation"]
    panel = ds.panel(spec.universe_for(cfg.signal.params))
    params = [spec.validate({**cfg.signal.params, **x}) for x in
              ({"variant": "A"}, {"variant": "C", "portfolio": "tilt"}, {"variant": "B", "empty": "equal_weight"},
               {"variant": "A"})]
    paths, problems, rebal = batch_weights(ds, "turnover_rotation", params, panel)
    assert isinstance(paths, SparsePaths) and paths.carry and problems == [None] * 4
    dense = paths.dense()
    for j, prm in enumerate(params):
        sig = spec.compute(ds, dict(prm))
        want = sig.weights.reindex(index=panel.dates, columns=panel.codes).to_numpy()
        first = panel.dates.get_indexer(sig.rebalance_dates)[0]
        assert np.isnan(dense[:first, j]).all() and (want[:first] == 0).all()
        np.testing.assert_array_equal(np.nan_to_num(dense[first:, j], nan=0.0), want[first:])
        assert rebal[j].equals(sig.rebalance_dates)
    months, n = len(rebal[0]), len(panel.codes)
    assert len(paths.rows) == 4 * months and paths.weights.size <= 4 * months * n   # decisions x codes held
    assert months < len(panel.dates) / 15                                            # vs T x P x N dense


def test_decision_rows_with_nan_mean_what_the_dense_frame_means():
    """A decision row that is all NaN is no decision (positions kept), a NaN cell is 0: the sparse batch of such
    rows backtests exactly like the dense frame holding each decision row until the next (a toy signal on a toy
    panel)."""
    from engine.backtest import run_backtest_many
    from engine.data.panel import Panel
    from engine.signals.batch import _decision_paths

    dates = pd.bdate_range("2024-01-01", periods=60, name="date")
    codes = pd.Index(["A", "B", "C"])
    rng = np.random.default_rng(3)
    close = pd.DataFrame(np.exp(np.cumsum(rng.normal(0, 0.02, (60, 3)), axis=0)) * 10, index=dates, columns=codes)
    panel = Panel("toy", {"close": close}, "toy")
    when = dates[[5, 20, 35, 50]]
    rows = pd.DataFrame([[0.5, 0.5, 0.0], [np.nan, np.nan, np.nan], [0.2, np.nan, 0.8], [0.0, 0.0, 0.0]],
                        index=when, columns=codes[::-1])          # columns not in the panel's order
    cmap = ComponentMap(deps={}, weights=None, decisions=lambda ds, p, comps: (rows, when))
    paths, problems, rebal = _decision_paths(None, "toy", cmap, [{}], panel, ComponentStore(2**20), "t")
    assert problems == [None] and len(paths.rows) == 3                     # the all-NaN row is not a decision
    dec = rows.reindex(columns=codes).dropna(how="all")           # each decision row held whole until the next
    last = np.searchsorted(dates.get_indexer(dec.index), np.arange(len(dates)), side="right") - 1
    dense = np.where((last >= 0)[:, None], dec.to_numpy()[np.maximum(last, 0)], np.nan)[:, None, :]
    a = run_backtest_many(paths, panel)
    b = run_backtest_many(dense, panel)
    for k in ("returns", "value", "turnover", "costs"):
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert (a["turnover"] > 0).sum() >= 3
