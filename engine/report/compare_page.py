"""report.html of a comparison (``python -m engine.compare``): every strategy's and benchmark's equity (log) and
drawdown, and the side-by-side table (the numbers of comparison.csv, formatted as in the terminal)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.report.html import Page, dates, esc, rounded, write_page
from engine.report.labels import label
from engine.report.run_page import COLORS, log_axis


def build_compare_page(runs, table: pd.DataFrame, rets: dict, synth: list, head: str, rows,
                       language: str = "both") -> Page:
    """``table``: metric key x column (engine.compare.comparison_table); ``rows``: engine.compare.ROWS (label,
    section, key, kind); ``synth``: the columns resting on synthetic inputs (marked on the page)."""
    page = Page("Comparison / 策略对比: " + ", ".join(table.columns), language, bool(synth), subtitle=head)
    t = page.txt
    idx = next(iter(rets.values())).index
    x = page.share("dates", dates(idx))
    bench = set(table.columns[len(runs):])
    eq = {k: (1 + r).cumprod() for k, r in rets.items()}
    tr, dd = [], []
    for i, (k, e) in enumerate(eq.items()):
        name = k + (" *" if k in synth else "")
        line = {"color": COLORS[i % len(COLORS)], "width": 1.0 if k in bench else 1.5,
                **({"dash": "dot"} if k in bench else {})}
        tr.append({"type": "scatter", "mode": "lines", "name": name, "x": x, "y": rounded(e), "line": line})
        dd.append({"type": "scatter", "mode": "lines", "name": name, "x": x, "y": rounded(e / e.cummax() - 1, 4),
                   "line": line, "showlegend": False})
    lo = min(float(e.min()) for e in eq.values())
    hi = max(float(e.max()) for e in eq.values())
    figs = [page.figure(tr, {"title": {"text": t(label("equity"))}, "yaxis": log_axis(lo, hi)}, height=440),
            page.figure(dd, {"title": {"text": t(label("drawdown"))}, "yaxis": {"tickformat": ".0%"}}, height=260)]
    hdr = "".join(f"<th>{esc(c)}{page.badge(c in synth) if synth else ''}</th>" for c in table.columns)
    body = []
    for lab, _, key, kind in rows:
        cells = "".join(page.td(_py(table.at[key, c]), kind, f"{c}.{key}") for c in table.columns)
        zh, en = label(key)
        body.append(f"<tr><th>{page.lab((zh, lab.strip()) if zh != en else lab.strip())}</th>{cells}</tr>")
    tab = (f'<div class="tablewrap"><table><caption>{page.lab(label("comparison"))}</caption><thead><tr>'
           f"<th>{page.lab(label('metric'))}</th>{hdr}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")
    note = ("超额类指标: 每个策略相对其自身配置的基准; 基准列为 n/a",
            "Excess rows: each strategy against its own configured benchmark; n/a for benchmark columns")
    page.section(label("comparison"), tab, note=note)
    page.section(label("equity"), *figs)
    cfgs = pd.DataFrame({"config": [r.cfg.source_file for r in runs], "signal": [r.cfg.signal.name for r in runs],
                         "data": [r.cfg.data.source + (" (SYNTHETIC)" if r.dataset.synthetic else "")
                                  for r in runs]}, index=pd.Index([r.cfg.name for r in runs], name="name"))
    conv = runs[0].metrics["conventions"]
    page.section(label("conventions"), page.table(cfgs, synthetic=False),
                 page.text(esc(f"annualisation: {conv['annualisation']}; Sharpe: {conv['sharpe']}; "
                               f"periods_per_year {conv['periods_per_year']}")))
    return page


def _py(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def write_compare_html(runs, table, rets, synth, path: Path, head: str, rows) -> Path:
    from engine.report.results import _git_commit, _pkg_versions

    lang = getattr(getattr(runs[0].cfg, "report", None), "language", "both")
    page = build_compare_page(runs, table, rets, synth, head, rows, lang)
    prov = {"configs": [r.cfg.source_file for r in runs], "git_commit": _git_commit(), "packages": _pkg_versions(),
            "data": [{k: v for k, v in r.dataset.meta.items() if k in ("name", "synthetic", "provenance")}
                     for r in runs]}
    return write_page(path, page, prov)
