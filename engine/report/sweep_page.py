"""report.html of a sweep: the top-N table, interactive heatmaps of every pair of swept parameters (a metric
menu on each), in-sample vs out-of-sample scatter, the walk-forward folds, and DSR and PBO with one sentence
each saying what they mean."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from engine.report.html import Page, esc, rounded, write_page
from engine.report.labels import kind_of, label

HEAT_METRICS = ("sharpe", "annual_return", "max_drawdown", "annual_excess", "information_ratio", "calmar")
MAX_PAIRS = 10
GREEN_RED = [[0, "#1a9850"], [0.5, "#ffffbf"], [1, "#d73027"]]   # high = red (A-share colours)

DSR_SENTENCE = ("DSR (紧缩夏普比率): 最优组合的夏普比率在考虑尝试次数、样本长度、偏度与峰度后仍高于\"全部无效\"时最大值的概率; "
                "接近 1 才说明不是挑出来的运气。",
                "DSR (deflated Sharpe ratio): the probability that the best combination's Sharpe beats the best "
                "that as many unskilled trials would reach by luck, given the sample length, skew and kurtosis; "
                "only values near 1 say the winner is not a lucky pick.")
PBO_SENTENCE = ("PBO (回测过拟合概率): 把样本切成多块、反复划分样本内/外, 样本内最优的组合在样本外排名落到中位数以下的比例; "
                "越接近 0 越好, 0.5 以上说明参数选择基本无效。",
                "PBO (probability of backtest overfitting, CSCV): across many in/out-of-sample splits of the "
                "days, the share of splits where the in-sample best combination ranks below the median out of "
                "sample; near 0 is good, above 0.5 means the selection does not carry over.")


def build_sweep_page(p, res: pd.DataFrame, skipped, sel: dict, info: dict, ds, language: str = "both") -> Page:
    from engine.sweep.grid import LOWER_IS_BETTER, column_names
    from engine.sweep.report import _header, _top, _wf_table, pair_pivots

    syn = bool(ds.synthetic)
    page = Page(f"Sweep / 参数扫描: {p.base.name}", language, syn,
                subtitle=" · ".join(x for x in _header(p, skipped, info, ds)[1 if syn else 0:]))
    t = page.txt
    names = dict(zip(p.spec.keys, column_names(tuple(p.spec.keys))))

    # top-N
    top, how = _top(p, res)
    page.section(label("top_n"), page.table(top, caption=(f"前 {len(top)} 名 ({how})", f"Top {len(top)} ({how})"),
                                            kinds={c: "int" for c in names.values() if c in top and
                                                   pd.api.types.is_integer_dtype(top[c])}))

    # heatmaps of every pair of swept parameters, one metric menu per chart
    keys = [k for k, v in zip(p.spec.keys, p.spec.values) if len(v) > 1]
    pre = "is_" if any(c.startswith("is_") for c in res.columns) else ""
    metrics = [m for m in dict.fromkeys([p.spec.rank_by, *HEAT_METRICS]) if pre + m in res.columns]
    figs = []
    for a, b in list(itertools.combinations(keys, 2))[:MAX_PAIRS]:
        aggs = [(m, "min" if m in LOWER_IS_BETTER else "max") for m in metrics]
        pivs = pair_pivots(res, a, b, [(pre + m, agg) for m, agg in aggs])
        zs = [(m, agg, pivs[pre + m]) for m, agg in aggs]
        piv0 = zs[0][2]
        xs, ys = [str(v) for v in piv0.columns], [str(v) for v in piv0.index]
        other = len(keys) > 2

        def trace(m, agg, piv):
            return {"type": "heatmap", "z": [rounded(r, 4) for r in piv.to_numpy(dtype=float)], "x": xs, "y": ys,
                    "colorscale": GREEN_RED, "reversescale": agg == "min", "texttemplate": "%{z:.3g}",
                    "hovertemplate": f"{names[b]}=%{{x}} {names[a]}=%{{y}}: %{{z}}<extra>{pre}{m}</extra>"}
        buttons = [{"label": f"{pre}{m}" + (f" ({agg})" if other else ""), "method": "restyle",
                    "args": [{"z": [[rounded(r, 4) for r in piv.to_numpy(dtype=float)]],
                              "reversescale": [agg == "min"]}]} for m, agg, piv in zs]
        figs.append(page.figure([trace(*zs[0])], {
            "title": {"text": f"{names[a]} x {names[b]}" + (t((" (其余参数取最优)", " (best over the other "
                                                                                      "parameters)")) if other else "")},
            "xaxis": {"title": {"text": names[b]}, "type": "category"},
            "yaxis": {"title": {"text": names[a]}, "type": "category"}, "hovermode": "closest",
            "updatemenus": [{"buttons": buttons, "x": 1.0, "y": 1.18, "xanchor": "right", "direction": "down"}],
            "margin": {"t": 70}}, height=max(320, 28 * len(ys) + 140)))
    if len(keys) == 1:                   # one swept parameter: the metrics against it
        k = keys[0]
        xs = [str(v) for v in sorted(res[k].unique())]
        tr = []
        for i, m in enumerate(metrics):
            agg = "min" if m in LOWER_IS_BETTER else "max"
            y = res.groupby(k)[pre + m].agg(agg).sort_index()
            tr.append({"type": "scatter", "mode": "lines+markers", "x": xs, "y": rounded(y, 4), "name": pre + m,
                       "visible": True if i == 0 else "legendonly"})
        figs.append(page.figure(tr, {"title": {"text": names[k]}, "xaxis": {"type": "category",
                                                                            "title": {"text": names[k]}},
                                     "hovermode": "closest"}, height=360))
    if figs:
        page.section(label("heatmaps"), *figs, note=("右上角菜单切换指标", "menu at the top right: the metric shown"))

    # in-sample vs out-of-sample
    m = p.spec.rank_by
    if f"is_{m}" in res and f"oos_{m}" in res:
        hover = [", ".join(f"{names[k]}={r[k]}" for k in p.spec.keys) for _, r in res.iterrows()]
        xi, yo = res[f"is_{m}"].to_numpy(dtype=float), res[f"oos_{m}"].to_numpy(dtype=float)
        ok = np.isfinite(xi) & np.isfinite(yo)
        corr = float(np.corrcoef(xi[ok], yo[ok])[0, 1]) if ok.sum() > 2 else float("nan")
        lo, hi = float(np.nanmin(np.r_[xi, yo])), float(np.nanmax(np.r_[xi, yo]))
        fig = page.figure([{"type": "scatter", "mode": "markers", "x": rounded(xi, 4), "y": rounded(yo, 4),
                            "text": hover, "name": m, "marker": {"size": 7, "color": "#1f77b4", "opacity": 0.7},
                            "hovertemplate": "%{text}<br>IS %{x}<br>OOS %{y}<extra></extra>"},
                           {"type": "scatter", "mode": "lines", "x": [lo, hi], "y": [lo, hi], "name": "y = x",
                            "line": {"color": "#999", "dash": "dot", "width": 1}}],
                          {"title": {"text": t((f"样本内 vs 样本外 {m}", f"In-sample vs out-of-sample {m}"))},
                           "xaxis": {"title": {"text": f"is_{m}"}}, "yaxis": {"title": {"text": f"oos_{m}"}},
                           "hovermode": "closest"}, height=420)
        page.section(label("is_oos"), fig, note=(f"每点一个参数组合; 相关系数 {corr:.3f}",
                                                 f"one point per combination; correlation {corr:.3f}; points "
                                                 "below the dotted line did worse out of sample"))
    wf = _wf_table(p, sel)
    if wf is not None:
        page.section(("滚动前推", "Walk-forward"), page.table(wf))

    # selection bias: values and one sentence each
    rows = []
    d = sel.get("dsr")
    if d:
        rows.append(("DSR", d.get("dsr"), f"Sharpe {d['sharpe_annual']:.3f} vs expected max of {d['n_trials']} "
                     f"unskilled trials {d['sr0_annual']:.3f} ({d['period']} period; Bailey & Lopez de Prado 2014)",
                     DSR_SENTENCE))
    pb = sel.get("pbo")
    if pb:
        rows.append(("PBO", pb.get("pbo"), f"CSCV, S={pb['blocks']} blocks, {pb['n_splits']} splits, "
                     f"{pb['n_trials']} trials; median logit {pb['logit_median']:.3f}", PBO_SENTENCE))
    else:
        rows.append(("PBO", None, "n/a: needs >= 2 valid combinations on the same days", PBO_SENTENCE))
    body = "".join(f"<tr><th>{k}</th>{page.td(_f(v), kind_of(k.lower(), _f(v)), 'selection.' + k.lower())}"
                   f"<td class='text'>{page.lab(s)}<br><small>{esc(detail)}</small></td></tr>"
                   for k, v, detail, s in rows)
    page.section(label("selection_bias"), f'<div class="tablewrap"><table><tbody>{body}</tbody></table></div>')
    return page


def _f(v):
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def write_sweep_html(p, res, skipped, sel, info, ds, path: Path) -> Path:
    from engine.report.results import _git_commit, _pkg_versions

    lang = getattr(getattr(p.base, "report", None), "language", "both")
    page = build_sweep_page(p, res, skipped, sel, info, ds, lang)
    prov = {"config_file": p.base.source_file, "git_commit": _git_commit(), "packages": _pkg_versions(),
            "data": {k: v for k, v in ds.meta.items() if k in ("name", "synthetic", "provenance")},
            "sweep": {k: v for k, v in info.items() if k not in ("timings_s",)}}
    return write_page(path, page, prov)
