"""PNG charts of a run (matplotlib, object API: no pyplot, no GUI backend)."""
from __future__ import annotations

from pathlib import Path


def chart_figure(run, font="auto"):
    """The run's chart as a ``matplotlib.figure.Figure`` (not saved): equity on a log scale of the strategy, the
    benchmark and any extra benchmarks (top), drawdowns of strategy and benchmark (bottom); the title says
    "[SYNTHETIC signal inputs]" when the data are synthetic. Axis labels are Chinese and English when a CJK font is
    available (:func:`engine.report.fonts.cjk_font`; ``font``: "auto", a ``FontProperties`` or None for English
    only), else English.

    Log-axis ticks: :func:`engine.report.ticks.log_ticks` (plain numbers, readable over the whole range, no minor
    labels). Start-up cost matters (the chart is on by default): the object API (no pyplot, no GUI backend), a
    fixed layout (``tight_layout`` costs 0.3 s), a fixed title position, and plain-text tick labels (matplotlib's
    default log formatter writes TeX mathtext, whose parser costs ~0.3 s to build on first use).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    from engine.report.fonts import cjk_font, label_text
    from engine.report.ticks import log_ticks, tick_text

    fp = cjk_font() if font == "auto" else font
    tk = {"fontproperties": fp} if fp is not None else {}
    eq_s = (1 + run.backtest.returns).cumprod()
    eq_b = (1 + run.benchmark_returns).cumprod()
    fig = Figure(figsize=(10, 6))
    a1, a2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    a1.plot(eq_s.index, eq_s.values, label=run.cfg.name)
    a1.plot(eq_b.index, eq_b.values, label=run.cfg.benchmark.name)
    curves = [eq_s, eq_b]
    for name, r in run.extra_benchmarks.items():
        e = (1 + r).cumprod()
        curves.append(e)
        a1.plot(e.index, e.values, label=name)
    a1.set_yscale("log")
    lo = min(float(c.min()) for c in curves)
    hi = max(float(c.max()) for c in curves)
    a1.yaxis.set_major_locator(FixedLocator(log_ticks(lo, hi)))
    a1.yaxis.set_minor_locator(NullLocator())
    a1.yaxis.set_major_formatter(FuncFormatter(lambda v, _: tick_text(v)))
    a1.set_ylabel(label_text("累计净值 (对数)", "equity (log)", fp), **tk)
    a1.legend(prop=fp)
    title = f"{run.cfg.name} vs {run.cfg.benchmark.name}"
    if run.dataset.synthetic:
        title += ("  模拟数据" if fp is not None else "") + "  [SYNTHETIC signal inputs]"
    if fp is not None:
        fpt = fp.copy()
        fpt.set_size("large")           # the default title size, in the CJK font
        a1.set_title(title, y=1.0, fontproperties=fpt)
    else:
        a1.set_title(title, y=1.0)       # y given: no auto-placement pass (no top tick labels: same position)
    for eq, lab in ((eq_s, run.cfg.name), (eq_b, run.cfg.benchmark.name)):
        a2.plot(eq.index, (eq / eq.cummax() - 1).values, label=lab)
    a2.set_ylabel(label_text("回撤", "drawdown", fp), **tk)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.94, bottom=0.06, hspace=0.08)
    return fig


def _chart(run, path: Path) -> None:
    """Write :func:`chart_figure` as a 900 x 540 px PNG (zlib level 1: same pixels, faster to write)."""
    chart_figure(run).savefig(path, dpi=90, pil_kwargs={"compress_level": 1})
