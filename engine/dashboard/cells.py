"""Cell formatting shared by the dashboard's terminal/Markdown tables (:mod:`engine.dashboard.render`) and its
report.html (:mod:`engine.dashboard.html_page`): the SYNTHETIC label and the number format of a cell."""
from __future__ import annotations

import numpy as np
import pandas as pd

SYNTH_LABEL = ("SYNTHETIC DATA: every number below comes from the simulated A-share market (engine/data/synthetic), "
               "not from real margin, fund, futures or northbound data; it demonstrates the dashboard and is not "
               "evidence about the market.")
PCT_WORDS = ("share", "/", "excess", "return", "annualised", "ann.", "leverage", "rate", "mean", "median")


def fmt(v, label: str = "") -> str:
    """One cell: dates as YYYY-MM-DD, fractions as percent where the row/column label says so, CNY in 万亿/亿."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return "n/a"
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return f"{pd.Timestamp(v):%Y-%m-%d}"
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    v = float(v)
    low = label.lower()
    if "(亿)" in label:
        return f"{v:,.2f}"
    if any(w in low for w in PCT_WORDS):
        return f"{v:.2%}"
    if "(cny)" in low and abs(v) >= 1e12:
        return f"{v / 1e12:,.3f} 万亿"
    if "(cny)" in low and abs(v) >= 1e8:
        return f"{v / 1e8:,.2f} 亿"
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,d}"
    return f"{v:,.2f}"
