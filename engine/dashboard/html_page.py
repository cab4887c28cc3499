"""report.html of the dashboard: one section per block with the same tables as dashboard.md (cells formatted by
:func:`engine.dashboard.render.fmt`, each carrying its unformatted number in ``data-value``) and one interactive
plotly chart per item of the block's chart data (the block's PNG instead when plotly is not installed), the T+1
margin convention, the SYNTHETIC label on every table and chart resting on synthetic inputs, and the provenance
(the same dict as meta.json). Written with the generic page writer :mod:`engine.report.html`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.dashboard.cells import PCT_WORDS, SYNTH_LABEL, fmt
from engine.report.html import Page, dates, esc, plotly_js_path, rounded, write_page

BLOCK_LABELS = {"leverage": ("杠杆资金", "Leveraged money (margin)"), "quant": ("量化资金", "Quant money"),
                "mainforce": ("主力资金", "Main-force money"), "northbound": ("北向资金", "Northbound money")}
UP, DOWN = "#d62728", "#2ca02c"            # A-share convention: red up, green down


def table_html(page: Page, df: pd.DataFrame, caption: str, key: str) -> str:
    """``df`` as in dashboard.md: same row/column labels and formatted text; ``data-key`` = ``key|row|column``."""
    head = "".join(f"<th>{esc(c)}</th>" for c in [""] + [str(c) for c in df.columns])
    rows = []
    for i, r in zip(df.index, df.itertuples(index=False)):
        tds = []
        for c, v in zip(df.columns, r):
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            val = f' data-value="{float(v)!r}"' if num and np.isfinite(float(v)) else ""
            tds.append(f'<td data-key="{esc(f"{key}|{i}|{c}")}"{val}>{esc(fmt(v, f"{i} {c}"))}</td>')
        rows.append(f"<tr><th>{esc(fmt(i))}</th>{''.join(tds)}</tr>")
    return (f'<div class="tablewrap"><table><caption>{esc(caption)}{page.badge()}</caption><thead><tr>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def chart_html(page: Page, name: str, obj, weeks: int, end) -> str:
    """The same views as :func:`engine.dashboard.render.plot_block`: a dated series as a line over the last
    ``weeks`` weeks up to ``end``, a cross-section as horizontal bars, a frame as grouped bars."""

    pct = any(w in name.lower() for w in PCT_WORDS)        # the rule render.fmt uses for the tables' cells
    axis = {"tickformat": ".1%", "hoverformat": ".2%"} if pct else {"hoverformat": ",.2f"}
    lay = {"title": {"text": name}, "hovermode": "closest", "yaxis": axis}
    if isinstance(obj, pd.Series) and isinstance(obj.index, pd.DatetimeIndex):
        s = obj.dropna().loc[:end].iloc[-weeks:]
        tr = [{"type": "scatter", "mode": "lines+markers", "name": name, "x": dates(s.index),
               "y": rounded(s.to_numpy()), "marker": {"size": 4}, "showlegend": False}]
        return page.figure(tr, lay, height=320)
    if isinstance(obj, pd.Series):
        s = obj.dropna()
        tr = [{"type": "bar", "orientation": "h", "x": rounded(s.to_numpy()), "y": [str(i) for i in s.index],
               "marker": {"color": [UP if v >= 0 else DOWN for v in s.to_numpy()]}, "showlegend": False}]
        return page.figure(tr, {**lay, "xaxis": axis, "yaxis": {"autorange": "reversed", "automargin": True}},
                           height=max(280, 22 * len(s) + 90))
    df = obj.astype(float)
    tr = [{"type": "bar", "name": str(c), "x": [str(i) for i in df.index], "y": rounded(df[c].to_numpy())}
          for c in df.columns]
    return page.figure(tr, {**lay, "barmode": "group"}, height=320)


def build_page(dash, pngs: dict | None = None) -> Page:
    """``pngs``: block key -> PNG path, embedded when plotly is unavailable (or as the only chart source)."""

    wk = dash.week
    page = Page(f"资金行为周度看板 Fund-behaviour dashboard, week {wk.label}", "both", dash.synthetic,
                subtitle=f"data: {dash.source}")
    conv = (f"Week = Monday..Friday trading days ({wk.days[0]:%Y-%m-%d}..{wk.end:%Y-%m-%d}). T+1 margin convention: "
            "SSE/SZSE publish the margin data of a day on the next trading day, so the margin figures are the rows "
            f"published during the week, as of {wk.margin_asof:%Y-%m-%d} ({wk.margin_asof:%A})"
            + ("" if dash.params.margin_lag else " — here margin_lag 0: the week's own rows") + ". Definitions: "
            "docs/dashboard.md (methodology §5).")
    page.section(("口径", "Conventions"), page.text(esc(conv)),
                 page.text(f"<b>{esc(SYNTH_LABEL)}</b>") if dash.synthetic else "")
    plotly = plotly_js_path() is not None
    for b in dash.blocks:
        parts = [page.text(esc(n)) for n in b.notes]
        if plotly:
            parts += [chart_html(page, name, obj, dash.params.history_weeks, wk.end) for name, obj in b.chart.items()]
        elif pngs and b.key in pngs:
            parts.append(page.image(pngs[b.key], caption=BLOCK_LABELS.get(b.key, b.key)))
        parts += [table_html(page, t, name, f"{b.key}|{name}") for name, t in b.tables.items()]
        page.section(BLOCK_LABELS.get(b.key, b.title), *parts, note=b.title)
    return page


def write_html(dash, path: Path, provenance: dict, pngs: dict | None = None) -> Path:
    return write_page(path, build_page(dash, pngs), provenance)
