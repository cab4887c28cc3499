"""Parameter sweeps: ``python -m engine.run strategies/x.yaml --sweep [--executor ...] [--out DIR]``.

Flow: the YAML's ``sweep:`` section (:mod:`engine.sweep.grid`) -> validated combinations -> chunks
(:mod:`engine.sweep.execute`: shared signals, one backtest kernel call per column batch, vectorised metrics,
resumable cache) run by an executor (:mod:`engine.sweep.pool`) -> one table (parameter columns, then metric
columns) -> ranking, deflated Sharpe ratio and PBO (:mod:`engine.sweep.stats`) -> the run directory
(:mod:`engine.sweep.report`). Each row's metrics equal a single ``python -m engine.run x.yaml --set key=value
...`` of that combination (same backtester, same formulas; tests check 1e-12 relative).

Evaluation periods: the config's own period (columns without prefix) and, with ``sweep.split``, either
``is_*`` / ``oos_*`` (fixed in-sample / out-of-sample dates) or ``wf<k>_is_*`` / ``wf<k>_oos_*`` (walk-forward:
the period's trading days cut into folds + 1 equal segments; fold k trains on segments 1..k (``anchored: true``,
default) or on segment k alone, and tests on segment k + 1). Every period is its own backtest from cash, exactly
what ``--set data.start=... --set data.end=...`` gives; the signal still sees all history before it.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.report import SYNTH_BANNER
from engine.sweep.execute import ChunkTask, columns_per_batch, data_fingerprint, data_key, get_dataset, with_key
from engine.sweep.grid import LOWER_IS_BETTER, Plan, parse_sweep, plan, rank

MAX_AUTO_CHUNK = 2000


def load_raw(path: str | Path, overrides: list[str] | None) -> tuple[dict, str, dict]:
    """The YAML as a dict with ``--set`` overrides applied, its source name and its line map."""
    from engine.config import _line_map, apply_overrides, read_yaml

    raw, text = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a YAML mapping with at least 'name' and 'signal'")
    return apply_overrides(raw, overrides or []), str(path), _line_map(text)


def resolve_periods(p: Plan, config_dir: str | None) -> list[tuple[str, str | None, str | None]]:
    """[(label, start, end)]: ('', None, None) = each config's own period, then the split's periods (ISO dates).

    Checks the split's dates against the data and the base config's period (one-line ConfigError)."""
    from engine.pipeline import resolve_period
    from engine.signals import REGISTRY

    split = p.spec.split
    periods = [("", None, None)]
    if not split:
        return periods
    base = p.configs[0]
    ds = get_dataset(base, config_dir)
    dates = ds.panel(REGISTRY[base.signal.name].universe_for(base.signal.params)).dates
    start, end = resolve_period(p.base, dates)
    inside = dates[(dates >= start) & (dates <= end)]
    if "walk_forward" in split:
        wf = split["walk_forward"]
        wf = {"folds": wf} if isinstance(wf, int) else wf
        folds, anchored = wf["folds"], wf.get("anchored", True)
        segs = np.array_split(np.arange(len(inside)), folds + 1)
        if min(len(s) for s in segs) < 2:
            raise ConfigError(f"sweep.split.walk_forward.folds: {folds} folds leave segments of fewer than 2 "
                              f"trading days in {len(inside)} days; use fewer folds")
        iso = lambda i: f"{inside[i]:%Y-%m-%d}"  # noqa: E731
        for k in range(1, folds + 1):
            lo = segs[0][0] if anchored else segs[k - 1][0]
            periods.append((f"wf{k}_is", iso(lo), iso(segs[k - 1][-1])))
            periods.append((f"wf{k}_oos", iso(segs[k][0]), iso(segs[k][-1])))
        return periods
    for name, label in (("in_sample", "is"), ("out_of_sample", "oos")):
        a, b = (pd.Timestamp(str(x)) for x in split[name])
        if b < a:
            raise ConfigError(f"sweep.split.{name}: end {b:%Y-%m-%d} is before start {a:%Y-%m-%d}")
        if a <= dates[0] or b > dates[-1]:
            raise ConfigError(f"sweep.split.{name}: {a:%Y-%m-%d}..{b:%Y-%m-%d} must lie inside the data "
                              f"({dates[0]:%Y-%m-%d}..{dates[-1]:%Y-%m-%d}, the first day being the base day)")
        if ((dates >= a) & (dates <= b)).sum() < 2:
            raise ConfigError(f"sweep.split.{name}: {a:%Y-%m-%d}..{b:%Y-%m-%d} holds fewer than 2 trading days")
        periods.append((label, f"{a:%Y-%m-%d}", f"{b:%Y-%m-%d}"))
    (_, a_is, b_is), (_, a_oos, b_oos) = periods[1], periods[2]
    if a_is <= b_oos and a_oos <= b_is:
        raise ConfigError(f"{p.base.source_file}: key 'sweep.split': in_sample {a_is}..{b_is} and out_of_sample "
                          f"{a_oos}..{b_oos} overlap, so the out-of-sample metrics would reuse in-sample days; "
                          f"make them disjoint")
    return periods


def make_tasks(p: Plan, periods, config_dir: str | None, chunk_size: int | None = None) -> list[ChunkTask]:
    """Chunks of the plan's combinations, in order, each with its cache key.

    Default chunk size (``sweep.chunk_size`` overrides): as many combinations as one backtest batch holds within
    :data:`engine.sweep.execute.MEMORY_BUDGET` (at most 2,000); for signals without a batched path (one ``compute``
    per parameter set, the expensive part) also at most n / (4 x cores), so the process pool has work to share.

    For a signal with a component map (``SignalSpec.components``) the combinations are ordered by their
    components' parameter values (costliest component first) before they are cut into chunks, so the
    combinations that share a component sit in the same or adjacent chunks: a process computes each component
    once and keeps it for its later chunks (:func:`engine.sweep.execute.component_store`). The order of the
    result rows does not change (they are sorted by plan row)."""
    from engine.signals import REGISTRY

    fingerprints, seen = {}, set()
    for c in p.configs:
        if id(c.data) in seen:
            continue
        seen.add(id(c.data))
        k = data_key(c)
        if k not in fingerprints:
            fingerprints[k] = data_fingerprint(get_dataset(c, config_dir))
    size = chunk_size or p.spec.chunk_size
    if not size:      # bounded memory; signals computed one parameter set at a time: enough chunks for all cores
        from engine.signals.batch import BATCHED

        name = p.configs[0].signal.name
        panel = get_dataset(p.configs[0], config_dir).panel(REGISTRY[name].universe_for(p.configs[0].signal.params))
        size = min(MAX_AUTO_CHUNK, columns_per_batch(len(panel.dates), len(panel.codes)))
        if name not in BATCHED:
            size = min(size, max(1, -(-len(p.configs) // (4 * (os.cpu_count() or 1)))))
    from engine.config import to_dict

    base = {k: v for k, v in to_dict(p.base).items() if k != "sweep"}    # sweep options do not change a row
    order = list(range(len(p.configs)))
    cmap = REGISTRY[p.base.signal.name].components        # signal.name is not sweepable
    if cmap is not None:
        order.sort(key=lambda r: cmap.sort_key(p.configs[r].signal.params))
    tasks = []
    for i, a in enumerate(range(0, len(p.configs), size)):
        rows = order[a:a + size]
        t = ChunkTask(index=i, rows=rows, configs=[p.configs[r] for r in rows], periods=list(periods),
                      cscv_blocks=p.spec.cscv_blocks, config_dir=config_dir)
        tasks.append(with_key(t, fingerprints, base, p.spec.keys, [p.rows[r] for r in rows]))
    return tasks


def assemble(p: Plan, tables: dict) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[tuple, str]]]:
    """(results, cscv_sums, skipped): one row per valid combination, parameter columns (dotted keys) then
    metric columns; the CSCV block sums of the same rows; every skipped combination with its reason."""
    full = pd.concat([tables[i] for i in sorted(tables)], ignore_index=True).sort_values("_row")
    full = full.reset_index(drop=True)
    params = pd.DataFrame(p.rows, columns=list(p.spec.keys)).iloc[full["_row"].to_numpy()].reset_index(drop=True)
    bad = full["_problem"].notna().to_numpy()
    skipped = list(p.skipped) + [(p.rows[r], str(m)) for r, m in zip(full["_row"][bad], full["_problem"][bad])]
    metric_cols = [c for c in full.columns if not c.startswith("_")]
    cscv_cols = [c for c in full.columns if c.startswith("_cscv_")]
    res = pd.concat([params, full[metric_cols]], axis=1)[~bad].reset_index(drop=True)
    cscv = full.loc[~bad, cscv_cols].reset_index(drop=True)
    return res, cscv, skipped




def selection_stats(p: Plan, res: pd.DataFrame, cscv: pd.DataFrame, periods) -> dict:
    """DSR of the top combination on the ranking period (in-sample if split into is/oos, else the full period)
    and the CSCV PBO over the full period's returns (only when every combination covers the same days)."""
    from engine.sweep.stats import deflated_sharpe, pbo_cscv

    out: dict = {}
    pre = "is_" if any(lbl == "is" for lbl, _, _ in periods) else ""
    if len(res):
        top = rank(res, p.spec.rank_by, pre).iloc[0]
        ppy = float(top[pre + "periods_per_year"])     # the annualisation base its metrics used (metrics_vec)
        sr_trials = res[pre + "sharpe"].to_numpy() / np.sqrt(ppy)
        d = deflated_sharpe(top[pre + "sharpe"] / np.sqrt(ppy), sr_trials, int(top[pre + "n_days"]) if
                            np.isfinite(top[pre + "n_days"]) else 0, top[pre + "skew"], top[pre + "kurtosis"])
        d.update({"period": "in-sample" if pre else "full", "sharpe_annual": float(top[pre + "sharpe"]),
                  "sr0_annual": d["sr0"] * float(np.sqrt(ppy))})
        out["dsr"] = d
    S = p.spec.cscv_blocks
    need = [f"_cscv_{x}{k}" for k in range(S) for x in "nsq"]
    counts = cscv[[c for c in need if c.startswith("_cscv_n")]] if all(c in cscv for c in need) else None
    same_rows = counts is not None and counts.notna().all().all() and (counts.nunique() == 1).all()
    if len(res) >= 2 and same_rows:            # every combination on the same days (data.start/end not swept)
        n = counts.iloc[0].to_numpy()
        s = cscv[[f"_cscv_s{k}" for k in range(S)]].to_numpy().T
        q = cscv[[f"_cscv_q{k}" for k in range(S)]].to_numpy().T
        r = pbo_cscv(n, s, q)
        out["pbo"] = {k: v for k, v in r.items() if k != "logits"}
        out["pbo"]["logit_median"] = float(np.median(r["logits"]))
    return out


def walk_forward_table(p: Plan, res: pd.DataFrame, periods) -> pd.DataFrame | None:
    """One row per walk-forward fold: its IS/OOS dates, the combination ranked first in-sample, its IS and OOS
    ``rank_by`` values, the median OOS value over all combinations, and ``oos_percentile`` = the share of
    combinations whose OOS value is no better than the selected one's (1 = best out of sample, about 0.5 = a
    median pick). None without walk-forward folds."""
    folds = [(lbl[:-3], a, b) for lbl, a, b in periods if lbl.startswith("wf") and lbl.endswith("_is")]
    if not folds or not len(res):
        return None
    m = p.spec.rank_by
    rows = []
    for fold, a, b in folds:
        oos = next((x, y) for lbl, x, y in periods if lbl == f"{fold}_oos")
        i = rank(res, m, f"{fold}_is_").index[0]
        col = res[f"{fold}_oos_{m}"]
        val = res.at[i, f"{fold}_oos_{m}"]
        no_better = (col >= val) if m in LOWER_IS_BETTER else (col <= val)
        rows.append({"fold": fold, "in_sample": f"{a}..{b}", "out_of_sample": f"{oos[0]}..{oos[1]}",
                     **{k: res.at[i, k] for k in p.spec.keys}, f"is_{m}": res.at[i, f"{fold}_is_{m}"],
                     f"oos_{m}": val, f"median_oos_{m}": float(col.median()),
                     "oos_percentile": float(no_better.sum() / col.notna().sum())})
    return pd.DataFrame(rows)


def _resolve_signal_params(p: Plan, config_dir: str | None, quiet: bool) -> None:
    """Fix each combination's data-dependent signal parameters for its period (``SignalSpec.resolve``, e.g.
    xinbanjun's real-or-sector tradable) as a single run does; the base's line is printed once."""
    from engine.pipeline import resolve_params
    from engine.signals import REGISTRY

    if REGISTRY[p.base.signal.name].resolve is None:
        return
    p.configs = [resolve_params(c, get_dataset(c, config_dir), say=False)[0] for c in p.configs]
    p.base, line = resolve_params(p.base, get_dataset(p.base, config_dir), say=False)
    if line:
        print(line, file=sys.stderr)


def run_sweep(config: str, overrides: list[str] | None = None, out: str | None = None, executor: str = "auto",
              scheduler: str | None = None, workers: int | None = None, chart: bool = True,
              progress: bool | None = None, report: str = "all", open_page: bool = False,
              max_combinations: int | None = None, dry_run: bool = False, quiet: bool = False) -> int:
    """The ``--sweep`` command: print the plan (combinations, rough time and memory), refuse above the cap, run,
    write the results directory, print the top table; last stdout line is ``results: <path>``. ``dry_run`` stops
    after the plan. Raises JingongError (ConfigError/DataError) with a one-line message on bad input."""
    from engine.errors import ensure_cache_writable, ensure_writable
    from engine.pipeline import config_dir as _config_dir
    from engine.signals import REGISTRY
    from engine.sweep.plan import check_cap, check_keys, default_workers, plan_lines
    from engine.sweep.pool import Progress, run_tasks
    from engine.sweep.report import print_summary, write_sweep

    t0 = time.perf_counter()
    raw, source, lines = load_raw(config, overrides)
    spec = parse_sweep(raw.get("sweep") or {})
    check_keys(spec, raw, source)
    check_cap(spec, max_combinations)             # before the combinations are built: a huge grid fails at once
    p = plan(raw, source, spec, lines)
    if not dry_run:
        ensure_writable(out or Path(p.base.output.dir) / p.base.name, "--out" if out else "output.dir")
        ensure_cache_writable()
    cdir = _config_dir(p.base)
    cdir = str(cdir) if cdir else None
    _resolve_signal_params(p, cdir, quiet)
    periods = resolve_periods(p, cdir)
    tasks = make_tasks(p, periods, cdir)
    ds = get_dataset(p.configs[0], cdir)
    panel = ds.panel(REGISTRY[p.base.signal.name].universe)
    from engine.preflight import check_config_against_data, check_swept_windows

    check_config_against_data(p.base, ds)
    check_swept_windows(p, len(panel.dates))
    n_workers = default_workers(executor, workers, len(tasks))
    say = (lambda *a: print(*a, file=sys.stderr)) if quiet else print
    if ds.synthetic:
        say(SYNTH_BANNER)
    for line in plan_lines(p, periods, tasks, n_workers, len(panel.dates), len(panel.codes)):
        say(line)
    if dry_run:
        say("dry run: nothing computed (drop --dry-run to start)")
        return 0
    from engine.report import make_run_dir

    existed = bool(out) and Path(out).exists()
    run_dir = make_run_dir(p.base, out)       # before the work: a bad --out fails fast (an empty dir is reusable)
    t_plan = time.perf_counter()
    bar = Progress(len(p.configs), enabled=progress)
    try:
        tables, stats = run_tasks(tasks, executor, workers, scheduler, bar)
    except BaseException:
        if not existed and not any(run_dir.iterdir()):   # leave no empty directory of ours behind
            run_dir.rmdir()
        raise
    finally:
        bar.close()
    t_run = time.perf_counter()
    res, cscv, skipped = assemble(p, tables)
    if not len(res):
        from engine.errors import DataError

        raise DataError(f"sweep: every combination failed; first problem: {skipped[0][1]}")
    sel = selection_stats(p, res, cscv, periods)
    wf = walk_forward_table(p, res, periods)
    if wf is not None:
        sel["walk_forward"] = wf.to_dict(orient="records")
    info = {"n_grid": spec.grid_size, "n_combinations": len(p.rows) + len(p.skipped), "n_valid": len(res),
            "n_skipped": len(skipped), "chunks": len(tasks), **stats, "periods": periods,
            "timings_s": {"plan": t_plan - t0, "run": t_run - t_plan, "stats": time.perf_counter() - t_run}}
    write_sweep(p, res, skipped, sel, info, ds, run_dir, chart=chart, md=report in ("md", "all"))
    if report in ("html", "all"):
        from engine.report.sweep_page import write_sweep_html

        write_sweep_html(p, res, skipped, sel, info, ds, run_dir / "report.html")
    if not quiet:
        print_summary(p, res, skipped, sel, info, ds, banner=False)
    if open_page:
        from engine.report.cli import open_page as _open

        _open(run_dir / "report.html")
    print(f"results: {run_dir}")
    return 0


__all__ = ["run_sweep", "rank", "assemble", "make_tasks", "resolve_periods", "selection_stats", "walk_forward_table"]
