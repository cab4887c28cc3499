"""``python -m engine.data fetch|list``: download online data into the local cache, and show what is cached."""
from __future__ import annotations

import time

import pandas as pd

from engine.errors import ConfigError


def _date(value: str | None, flag: str, default):
    if value is None:
        return default
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{flag} '{value}' is not a date (YYYY-MM-DD)") from None


def fetch_cmd(args) -> int:
    from engine.data.cache import data_root, fetch
    from engine.data.codes import normalize_codes
    from engine.data.providers import dataset_spec

    spec = dataset_spec(args.dataset)
    start = _date(args.start, "--start", pd.Timestamp("2005-01-04"))
    end = _date(args.end, "--end", pd.Timestamp.today().normalize())
    codes = normalize_codes(args.codes, spec.target, "--codes") if args.codes else None
    t0 = time.perf_counter()
    before = None
    from engine.data.cache import read_entry

    root = data_root(args.dir)
    old = read_entry(root, args.dataset, verify=False) if not args.refresh else None
    before = old[1]["rows"] if old else 0
    man = fetch(args.dataset, start, end, codes, args.provider, root, refresh=args.refresh)
    rng = "..".join(man["date_range"]) if man.get("date_range") else "no dates"
    print(f"{args.dataset}: {man['rows']} rows ({man['rows'] - before:+d}), {rng}, from {man['provider']} "
          f"{man.get('package_version') or ''}, in {root / args.dataset} ({time.perf_counter() - t0:.1f} s)")
    for note in man.get("notes", []):
        print(f"note: {note}")
    return 0


def list_cmd(args) -> int:
    from engine.data.cache import data_root, describe
    from engine.data.providers import DATASETS

    root = data_root(args.dir)
    rows = describe(root)
    if not rows:
        print(f"{root}: no cached data. Datasets: {', '.join(DATASETS)}; fetch one with "
              f"python -m engine.data fetch DATASET (needs pip install -e \".[online]\" and the network)")
        return 0
    cols = ["dataset", "provider", "version", "range", "rows", "codes", "fetched"]
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print(f"cache: {root}")
    print("  ".join(c.ljust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(width[c]) for c in cols))
    return 0
