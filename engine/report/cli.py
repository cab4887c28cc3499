"""The report options shared by ``engine.run`` (runs and sweeps) and ``engine.compare``: ``--report``,
``--open`` and ``--tearsheet``. Imports nothing heavy (the parsers are built before any work)."""
from __future__ import annotations

import argparse
from pathlib import Path

REPORT_CHOICES = ("none", "md", "html", "all")


def add_report_args(p: argparse.ArgumentParser, tearsheet: bool = True) -> None:
    p.add_argument("--report", default="all", choices=REPORT_CHOICES,
                   help="pages to write: md (summary.md), html (report.html, self-contained, offline), all (both; "
                        "default) or none; metrics.json and the CSVs are always written")
    p.add_argument("--open", action="store_true", help="open report.html in the default browser when done")
    if tearsheet:
        p.add_argument("--tearsheet", default=None, choices=("quantstats",),
                       help="also write a quantstats HTML tearsheet (tearsheet_quantstats.html) of the strategy's "
                            "returns vs the benchmark with our periods_per_year (needs: pip install quantstats)")


def check_report_args(args) -> None:
    """Refuse combinations that cannot be honoured, before any work (one line, exit 2)."""
    from engine.errors import ConfigError

    if getattr(args, "open", False) and args.report not in ("html", "all"):
        raise ConfigError(f"--open needs an HTML page, but --report {args.report} writes none; use --report html "
                          "or all")
    if getattr(args, "tearsheet", None) and getattr(args, "sweep", False):
        raise ConfigError("--tearsheet applies to a single run, not to --sweep; drop one of them")
    if getattr(args, "tearsheet", None) == "quantstats":
        from engine.report.tearsheet import require_quantstats

        require_quantstats()


def after_write(args, run_dir: Path, run=None) -> None:
    """After the results are written: the tearsheet (runs) and ``--open``."""
    if getattr(args, "tearsheet", None) == "quantstats" and run is not None:
        from engine.report.tearsheet import write_quantstats

        write_quantstats(run, Path(run_dir) / "tearsheet_quantstats.html")
    if getattr(args, "open", False):
        open_page(Path(run_dir) / "report.html")


def open_page(path: Path) -> bool:
    """Open ``path`` in the default browser; prints one line if none could be started (the file is written)."""
    import sys
    import webbrowser

    ok = False
    try:
        ok = webbrowser.open(Path(path).resolve().as_uri())
    except webbrowser.Error:
        ok = False
    if not ok:
        print(f"--open: no browser could be started here; open {path} yourself", file=sys.stderr)
    return ok
