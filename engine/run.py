"""CLI: ``python -m engine.run strategies/x.yaml [--set key.sub=value ...] [--out DIR]``.

``--sweep`` runs every combination of the YAML's ``sweep:`` section instead (engine/sweep/runner.py), with
``--executor {auto,serial,processes,dask}``, ``--scheduler ADDRESS`` (Dask) and ``--workers N``; it prints the
plan (combinations, rough time and memory) first, refuses above ``--max-combinations`` and stops there with
``--dry-run``.

Prints strategy vs benchmark, writes a new results directory, and ends with ``results: <path>``. A config or
data problem exits with status 2 and one line on stderr (no traceback); the output location is checked for
writing before anything is computed.
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import time

from engine.errors import run_cli
from engine.report.cli import add_report_args, after_write, check_report_args

PROG = "python -m engine.run"
EPILOG = """examples:
  python -m engine.run strategies/ma_timing.yaml
  python -m engine.run strategies/ma_timing.yaml --set signal.params.short=10 --set execution.lag=2 --out /tmp/r1
  python -m engine.run strategies/sentiment.yaml --set data.size=small --json
  python -m engine.run strategies/ma_timing.yaml --sweep --dry-run

A config or data problem exits with status 2 and one line on stderr."""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    from engine.provenance import version_string
    from engine.sweep.plan import DEFAULT_MAX_COMBINATIONS

    p = argparse.ArgumentParser(prog=prog, description="Backtest a strategy YAML against the CSI 300 (or sweep its "
                                "parameters with --sweep).", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="strategy YAML, e.g. strategies/sentiment.yaml")
    p.add_argument("--version", action="version", version=version_string(prog))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key (value parsed as YAML; repeatable), e.g. --set execution.lag=2 "
                        "--set data.start=2015-01-01 --set signal.params.short=10 (a parameter of the YAML's signal)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write results here (must not exist or be empty); default: a new results/<name>/<stamp>-<hash>/")
    p.add_argument("--no-chart", action="store_true", help="skip the equity chart PNG (sweeps: the heatmaps)")
    add_report_args(p)
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print only the last line 'results: <path>' on stdout (warnings and errors still on stderr)")
    p.add_argument("--json", action="store_true",
                   help="print metrics.json (plus 'results': the directory) to stdout as JSON instead of the tables")
    g = p.add_argument_group("sweeps")
    g.add_argument("--sweep", action="store_true", help="run every combination of the config's sweep: section")
    g.add_argument("--dry-run", action="store_true",
                   help="sweeps: print the plan (combinations, rough time and memory) and exit without computing")
    g.add_argument("--max-combinations", type=int, default=None, metavar="N",
                   help=f"sweeps: refuse to start above N combinations (default {DEFAULT_MAX_COMBINATIONS:,}, about "
                        f"an hour on 2 cores)")
    g.add_argument("--executor", default=None, choices=("auto", "serial", "processes", "dask"),
                   help="sweeps: where chunks run (default auto: in-process for small sweeps, else all cores)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="sweeps with --executor dask: scheduler address, e.g. tcp://host:8786 (default: a local cluster)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="sweeps: worker processes (default: all cores; dask local cluster: 2)")
    return p


def main(argv=None, prog: str = PROG) -> int:
    from engine.provenance import set_command

    args = build_parser(prog).parse_args(argv)
    set_command(prog, argv)
    return run_cli(_run, args)


def _check_args(args) -> None:
    from engine.errors import ConfigError

    if not args.sweep and (args.executor or args.scheduler or args.workers or args.dry_run
                           or args.max_combinations is not None):
        raise ConfigError("--executor, --scheduler, --workers, --dry-run and --max-combinations apply to sweeps "
                          "only; add --sweep")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: expected a number of processes >= 1")
    if args.max_combinations is not None and args.max_combinations < 1:
        raise ConfigError(f"--max-combinations {args.max_combinations}: expected a positive number")
    if args.sweep and args.json:
        raise ConfigError("--json prints one run's metrics; a sweep's table is in sweep.csv / sweep.parquet "
                          "(use --quiet for the results path only)")


def _run(args) -> int:
    from pathlib import Path

    from engine.config import load_config
    from engine.errors import ensure_cache_writable, ensure_writable

    _check_args(args)
    check_report_args(args)
    if args.sweep:
        from engine.sweep import run_sweep

        return run_sweep(args.config, args.overrides, out=args.out, executor=args.executor or "auto",
                         scheduler=args.scheduler, workers=args.workers, chart=not args.no_chart,
                         max_combinations=args.max_combinations, dry_run=args.dry_run, quiet=args.quiet,
                         report=args.report, open_page=args.open)
    t0 = time.perf_counter()
    cfg = load_config(args.config, args.overrides)
    ensure_writable(args.out or Path(cfg.output.dir) / cfg.name, "--out" if args.out else "output.dir")
    ensure_cache_writable()
    from engine.data.sources import load_dataset
    from engine.metrics import format_metrics_table
    from engine.pipeline import config_dir, run_strategy
    from engine.preflight import check_config_against_data, check_result
    from engine.report import SYNTH_BANNER, format_extra_benchmarks, make_run_dir, write_results
    from engine.signals import REGISTRY

    ds = load_dataset(cfg.data, config_dir(cfg))
    check_config_against_data(cfg, ds)
    run = run_strategy(cfg, ds)
    check_result(run)
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
    write_results(run, run_dir, table, chart=not args.no_chart, report=args.report)
    after_write(args, run_dir, run)           # every file is written before anything is printed (stdout may close)
    if args.json:
        if ds.synthetic:
            print(SYNTH_BANNER, file=sys.stderr)
        print(json.dumps({**run.metrics, "results": str(run_dir)}, indent=2, ensure_ascii=False, allow_nan=False))
        return 0
    if args.quiet:
        if ds.synthetic:
            print(SYNTH_BANNER, file=sys.stderr)     # as a quiet sweep does
        print(f"results: {run_dir}")
        return 0
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


def console_main() -> int:
    """The ``jingong`` console script (pyproject [project.scripts]): the same command as ``python -m engine.run``."""
    return main(prog="jingong")


if __name__ == "__main__":
    rc = main()
    # Interpreter shutdown otherwise spends 0.3-0.5 s in full garbage collections over the numba, pandas and
    # matplotlib objects; frozen objects are skipped (outputs are already written and flushed by then).
    gc.freeze()
    sys.exit(rc)
