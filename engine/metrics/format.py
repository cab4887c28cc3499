"""Plain-text rendering of :func:`engine.metrics.compute_metrics` output (fixed width, conventions printed)."""
from __future__ import annotations

from typing import Optional

_W_NAME, _W_VAL = 31, 12

# (label, key, kind, short definition); kind: pct | ratio | times | date | int. Rows whose key is in _ANNUALISED
# get "[ppy P]" after their definition: the annualisation base is printed next to every annualised number.
_ANNUALISED = {"annual_return", "annual_volatility", "sharpe", "sortino", "calmar", "annual_excess_geometric",
               "annual_excess_arithmetic", "tracking_error", "information_ratio", "information_ratio_arithmetic",
               "alpha", "annual_turnover", "annual_cost_drag"}
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
    ("Information ratio, primary", "information_ratio", "ratio"),
    ("Information ratio, arithmetic", "information_ratio_arithmetic", "ratio"),
    ("Beta", "beta", "ratio"),
    ("Alpha (annual)", "alpha", "pct"),
    ("Daily win rate", "daily_win_rate", "pct"),
    ("Monthly win rate", "monthly_win_rate", "pct"),
    ("Annual turnover", "annual_turnover", "times"),
    ("Total cost drag", "total_cost_drag", "pct"),
    ("Annual cost drag", "annual_cost_drag", "pct"),
)


# The sub-period block "from the first defined day" (warm-up excluded): (label, key, kind)
_SINCE_ROWS = (
    ("Annual return", "annual_return", "pct"), ("Annual volatility", "annual_volatility", "pct"),
    ("Sharpe", "sharpe", "ratio"), ("Max drawdown", "max_drawdown", "pct"), ("Total return", "total_return", "pct"),
    ("Trading days", "n_days", "int"),
)
_SINCE_EXCESS = (
    ("Annual excess, geometric", "annual_excess_geometric", "pct"),
    ("Annual excess, arithmetic", "annual_excess_arithmetic", "pct"),
    ("Information ratio, primary", "information_ratio", "ratio"),
    ("Information ratio, arithmetic", "information_ratio_arithmetic", "ratio"),
)


def fmt_pct(v, digits: int = 2) -> str:
    """``0.0123`` -> ``'1.23%'``; a value that rounds to zero prints ``0.00%``, never ``-0.00%``."""
    if v is None:
        return "n/a"
    return _unsigned_zero(f"{100.0 * float(v):.{digits}f}") + "%"


def _unsigned_zero(text: str) -> str:
    return text[1:] if text.startswith("-") and float(text[1:]) == 0 else text


def _fmt(v, kind: str) -> str:
    if v is None:
        return "n/a"
    if kind == "pct":
        return fmt_pct(v)
    if kind == "ratio":
        return _unsigned_zero(f"{v:.3f}")
    if kind == "times":
        return _unsigned_zero(f"{v:.2f}") + "x"
    if kind == "int":
        return f"{int(v):d}"
    return str(v)


def _row(label: str, values: list[str], note: str = "") -> str:
    cells = "".join(f"{v:>{_W_VAL}}" for v in values)
    return f"{label:<{_W_NAME}}{cells}" + (f"  {note}" if note else "")


def _ppy_text(conv: dict) -> str:
    from engine.metrics.ppy import format_ppy

    return format_ppy(conv["periods_per_year"])


def _warmup_lines(metrics: dict, width: int) -> list[str]:
    w = metrics.get("warmup")
    if not w:
        return []
    ppy = _ppy_text(metrics["conventions"])
    lines = ["", "Warm-up", "-" * width,
             f"{'Signal first defined':<{_W_NAME}}{w['first_defined'] or 'never'}  ({w['rule']})",
             f"{'First invested day':<{_W_NAME}}{w['first_invested'] or 'never (all cash)'}",
             f"{'Warm-up in the period':<{_W_NAME}}{w['warmup_days']} trading days ({fmt_pct(w['warmup_share'], 1)})"]
    ind = w.get("indicators_first_defined")
    if ind:
        lines.append(f"{'Indicators first defined':<{_W_NAME}}" + ", ".join(f"{k} {v or 'never'}" for k, v in ind.items()))
    sd = w.get("since_defined")
    if not sd:
        return lines
    full_s, full_b, full_e = metrics["strategy"], metrics["benchmark"], metrics["excess"]
    p = sd["period"]
    lines += ["", f"From the first defined day (base {p['base_date']}, {p['start']} .. {p['end']}) beside the full period",
              _row("Metric", ["Strategy", "Benchmark", "Strat. full", "Bench. full"]),
              "-" * width]
    for label, key, kind in _SINCE_ROWS:
        note = f"[ppy {ppy}]" if key in _ANNUALISED else ""
        lines.append(_row(label, [_fmt(sd["strategy"].get(key), kind), _fmt(sd["benchmark"].get(key), kind),
                                  _fmt(full_s.get(key), kind), _fmt(full_b.get(key), kind)], note))
    for label, key, kind in _SINCE_EXCESS:
        lines.append(_row(label, [_fmt(sd["excess"].get(key), kind), "", _fmt(full_e.get(key), kind), ""],
                          f"[ppy {ppy}]"))
    return lines


def format_metrics_table(metrics: dict, title: Optional[str] = None) -> str:
    """Render a compute_metrics dict as a fixed-width plain-text table.

    Layout: warnings (``WARNING: ...``), period line, annualisation base; rows = metrics, columns Strategy |
    Benchmark | definition, every annualised row followed by ``[ppy P]``; an excess block (value and definition;
    win rates with their wins / losses / ties); the warm-up block when ``metrics["warmup"]`` is present (first
    defined and first invested days, metrics from the first defined day beside the full period); a conventions
    footer. Percentages with 2 decimals, ratios with 3, undefined values as ``n/a``, never a negative zero.
    Input is not modified.
    """
    st, bt, ex = metrics["strategy"], metrics["benchmark"], metrics["excess"]
    conv, per = metrics["conventions"], metrics["period"]
    ppy = _ppy_text(conv)
    lines = []
    if title:
        lines += [title, "=" * len(title)]
    lines += [f"WARNING: {w}" for w in metrics.get("warnings") or []]
    if metrics.get("warnings"):
        lines.append("")
    lines.append(f"Period {per['start']} .. {per['end']}: {per['n_days']} trading days after base day {per['base_date']}")
    lines.append(f"Annualised with ppy = {ppy} trading days per year ({conv.get('periods_per_year_rule', '')})")
    lines.append("")
    header = _row("Metric", ["Strategy", "Benchmark"], "Definition")
    lines += [header, "-" * len(header)]
    for label, key, kind, note in _SERIES_ROWS:
        if key in _ANNUALISED:
            note += f"  [ppy {ppy}]"
        lines.append(_row(label, [_fmt(st.get(key), kind), _fmt(bt.get(key), kind)], note))
    lines += ["", "Excess (strategy vs benchmark)", "-" * len(header)]
    defs = ex.get("definitions", {})
    for label, key, kind in _EXCESS_ROWS:
        note = defs.get(key, "")
        if key == f"annual_excess_{ex.get('primary_excess')}":
            note += "  [primary]"
        if key in _ANNUALISED:
            note += f"  [ppy {ppy}]"
        if key in ("daily_win_rate", "monthly_win_rate"):
            unit = key.split("_")[0]
            note = (f"{ex.get(unit + '_wins')} wins, {ex.get(unit + '_losses')} losses, {ex.get(unit + '_ties')} ties "
                    f"(ties excluded); " + note)
        lines.append(_row(label, [_fmt(ex.get(key), kind)], note))
    lines += _warmup_lines(metrics, len(header))
    lines += ["", "Conventions", "-" * len(header)]
    conv_rows = (
        ("periods_per_year (ppy)", f"{ppy}  ({conv.get('periods_per_year_rule', '')})"),
        ("risk_free (annual)", f"{fmt_pct(conv['risk_free'])}  -> {conv['risk_free_conversion']}"),
        ("returns", conv["return_type"]),
        ("annualisation", conv["annualisation"]),
        ("Sharpe", conv["sharpe"]),
        ("Sortino", conv["sortino"]),
        ("information ratio", conv["information_ratio"]),
        ("win rates", conv.get("win_rates", "")),
        ("excess", f"geometric {conv['excess']['geometric']}; arithmetic {conv['excess']['arithmetic']}; "
                   f"primary = {conv['excess']['primary']}"),
        ("day count", conv["day_count"]),
        ("benchmark", conv.get("benchmark_note") or "n/a"),
        ("undefined values", conv["undefined"]),
    )
    for label, text in conv_rows:
        lines.append(f"{label:<{_W_NAME}}{text}")
    return "\n".join(lines) + "\n"
