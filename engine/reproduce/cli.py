"""``python -m engine.reproduce REPORT [--config YAML] [--out FILE.md]``

Every checkable published number of a seed report (methodology §6) beside ours on the configured data: published,
ours, difference, the convention ours uses, and whether our inputs are real, a proxy, synthetic or missing (then
the dataset and the ``python -m engine.data fetch`` command that would supply it). Prints the table and writes it
as Markdown (``--out``, default a new file under ``results/reproduce/``; an existing file is never overwritten).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import ConfigError, run_cli


def _checks_002(config_path=None):
    from engine.reproduce.seed002 import checks

    return checks(config_path)


def _checks_004(config_path=None):
    from engine.signals.xinbanjun.reproduce import checks

    return checks(config_path)


def _checks_000(config_path=None):
    from engine.dashboard.reproduce import checks

    return checks(config_path)


REPORTS = {"000": _checks_000, "002": _checks_002, "004": _checks_004}


def _fmt(v, unit: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if unit == "%":
        return f"{v:+.2%}"
    return f"{v:.4f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:g}"


def _diff(c) -> str:
    d = c.diff
    if d is None:
        if c.ours is None:
            return "-"
        return "equal" if str(c.ours) == str(c.published) else "differs"
    return f"{d * 100:+.2f} pp" if c.unit == "%" else f"{d:+.4f}" if not float(d).is_integer() else f"{d:+g}"


def rows(checks) -> list[list[str]]:
    """One list of display cells per check: id, item, published, ours, difference, convention, inputs, fetch."""
    out = []
    for c in checks:
        inputs = c.inputs + (f" ({c.dataset})" if c.dataset else "")
        out.append([c.id, c.item, _fmt(c.published, c.unit), _fmt(c.ours, c.unit), _diff(c), c.convention, inputs,
                    c.fetch, c.note])
    return out


HEADER = ["id", "item", "published", "ours", "difference", "convention", "inputs", "fetch", "note"]


def markdown(report: str, checks) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = [f"# Report {report}: published numbers vs ours", "",
             "inputs: real = real data; proxy = a stand-in series (labelled); synthetic = the simulated market "
             "(engine/data/synthetic), so ours is NOT evidence about the report; missing = not available, see fetch.",
             "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(esc(x) for x in r) + " |" for r in rows(checks)]
    return "\n".join(lines) + "\n"


def text_table(checks) -> str:
    from engine.signals.industry_common import format_table
    import pandas as pd

    df = pd.DataFrame([r[:7] for r in rows(checks)], columns=HEADER[:7])
    out = format_table(df)
    fetch = sorted({f.strip() for c in checks if c.fetch for f in c.fetch.split(";")})
    if fetch:
        out += "\n\nmissing inputs, fetch with:\n" + "\n".join(f"  {f}" for f in fetch)
    return out


def _out_path(report: str, out: str | None) -> Path:
    if out:
        p = Path(out)
        if p.exists():
            raise ConfigError(f"--out {p}: the file exists; it is never overwritten, choose another name")
        return p
    base = Path("results") / "reproduce"
    p, i = base / f"{report}.md", 1
    while p.exists():
        p, i = base / f"{report}-{i}.md", i + 1
    return p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m engine.reproduce", description=__doc__.splitlines()[0])
    ap.add_argument("report", help=f"seed report: {', '.join(REPORTS)}")
    ap.add_argument("--config", default=None, help="a YAML replacing the report's main shipped strategy")
    ap.add_argument("--out", default=None, metavar="FILE.md", help="Markdown output (default results/reproduce/)")
    return run_cli(_main, ap.parse_args(argv))


def _main(args) -> int:
    if args.report not in REPORTS:
        raise ConfigError(f"unknown report {args.report!r}; available: {', '.join(sorted(REPORTS))}")
    checks = REPORTS[args.report](args.config)
    print(f"report {args.report}: {len(checks)} published numbers")
    print(text_table(checks))
    path = _out_path(args.report, args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(args.report, checks), encoding="utf-8")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
