"""The signal's own panel on report.html, from ``SignalResult.indicators`` and ``.tables``.

- flat daily indicators (the sentiment model): the indicators in [0, 1] on one chart with the target weight below
  (the report's 图1 as a chart; the sentiment model's 情绪浓度/温度/预期), other indicators each on a small chart;
- month-end indicators with (quantity, code) columns (turnover rotation, crowding): the monthly buy and sell lists
  (图2/图3 over time) and a month x industry heatmap of the ranks;
- every ``tables`` entry (the last days' table, the last month's 图2/图3) as a table;
- anything else: its columns as lines (generic fallback).
"""
from __future__ import annotations

import pandas as pd

from engine.report.html import dates, rounded

NAMES_ZH = {"concentration": "情绪浓度", "temperature": "情绪温度", "expectation": "情绪预期"}
LIST_KEYS = (("buy", ("量能买入", "rotation buy")), ("rot_buy", ("量能买入", "rotation buy")),
             ("sell", ("卖出", "sell")), ("rot_sell", ("量能卖出", "rotation sell")))
MAX_LINES = 9


def _names(run, codes) -> dict:
    try:
        from engine.signals.industry_common import industry_names

        return dict(zip(codes, industry_names(run.dataset, pd.Index(codes)).astype(str)))
    except Exception:   # noqa: BLE001 - names are cosmetic: fall back to the codes
        return {c: str(c) for c in codes}


def signal_blocks(page, run) -> list[str]:
    sig = run.signal
    syn = bool(run.dataset.synthetic)
    end = run.backtest.returns.index[-1]
    start = run.backtest.returns.index[0]
    out = []
    ind = sig.indicators
    if isinstance(ind, pd.DataFrame) and len(ind.columns):
        ind = ind.loc[start:end]
        if isinstance(ind.columns, pd.MultiIndex):
            out += _monthly(page, run, ind)
        else:
            out += _flat(page, run, ind)
    for name, tab in (sig.tables or {}).items():
        if isinstance(tab, pd.DataFrame) and len(tab):
            month = tab.attrs.get("month_end")
            cap = name + (f" ({pd.Timestamp(month):%Y-%m})" if month is not None else "")
            title = {"rotation": ("图2 换手率因子排名和量能策略指令", "Fig. 2 turnover ranks and rotation orders"),
                     "crowding": ("图3 拥挤度信号", "Fig. 3 crowding signal"),
                     "last_days": ("表1 近交易日情绪指标与目标权重", "Table 1 last days' indicators and weight")}
            zh, en = title.get(name, (cap, cap))
            suffix = f" ({pd.Timestamp(month):%Y-%m})" if month is not None else ""
            out.append(page.table(tab, caption=(zh + suffix, en + suffix), synthetic=syn))
    return out


def _flat(page, run, ind: pd.DataFrame) -> list[str]:
    t = page.txt
    w = run.signal.weights.loc[ind.index[0]:ind.index[-1]].sum(axis=1)
    x = "@dates" if ind.index.equals(run.backtest.returns.index) and "dates" in page.shared else dates(ind.index)
    unit = [c for c in ind.columns if ind[c].dropna().between(-1e-9, 1 + 1e-9).all() and ind[c].notna().any()]
    main = [c for c in ("concentration", "temperature", "expectation") if c in ind.columns] or unit[:4]
    colors = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e"]
    tr = [{"type": "scatter", "mode": "lines", "name": t((NAMES_ZH.get(c, c), c)), "x": x,
           "y": rounded(ind[c], 4), "line": {"width": 1, "color": colors[i % 4]}} for i, c in enumerate(main)]
    tr.append({"type": "scatter", "mode": "lines", "name": t(("目标权重", "target weight")), "x": x,
               "y": rounded(w, 3), "yaxis": "y2", "fill": "tozeroy", "line": {"width": 0.8, "color": "#555",
                                                                                "shape": "hv"},
               "fillcolor": "rgba(120,120,120,0.25)"})
    lay = {"title": {"text": t(("图1 指标与目标权重", "Fig. 1 indicators and target weight"))},
           "yaxis": {"domain": [0.36, 1.0]}, "yaxis2": {"domain": [0.0, 0.28], "tickformat": ".0%",
                                                          "range": [0, 1.05]},
           "xaxis": {"anchor": "y2"}}
    out = [page.figure(tr, lay, height=460)]
    rest = [c for c in ind.columns if c not in main][:MAX_LINES]
    if rest:
        small = []
        for c in rest:
            small.append(page.figure([{"type": "scatter", "mode": "lines", "name": c, "x": x,
                                       "y": rounded(ind[c], 5), "line": {"width": 1, "color": "#1f77b4"}}],
                                     {"title": {"text": c}, "showlegend": False,
                                      "margin": {"t": 30, "b": 30}}, height=200))
        out.append('<div class="grid2">' + "".join(small) + "</div>")
    return out


def _monthly(page, run, ind: pd.DataFrame) -> list[str]:
    t = page.txt
    q = ind.columns.get_level_values(0)
    codes = list(dict.fromkeys(ind.columns.get_level_values(1)))
    names = _names(run, codes)
    rows = {}
    cols = []
    for key, lab in LIST_KEYS:
        if key == "sell":                # crowding's sell when crowding indicators are present, else rotation's
            lab = ("拥挤度卖出", "crowding sell") if "crowd" in q else ("量能卖出", "rotation sell")
        if key in q:
            flags = ind[key].astype(float)
            cols.append(t(lab))
            for d, r in flags.iterrows():
                rows.setdefault(d, {})[t(lab)] = "、".join(names.get(c, str(c)) for c in r.index[r.to_numpy() > 0.5])
    out = []
    if rows:
        tab = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=cols).sort_index(ascending=False)
        tab.index = [f"{d:%Y-%m}" for d in tab.index]
        tab.index.name = t(("月份", "month"))
        out.append(page.table(tab.fillna(""), caption=("每月买入/卖出名单 (月末决策, 下月持有)",
                                                       "Monthly buy/sell lists (decided at month end, held "
                                                       "through the next month)"), cls="lists"))
    rank_key = next((k for k in ("mean_rank", "rot_mean_rank", "crowd") if k in q), None)
    if rank_key:
        z = ind[rank_key].astype(float)
        out.append(page.figure(
            [{"type": "heatmap", "z": [rounded(r, 4) for r in z.to_numpy().T], "x": [f"{d:%Y-%m}" for d in z.index],
              "y": [names.get(c, str(c)) for c in z.columns], "colorscale": "RdBu", "reversescale": True,
              "hovertemplate": "%{y} %{x}: %{z}<extra></extra>"}],
            {"title": {"text": f"{rank_key} ({t(('行业 x 月', 'industry x month'))})"}, "hovermode": "closest",
             "yaxis": {"type": "category", "automargin": True}}, height=max(320, 16 * z.shape[1] + 100)))
    return out

