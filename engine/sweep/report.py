"""The results directory of a sweep: sweep.parquet, sweep.csv, summary.md (top-N table, DSR, PBO), heatmaps,
config.yaml and meta.json, in a new run directory (made by :func:`engine.report.make_run_dir`: never overwritten)."""
from __future__ import annotations

import datetime as _dt
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from engine.config import config_hash, to_yaml
from engine.metrics.format import fmt_pct
from engine.metrics.ppy import format_ppy
from engine.provenance import command_line, git_state
from engine.report import SYNTH_BANNER, _pkg_versions
from engine.sweep.grid import LOWER_IS_BETTER, column_names, rank
from engine.sweep.plan import plural

TOP_COLUMNS = ("sharpe", "annual_return", "max_drawdown", "annual_excess", "information_ratio", "annual_turnover")
MAX_HEATMAPS = 10
_PCT = {"annual_return", "max_drawdown", "annual_excess", "total_return", "annual_volatility", "tracking_error",
        "annual_excess_geometric", "annual_excess_arithmetic", "alpha", "annual_cost_drag", "total_cost_drag"}


def _top(p, res: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    periods = sorted({c.split("_", 1)[0] for c in res.columns if c.startswith(("is_", "oos_"))})
    pre = "is_" if "is" in periods else ""
    top = rank(res, p.spec.rank_by, pre).head(p.spec.top_n)
    metrics = [p.spec.rank_by] + [m for m in TOP_COLUMNS if m != p.spec.rank_by]
    cols = list(p.spec.keys) + [pre + m for m in metrics]
    if pre:
        cols += ["oos_" + m for m in metrics[:3]] + [m for m in metrics[:2]]
    t = top[cols].copy()
    t.columns = column_names(tuple(p.spec.keys)) + cols[len(p.spec.keys):]
    t.index = range(1, len(t) + 1)
    t.index.name = "rank"
    how = "ascending" if p.spec.rank_by in LOWER_IS_BETTER else "descending"
    ppy = sorted(set(res["periods_per_year"].dropna())) if "periods_per_year" in res else []   # metrics_vec column
    ann = f"; annualised with ppy = {', '.join(format_ppy(x) for x in ppy)}" if ppy else ""
    return t, f"ranked by {'in-sample ' if pre else ''}{p.spec.rank_by} ({how}{ann})"


def _fmt_table(t: pd.DataFrame) -> str:
    def f(col, v):
        if isinstance(v, (float, np.floating)):
            if not np.isfinite(v):
                return "n/a"
            base = col.split("_", 1)[1] if col.startswith(("is_", "oos_")) else col
            return fmt_pct(v) if base in _PCT else f"{v:.3f}" if abs(v) < 1e4 else f"{v:.4g}"
        return str(v)

    cols = [str(t.index.name)] + [str(c) for c in t.columns]
    rows = [[str(i)] + [f(c, v) for c, v in zip(t.columns, r)] for i, r in zip(t.index, t.itertuples(index=False))]
    w = [max(len(c), *(len(r[j]) for r in rows)) if rows else len(c) for j, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.rjust(w[j]) for j, v in enumerate(vals)) + " |"  # noqa: E731
    return "\n".join([line(cols), "|" + "|".join("-" * (x + 2) for x in w) + "|"] + [line(r) for r in rows])


def _selection_lines(sel: dict) -> list[str]:
    out = []
    d = sel.get("dsr")
    if d:
        v = "n/a" if not np.isfinite(d["dsr"]) else f"{d['dsr']:.3f}"
        out.append(f"Deflated Sharpe ratio of the top combination ({d['period']} period): {v}  "
                   f"[Sharpe {d['sharpe_annual']:.3f} vs expected max of {d['n_trials']} unskilled trials "
                   f"{d['sr0_annual']:.3f}, annualised; Bailey & Lopez de Prado 2014]")
    pb = sel.get("pbo")
    if pb:
        out.append(f"Probability of backtest overfitting (CSCV, S={pb['blocks']} blocks, {pb['n_splits']} splits, "
                   f"{pb['n_trials']} trials): {pb['pbo']:.3f}  [median logit {pb['logit_median']:.3f}; selected "
                   f"combination loses out-of-sample in {pb['oos_loss_share'] * 100:.1f}% of splits]")
    else:
        out.append("Probability of backtest overfitting: n/a (needs >= 2 valid combinations on the same days and "
                   ">= S days)")
    return out


def _header(p, skipped, info, ds) -> list[str]:
    mode = "grid" if p.spec.mode == "grid" else f"random, {p.spec.samples} samples of {info['n_grid']}"
    lines = [f"Sweep of {p.base.name}: {plural(info['n_valid'], 'combination')} run"
             + (f", {info['n_skipped']} skipped" if info["n_skipped"] else "")
             + f" ({mode}); swept: {', '.join(p.spec.keys)}"]
    if skipped:
        reasons = pd.Series([r for _, r in skipped]).value_counts()
        lines.append("skipped: " + "; ".join(f"{n} x {r}" for r, n in reasons.head(3).items()))
    lines.append(f"chunks: {info['chunks']} (resumed {info['resumed']} from cache, computed {info['computed']}; "
                 f"executor {info['executor']}, workers {info['workers']})")
    if ds.synthetic:
        lines.insert(0, SYNTH_BANNER)
    return lines


def _wf_table(p, sel) -> pd.DataFrame | None:
    if not sel.get("walk_forward"):
        return None
    t = pd.DataFrame(sel["walk_forward"])
    t = t.rename(columns=dict(zip(p.spec.keys, column_names(tuple(p.spec.keys))))).set_index("fold")
    return t


def print_summary(p, res, skipped, sel, info, ds, banner: bool = True) -> None:
    """Print the header, the top-N table, the walk-forward folds and the selection statistics to stdout
    (``banner=False``: without the SYNTHETIC banner, already printed above the plan)."""
    for line in _header(p, skipped, info, ds)[0 if banner or not ds.synthetic else 1:]:
        print(line)
    if len(res):
        t, how = _top(p, res)
        print(f"\nTop {len(t)} {how}:")
        print(_fmt_table(t))
    wf = _wf_table(p, sel)
    if wf is not None:
        print(f"\nWalk-forward (selected in-sample by {p.spec.rank_by}, evaluated on the next segment):")
        print(_fmt_table(wf))
    print()
    for line in _selection_lines(sel):
        print(line)


def pair_pivots(res: pd.DataFrame, a: str, b: str, cols_aggs) -> dict[str, pd.DataFrame]:
    """``{col: res.pivot_table(index=a, columns=b, values=col, aggfunc=agg)}`` for every ``(col, agg)`` in
    ``cols_aggs`` (``agg`` 'min' or 'max'), from one grouping of ``res`` by (a, b) instead of one per column: the
    same tables (pivot_table's defaults: sorted keys, NaN keys and all-NaN cells' rows and columns dropped)."""
    cols = list(dict.fromkeys(c for c, _ in cols_aggs))
    grouped = res.groupby([a, b], sort=True)[cols]
    by_agg = {agg: grouped.agg(agg) for agg in dict.fromkeys(g for _, g in cols_aggs)}
    out = {}
    for col, agg in cols_aggs:
        s = by_agg[agg][col].dropna()
        out[col] = s.unstack(b).sort_index(axis=1).dropna(how="all", axis=1)
    return out


def _heatmap_grid_png(path: Path, panels: list, title: str, cmap: str) -> None:
    """All pair heatmaps in one PNG, on one colour scale (they show the same metric, so a colour means the same
    value in every panel) with one colorbar: ``panels`` = [(values (rows, cols), x tick labels, y tick labels,
    x label, y label)]. One figure instead of one per pair: matplotlib's cost is per figure and per text, and a
    sweep's heatmaps are drawn while the user waits (bench/bench_sweep.py R1).

    Drawn through matplotlib's object API (no pyplot, no backend switch: nothing global is touched), with a layout
    computed in inches from the label lengths instead of ``tight_layout`` (which draws a figure twice): DejaVu Sans
    digits and letters are at most ~0.65 em wide, so each panel's margins hold the longest tick labels and the axis
    labels, and the figure's the colorbar with its tick labels and a title of up to two lines. Cells are annotated
    with their value when a panel has at most 225 of them; a panel is at most 6 x 4.5 in, with at most 30 tick
    labels per axis (every k-th value beyond that)."""
    from matplotlib.figure import Figure

    em = 0.65 / 72                                          # inches per point of font size, per character
    n = len(panels)
    ncol = min(n, 3)
    nrow = -(-n // ncol)
    max_r = max(v.shape[0] for v, *_ in panels)
    max_c = max(v.shape[1] for v, *_ in panels)
    ycw = max((len(y) for _, _, ys, _, _ in panels for y in ys), default=1) * 7 * em   # widest y tick label (7 pt)
    xch = max((len(x) for _, xs, _, _, _ in panels for x in xs), default=1) * 7 * em   # tallest x tick label
    pw = min(max(0.45 * max_c, 1.2), 6.0)                  # one panel's cells: 0.45 x 0.35 in each, the panel
    ph = min(max(0.35 * max_r, 0.9), 4.5)                  # capped (a 100 x 100 grid stays a readable image)
    pl, pb = 0.12 + 0.22 + 0.08 + ycw, 0.12 + 0.22 + 0.08 + xch  # its left (y label, ticks) and bottom margins
    cbar_gap, cbar_w, cbar_labels = 0.25, 0.15, 0.55
    w = ncol * (pl + pw) + 0.15 * (ncol - 1) + cbar_gap + cbar_w + cbar_labels
    lines = [title] if len(title) * 9 * em <= w - 0.2 else title.split("  ", 1) if "  " in title else [title]
    top = 0.12 + 0.17 * len(lines)
    h = top + nrow * (ph + pb) + 0.1 * (nrow - 1)
    finite = [v[np.isfinite(v)] for v, *_ in panels]
    finite = np.concatenate(finite) if finite else np.array([])
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    fig = Figure(figsize=(w, h))
    im = None
    for i, (vals, xs, ys, xlabel, ylabel) in enumerate(panels):
        r, c = divmod(i, ncol)
        x0 = c * (pl + pw + 0.15) + pl
        y0 = h - top - (r + 1) * (ph + pb) - r * 0.1 + pb
        ax = fig.add_axes((x0 / w, y0 / h, pw / w, ph / h))
        im = ax.imshow(vals, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
        if vals.size <= 225:
            for (rr, cc), v in np.ndenumerate(vals):
                if np.isfinite(v):
                    ax.text(cc, rr, f"{v:.2f}", ha="center", va="center", fontsize=6)
        sx, sy = -(-vals.shape[1] // 30), -(-vals.shape[0] // 30)      # at most 30 tick labels per axis
        ax.set_xticks(range(0, vals.shape[1], sx), xs[::sx], rotation=90, fontsize=7)
        ax.set_yticks(range(0, vals.shape[0], sy), ys[::sy], fontsize=7)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
    cax = fig.add_axes(((w - cbar_labels - cbar_w) / w, (h - top - min(nrow, 2) * (ph + pb) + pb) / h, cbar_w / w,
                        (min(nrow, 2) * (ph + pb) - pb) / h))
    fig.colorbar(im, cax=cax)
    fig.text(0.5, 1 - 0.06 / h, "\n".join(lines), ha="center", va="top", fontsize=9)
    fig.savefig(path, dpi=80)


HEATMAP_FILE = "heatmaps.png"


def _heatmaps(p, res: pd.DataFrame, run_dir: Path, synthetic: bool) -> list[str]:
    """:data:`HEATMAP_FILE`: the ranking metric over every pair of swept parameters (at most :data:`MAX_HEATMAPS`
    pairs), the other parameters aggregated by their best value; [] when fewer than two parameters vary."""
    keys = [k for k, v in zip(p.spec.keys, p.spec.values) if len(v) > 1]
    names = dict(zip(p.spec.keys, column_names(tuple(p.spec.keys))))
    metric = p.spec.rank_by
    col = ("is_" + metric) if ("is_" + metric) in res else metric
    agg = "min" if metric in LOWER_IS_BETTER else "max"
    other = len(keys) > 2
    title = f"{col}{f' ({agg} over other parameters)' if other else ''}" + ("  [SYNTHETIC]" if synthetic else "")
    panels = []
    for a, b in list(itertools.combinations(keys, 2))[:MAX_HEATMAPS]:
        piv = pair_pivots(res, a, b, [(col, agg)])[col]
        if piv.size:
            panels.append((piv.to_numpy(dtype=float), [str(x) for x in piv.columns], [str(x) for x in piv.index],
                           names[b], names[a]))
    if not panels:
        return []
    _heatmap_grid_png(run_dir / HEATMAP_FILE, panels, title, "RdYlGn" if agg == "max" else "RdYlGn_r")
    return [HEATMAP_FILE]


def write_sweep(p, res, skipped, sel, info, ds, run_dir: Path, chart: bool = True, md: bool = True) -> Path:
    """Write every file into the (new, empty) run directory ``run_dir``; returns it. ``md``: write summary.md."""
    res.to_parquet(run_dir / "sweep.parquet", index=False)
    res.to_csv(run_dir / "sweep.csv", index=False, float_format="%.17g")
    if skipped:
        pd.DataFrame([dict(zip(p.spec.keys, row), reason=r) for row, r in skipped]).to_csv(
            run_dir / "sweep_skipped.csv", index=False)
    maps = _heatmaps(p, res, run_dir, bool(ds.synthetic)) if chart and len(res) else []
    (run_dir / "config.yaml").write_text(f"# resolved config of {p.base.source_file} (all defaults filled in)\n"
                                         + to_yaml(p.base), encoding="utf-8")
    lines = [f"# Sweep: {p.base.name}", ""]
    if ds.synthetic:
        lines += [f"> **{SYNTH_BANNER}**", ""]
    lines += [x + "  " for x in _header(p, skipped, info, ds)[1 if ds.synthetic else 0:]] + [""]
    lines += ["Periods: full = the config's data.start..data.end"
              + "".join(f"; {lbl or 'full'} = {a}..{b}" for lbl, a, b in info["periods"][1:]), ""]
    if len(res):
        t, how = _top(p, res)
        lines += [f"## Top {len(t)} ({how})", "", _fmt_table(t), ""]
    wf = _wf_table(p, sel)
    if wf is not None:
        lines += [f"## Walk-forward (selected in-sample by {p.spec.rank_by}, evaluated on the next segment)", "",
                  _fmt_table(wf), ""]
    lines += ["## Selection bias", ""] + [f"- {x}" for x in _selection_lines(sel)] + [""]
    lines += ["Files: `sweep.parquet` / `sweep.csv` (one row per combination: parameter columns, then metric "
              "columns; `is_`/`oos_`/`wf<k>_` prefixes for split periods)"
              + (", `sweep_skipped.csv`" if skipped else "") + "."]
    lines += [f"![{m}]({m})" for m in maps]
    if md:
        (run_dir / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {
        "created": _dt.datetime.now().isoformat(timespec="seconds"), "config_file": p.base.source_file,
        "config_hash": config_hash(p.base), **git_state(),
        "command": command_line(), "packages": _pkg_versions(),
        "data": {k: v for k, v in ds.meta.items() if k in ("name", "synthetic", "provenance", "checksums")},
        "sweep": {k: v for k, v in info.items() if k != "timings_s"},
        "selection": sel, "heatmaps": maps,
        "timings_s": {k: round(v, 4) for k, v in info["timings_s"].items()},
    }
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=_json_default),
                                       encoding="utf-8")
    return run_dir


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        v = o.item()
        return None if isinstance(v, float) and not np.isfinite(v) else v
    return str(o)
