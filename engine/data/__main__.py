"""Data command line.

    python -m engine.data synth --out DIR [--seed N] [--size default|small] [--start YYYY-MM-DD --end YYYY-MM-DD]
                                [--format parquet|csv] [--effect NAME=STRENGTH ...]

``synth`` writes the synthetic market (engine.data.synthetic) to DIR in the layout of docs/data.md and prints the
time taken. It refuses a DIR that exists and is not empty. User errors print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from engine.errors import ConfigError, run_cli


def _effects(items: list[str]) -> dict:
    out = {}
    for item in items:
        name, sep, val = item.partition("=")
        if not sep:
            raise ConfigError(f"--effect '{item}' must look like NAME=STRENGTH, e.g. turnover_reversal=0.5")
        try:
            out[name.strip()] = float(val)
        except ValueError:
            raise ConfigError(f"--effect '{item}': strength '{val}' is not a number") from None
    return out


def _synth(args) -> int:
    from engine.data.io import write_dataset
    from engine.data.synthetic import generate

    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: already exists and is not empty; choose a new or empty --out directory")
    from engine.errors import ensure_writable

    ensure_writable(out, "--out")
    t0 = time.perf_counter()
    ds = generate(seed=args.seed, start=args.start, end=args.end, size=args.size, effects=_effects(args.effect) or None)
    t1 = time.perf_counter()
    write_dataset(ds, out, fmt=args.format)
    t2 = time.perf_counter()
    g = ds.meta["generator"]
    print(f"wrote SYNTHETIC dataset {ds.meta['name']} ({g['start']}..{g['end']}, {g['n_stocks']} stocks, "
          f"effects: {g['effects'] or 'none'}) to {out}")
    print(f"time: generate {t1 - t0:.1f} s, write {t2 - t1:.1f} s, total {t2 - t0:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from engine.data.synthetic import SIZES
    from engine.provenance import version_string

    prog = "python -m engine.data"
    parser = argparse.ArgumentParser(prog=prog, description="Jingong data tools (user errors exit with status 2 "
                                     "and one line on stderr).")
    parser.add_argument("--version", action="version", version=version_string(prog))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sizes = ", ".join(f"{k}: {v['n_stocks']} stocks from {v['start']}" for k, v in SIZES.items())
    p = sub.add_parser("synth", help="write the synthetic A-share market to a dataset directory",
                       description="Write the SYNTHETIC A-share market (engine/data/synthetic; only the CSI 300 is "
                                   "real) to DIR in the layout of docs/data.md, for data.source: dataset.")
    p.add_argument("--out", required=True, metavar="DIR", help="new or empty directory to write (never overwritten)")
    p.add_argument("--seed", type=int, default=42, metavar="N",
                   help="random seed of the simulated market (default 42, the seed of the shipped YAMLs)")
    p.add_argument("--size", default="default", choices=list(SIZES), help=f"market size ({sizes}); default: default")
    p.add_argument("--start", default=None, help="first day (YYYY-MM-DD); default: the size's first day")
    p.add_argument("--end", default=None, help="last day (YYYY-MM-DD); default: 2025-12-31")
    p.add_argument("--format", default="parquet", choices=["parquet", "csv"],
                   help="file format of the panels, series and tables (default parquet; csv is larger and slower)")
    p.add_argument("--effect", action="append", default=[], metavar="NAME=STRENGTH",
                   help="plant an effect, e.g. turnover_reversal=0.5 (docs/data.md); repeatable")
    return parser


def main(argv=None) -> int:
    from engine.provenance import set_command

    args = build_parser().parse_args(argv)
    set_command("python -m engine.data", argv)
    return run_cli(_synth, args)


if __name__ == "__main__":
    sys.exit(main())
