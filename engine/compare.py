"""Side-by-side comparison: ``python -m engine.compare strategies/a.yaml strategies/b.yaml ... [--out DIR]``.

Every strategy runs through the normal pipeline (:func:`engine.pipeline.run_strategy`) on the **common period**:
the latest ``data.start`` and the earliest ``data.end`` of all configs (each resolved against its own data, as a
single run would), so each column equals ``python -m engine.run x.yaml --set data.start=S --set data.end=E``.
Output: one table (rows = metrics, columns = strategies, then every configured benchmark: the CSI 300 and any
``extra_benchmarks``, once each), ``comparison.csv`` (the same numbers, unformatted), ``equity.csv`` (daily
equity of every column, base day = 1), ``summary.md`` and ``comparison.png`` (log equity and drawdowns). Excess
rows compare each strategy with its own configured benchmark. Results go to a new directory
(``results/compare/<stamp>-<hash>/`` or ``--out DIR``, which must not exist or be empty); the last stdout line is
``results: <path>``. A config or data problem exits with status 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

from engine.errors import ConfigError, run_cli
from engine.report.cli import add_report_args, after_write, check_report_args

ROWS = (  # (label, section, key, kind)
    ("Total return", "s", "total_return", "pct"), ("Annual return", "s", "annual_return", "pct"),
    ("Annual volatility", "s", "annual_volatility", "pct"), ("Sharpe", "s", "sharpe", "ratio"),
    ("Sortino", "s", "sortino", "ratio"), ("Max drawdown", "s", "max_drawdown", "pct"),
    ("  peak", "s", "max_drawdown_peak", "date"), ("  trough", "s", "max_drawdown_trough", "date"),
    ("  recovery", "s", "max_drawdown_recovery", "date"), ("Calmar", "s", "calmar", "ratio"),
    ("Best day", "s", "best_day", "pct"), ("Worst day", "s", "worst_day", "pct"),
    ("Annual excess (primary)", "e", "annual_excess", "pct"),
    ("Total excess, geometric", "e", "total_excess_geometric", "pct"),
    ("Tracking error", "e", "tracking_error", "pct"), ("Information ratio", "e", "information_ratio", "ratio"),
    ("Beta", "e", "beta", "ratio"), ("Alpha (annual)", "e", "alpha", "pct"),
    ("Daily win rate", "e", "daily_win_rate", "pct"), ("Monthly win rate", "e", "monthly_win_rate", "pct"),
    ("Annual turnover", "e", "annual_turnover", "times"), ("Annual cost drag", "e", "annual_cost_drag", "pct"),
)


def build_parser() -> argparse.ArgumentParser:
    from engine.provenance import version_string

    prog = "python -m engine.compare"
    p = argparse.ArgumentParser(prog=prog, description="Run several strategy YAMLs on their common period and compare "
                                "them (a config or data problem exits with status 2 and one line on stderr).")
    p.add_argument("configs", nargs="+", help="strategy YAMLs, e.g. strategies/ma_timing.yaml strategies/hold.yaml")
    p.add_argument("--version", action="version", version=version_string(prog))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key in every config (e.g. --set costs.slippage_bps=5); repeatable")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write results here (must not exist or be empty); default: a new results/compare/<stamp>-<hash>/")
    p.add_argument("--no-chart", action="store_true", help="skip comparison.png")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the last line 'results: <path>' on stdout")
    p.add_argument("--json", action="store_true",
                   help="print the comparison (metric -> column -> value) and 'results' to stdout as JSON")
    add_report_args(p, tearsheet=False)
    return p


def common_period(cfgs, datasets) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Latest start and earliest end over the configs' own periods (resolved against their data)."""
    from engine.pipeline import resolve_period
    from engine.signals import REGISTRY

    spans = [resolve_period(c, ds.panel(REGISTRY[c.signal.name].universe_for(c.signal.params)).dates) for c, ds in zip(cfgs, datasets)]
    start, end = max(s for s, _ in spans), min(e for _, e in spans)
    if end <= start:
        names = ", ".join(f"{c.name} {s:%Y-%m-%d}..{e:%Y-%m-%d}" for c, (s, e) in zip(cfgs, spans))
        raise ConfigError(f"compare: the strategies' periods do not overlap ({names}); align data.start/data.end")
    return start, end


def run_all(paths, overrides=None):
    """Load, align to the common period and run every config. Returns (runs, (start, end))."""
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import config_dir, run_strategy

    cfgs = [load_config(p, overrides) for p in paths]
    cache: dict[str, object] = {}
    datasets = []
    for c in cfgs:
        key = json.dumps(dataclasses.asdict(c.data) | {"start": None, "end": None}, sort_keys=True, default=str)
        key += str(config_dir(c))
        if key not in cache:
            cache[key] = load_dataset(c.data, config_dir(c))
        datasets.append(cache[key])
    from engine.preflight import check_config_against_data

    for c, ds in zip(cfgs, datasets):
        check_config_against_data(c, ds)
    start, end = common_period(cfgs, datasets)
    runs = []
    for c, ds in zip(cfgs, datasets):
        c2 = dataclasses.replace(c, data=dataclasses.replace(c.data, start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"))
        runs.append(run_strategy(c2, ds))
    return runs, (start, end)


def _unique(names):
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def comparison_table(runs) -> tuple[pd.DataFrame, dict[str, pd.Series], list[str]]:
    """(table rows = metric keys x columns, daily returns per column, names of the synthetic columns)."""
    names = _unique([r.cfg.name for r in runs])
    cols, rets, synth = {}, {}, []
    for name, r in zip(names, runs):
        cols[name] = {k: (r.metrics["strategy"] if sec == "s" else r.metrics["excess"]).get(k) for _, sec, k, _ in ROWS}
        rets[name] = r.backtest.returns
        if r.dataset.synthetic:
            synth.append(name)
    for r in runs:                                  # every configured benchmark once
        bname = r.cfg.benchmark.name
        if bname not in cols:
            cols[bname] = {k: r.metrics["benchmark"].get(k) if sec == "s" else None for _, sec, k, _ in ROWS}
            rets[bname] = r.benchmark_returns
        for ename, em in (r.metrics.get("extra_benchmarks") or {}).items():
            if ename not in cols:
                cols[ename] = {k: em["benchmark"].get(k) if sec == "s" else None for _, sec, k, _ in ROWS}
                rets[ename] = r.extra_benchmarks[ename]
                if r.dataset.synthetic:
                    synth.append(ename)
    table = pd.DataFrame(cols, index=[k for _, _, k, _ in ROWS])
    table.index.name = "metric"
    return table, rets, synth


def format_table(table: pd.DataFrame, synth: list[str]) -> str:
    from engine.metrics.format import _fmt

    heads = [c + (" *" if c in synth else "") for c in table.columns]
    w = max(14, *(len(h) + 2 for h in heads))
    lines = [f"{'Metric':<26}" + "".join(f"{h:>{w}}" for h in heads)]
    lines.append("-" * len(lines[0]))
    for label, _, key, kind in ROWS:
        lines.append(f"{label:<26}" + "".join(f"{_fmt(table.at[key, c], kind):>{w}}" for c in table.columns))
    if synth:
        lines.append("* SYNTHETIC signal inputs (simulated market): not evidence about real markets")
    lines.append("Excess rows: each strategy against its own configured benchmark; n/a for benchmark columns.")
    return "\n".join(lines)


def _chart(rets: dict, path: Path, title: str, benchmarks=()) -> None:
    from matplotlib.figure import Figure      # object API: the caller's backend and environment stay as they are

    fig = Figure(figsize=(11, 7))
    a1, a2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    for name, r in rets.items():
        eq = (1 + r).cumprod()
        style = dict(ls="--", lw=1.0) if name in benchmarks else dict(lw=1.3)
        a1.plot(eq.index, eq.values, label=name, **style)
        a2.plot(eq.index, (eq / eq.cummax() - 1).values, **style)
    a1.set_yscale("log")
    a1.set_ylabel("equity (log, base day = 1)")
    a1.legend(fontsize=8)
    a1.set_title(title, fontsize=10)
    a2.set_ylabel("drawdown")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def _plain(v):
    """A table cell as JSON: floats at full precision, NaN/None as null, anything else as text."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (int, float, str, bool)):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def _run_dir(runs, out: str | None) -> Path:
    from engine.config import config_hash
    from engine.report import make_run_dir, new_run_dir

    if out:
        return make_run_dir(runs[0].cfg, out)
    h = hashlib.sha256("|".join(config_hash(r.cfg) for r in runs).encode()).hexdigest()[:10]
    return new_run_dir(Path(runs[0].cfg.output.dir) / "compare", h)


def main(argv=None) -> int:
    from engine.provenance import set_command

    args = build_parser().parse_args(argv)
    set_command("python -m engine.compare", argv)
    return run_cli(_main, args)


def _precheck_out(args) -> None:
    """The output location must be writable before anything is computed."""
    from engine.config import load_config
    from engine.errors import ensure_cache_writable, ensure_writable

    if args.out:
        ensure_writable(args.out, "--out")
    else:
        cfg = load_config(args.configs[0], args.overrides)
        ensure_writable(Path(cfg.output.dir) / "compare", "output.dir")
    ensure_cache_writable()


def _main(args) -> int:
    check_report_args(args)
    _precheck_out(args)
    runs, (start, end) = run_all(args.configs, args.overrides)
    table, rets, synth = comparison_table(runs)
    per = runs[0].metrics["period"]
    head = (f"Common period {per['start']} .. {per['end']} ({per['n_days']} trading days after base day "
            f"{per['base_date']}); requested {start:%Y-%m-%d} .. {end:%Y-%m-%d}")
    text = format_table(table, synth)
    run_dir = _run_dir(runs, args.out)
    table.to_csv(run_dir / "comparison.csv", float_format="%.17g")
    eq = pd.DataFrame({k: (1 + v).cumprod() for k, v in rets.items()})
    eq.index.name = "date"
    eq.to_csv(run_dir / "equity.csv", float_format="%.15g")
    title = "Comparison: " + ", ".join(table.columns) + ("  [* SYNTHETIC inputs]" if synth else "")
    if not args.no_chart:
        _chart(rets, run_dir / "comparison.png", title, benchmarks=list(table.columns[len(runs):]))
    md = [f"# {title}", "", head, "", "```", text, "```", "", "Configs:"]
    md += [f"- `{r.cfg.source_file}`: {r.cfg.name} ({r.cfg.signal.name}, data `{r.cfg.data.source}`)" for r in runs]
    md += ["", "Conventions (all columns): " + str(runs[0].metrics["conventions"]["annualisation"]) + "; Sharpe "
           + str(runs[0].metrics["conventions"]["sharpe"]) + "."]
    if not args.no_chart:
        md += ["", "![comparison](comparison.png)"]
    if args.report in ("md", "all"):
        (run_dir / "summary.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    if args.report in ("html", "all"):
        from engine.report.compare_page import write_compare_html

        write_compare_html(runs, table, rets, synth, run_dir / "report.html", head, ROWS)
    if args.json:
        if synth:
            print("SYNTHETIC signal inputs in columns: " + ", ".join(synth), file=sys.stderr)
        doc = {"period": per, "synthetic_columns": synth, "metrics": {k: {c: _plain(v) for c, v in row.items()} for k, row in table.to_dict(orient="index").items()},
               "results": str(run_dir)}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    if not args.quiet:
        print(head)
        print(text)
    after_write(args, run_dir)
    print(f"results: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
