"""CLI: ``python -m engine.run strategies/x.yaml [--set key.sub=value ...] [--out DIR]``.

Prints strategy vs benchmark, writes a new results directory, and ends with ``results: <path>``. A config or
data problem exits with status 2 and one line on stderr (no traceback).
"""
from __future__ import annotations

import argparse
import sys
import time

from engine.errors import JingongError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine.run", description="Backtest a strategy YAML against the CSI 300.")
    p.add_argument("config", help="strategy YAML, e.g. strategies/sentiment.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set execution.lag=2 --set signal.params.k=8")
    p.add_argument("--out", default=None, help="write results here (must not exist or be empty)")
    p.add_argument("--no-chart", action="store_true", help="skip the equity chart PNG")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except JingongError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _run(args) -> int:
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.metrics import format_metrics_table
    from engine.pipeline import config_dir, run_strategy
    from engine.report import SYNTH_BANNER, make_run_dir, write_results

    t0 = time.perf_counter()
    cfg = load_config(args.config, args.overrides)
    ds = load_dataset(cfg.data, config_dir(cfg))
    run = run_strategy(cfg, ds)
    table = format_metrics_table(run.metrics)
    if ds.synthetic:
        table = SYNTH_BANNER + "\n\n" + table
    run_dir = make_run_dir(cfg, args.out)
    run.timings["total_s"] = time.perf_counter() - t0
    write_results(run, run_dir, table, chart=not args.no_chart)
    print(f"{cfg.name}: {cfg.description.strip().splitlines()[0] if cfg.description.strip() else ''}".rstrip(": "))
    print(table)
    for name, tab in (run.signal.tables or {}).items():
        print(f"\n{name}" + (" (synthetic inputs)" if ds.synthetic else "") + ":")
        print(tab.to_string())
    print(f"results: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
