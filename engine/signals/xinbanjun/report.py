"""Report-style output of the 新半军 signal: the as-of table per sector in the report's terms (seed 004's
readings: flow direction, PE and its one-year percentile with where it stood before the correction, issuance
percentile trend, ETF inflow versus earlier corrections) and one PNG chart per sector."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import ConfigError
from engine.signals.industry_common import format_table

SECTOR_NAMES = {"new_energy": "新能源", "semiconductor": "半导体", "defense": "军工"}
SERIES = ("close", "dd", "down", "mf_week", "mf_sum", "mf_z", "mf_dd", "pe", "val_pct", "val_pct_peak", "etf_flow",
          "etf_dd", "etf_rank", "pos_fund", "pos_private_growth")
YI = 1e8    # 亿元


def indicator_frame(ind: dict, state: pd.DataFrame) -> pd.DataFrame:
    """One date-indexed frame: ``<sector>.<indicator>`` columns, ``<sector>.long`` and the issuance columns."""
    cols = {}
    for s in state.columns:
        for name in SERIES:
            if name in ind and ind[name] is not None:
                cols[f"{s}.{name}"] = ind[name][s].astype(float)
        cols[f"{s}.long"] = state[s]
    iss = ind.get("issuance")
    if iss is not None:
        cols["issuance.count"] = iss["count"].astype(float)
        cols["issuance.pct"] = iss["pct"].astype(float)
        cols["issuance.rising"] = iss["rising"].astype(float)
    return pd.DataFrame(cols, index=state.index)


def _yi(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v / YI:+,.2f} 亿"


def _pct(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.1f}%"


def _kind(ds: Dataset, panel: str) -> str:
    if panel not in ds.panels:
        return "missing"
    src = str(ds.panel(panel).source).lower()
    return "synthetic" if "synthetic" in src else "real"


def _last_change(sign: pd.Series) -> str:
    s = sign.dropna()
    if len(s) < 2:
        return ""
    chg = s.index[s.ne(s.shift()).to_numpy() & (np.arange(len(s)) > 0)]
    return f"{chg[-1]:%Y-%m-%d}" if len(chg) else ""


def asof_tables(ind: dict, state: pd.DataFrame, p: dict, ds: Dataset) -> dict:
    """{'asof_<sector>': frame(指标, 数值, 状态)} at the last row, with the inputs' provenance in ``attrs``."""
    t = state.index[-1]
    dates = state.index
    out = {}
    iss = ind.get("issuance")
    for s in state.columns:
        rows = []
        mfs = ind["mf_sum"][s].iloc[-1]
        sign_chg = _last_change(ind["mf_sign"][s])
        rows.append(("主力资金 近%d日净流入" % p["mf_week"], _yi(ind["mf_week"][s].iloc[-1]),
                     "流入" if ind["mf_week"][s].iloc[-1] > 0 else "流出"))
        rows.append((f"主力资金 {p['mf_window']}日净流入", _yi(mfs),
                     ("流入" if mfs > 0 else "流出" if mfs < 0 else "-") + (f" (方向变化 {sign_chg})" if sign_chg else "")))
        z = ind["mf_z"][s].iloc[-1]
        rows.append((f"主力资金 {p['mf_window']}日 z-score", "-" if not np.isfinite(z) else f"{z:+.2f}",
                     f"相对近{p['mf_z_lookback']}日"))
        pr = int(ind["peak_row"][s].iloc[-1])
        peak = dates[pr] if pr >= 0 else None
        dd = ind["dd"][s].iloc[-1]
        phase = "回调中" if bool(ind["down"][s].iloc[-1]) else "非回调"
        rows.append(("主力资金 本轮回调以来累计", _yi(ind["mf_dd"][s].iloc[-1]),
                     f"{phase}: 自 {peak:%Y-%m-%d} 高点 {_pct(dd)}" if peak is not None else phase))
        if iss is not None and pd.notna(iss["count"].iloc[-1]):
            month = pd.Timestamp(iss["month"].iloc[-1])
            trend = "触底回升" if bool(iss["rising"].iloc[-1]) else "未见触底回升"
            rows.append((f"基金发行 ({month:%Y-%m})", f"{int(iss['count'].iloc[-1])} 只",
                         f"分位 {_pct(iss['pct'].iloc[-1])}; {trend}"))
        else:
            rows.append(("基金发行分位", "-", f"无输入 (series '{p['iss_series']}')"))
        if "etf_dd" in ind:
            rank = ind["etf_rank"][s].iloc[-1]
            n_done = sum(1 for e in ind["episodes"][s] if e[2] <= len(dates) - 1 and
                         dates[e[0]] >= pd.Timestamp(p["etf_since"]))
            rows.append(("ETF 本轮回调累计净流入", _yi(ind["etf_dd"][s].iloc[-1]),
                         f">= {round(rank * n_done)}/{n_done} 轮历史调整 ({_pct(rank)}, 自 {p['etf_since'][:4]})"
                         if np.isfinite(rank)
                         else f"无已完成的历史调整 (自 {p['etf_since'][:4]})"))
        else:
            rows.append(("ETF 净流入", "-", f"无输入 (panel '{p['etf_panel']}')"))
        rows.append(("PE-TTM", f"{ind['pe'][s].iloc[-1]:.1f}x", ""))
        v = ind["val_pct"][s].iloc[-1]
        lvl = "低位" if v <= p["entry_val_max"] else "高位" if v >= p["exit_val_min"] else "中位"
        rows.append((f"估值分位 (滚动{p['val_window']}日)", _pct(v),
                     f"{lvl}; 调整前 {_pct(ind['val_pct_peak'][s].iloc[-1])}" + (f" ({peak:%Y-%m-%d})" if peak is not None else "")))
        for key, label, series in (("pos_fund", "公募仓位 (回归)", p["pos_series"]),
                                   ("pos_private_growth", "私募成长仓位 (回归)", p["priv_series"])):
            if key in ind:
                cur = ind[key][s].iloc[-1]
                prev = ind[key][s].iloc[-21] if len(dates) > 21 else np.nan
                rows.append((label, _pct(cur), f"20日变化 {100 * (cur - prev):+.1f}pp" if np.isfinite(prev) else ""))
            else:
                rows.append((label, "-", f"无输入 (series '{series or '未设置'}')"))
        rows.append(("目标仓位", _pct(state[s].iloc[-1] * p["weight_total"] / len(state.columns)),
                     "多头" if state[s].iloc[-1] > 0 else "空仓"))
        df = pd.DataFrame(rows, columns=["指标", "数值", "状态"])
        df.attrs.update({
            "title": f"{SECTOR_NAMES.get(s, s)} ({s}) as of the close of {t:%Y-%m-%d}; rule '{p['rule']}' (our own design)",
            "inputs": (f"inputs: sector close and PE ({p['price_panel']}): {_kind(ds, p['price_panel'])}; main-force "
                       f"flows (stocks): {_kind(ds, 'stocks')}; ETF shares/NAV ({p['etf_panel']}): "
                       f"{_kind(ds, p['etf_panel'])}; fund issuance: "
                       f"{'synthetic' if ds.synthetic else 'real' if iss is not None else 'missing'}; "
                       f"tradable: {p['tradable'][s]} in panel '{p['panel']}': {_kind(ds, p['panel'])}"),
        })
        out[f"asof_{s}"] = df
    return out


def format_asof(tables: dict) -> str:
    parts = []
    for df in tables.values():
        parts.append(format_table(df, df.attrs.get("title", ""), [df.attrs.get("inputs", "")]))
    return "\n\n".join(parts)


def charts(res, out_dir: Path, synthetic: bool, days: int = 750) -> list[Path]:
    """One PNG per sector over the last ``days`` trading days: close with corrections and long periods shaded;
    main-force flow; valuation percentile and PE; ETF inflow during the drawdown. Never overwrites a file."""
    from matplotlib.figure import Figure      # object API: the caller's backend stays as it is

    ind = res.indicators.iloc[-days:]
    last = ind.index[-1]
    sectors = sorted({c.split(".")[0] for c in ind.columns if c.endswith(".close")})
    paths = []
    for s in sectors:
        path = Path(out_dir) / f"xinbanjun_{s}_{last:%Y%m%d}.png"
        if path.exists():
            raise ConfigError(f"--csv {out_dir}: {path.name} already exists; it is never overwritten, choose another directory")
        fig = Figure(figsize=(10, 10))
        ax = fig.subplots(4, 1, sharex=True)
        x = ind.index
        ax[0].plot(x, ind[f"{s}.close"], lw=1, color="k")
        ax[0].fill_between(x, 0, 1, where=ind[f"{s}.down"] > 0, color="tab:red", alpha=0.12,
                           transform=ax[0].get_xaxis_transform(), label="correction")
        ax[0].fill_between(x, 0, 1, where=ind[f"{s}.long"] > 0, color="tab:green", alpha=0.15,
                           transform=ax[0].get_xaxis_transform(), label="long")
        ax[0].set_yscale("log")
        ax[0].legend(loc="upper left", fontsize=8)
        ax[0].set_title(f"{s}: close{' (SYNTHETIC DATA)' if synthetic else ''}", fontsize=10)
        ax[1].plot(x, ind[f"{s}.mf_sum"] / YI, lw=0.8, label="main-force 20d net (100m CNY)")
        ax[1].plot(x, ind[f"{s}.mf_dd"] / YI, lw=0.8, label="cumulative since peak")
        ax[1].axhline(0, color="grey", lw=0.5)
        ax[1].legend(loc="upper left", fontsize=8)
        ax[2].plot(x, ind[f"{s}.val_pct"], lw=0.8, label="PE 1y percentile")
        ax2 = ax[2].twinx()
        ax2.plot(x, ind[f"{s}.pe"], lw=0.6, color="tab:orange", label="PE-TTM")
        ax[2].legend(loc="upper left", fontsize=8)
        ax2.legend(loc="upper right", fontsize=8)
        if f"{s}.etf_dd" in ind:
            ax[3].plot(x, ind[f"{s}.etf_dd"] / YI, lw=0.8, label="ETF inflow since peak (100m CNY)")
            ax[3].legend(loc="upper left", fontsize=8)
        ax[3].axhline(0, color="grey", lw=0.5)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        paths.append(path)
    return paths
