"""Data command line.

    python -m engine.data synth --out DIR [--seed N] [--size default|small] [--start YYYY-MM-DD --end YYYY-MM-DD]
                                [--format parquet|csv] [--effect NAME=STRENGTH ...]

    python -m engine.data fetch DATASET [--provider akshare|tushare|baostock] [--start] [--end] [--codes ...]
    python -m engine.data list

``fetch`` downloads a dataset into the local parquet cache (engine.data.cache; needs the [online] extra and the
network), only the dates not cached yet; ``list`` shows the cache. ``synth`` writes the synthetic market (engine.data.synthetic) to DIR in the layout of docs/data.md and prints the
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.data", description="Jingong data tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("synth", help="write the synthetic A-share market to a dataset directory")
    p.add_argument("--out", required=True, help="new or empty directory to write")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--size", default="default", choices=["default", "small"])
    p.add_argument("--start", default=None, help="first day (YYYY-MM-DD); default: the size's first day")
    p.add_argument("--end", default=None, help="last day (YYYY-MM-DD); default: 2025-12-31")
    p.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    p.add_argument("--effect", action="append", default=[], metavar="NAME=STRENGTH",
                   help="plant an effect, e.g. turnover_reversal=0.5 (docs/data.md); repeatable")
    from engine.data.providers import DATASETS

    f = sub.add_parser("fetch", help="download a dataset into the local cache (incremental; needs the network)")
    f.add_argument("dataset", choices=sorted(DATASETS), help="dataset to fetch (docs/data.md, online datasets)")
    f.add_argument("--provider", default=None, choices=["akshare", "tushare", "baostock"],
                   help="data provider; default: the dataset's first provider")
    f.add_argument("--start", default=None, help="first day (YYYY-MM-DD); default 2005-01-04")
    f.add_argument("--end", default=None, help="last day (YYYY-MM-DD); default today")
    f.add_argument("--codes", nargs="+", default=None, help="codes to fetch (default: the dataset's universe)")
    f.add_argument("--dir", default=None, help="cache folder; default $JINGONG_DATA_DIR or ~/.local/share/jingong")
    f.add_argument("--refresh", action="store_true", help="fetch the whole range again and replace the cache")
    ls = sub.add_parser("list", help="show the cached datasets")
    ls.add_argument("--dir", default=None, help="cache folder; default $JINGONG_DATA_DIR or ~/.local/share/jingong")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        from engine.data.fetch import fetch_cmd

        return run_cli(fetch_cmd, args)
    if args.command == "list":
        from engine.data.fetch import list_cmd

        return run_cli(list_cmd, args)
    return run_cli(_synth, args)


if __name__ == "__main__":
    sys.exit(main())
