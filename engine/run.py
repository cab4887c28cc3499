"""CLI: ``python -m engine.run strategies/x.yaml [--set key.sub=value ...] [--out DIR]``.

``--sweep`` runs every combination of the YAML's ``sweep:`` section instead (engine/sweep.py), with
``--executor {auto,serial,processes,dask}``, ``--scheduler ADDRESS`` (Dask) and ``--workers N``.

Prints strategy vs benchmark, writes a new results directory, and ends with ``results: <path>``. A config or
data problem exits with status 2 and one line on stderr (no traceback).
"""
from __future__ import annotations

import argparse
import gc
import sys
import time

from engine.errors import run_cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine.run", description="Backtest a strategy YAML against the CSI 300.")
    p.add_argument("config", help="strategy YAML, e.g. strategies/sentiment.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set execution.lag=2 --set signal.params.k=8")
    p.add_argument("--out", default=None, help="write results here (must not exist or be empty)")
    p.add_argument("--no-chart", action="store_true", help="skip the equity chart PNG (sweeps: the heatmaps)")
    p.add_argument("--sweep", action="store_true", help="run every combination of the config's sweep: section")
    p.add_argument("--executor", default=None, choices=("auto", "serial", "processes", "dask"),
                   help="sweeps: where chunks run (default auto: in-process for small sweeps, else all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="sweeps with --executor dask: scheduler address (default: a local cluster)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="sweeps: worker processes (default: all cores; dask local cluster: 2)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli(_run, args)


def _run(args) -> int:
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.metrics import format_metrics_table
    from engine.pipeline import config_dir, run_strategy
    from engine.report import SYNTH_BANNER, format_extra_benchmarks, make_run_dir, write_results
    from engine.signals import REGISTRY

    if args.sweep:
        from engine.sweep import run_sweep

        return run_sweep(args.config, args.overrides, out=args.out, executor=args.executor or "auto",
                         scheduler=args.scheduler, workers=args.workers, chart=not args.no_chart)
    if args.executor or args.scheduler or args.workers:
        from engine.errors import ConfigError

        raise ConfigError("--executor, --scheduler and --workers apply to sweeps only; add --sweep")
    t0 = time.perf_counter()
    cfg = load_config(args.config, args.overrides)
    ds = load_dataset(cfg.data, config_dir(cfg))
    run = run_strategy(cfg, ds)
    after = REGISTRY[cfg.signal.name].after_run          # signal-specific extra tables (e.g. lag sensitivity)
    if after:
        run.signal.tables = {**(run.signal.tables or {}), **after(run)}
    table = format_metrics_table(run.metrics)
    extra = format_extra_benchmarks(run.metrics)
    if extra:
        table = table + "\n\n" + extra
    if ds.synthetic:
        table = SYNTH_BANNER + "\n\n" + table
    run_dir = make_run_dir(cfg, args.out)
    run.timings["total_s"] = time.perf_counter() - t0
    write_results(run, run_dir, table, chart=not args.no_chart)
    print(f"{cfg.name}: {cfg.description.strip().splitlines()[0] if cfg.description.strip() else ''}".rstrip(": "))
    print(table)
    spec_fmt = REGISTRY[cfg.signal.name].format_tables
    if spec_fmt and run.signal.tables:
        print("\n" + ("(synthetic inputs)\n" if ds.synthetic else "") + spec_fmt(run.signal.tables))
    else:
        for name, tab in (run.signal.tables or {}).items():
            print(f"\n{name}" + (" (synthetic inputs)" if ds.synthetic else "") + ":")
            print(tab.to_string())
    print(f"results: {run_dir}")
    return 0


if __name__ == "__main__":
    rc = main()
    # Interpreter shutdown otherwise spends 0.3-0.5 s in full garbage collections over the numba, pandas and
    # matplotlib objects; frozen objects are skipped (outputs are already written and flushed by then).
    gc.freeze()
    sys.exit(rc)
