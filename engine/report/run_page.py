"""report.html of one run: metrics with their conventions, equity, drawdowns, rolling statistics, calendar
returns, exposure and weights, turnover and costs, trades, the signal's own panel, provenance."""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.report.html import Page, dates, rounded
from engine.report.labels import kind_of, label

COLORS = ["#d62728", "#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
_SKIP = {"definitions"}


# ------------------------------------------------------------------------------------------------ metrics
def metrics_block(page: Page, m: dict) -> str:
    """The metrics table built from the metrics dict itself: every key of ``strategy``/``benchmark`` (side by
    side), of ``excess`` (with its definition), of each extra benchmark and of ``conventions``; any key added to
    the dict later appears without a change here. Each value cell has ``data-key`` (dotted path in metrics.json)
    and ``data-value``."""
    st, bm = m.get("strategy", {}), m.get("benchmark", {})
    conv = {**_series_definitions(), **m.get("conventions", {})}
    head = (f"<tr><th>{page.lab(label('metric'))}</th><th>{page.lab(label('strategy'))}</th>"
            f"<th>{page.lab(label('benchmark'))}</th><th>{page.lab(label('definition'))}</th></tr>")
    rows = []
    for k in list(dict.fromkeys([*st, *bm])):
        v = st.get(k, bm.get(k))
        kind = kind_of(k, v)
        rows.append(f"<tr><th>{page.key_lab(k)}</th>{page.td(st.get(k), kind, 'strategy.' + k)}"
                    f"{page.td(bm.get(k), kind, 'benchmark.' + k)}<td class='text'>{_esc(conv.get(k, ''))}</td></tr>")
    out = [_table(page, head, rows, caption=label("metrics"))]
    ex = m.get("excess", {})
    if ex:
        out.append(_kv_table(page, ex, "excess", label("excess"), ex.get("definitions", {}), conv))
    for name, em in (m.get("extra_benchmarks") or {}).items():
        out.append(_kv_table(page, em.get("benchmark", {}), f"extra_benchmarks.{name}.benchmark", name, {}, conv))
        out.append(_kv_table(page, em.get("excess", {}), f"extra_benchmarks.{name}.excess",
                             (f"超额 vs {name}", f"Excess vs {name}"), em.get("excess", {}).get("definitions", {}),
                             conv))
    for key, sec in m.items():            # any other section (warm-up, warnings, ...): shown as it is
        if key in _SHOWN or not sec:
            continue
        if isinstance(sec, dict):
            out.append(_kv_table(page, sec, key, label(key), {}, {}))
        elif isinstance(sec, list):
            items = "".join(f"<li>{_esc(_flat(x))}</li>" for x in sec)
            out.append(f"<h3>{page.key_lab(key)}</h3><ul class='{esc_cls(key)}'>{items}</ul>")
    crow = [f"<tr><th>{page.key_lab(k)}</th><td class='text'>{_esc(_flat(v))}</td></tr>"
            for k, v in m.get("conventions", {}).items()]
    out.append(_table(page, "", crow, caption=label("conventions")))
    return "".join(out)


_SHOWN = {"strategy", "benchmark", "excess", "extra_benchmarks", "conventions", "period", "data"}


def esc_cls(key: str) -> str:
    return "".join(ch for ch in key if ch.isalnum() or ch in "-_")


def _series_definitions() -> dict:
    """The terminal table's one-line definitions of the per-series metrics (engine.metrics.format), if present."""
    try:
        from engine.metrics import format as metrics_format

        return {row[1]: row[3] for row in getattr(metrics_format, "_SERIES_ROWS", ()) if len(row) > 3 and row[3]}
    except Exception:   # noqa: BLE001 - definitions are a courtesy; the numbers do not depend on them
        return {}


def _kv_table(page, d: dict, prefix: str, caption, defs: dict, conv: dict) -> str:
    rows = []
    for k, v in _flatten(d):
        if _SKIP & set(k.split(".")):
            continue
        if isinstance(v, (list, tuple)):
            v = ", ".join(map(str, v))
        kind = kind_of(k, v)
        note = defs.get(k, conv.get(k, ""))
        rows.append(f"<tr><th>{page.key_lab(k)}</th>{page.td(v, kind, prefix + '.' + k)}"
                    f"<td class='text'>{_esc(_flat(note))}</td></tr>")
    return _table(page, "", rows, caption)


def _flatten(d: dict, pre: str = ""):
    for k, v in d.items():
        if isinstance(v, dict) and k not in _SKIP:
            yield from _flatten(v, f"{pre}{k}.")
        else:
            yield pre + k, v


def _flat(v) -> str:
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_flat(x)}" for k, x in v.items())
    return "" if v is None else str(v)


def _esc(s) -> str:
    from engine.report.html import esc

    return esc(s)


def _table(page, head: str, rows: list[str], caption=None) -> str:
    cap = f"<caption>{page.lab(caption) if caption is not None else ''}{page.badge()}</caption>"
    return (f'<div class="tablewrap"><table>{cap}<thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
            "</div>")


# ------------------------------------------------------------------------------------------------ series
def drawdown_periods(equity: pd.Series, n: int = 5) -> pd.DataFrame:
    """The ``n`` deepest drawdowns of an equity curve: peak (last high before), trough, recovery (first day back
    at the peak's level, NaT if not recovered), depth (trough / peak - 1) and length (trading days from peak to
    recovery, or to the last day if not recovered). Periods do not overlap."""
    v = equity.to_numpy(dtype=float)
    peak = np.maximum.accumulate(v)
    dd = v / peak - 1
    out = []
    i, T = 0, len(v)
    while i < T:
        if dd[i] < 0:
            j = i
            while j < T and dd[j] < 0:
                j += 1
            seg = dd[i:j]
            t = i + int(np.argmin(seg))
            out.append({"peak": equity.index[i - 1] if i > 0 else equity.index[0], "trough": equity.index[t],
                        "recovery": equity.index[j] if j < T else pd.NaT, "depth": float(dd[t]),
                        "length": int((j if j < T else T - 1) - (i - 1 if i > 0 else 0))})
            i = j
        else:
            i += 1
    df = pd.DataFrame(out, columns=["peak", "trough", "recovery", "depth", "length"])
    return df.sort_values("depth", kind="stable").head(n).reset_index(drop=True)


def rolling_stats(rs: pd.Series, rb: pd.Series, window: int, rf_d: float = 0.0) -> pd.DataFrame:
    """Rolling ``window``-day return (compounded), volatility, Sharpe (annualised with ``window`` as the year) and
    beta (cov / var of the benchmark) of daily returns ``rs`` against ``rb``."""
    lr = np.log1p(rs)
    ret = np.expm1(lr.rolling(window).sum())
    vol = rs.rolling(window).std(ddof=1) * np.sqrt(window)
    ex = rs - rf_d
    sharpe = ex.rolling(window).mean() / ex.rolling(window).std(ddof=1) * np.sqrt(window)
    beta = rs.rolling(window).cov(rb, ddof=1) / rb.rolling(window).var(ddof=1)
    return pd.DataFrame({"return": ret, "volatility": vol, "sharpe": sharpe, "beta": beta})


def monthly_returns(r: pd.Series) -> pd.DataFrame:
    """Year x month table of compounded monthly returns."""
    mr = (1 + r).groupby([r.index.year, r.index.month]).prod() - 1
    t = mr.unstack()
    t.index.name, t.columns.name = "year", "month"
    return t.reindex(columns=range(1, 13))


def _thin(n: int, target: int = 1300) -> int:
    return max(1, int(np.ceil(n / target)))


# ------------------------------------------------------------------------------------------------ the page
def build_run_page(run, language: str = "both", trades=None, meta: dict | None = None) -> Page:
    cfg, bt, m = run.cfg, run.backtest, run.metrics
    syn = bool(run.dataset.synthetic)
    per = m["period"]
    page = Page(f"{cfg.name}: {cfg.signal.name} vs {cfg.benchmark.name}", language, syn,
                subtitle=f"{per['start']} .. {per['end']} · {per['n_days']} trading days · base {per['base_date']}"
                         f" · data {cfg.data.source}" + (" (SYNTHETIC)" if syn else ""))
    t = page.txt
    rs, rb = bt.returns, run.benchmark_returns
    ppy = int(m.get("conventions", {}).get("periods_per_year") or 252)
    idx = rs.index
    x = page.share("dates", dates(idx))

    # metrics
    desc = (cfg.description or "").strip()
    page.section(label("metrics"), page.text(_esc(desc)) if desc else "", metrics_block(page, m))

    # equity (log) and excess
    eq_s, eq_b = (1 + rs).cumprod(), (1 + rb).cumprod()
    tr = [{"type": "scatter", "mode": "lines", "name": cfg.name, "x": x, "y": rounded(eq_s),
           "line": {"color": COLORS[0], "width": 1.6}},
          {"type": "scatter", "mode": "lines", "name": cfg.benchmark.name, "x": x, "y": rounded(eq_b),
           "line": {"color": COLORS[1], "width": 1.2}}]
    for i, (name, r) in enumerate(run.extra_benchmarks.items()):
        tr.append({"type": "scatter", "mode": "lines", "name": name, "x": x, "y": rounded((1 + r).cumprod()),
                   "line": {"color": COLORS[3 + i % 6], "width": 1.0, "dash": "dot"}})
    tr.append({"type": "scatter", "mode": "lines", "name": t(label("excess_curve")), "x": x,
               "y": rounded(eq_s / eq_b), "line": {"color": COLORS[2], "width": 1.0, "dash": "dash"}})
    lo = float(min(eq_s.min(), eq_b.min(), (eq_s / eq_b).min()))
    hi = float(max(eq_s.max(), eq_b.max(), (eq_s / eq_b).max()))
    fig_eq = page.figure(tr, {"title": {"text": t(label("equity"))}, "yaxis": log_axis(lo, hi)}, height=420)

    # drawdowns
    dd_tr = [{"type": "scatter", "mode": "lines", "name": n, "x": x, "y": rounded(e / e.cummax() - 1, 4),
              "line": {"color": c, "width": 1}, **extra}
             for n, e, c, extra in ((cfg.name, eq_s, COLORS[0], {"fill": "tozeroy", "fillcolor": "rgba(214,39,40,0.25)"}),
                                    (cfg.benchmark.name, eq_b, COLORS[1], {}))]
    fig_dd = page.figure(dd_tr, {"title": {"text": t(label("drawdown"))}, "yaxis": {"tickformat": ".0%"}},
                         height=260)
    ddp = drawdown_periods(eq_s)
    ddp["recovery"] = [f"{d:%Y-%m-%d}" if pd.notna(d) else page.txt(label("not_recovered")) for d in ddp["recovery"]]
    ddp.index = range(1, len(ddp) + 1)
    ddp.index.name = "#"
    page.section(label("equity"), fig_eq, fig_dd,
                 page.table(ddp, caption=label("worst_drawdowns"), kinds={"depth": "pct", "length": "int"}))

    # rolling one-year statistics (weekly points: a one-year window moves little in a week)
    if len(idx) > ppy + 5:
        rf_d = float(m.get("conventions", {}).get("risk_free_per_period") or 0.0)
        roll = rolling_stats(rs, rb, ppy, rf_d).iloc[ppy::5]
        xr = dates(roll.index)
        figs = []
        for col, key, f in (("return", "rolling_return", ".0%"), ("volatility", "rolling_vol", ".0%"),
                            ("sharpe", "rolling_sharpe", ".2f"), ("beta", "rolling_beta", ".2f")):
            figs.append(page.figure([{"type": "scatter", "mode": "lines", "name": t(label(key)), "x": xr,
                                      "y": rounded(roll[col], 4), "line": {"color": COLORS[0], "width": 1.2}}],
                                    {"title": {"text": t(label(key))}, "yaxis": {"tickformat": f},
                                     "showlegend": False}, height=240))
        page.section(label("rolling"), '<div class="grid2">' + "".join(figs) + "</div>",
                     note=(f"窗口 {ppy} 个交易日 (一年), 每周取一点", f"window {ppy} trading days (one year), "
                           "plotted weekly; Sharpe annualised with the window as the year; beta vs the benchmark"))

    # calendar years and months
    blocks = []
    if len(run.yearly):
        y = run.yearly.copy()
        blocks.append(page.table(y, caption=label("calendar"), heat=False,
                                 kinds={c: ("int" if c == "days" else "pct") for c in y.columns}))
    mt = monthly_returns(rs.iloc[1:])
    z = mt.to_numpy(dtype=float)
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.1
    blocks.append(page.figure([{"type": "heatmap", "z": [rounded(row, 4) for row in z], "x": list(range(1, 13)),
                                "y": [str(v) for v in mt.index], "colorscale": [[0, "#2ca02c"], [0.5, "#ffffff"],
                                                                                  [1, "#d62728"]],
                                "zmin": -lim, "zmax": lim, "hovertemplate": "%{y}-%{x}: %{z:.2%}<extra></extra>",
                                "colorbar": {"tickformat": ".0%"}}],
                              {"title": {"text": t(label("monthly_heatmap"))}, "xaxis": {"dtick": 1},
                               "yaxis": {"autorange": "reversed", "type": "category"}, "hovermode": "closest"},
                              height=max(260, 22 * len(mt) + 90)))
    mt.columns = [str(c) for c in mt.columns]
    blocks.append(page.table(mt, kinds={c: "pct" for c in mt.columns}, heat=True))
    page.section(label("calendar"), *blocks, note=("红涨绿跌", "red = gain, green = loss (A-share colours)"))

    # exposure and weights
    held = bt.weights_held
    step = _thin(len(held))
    hs = held.iloc[::step]
    xs = dates(hs.index)
    gross = held.sum(axis=1)
    ex_tr = [{"type": "scatter", "mode": "lines", "name": t(label("gross_exposure")), "x": x,
              "y": rounded(gross, 4), "line": {"color": "#333", "width": 1}}]
    avg = held.mean().sort_values(ascending=False)
    top = list(avg.index[:10])
    w_tr = []
    for i, c in enumerate(top):
        w_tr.append({"type": "scatter", "mode": "lines", "stackgroup": "w", "name": str(c), "x": xs,
                     "y": rounded(hs[c], 3), "line": {"width": 0.5}})
    if len(avg) > len(top):
        w_tr.append({"type": "scatter", "mode": "lines", "stackgroup": "w", "name": "other",
                     "x": xs, "y": rounded(hs.drop(columns=top).sum(axis=1), 3), "line": {"width": 0.5}})
    page.section(label("exposure"),
                 page.figure(ex_tr, {"title": {"text": t(label("gross_exposure"))}, "yaxis": {"tickformat": ".0%"}},
                             height=220),
                 page.figure(w_tr, {"title": {"text": t(label("weight"))}, "yaxis": {"tickformat": ".0%"}},
                             height=320) if held.shape[1] > 1 else "",
                 note=(f"持仓权重 (收盘后); 前 {len(top)} 个代码按平均权重, 其余合并为 other",
                       f"held weights after the close; the {len(top)} codes with the largest average weight, the "
                       "rest summed as 'other'" + (f"; one point every {step} trading days" if step > 1 else "")))

    # turnover and costs
    to_m = bt.turnover.groupby(bt.turnover.index.to_period("M")).sum()
    cum_cost = np.expm1(np.log1p(bt.cost_returns.fillna(0)).cumsum())
    page.section(label("turnover_costs"), page.figure(
        [{"type": "bar", "name": t(label("turnover")) + " (月 month)", "x": [str(p) for p in to_m.index],
          "y": rounded(to_m, 4), "marker": {"color": "#7f7f7f"}},
         {"type": "scatter", "mode": "lines", "name": t(label("cum_costs")), "x": x, "y": rounded(cum_cost, 4),
          "yaxis": "y2", "line": {"color": COLORS[0]}}],
        {"title": {"text": t(label("turnover_costs"))}, "yaxis": {"title": {"text": t(label("turnover"))}},
         "yaxis2": {"overlaying": "y", "side": "right", "tickformat": ".1%", "showgrid": False},
         "margin": {"r": 60}}, height=300),
        note=("换手 = 当月双边成交额 / 组合价值之和; 累计成本 = prod(1 + 成本/前一日价值) - 1",
              "turnover = monthly sum of two-sided traded value / portfolio value; cumulative costs = "
              "prod(1 + cost / previous value) - 1"))

    # trades
    if trades is not None:
        trips, stats = trades
        srow = pd.DataFrame({k: [v] for k, v in stats.items()})
        kinds = {"n_trades": "int", "n_orders": "int", "open_trades": "int", "win_rate": "pct",
                 "profit_loss_ratio": "ratio", "avg_holding_days": "num"}
        blocks = [page.table(srow, caption=label("trades"), index=False, kinds=kinds)]
        if len(trips):
            last = trips.tail(30).copy()
            last["entry"] = last["entry"].dt.strftime("%Y-%m-%d")
            last["exit"] = last["exit"].dt.strftime("%Y-%m-%d")
            last = last.set_index("code")
            blocks.append(page.table(last, caption=("最近 30 笔交易", "Last 30 round trips"),
                                     kinds={"return": "pct", "bought": "money", "sold": "money", "fees": "money",
                                            "pnl": "money", "holding_days": "int", "open": "text"}))
        page.section(label("trades"), *blocks, note=(
            "一笔交易 = 某代码仓位从 0 到 >0 再回到 0; 胜率 = 盈利交易占比; 盈亏比 = 平均盈利 / 平均亏损; 持仓天数按交易日",
            "a round trip = a code's position from zero to positive and back to zero (from the kernel's fills); "
            "win rate = share of trips with profit > 0 after fees; profit/loss ratio = mean profit of winners / "
            "|mean loss of losers|; holding days in trading days; open trips valued at the last close, not counted"))

    # the signal's own panel
    from engine.report.signal_panel import signal_blocks

    sb = signal_blocks(page, run)
    if sb:
        page.section(label("signal_panel"), *sb)
    return page


def log_axis(lo: float, hi: float) -> dict:
    """A plotly log y axis with the ticks of :func:`engine.report.ticks.log_ticks` (readable over the range)."""
    from engine.report.ticks import log_ticks, tick_text

    ticks = log_ticks(lo, hi)
    return {"type": "log", "tickvals": ticks, "ticktext": [tick_text(v) for v in ticks]}
