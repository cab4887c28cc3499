"""Ticks of a log axis that are readable over the whole range (issue 13): plain numbers ("0.5", "1", "2", "5"),
the finest ladder per decade (1-1.5-2-...-9, 1-2-3-5, 1-2-5, 1) that puts 3 to ``max_ticks`` labels inside the
range, every k-th decade beyond that, and evenly spaced round numbers for a range narrower than a factor of 2.5.
Used by the PNG chart (matplotlib) and report.html (plotly) alike."""
from __future__ import annotations

import math

LADDERS = ((1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 5), (1, 2, 5), (1,))


def _nice_step(span: float, n: int) -> float:
    raw = span / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _linear(lo: float, hi: float) -> list[float]:
    step = _nice_step(hi - lo if hi > lo else lo * 0.1, 5)
    k0, k1 = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [round(k * step, 12) for k in range(k0, k1 + 1)] or [round(lo, 12)]


def log_ticks(lo: float, hi: float, max_ticks: int = 12) -> list[float]:
    lo, hi = sorted((max(float(lo), 1e-12), max(float(hi), 1e-12)))
    if hi / lo < 2.5:                                  # narrow: round linear steps
        return _linear(lo, hi)
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for bases in LADDERS:
        inside = sorted({round(b * 10.0 ** e, 12) for e in range(e0, e1 + 1) for b in bases
                         if lo <= b * 10.0 ** e <= hi})
        if len(inside) <= max_ticks:
            return inside if len(inside) >= 3 else _linear(lo, hi)
    decades = [round(10.0 ** e, 12) for e in range(e0, e1 + 1) if lo <= 10.0 ** e <= hi]
    return decades[::math.ceil(len(decades) / max_ticks)] if decades else [round(lo, 12), round(hi, 12)]


def tick_text(v: float) -> str:
    return f"{v:.12g}"
