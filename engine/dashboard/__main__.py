"""CLI: ``python -m engine.dashboard --week YYYY-MM-DD [CONFIG] [--out DIR] [--no-chart] [--report all|md|html|none]
[--open]``.

Without CONFIG the synthetic market (seed 42, size small) is used and labelled SYNTHETIC; with a strategy YAML its
``data:`` section is loaded. Prints the four blocks' tables, writes a new results folder (``results/dashboard/
<stamp>-<hash>/`` or ``--out DIR``, which must not exist or be empty: dashboard.md and report.html as ``--report``
chooses, the charts, CSV tables and meta.json) and ends with ``results: <path>``. A missing
dataset or a week without data exits with status 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from engine.errors import run_cli
from engine.report.cli import add_report_args, after_write, check_report_args


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine.dashboard", description="Weekly fund-behaviour dashboard "
                                "(中泰 负债行为跟踪, seed report 000).")
    p.add_argument("config", nargs="?", default=None, help="strategy YAML whose data: section is used "
                   "(default: synthetic market, seed 42, size small)")
    p.add_argument("--week", required=True, metavar="YYYY-MM-DD", help="any date of the week (Monday..Friday)")
    p.add_argument("--out", default=None, help="write results here (must not exist or be empty)")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG charts")
    p.add_argument("--margin-lag", type=int, default=1, choices=(0, 1),
                   help="1 (default): margin rows published during the week (T+1, as of Thursday); 0: the week's own rows")
    p.add_argument("--share-method", default="sum", choices=("sum", "mean"),
                   help="shares as a ratio of weekly sums (default) or the mean of daily ratios")
    p.add_argument("--popular-n", type=int, default=35, help="number of popular stocks (default 35)")
    p.add_argument("--blocks", default="leverage,quant,mainforce,northbound", metavar="LIST",
                   help="comma-separated blocks to build (default: all four)")
    add_report_args(p, tearsheet=False)
    return p


def load_data(config: str | None):
    from engine.config_schema import DataConfig
    from engine.data.sources import load_dataset

    if config is None:
        return load_dataset(DataConfig(source="synthetic", seed=42, size="small")), "synthetic seed 42 small"
    from engine.config import load_config
    from engine.pipeline import config_dir

    cfg = load_config(config)
    return load_dataset(cfg.data, config_dir(cfg)), config


def _run(args) -> int:
    from engine.dashboard import BLOCKS, DashboardParams, build_dashboard, render
    from engine.errors import ConfigError
    from engine.report import make_run_dir, new_run_dir

    check_report_args(args)
    if args.popular_n <= 0:
        raise ConfigError(f"--popular-n must be a positive integer, got {args.popular_n}")
    params = DashboardParams(margin_lag=args.margin_lag, share_method=args.share_method, popular_n=args.popular_n)
    ds, label = load_data(args.config)
    blocks = tuple(b.strip() for b in args.blocks.split(",") if b.strip())
    bad = [b for b in blocks if b not in BLOCKS]
    if bad or not blocks:
        raise ConfigError(f"--blocks: unknown block(s) {', '.join(bad) or '(none given)'}; choose from {', '.join(BLOCKS)}")
    dash = build_dashboard(ds, args.week, params, blocks=blocks)
    if args.out:
        run_dir = make_run_dir(None, args.out)
    else:
        h = hashlib.sha256(json.dumps([label, dash.week.label, repr(params)]).encode()).hexdigest()[:8]
        run_dir = new_run_dir(Path("results") / "dashboard", h)
    render.write(dash, run_dir, chart=not args.no_chart, report=args.report)
    print(render.terminal(dash))
    print(f"results: {run_dir}")
    after_write(args, run_dir)
    return 0


def main(argv=None) -> int:
    return run_cli(_run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
