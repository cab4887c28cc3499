"""Plain-text rendering of :func:`engine.metrics.compute_metrics` output (fixed width, conventions printed)."""
from __future__ import annotations

from typing import Optional

_W_NAME, _W_VAL = 28, 12

# (label, key, kind, short definition); kind: pct | ratio | times | date | int
_SERIES_ROWS = (
    ("Total return", "total_return", "pct", "prod(1 + r) - 1"),
    ("Annual return", "annual_return", "pct", "(1 + R)^(ppy/n) - 1"),
    ("Annual volatility", "annual_volatility", "pct", "std(r, ddof=1) * sqrt(ppy)"),
    ("Sharpe", "sharpe", "ratio", "mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(ppy)"),
    ("Sortino", "sortino", "ratio", "mean(r - rf_d) * ppy / downside dev. (annualised)"),
    ("Max drawdown", "max_drawdown", "pct", "min(V / running max V - 1)"),
    ("  peak", "max_drawdown_peak", "date", ""),
    ("  trough", "max_drawdown_trough", "date", ""),
    ("  recovery", "max_drawdown_recovery", "date", "n/a = not recovered by period end"),
    ("Calmar", "calmar", "ratio", "annual return / |max drawdown|"),
    ("Best day", "best_day", "pct", ""),
    ("  date", "best_day_date", "date", ""),
    ("Worst day", "worst_day", "pct", ""),
    ("  date", "worst_day_date", "date", ""),
    ("Trading days", "n_days", "int", "n = rows - 1 (base day excluded)"),
)

_EXCESS_ROWS = (
    ("Annual excess, geometric", "annual_excess_geometric", "pct"),
    ("Annual excess, arithmetic", "annual_excess_arithmetic", "pct"),
    ("Total excess, geometric", "total_excess_geometric", "pct"),
    ("Total excess, arithmetic", "total_excess_arithmetic", "pct"),
    ("Tracking error", "tracking_error", "pct"),
    ("Information ratio", "information_ratio", "ratio"),
    ("Beta", "beta", "ratio"),
    ("Alpha (annual)", "alpha", "pct"),
    ("Daily win rate", "daily_win_rate", "pct"),
    ("Monthly win rate", "monthly_win_rate", "pct"),
    ("Annual turnover", "annual_turnover", "times"),
    ("Total cost drag", "total_cost_drag", "pct"),
    ("Annual cost drag", "annual_cost_drag", "pct"),
)


def _fmt(v, kind: str) -> str:
    if v is None:
        return "n/a"
    if kind == "pct":
        return f"{100.0 * v:.2f}%"
    if kind == "ratio":
        return f"{v:.3f}"
    if kind == "times":
        return f"{v:.2f}x"
    if kind == "int":
        return f"{int(v):d}"
    return str(v)


def _row(label: str, values: list[str], note: str = "") -> str:
    cells = "".join(f"{v:>{_W_VAL}}" for v in values)
    return f"{label:<{_W_NAME}}{cells}" + (f"  {note}" if note else "")


def format_metrics_table(metrics: dict, title: Optional[str] = None) -> str:
    """Render a compute_metrics dict as a fixed-width plain-text table.

    Layout: period line; rows = metrics, columns Strategy | Benchmark | definition; an excess block (value and
    definition); a conventions footer (periods_per_year, risk-free, formulas, day count, benchmark note).
    Percentages are shown with 2 decimals, ratios with 3, undefined values as ``n/a``. Input is not modified.
    """
    st, bt, ex = metrics["strategy"], metrics["benchmark"], metrics["excess"]
    conv, per = metrics["conventions"], metrics["period"]
    lines = []
    if title:
        lines += [title, "=" * len(title)]
    lines.append(f"Period {per['start']} .. {per['end']}: {per['n_days']} trading days after base day {per['base_date']}")
    lines.append("")
    header = _row("Metric", ["Strategy", "Benchmark"], "Definition")
    lines += [header, "-" * len(header)]
    for label, key, kind, note in _SERIES_ROWS:
        lines.append(_row(label, [_fmt(st.get(key), kind), _fmt(bt.get(key), kind)], note))
    lines += ["", "Excess (strategy vs benchmark)", "-" * len(header)]
    defs = ex.get("definitions", {})
    for label, key, kind in _EXCESS_ROWS:
        note = defs.get(key, "")
        if key == f"annual_excess_{ex.get('primary_excess')}":
            note += "  [primary]"
        lines.append(_row(label, [_fmt(ex.get(key), kind)], note))
    lines += ["", "Conventions", "-" * len(header)]
    conv_rows = (
        ("periods_per_year (ppy)", conv["periods_per_year"]),
        ("risk_free (annual)", f"{100.0 * conv['risk_free']:.2f}%  -> {conv['risk_free_conversion']}"),
        ("returns", conv["return_type"]),
        ("annualisation", conv["annualisation"]),
        ("Sharpe", conv["sharpe"]),
        ("Sortino", conv["sortino"]),
        ("information ratio", conv["information_ratio"]),
        ("excess", f"geometric {conv['excess']['geometric']}; arithmetic {conv['excess']['arithmetic']}; "
                   f"primary = {conv['excess']['primary']}"),
        ("day count", conv["day_count"]),
        ("benchmark", conv.get("benchmark_note") or "n/a"),
        ("undefined values", conv["undefined"]),
    )
    for label, text in conv_rows:
        lines.append(f"{label:<{_W_NAME}}{text}")
    return "\n".join(lines) + "\n"
