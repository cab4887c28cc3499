"""PNG charts of a run (matplotlib, object API: no pyplot, no GUI backend)."""
from __future__ import annotations

from pathlib import Path


def chart_figure(run):
    """The run's chart as a ``matplotlib.figure.Figure`` (not saved): equity on a log scale of the strategy, the
    benchmark and any extra benchmarks (top), drawdowns of strategy and benchmark (bottom); the title says
    "[SYNTHETIC signal inputs]" when the data are synthetic.

    Start-up cost matters (the chart is on by default): the object API (no pyplot, no GUI backend), a fixed layout
    (``tight_layout`` costs 0.3 s), a fixed title position, and plain-text log-axis labels ("0.6", "1", "2"; the
    same ticks are labelled): matplotlib's default log formatter writes TeX mathtext, whose parser costs ~0.3 s to
    build on first use.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogFormatter

    class PlainLog(LogFormatter):       # labels the same ticks as the default LogFormatterSciNotation
        def _num_to_string(self, x, vmin, vmax):
            return f"{x:g}"

    eq_s = (1 + run.backtest.returns).cumprod()
    eq_b = (1 + run.benchmark_returns).cumprod()
    fig = Figure(figsize=(10, 6))
    a1, a2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    a1.plot(eq_s.index, eq_s.values, label=run.cfg.name)
    a1.plot(eq_b.index, eq_b.values, label=run.cfg.benchmark.name)
    for name, r in run.extra_benchmarks.items():
        e = (1 + r).cumprod()
        a1.plot(e.index, e.values, label=name)
    a1.set_yscale("log")
    a1.yaxis.set_major_formatter(PlainLog())
    a1.yaxis.set_minor_formatter(PlainLog(labelOnlyBase=False))
    a1.legend()
    title = f"{run.cfg.name} vs {run.cfg.benchmark.name}"
    if run.dataset.synthetic:
        title += "  [SYNTHETIC signal inputs]"
    a1.set_title(title, y=1.0)           # y given: no auto-placement pass (no top tick labels: same position)
    for eq, lab in ((eq_s, run.cfg.name), (eq_b, run.cfg.benchmark.name)):
        a2.plot(eq.index, (eq / eq.cummax() - 1).values, label=lab)
    a2.set_ylabel("drawdown")
    fig.subplots_adjust(left=0.08, right=0.98, top=0.94, bottom=0.06, hspace=0.08)
    return fig


def _chart(run, path: Path) -> None:
    """Write :func:`chart_figure` as a 900 x 540 px PNG (zlib level 1: same pixels, faster to write)."""
    chart_figure(run).savefig(path, dpi=90, pil_kwargs={"compress_level": 1})
