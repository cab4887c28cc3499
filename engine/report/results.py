"""A run's results directory: resolved config, metrics.json, equity/weights files, summary.md, chart, meta.json.

An existing run directory is never overwritten: a new one is created per run (``<stamp>-<confighash>``), and an
explicit ``--out DIR`` must not exist yet or be empty.
"""
from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from engine import __version__
from engine.config import config_hash, to_yaml
from engine.errors import ConfigError
from engine.provenance import command_line, git_state
from engine.report.cli import REPORT_CHOICES  # noqa: F401  (re-exported)

SYNTH_BANNER = ("SYNTHETIC DATA: the signal inputs come from the simulated A-share market (engine/data/synthetic); "
                "the CSI 300 benchmark is real. These numbers demonstrate the pipeline and are not evidence.")
PACKAGES = ("numpy", "pandas", "numba", "vectorbt", "pyarrow", "pyyaml", "scipy", "matplotlib")


def make_run_dir(cfg, out: str | None) -> Path:
    if out:
        d = Path(out)
        if d.exists() and (not d.is_dir() or any(d.iterdir())):
            raise ConfigError(f"--out {d}: already exists and is not empty; results are never overwritten, choose a new directory")
        d.mkdir(parents=True, exist_ok=True)
        return d
    return new_run_dir(Path(cfg.output.dir) / cfg.name, config_hash(cfg))


def new_run_dir(base: Path, h: str) -> Path:
    """Create and return a fresh ``base/<YYYYmmdd-HHMMSS>-<h>[-k]`` directory (never an existing one)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        d = base / (f"{stamp}-{h}" + (f"-{i + 1}" if i else ""))
        try:
            d.mkdir(parents=True, exist_ok=False)
            return d
        except FileExistsError:
            continue
    raise ConfigError(f"{base}: could not create a new run directory")  # pragma: no cover


def _pkg_versions() -> dict:
    out = {"python": platform.python_version(), "jingong": __version__}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def _git_commit() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                           cwd=Path(__file__).resolve().parent)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x * 100:.2f}%"


def format_extra_benchmarks(metrics: dict) -> str:
    """A compact block per extra benchmark: its own figures and the strategy's excess over it."""
    out = []
    for name, m in (metrics.get("extra_benchmarks") or {}).items():
        b, e = m["benchmark"], m["excess"]
        out += [f"Strategy vs {name} (signal {m['signal']}, same execution and costs)",
                f"  {name}: annual return {_pct(b['annual_return'])}, total {_pct(b['total_return'])}, "
                f"max drawdown {_pct(b['max_drawdown'])}, Sharpe {_num(b['sharpe'])}",
                f"  annual excess geometric {_pct(e['annual_excess_geometric'])}, arithmetic "
                f"{_pct(e['annual_excess_arithmetic'])}; tracking error {_pct(e['tracking_error'])}; "
                f"information ratio {_num(e['information_ratio'])}; monthly win rate {_pct(e['monthly_win_rate'])}"]
    return "\n".join(out)


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def summary_markdown(run, table_text: str) -> str:
    cfg, m = run.cfg, run.metrics
    lines = [f"# {cfg.name}: strategy vs {cfg.benchmark.name}", ""]
    if run.dataset.synthetic:
        lines += [f"> **{SYNTH_BANNER}**", ""]
    if cfg.description:
        lines += [cfg.description.strip(), ""]
    p = m["period"]
    lines += [f"Period {p['start']} .. {p['end']} ({p['n_days']} trading days; base close {p['base_date']}). "
              f"Signal `{cfg.signal.name}`; execution: decided at close t, traded at the {cfg.execution.price} of "
              f"t+{cfg.execution.lag}. Data: `{cfg.data.source}`"
              + (" (synthetic)" if run.dataset.synthetic else "") + ".", "",
              "```", table_text, "```", ""]
    if len(run.yearly):
        y = run.yearly.copy()
        lines += ["## Calendar years", "", _md_table(y, pct=True), ""]
    for name, tab in (run.signal.tables or {}).items():
        if isinstance(tab, pd.DataFrame) and len(tab):
            lines += [f"## {name}", ""]
            if run.dataset.synthetic:
                lines += ["*(synthetic inputs)*", ""]
            lines += [_md_table(tab), ""]
    lines += ["## Conventions", ""]
    for k, v in m.get("conventions", {}).items():
        lines.append(f"- **{k}**: {v}")
    return "\n".join(lines) + "\n"


def _md_table(df: pd.DataFrame, pct: bool = False) -> str:
    df = df.copy()
    idx_name = df.index.name or ""
    df = df.reset_index()
    cols = [str(c) for c in df.columns]
    if not idx_name and cols[0] == "index":
        cols[0] = ""

    def fmt(v, col):
        if isinstance(v, (float, np.floating)):
            if np.isnan(v):
                return ""
            if pct and col != "days":
                return f"{v * 100:.2f}%"
            return f"{v:.4f}"
        if isinstance(v, pd.Timestamp):
            return f"{v:%Y-%m-%d}"
        return str(v)

    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        rows.append("| " + " | ".join(fmt(r[c], str(c)) for c in df.columns) + " |")
    return "\n".join(rows)


def write_results(run, run_dir: Path, table_text: str, chart: bool = True, report: str = "all") -> Path:
    """Write the run's files into ``run_dir``. ``report``: which pages to write, ``md`` (summary.md), ``html``
    (report.html), ``all`` (both) or ``none``; the data files (metrics.json, CSVs, meta.json) are always written."""
    cfg, bt = run.cfg, run.backtest
    (run_dir / "config.yaml").write_text(
        f"# resolved config of {cfg.source_file} (all defaults filled in)\n" + to_yaml(cfg), encoding="utf-8")
    (run_dir / "metrics.json").write_text(json.dumps(run.metrics, indent=2, ensure_ascii=False, allow_nan=False),
                                          encoding="utf-8")
    eq = pd.DataFrame({"strategy": (1 + bt.returns).cumprod(), "benchmark": (1 + run.benchmark_returns).cumprod(),
                       "strategy_return": bt.returns, "benchmark_return": run.benchmark_returns,
                       "turnover": bt.turnover, "cost_return": bt.cost_returns})
    for name, r in run.extra_benchmarks.items():
        eq[name] = (1 + r).cumprod()
    eq.index.name = "date"
    eq.to_csv(run_dir / "equity.csv", float_format="%.15g")
    w = run.signal.weights.loc[bt.returns.index[0]:bt.returns.index[-1]]
    w.index.name = "date"
    w.to_csv(run_dir / "weights_target.csv", float_format="%.6g")
    held = bt.weights_held.copy()
    held.index.name = "date"
    held.to_csv(run_dir / "weights_held.csv", float_format="%.6g")
    run.yearly.to_csv(run_dir / "yearly.csv", float_format="%.6g")
    if len(run.signal.indicators):
        ind = run.signal.indicators.loc[: bt.returns.index[-1]]
        ind.to_csv(run_dir / "indicators.csv", float_format="%.8g")
    for name, tab in (run.signal.tables or {}).items():
        if isinstance(tab, pd.DataFrame):
            tab.to_csv(run_dir / f"table_{name}.csv", encoding="utf-8-sig")
    if report in ("md", "all"):
        (run_dir / "summary.md").write_text(summary_markdown(run, table_text), encoding="utf-8")
    if chart:
        from engine.report.charts import _chart

        _chart(run, run_dir / "equity.png")
    meta = {
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "config_file": cfg.source_file,
        "config_hash": config_hash(cfg),
        **git_state(),
        "command": command_line(),
        "packages": _pkg_versions(),
        "data": {k: v for k, v in run.dataset.meta.items() if k in ("name", "synthetic", "provenance", "checksums",
                                                                     "description", "generator", "params", "notes")},
        "timings_s": {k: round(v, 4) for k, v in run.timings.items()},
    }
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    if report in ("html", "all"):
        write_run_html(run, run_dir / "report.html", meta)
    return run_dir


def write_run_html(run, path: Path, meta: dict | None = None) -> Path:
    """report.html of a run (engine.report.run_page) in the config's ``report.language``."""
    from engine.report.html import write_page
    from engine.report.run_page import build_run_page
    from engine.report.trades import run_trades

    lang = getattr(getattr(run.cfg, "report", None), "language", "both")
    page = build_run_page(run, lang, trades=run_trades(run), meta=meta)
    prov = {k: (meta or {}).get(k) for k in ("config_file", "config_hash", "git_commit", "command", "created",
                                               "packages", "data")}
    return write_page(path, page, prov)
