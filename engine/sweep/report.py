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


def _heatmap_png(path: Path, vals: np.ndarray, xs: list[str], ys: list[str], xlabel: str, ylabel: str, title: str,
                 cmap: str) -> None:
    """One heatmap PNG through matplotlib's object API (no pyplot, no backend switch: nothing global is touched).

    The layout is computed in inches from the label lengths instead of ``tight_layout`` (which draws every figure
    twice): DejaVu Sans digits and letters are at most ~0.65 em wide, so the margins below hold the longest tick
    label of each axis, the axis labels, the colorbar and its tick labels, and a title of up to two lines."""
    from matplotlib.figure import Figure

    nr, nc = vals.shape
    em = 0.65 / 72                                        # inches per point of font size, per character
    ycw = max((len(y) for y in ys), default=1) * 7 * em     # widest y tick label (7 pt)
    xch = max((len(x) for x in xs), default=1) * 7 * em     # tallest rotated x tick label (7 pt)
    w = 1.2 + 0.45 * nc + 2
    h = 1.2 + 0.35 * nr + 1
    lines = [title] if len(title) * 9 * em <= w - 0.2 else title.split("  ", 1) if "  " in title else [title]
    left, bottom = 0.12 + 0.22 + 0.08 + ycw, 0.12 + 0.22 + 0.08 + xch
    top = 0.12 + 0.17 * len(lines)
    cbar_w, cbar_gap, cbar_labels = 0.15, 0.2, 0.55
    right = cbar_gap + cbar_w + cbar_labels
    fig = Figure(figsize=(w, h))
    ax = fig.add_axes((left / w, bottom / h, max(w - left - right, 0.5) / w, max(h - bottom - top, 0.5) / h))
    cax = fig.add_axes(((w - cbar_labels - cbar_w) / w, bottom / h, cbar_w / w, max(h - bottom - top, 0.5) / h))
    im = ax.imshow(vals, aspect="auto", cmap=cmap)
    if vals.size <= 225:
        for (r, c), v in np.ndenumerate(vals):
            if np.isfinite(v):
                ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6)
    ax.set_xticks(range(nc), xs, rotation=90, fontsize=7)
    ax.set_yticks(range(nr), ys, fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.text(0.5, 1 - 0.06 / h, "\n".join(lines), ha="center", va="top", fontsize=9)
    fig.colorbar(im, cax=cax)
    fig.savefig(path, dpi=80)


def _heatmaps(p, res: pd.DataFrame, run_dir: Path, synthetic: bool) -> list[str]:
    """PNG heatmaps of the ranking metric over every pair of swept parameters (at most :data:`MAX_HEATMAPS`), the
    other parameters aggregated by their best value."""
    keys = [k for k, v in zip(p.spec.keys, p.spec.values) if len(v) > 1]
    names = dict(zip(p.spec.keys, column_names(tuple(p.spec.keys))))
    metric = p.spec.rank_by
    col = ("is_" + metric) if ("is_" + metric) in res else metric
    agg = "min" if metric in LOWER_IS_BETTER else "max"
    other = len(keys) > 2
    title = f"{col}{f' ({agg} over other parameters)' if other else ''}" + ("  [SYNTHETIC]" if synthetic else "")
    files = []
    for a, b in list(itertools.combinations(keys, 2))[:MAX_HEATMAPS]:
        piv = pair_pivots(res, a, b, [(col, agg)])[col]
        fname = f"heatmap_{names[a]}__{names[b]}.png".replace("/", "_")
        _heatmap_png(run_dir / fname, piv.to_numpy(dtype=float), [str(x) for x in piv.columns],
                     [str(x) for x in piv.index], names[b], names[a], title,
                     "RdYlGn" if agg == "max" else "RdYlGn_r")
        files.append(fname)
    return files


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
