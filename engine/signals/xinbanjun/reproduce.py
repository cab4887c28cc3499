"""Seed report 004 (兴业 "新半军" 中篇), methodology §6 X1: the printed PE-TTM and rolling one-year PE percentiles
around 2022-02-22, as rows of ``python -m engine.reproduce 004``.

``checks(config_path=None)`` loads ``strategies/xinbanjun.yaml`` (or the given config), computes the 新半军
indicators on whatever data it names and reads them at the close of ``ASOF``. The indicators are causal (tested
by ``tests/test_xinbanjun.py``), so reading row ``ASOF`` equals computing on data cut at ``ASOF``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.reproduce.checks import Check

ASOF = "2022-02-22"
DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "strategies" / "xinbanjun.yaml"
# sector: (PE, percentile now, percentile before the correction), as printed in 004 §2.1
PRINTED = {
    "new_energy": (46.5, 0.325, 0.903),
    "semiconductor": (54.8, 0.008, 0.10),
    "defense": (57.5, 0.216, 0.939),
}
NAMES = {"new_energy": "新能源", "semiconductor": "半导体", "defense": "军工"}
DATASET = "sector index PE-TTM, daily (004 names no index; e.g. 中证新能源 399808, 中证半导体 H30184, 中证军工 399967)"


def _inputs(ds, panel: str) -> str:
    src = str(ds.panel(panel).source).lower()
    if "synthetic" in src or ds.synthetic:
        return "synthetic"
    return "proxy"      # a user's sector index: the report's exact index (and its PE definition) is unknown


def checks(config_path: str | None = None) -> list[Check]:
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import config_dir

    cfg = load_config(str(config_path or DEFAULT_CONFIG))
    ds = load_dataset(cfg.data, config_dir(cfg))
    p = dict(cfg.signal.params)                     # validated by load_config: every parameter
    sectors = [s for s in p["sectors"] if s in PRINTED]
    p["sectors"] = sectors
    price = ds.panel(p["price_panel"])
    pe = price["pe_ttm"][sectors]
    asof = pd.Timestamp(ASOF)
    row = pe.index[pe.index <= asof][-1]
    from engine.signals.xinbanjun import indicators as xi

    close = price["close"][sectors]
    dd = xi.drawdowns(close.loc[:row], p["dd_min_depth"], p["dd_rebound"])
    pct = xi.valuation(pe.loc[:row], p["val_window"], p["val_min_periods"])
    before = xi.at_rows(pct, dd["peak_row"])
    kind = _inputs(ds, p["price_panel"])
    conv = (f"rank percentile over the last {p['val_window']} trading days incl. {row:%Y-%m-%d} (ties count as <=); "
            f"'before' = on the peak day of the current drawdown (zigzag {p['dd_min_depth']:.0%} / "
            f"{p['dd_rebound']:.0%})")
    note = ("synthetic market: the comparison only shows the pipeline; the magnitudes are not evidence"
            if kind == "synthetic" else "index and PE definition of the report unknown; match expected to about 1 pp")
    out = []
    for s in sectors:
        pe_p, now_p, before_p = PRINTED[s]
        peak_row = int(dd["peak_row"][s].iloc[-1])
        peak = close.index[peak_row] if peak_row >= 0 else None
        common = dict(report="004", id="X1", inputs=kind, dataset=DATASET, fetch="", note=note)
        out.append(Check(item=f"{NAMES[s]} PE-TTM at {row:%Y-%m-%d}", published=pe_p,
                         ours=float(pe[s].loc[row]), unit="x", convention="sector index PE-TTM", **common))
        out.append(Check(item=f"{NAMES[s]} PE rolling one-year percentile at {row:%Y-%m-%d}", published=now_p,
                         ours=float(pct[s].iloc[-1]), unit="%", convention=conv, **common))
        out.append(Check(item=f"{NAMES[s]} PE percentile before the correction"
                              + (f" (peak {peak:%Y-%m-%d})" if peak is not None else ""),
                         published=before_p, ours=float(before[s].iloc[-1]), unit="%", convention=conv, **common))
    return out
