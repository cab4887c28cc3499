"""``python -m engine.signals CONFIG [--asof YYYY-MM-DD] [--indicator NAME] [--csv DIR] [--set k=v ...]``

Prints the signal's report-style tables as they stood at the close of ``--asof`` (default: the last date of the
data). The dataset is cut at ``asof`` before anything is computed, so the tables use no later data.
``--indicator NAME`` (e.g. ``concentration`` or ``浓度``) prints the last 20 days of that one indicator and needs
only its own inputs (情绪浓度 without flows, futures or options data).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import pandas as pd

from engine.errors import ConfigError, run_cli


def main(argv=None) -> int:
    from engine.provenance import set_command, version_string

    prog = "python -m engine.signals"
    ap = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print a strategy's report-style signal tables as they stood at the close of --asof (default: the "
                    "last date of the data).\nThe dataset is cut at --asof before anything is computed, so the tables "
                    "use no later data.",
        epilog="example:\n  python -m engine.signals strategies/turnover_rotation.yaml --asof 2023-11-30 --csv /tmp/tables"
               "\n\nA config or data problem exits with status 2 and one line on stderr.")
    ap.add_argument("config", help="strategy YAML, e.g. strategies/sentiment.yaml")
    ap.add_argument("--version", action="version", version=version_string(prog))
    ap.add_argument("--asof", default=None, metavar="YYYY-MM-DD",
                    help="date whose close the tables are computed at (default: the last date of the data)")
    ap.add_argument("--csv", default=None, metavar="DIR",
                    help="also write each table as DIR/<table>_<asof>.csv (UTF-8 with BOM, opens in Excel)")
    ap.add_argument("--indicator", default=None, metavar="NAME",
                    help="print only this indicator (needs only its inputs), e.g. concentration / 浓度")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override any config key, as for python -m engine.run (repeatable)")
    args = ap.parse_args(argv)
    set_command(prog, argv)
    return run_cli(_main, args)


def _main(args) -> int:
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.data.truncate import truncate
    from engine.pipeline import config_dir, resolve_params
    from engine.report import SYNTH_BANNER
    from engine.signals import REGISTRY

    from engine.errors import ensure_cache_writable, ensure_writable
    from engine.preflight import check_config_against_data

    cfg = load_config(args.config, args.overrides)
    if args.csv:
        ensure_writable(args.csv, "--csv")        # before computing, not after
    ensure_cache_writable()
    ds = load_dataset(cfg.data, config_dir(cfg))
    check_config_against_data(cfg, ds)
    spec = REGISTRY[cfg.signal.name]
    cal = ds.panel(spec.universe_for(cfg.signal.params)).dates
    period = cfg.data
    if args.asof:
        try:
            asof = pd.Timestamp(args.asof)
        except ValueError:
            raise ConfigError(f"--asof {args.asof!r}: expected a date YYYY-MM-DD") from None
        if asof < cal[0] or asof > cal[-1]:
            raise ConfigError(f"--asof {asof:%Y-%m-%d} is outside the data ({cal[0]:%Y-%m-%d}..{cal[-1]:%Y-%m-%d})")
        ds = truncate(ds, asof)
        # the as-of view's period ends at --asof (data-dependent parameters, e.g. a real tradable, chosen for it)
        start = cfg.data.start if cfg.data.start and pd.Timestamp(cfg.data.start) <= asof else None
        period = dataclasses.replace(cfg.data, start=start, end=f"{asof:%Y-%m-%d}")
    cfg = dataclasses.replace(resolve_params(dataclasses.replace(cfg, data=period), ds)[0], data=cfg.data)
    if args.indicator:
        ind = find_indicator(spec, args.indicator)
        ds.require(ind.requires)
        frame = ind.compute(ds, dict(cfg.signal.params))
        frame = frame.to_frame() if isinstance(frame, pd.Series) else frame
        last = frame.index[-1]
        print(f"{cfg.name}: indicator '{ind.name}' of signal '{spec.name}' as of the close of {last:%Y-%m-%d}"
              f" ({ind.description})")
        if ds.synthetic:
            print(SYNTH_BANNER)
        tables = {ind.name: frame.tail(20)}
        text = None
    else:
        ds.require(spec.requires_for(cfg.signal.params))
        res = spec.compute(ds, dict(cfg.signal.params))
        last = res.weights.index[-1]
        print(f"{cfg.name}: signal '{spec.name}' as of the close of {last:%Y-%m-%d}")
        if ds.synthetic:
            print(SYNTH_BANNER)
        tables = dict(res.tables or {})
        if not tables:
            tail = res.weights.tail(20)
            if len(res.indicators):
                tail = res.indicators.join(res.weights.add_prefix("weight_"), how="right").tail(20)
            tables = {"last_days": tail}
        text = spec.format_tables(tables) if spec.format_tables and res.tables else None
    _print_tables(tables, text, args, last)
    if args.csv and not args.indicator and spec.charts:
        for path in spec.charts(res, Path(args.csv), ds.synthetic):
            print(f"written: {path}")
    return 0


def find_indicator(spec, name: str):
    """The IndicatorSpec of ``spec`` named ``name`` (or one of its aliases); ConfigError listing them otherwise."""
    for ind in spec.indicators:
        if name == ind.name or name in ind.aliases:
            return ind
    avail = ", ".join(f"{i.name} ({'/'.join(i.aliases)})" if i.aliases else i.name for i in spec.indicators)
    raise ConfigError(f"--indicator {name!r}: signal '{spec.name}' has "
                      + (f"these indicators: {avail}" if avail else "no indicator that can be computed alone"))


def _print_tables(tables: dict, text, args, last) -> None:
    if text:
        print("\n" + text)
    for name, tab in tables.items():
        if not text:
            print(f"\n{name}:")
            print(tab.to_string())
        if args.csv:
            d = Path(args.csv)
            d.mkdir(parents=True, exist_ok=True)
            path = d / f"{name}_{last:%Y%m%d}.csv"
            if path.exists():
                raise ConfigError(f"--csv {d}: {path.name} already exists; it is never overwritten, choose another directory")
            tab.to_csv(path, encoding="utf-8-sig")
            print(f"written: {path}")


if __name__ == "__main__":
    sys.exit(main())
