"""Output of the dashboard: aligned terminal tables, the Markdown page, report.html (engine.dashboard.html_page),
one PNG chart per block, CSV tables and meta.json in a new results folder (never an existing one: the
run-directory helper of ``engine.report``)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from engine.dashboard.cells import PCT_WORDS, SYNTH_LABEL, fmt  # noqa: F401 (PCT_WORDS re-exported)

CHART_TITLES = {"leverage": "Leveraged money (margin)", "quant": "Quant money", "mainforce": "Main-force money",
                "northbound": "Northbound money"}


def cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    head = [""] + [str(c) for c in df.columns]
    body = [[str(i)] + [fmt(v, f"{i} {c}") for c, v in zip(df.columns, row)] for i, row in zip(df.index, df.itertuples(index=False))]
    return head, body


def _width(s: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)   # CJK characters take two terminal columns


def text_table(df: pd.DataFrame) -> str:
    head, body = cells(df)
    w = [max(_width(r[j]) for r in [head] + body) for j in range(len(head))]
    pad = lambda s, j: (s + " " * (w[j] - _width(s))) if j == 0 else (" " * (w[j] - _width(s)) + s)  # noqa: E731
    lines = ["  ".join(pad(h, j) for j, h in enumerate(head)), "-" * (sum(w) + 2 * (len(w) - 1))]
    lines += ["  ".join(pad(c, j) for j, c in enumerate(r)) for r in body]
    return "\n".join(lines)


def md_table(df: pd.DataFrame) -> str:
    head, body = cells(df)
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(esc(h) for h in head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in body]
    return "\n".join(out)


def terminal(dash) -> str:
    lines = [f"Fund-behaviour dashboard (中泰 负债行为跟踪), week {dash.week.label}; data: {dash.source}"]
    if dash.synthetic:
        lines.append(SYNTH_LABEL)
    for b in dash.blocks:
        lines += ["", "=" * 100, b.title + (" [SYNTHETIC]" if dash.synthetic else "")]
        for note in b.notes:
            lines.append("  " + note)
        for name, t in b.tables.items():
            lines += ["", name + (" (synthetic)" if dash.synthetic else ""), text_table(t)]
    return "\n".join(lines)


def markdown(dash, charts: dict) -> str:
    lines = [f"# Fund-behaviour dashboard, week {dash.week.label}", ""]
    if dash.synthetic:
        lines += [f"> **{SYNTH_LABEL}**", ""]
    lines += [f"Data: `{dash.source}`. Week = Monday..Friday trading days; margin data are published T+1, so the "
              f"margin figures are as of {dash.week.margin_asof:%Y-%m-%d} ({dash.week.margin_asof:%A}). "
              "Definitions: docs/dashboard.md (methodology §5).", ""]
    for b in dash.blocks:
        lines += [f"## {b.title}" + (" (SYNTHETIC)" if dash.synthetic else ""), ""]
        lines += [f"*{n}*" for n in b.notes] + [""]
        if b.key in charts:
            lines += [f"![{CHART_TITLES.get(b.key, b.key)}]({charts[b.key].name})", ""]
        for name, t in b.tables.items():
            lines += [f"**{name}**" + (" — synthetic" if dash.synthetic else ""), "", md_table(t), ""]
    return "\n".join(lines)


def _ascii(s: str) -> str:
    return re.sub(r"[^\x00-\x7f]+", "", s).strip()


def plot_block(block, path: Path, weeks: int, synthetic: bool, end=None) -> Path:
    """One PNG: time series as the ``weeks`` weeks up to ``end`` (the dashboard's week), cross-sections as bars."""
    from matplotlib.figure import Figure      # object API: the caller's backend stays as it is

    items = list(block.chart.items())
    fig = Figure(figsize=(4.6 * max(1, len(items)), 3.6))
    axes = fig.subplots(1, max(1, len(items)), squeeze=False)
    for ax, (name, obj) in zip(axes[0], items):
        if isinstance(obj, pd.Series) and isinstance(obj.index, pd.DatetimeIndex):
            s = obj.dropna().loc[:end].iloc[-weeks:]
            ax.plot(s.index, s.to_numpy(), marker="o", ms=2.5)
            if len(s):
                ax.plot(s.index[-1:], s.to_numpy()[-1:], marker="o", ms=6, color="tab:red")
            ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        elif isinstance(obj, pd.Series):
            s = obj.dropna()
            ax.barh([_ascii(str(i)) or str(j) for j, i in enumerate(s.index)], s.to_numpy(),
                    color=np.where(s.to_numpy() >= 0, "tab:red", "tab:green"))
            ax.tick_params(axis="y", labelsize=6)
        else:
            obj.astype(float).plot.bar(ax=ax, rot=0)
            ax.set_xticklabels([_ascii(str(i)) for i in obj.index], fontsize=7)
        ax.set_title(_ascii(name), fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(CHART_TITLES.get(block.key, block.key) + (" - SYNTHETIC DATA" if synthetic else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def write(dash, run_dir: Path, chart: bool = True, report: str = "all") -> Path:
    """Write dashboard.md (``report`` md|all), report.html (html|all), <block>.png, tables/[SYNTHETIC-]<block>__<n>.csv
    and meta.json into ``run_dir``."""
    charts = {}
    if chart:
        for b in dash.blocks:
            charts[b.key] = plot_block(b, run_dir / f"{b.key}.png", dash.params.history_weeks, dash.synthetic,
                                       dash.week.end)
    (run_dir / "tables").mkdir()
    prefix = "SYNTHETIC-" if dash.synthetic else ""      # the label travels with every table file
    for b in dash.blocks:
        for i, (name, t) in enumerate(list(b.tables.items()) + list(b.data.items())):
            t.to_csv(run_dir / "tables" / f"{prefix}{b.key}__{i}.csv", index_label=str(name))
    if report in ("md", "all"):
        (run_dir / "dashboard.md").write_text(markdown(dash, charts), encoding="utf-8")
    meta = {"week": dash.week.label, "margin_asof": f"{dash.week.margin_asof:%Y-%m-%d}", "synthetic": dash.synthetic,
            "data": dash.source, "params": {k: (list(v) if isinstance(v, tuple) else v)
                                            for k, v in dash.params.__dict__.items()}}
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    if report in ("html", "all"):
        from engine.dashboard.html_page import write_html
        from engine.report.results import _git_commit, _pkg_versions

        write_html(dash, run_dir / "report.html", {**meta, "git_commit": _git_commit(), "packages": _pkg_versions()},
                   charts)
    return run_dir
