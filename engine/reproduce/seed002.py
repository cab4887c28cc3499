"""Seed report 002 (财信证券 金工周报 2023-12-01 and the Caixin updates of the same models): every checkable
published number of methodology §6 (C1-C10) beside ours on the configured data.

``checks(config_path=None)`` runs the shipped YAMLs (``strategies/sentiment.yaml`` for C1-C6,
``turnover_rotation.yaml`` for C7, ``crowding.yaml`` for C8-C9); ``config_path`` replaces the sentiment YAML (e.g.
a real-data recipe). Percentages are fractions. ``inputs`` says what our number rests on: ``real`` (the embedded
CSI 300 or a real dataset), ``proxy`` (e.g. SW L1 volume instead of a turnover rate), ``synthetic`` (the simulated
market) or ``missing`` (then ``dataset`` and ``fetch`` name what would supply it).

Timing of the printed weights: the report's 表1 row D is the weight computed at the close of D-1 (前一个交易日更新模型
结果, a guidance date), so it is compared with our weight decided at the close of the trading day before D.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import JingongError
from engine.reproduce.checks import Check

ROOT = Path(__file__).resolve().parents[2]
R = "002"

# 图1 + 表1 of report 002 (same transcription as tests/data/caixin_20231201_sentiment.csv): date -> (浓度, 温度, 预期, 权重)
PRINTED_TABLE = {
    "2023-11-06": (0.6627, 0.0933, 0.4674, 1.0), "2023-11-07": (0.6644, 0.1038, 0.5011, 1.0),
    "2023-11-08": (0.6657, 0.1352, 0.5122, 1.0), "2023-11-09": (0.6666, 0.1457, 0.5285, 1.0),
    "2023-11-10": (0.6672, 0.1543, 0.5107, 1.0), "2023-11-13": (0.6677, 0.1524, 0.4285, 1.0),
    "2023-11-14": (0.6683, 0.1600, 0.4159, 1.0), "2023-11-15": (0.6688, 0.1695, 0.4178, 1.0),
    "2023-11-16": (0.6693, 0.1724, 0.3933, 0.5), "2023-11-17": (0.6696, 0.1752, 0.3700, 0.5),
    "2023-11-20": (0.6699, 0.1771, 0.2919, 0.5), "2023-11-21": (0.6704, 0.1838, 0.2870, 0.5),
    "2023-11-22": (0.6709, 0.1771, 0.2652, 0.5), "2023-11-23": (0.6718, 0.1752, 0.2900, 0.5),
    "2023-11-24": (0.6729, 0.1638, 0.2896, 0.5), "2023-11-27": (0.6743, 0.1638, 0.3367, 0.5),
    "2023-11-28": (0.6759, 0.1629, 0.3344, 0.0), "2023-11-29": (0.6775, 0.1600, 0.3430, 0.0),
    "2023-11-30": (0.6809, 0.1571, 0.3430, 0.0), "2023-12-01": (0.6818, 0.1573, 0.3581, 0.0),
}
# 图2 换手率斜率排名 (Nov 2023) and the printed lists; 图3 flags (Nov 2023); the Dec-2024 outlook (C9)
PRINTED_SLOPE_RANK = {
    "传媒": 1, "建筑材料": 2, "国防军工": 3, "家用电器": 4, "食品饮料": 5, "银行": 6, "石油石化": 7, "农林牧渔": 8,
    "有色金属": 9, "基础化工": 10, "电子": 11, "交通运输": 12, "钢铁": 13, "建筑装饰": 14, "纺织服饰": 15,
    "医药生物": 16, "环保": 17, "公用事业": 18, "美容护理": 19, "非银金融": 20, "商贸零售": 21, "电力设备": 22,
    "轻工制造": 23, "通信": 24, "机械设备": 25, "汽车": 26, "房地产": 27, "煤炭": 28, "综合": 29, "社会服务": 30,
    "计算机": 31,
}
BUYS_2311 = "计算机、社会服务、房地产、电力设备、美容护理"
SELLS_2311 = "煤炭、汽车、医药生物"

def fetch_command(dataset: str) -> str:
    """The ``python -m engine.data fetch`` command for a dataset of :data:`engine.data.providers.DATASETS`
    (its first provider)."""
    from engine.data.providers import DATASETS

    return f"python -m engine.data fetch {dataset} --provider {DATASETS[dataset].providers[0]}"


def _yaml(name: str) -> str:
    return str(ROOT / "strategies" / name)


def _load(path: str):
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import config_dir

    cfg = load_config(path)
    return cfg, load_dataset(cfg.data, config_dir(cfg))


def _kind(ds, needs: dict[str, str]) -> tuple[str, str, str]:
    """(inputs, dataset, fetch) for requirements {requirement: dataset}: missing if any is absent."""
    miss = []
    for need, dataset in needs.items():
        try:
            ds.require((need,))
        except JingongError:
            miss.append(dataset)
    if miss:
        names = sorted(set(miss))
        return "missing", ", ".join(names), "; ".join(fetch_command(n) for n in names)
    return ("synthetic" if ds.synthetic else "real"), "", ""


def _perf(r: pd.Series) -> dict:
    """Framework conventions: base = the close before the period; (1+R)^(252/n)-1; Sharpe mean/sd x sqrt 252, rf 0."""
    eq = np.r_[1.0, np.cumprod(1.0 + r.to_numpy())]
    n = len(r)
    total = eq[-1] - 1.0
    sd = r.std(ddof=1)
    return {"cum": total, "ann": (1.0 + total) ** (252.0 / n) - 1.0, "mdd": -(eq / np.maximum.accumulate(eq) - 1).min(),
            "sharpe": r.mean() / sd * np.sqrt(252.0) if sd > 0 else np.nan, "n": n}


def _period_returns(close: pd.Series, start: str, end: str) -> pd.Series:
    base = close.loc[: pd.Timestamp(start) - pd.Timedelta(days=1)].index[-1]
    return close.loc[base:end].pct_change().iloc[1:]


def _guidance_row(index: pd.DatetimeIndex, day: str) -> pd.Timestamp:
    """Our decision row for the report's guidance date ``day``: the last trading day before it."""
    return index[index < pd.Timestamp(day)][-1]


STANDARD = "(1+R)^(252/n)-1, base = close before the period, n trading days"


def _sentiment_checks(path: str) -> list[Check]:
    from engine.backtest import run_backtest
    from engine.signals import sentiment as S

    cfg, ds = _load(path)
    csi = ds.panel("index")["close"][cfg.signal.params.get("code", "000300.SH")]
    needs = {"panel:citic_l3.close": "citic", "series:flows.elg_buy": "flows", "series:futures_if.close": "futures_if",
             "series:options_50etf.put_amount": "options_50etf"}
    kind, dataset, fetch = _kind(ds, needs)
    params = dict(cfg.signal.params)
    out: list[Check] = []
    lag = f"lag {cfg.execution.lag} {cfg.execution.price}"

    # C1 part 1: the rule on the printed indicators (inputs = the printed numbers themselves)
    tab = pd.DataFrame(PRINTED_TABLE, index=["C", "T", "E", "w"]).T
    w = S.position_rule(tab["T"].to_numpy(), tab["E"].to_numpy(), None, params)
    ok = np.arange(len(tab)) >= params.get("trend_k", 9)        # rows whose k-day change needs no unprinted row
    match = int((w[ok] == tab["w"].to_numpy()[ok]).sum())
    out.append(Check(R, "C1", "表1 weights from the printed 图1 温度/预期 (rule §1.4), checkable rows",
                     f"{int(ok.sum())} of {int(ok.sum())}", f"{match} of {int(ok.sum())}", "rows",
                     f"same row, trend {params.get('trend', 'diff')} k = {params.get('trend_k', 9)}", "real",
                     note="the 100%->50% switch on 11-16 needs unprinted 预期 of 11-02/03"))

    res = None
    if kind != "missing":
        res = S.compute(ds, params)
    ind = res.indicators if res is not None else None
    wts = res.weights.iloc[:, 0] if res is not None else None

    def at(col, day):
        if ind is None:
            return None
        d = ind.index[ind.index <= pd.Timestamp(day)][-1]
        return float(ind.loc[d, col])

    def weight_for(day):
        return None if wts is None else float(wts.loc[_guidance_row(wts.index, day)])

    conc_note = "on real CITIC L3 the stated definition gives 0.32-0.34 in Nov 2023; not reproducible (§9.1)"
    for col, name, pub in (("concentration", "情绪浓度", 0.6818), ("temperature", "情绪温度", 0.1573),
                           ("expectation", "情绪预期", 0.3581)):
        out.append(Check(R, "C1", f"{name} on 2023-12-01", pub, at(col, "2023-12-01"), "",
                         "close of the day (Caixin rows are dated by guidance date; see docs)", kind, dataset, fetch,
                         conc_note if col == "concentration" else ""))
    out.append(Check(R, "C1", "target weight, guidance date 2023-12-01", 0.0, weight_for("2023-12-01"), "%",
                     "our weight decided at the close of 2023-11-30", kind, dataset, fetch))

    # C2-C5: the backtests; benchmark = the real CSI 300, strategy = our signal on the configured inputs
    def strat(start, end):
        if res is None:
            return None
        bt = run_backtest(res.weights, ds.panel("index"), start, end, cfg.execution, cfg.costs, cfg.market_rules,
                          dataset=ds)
        return _perf(bt.returns.iloc[1:])

    def add(cid, label, pub, ours, unit, conv, inputs, note=""):
        out.append(Check(R, cid, label, pub, ours, unit, conv, inputs,
                         dataset if inputs == "missing" else "", fetch if inputs == "missing" else "", note))

    b = _perf(_period_returns(csi, "2022-01-01", "2023-11-30"))
    cal = (pd.Timestamp("2023-11-30") - csi.loc[:"2021-12-31"].index[-1]).days
    add("C2", "CSI 300 annual return 2022-01-01..2023-11-30", -0.1169, b["ann"], "%", STANDARD, "real",
        "the report's figure is matched only by trading days per calendar day (next row)")
    add("C2", "CSI 300 annual return 2022-01-01..2023-11-30", -0.1169, (1 + b["cum"]) ** (250 / cal) - 1, "%",
        f"(1+R)^(250/calendar days)-1, {cal} calendar days", "real")
    s = strat("2022-01-01", "2023-11-30")
    add("C2", "strategy annual return 2022-01-01..2023-11-30", -0.0398, s and s["ann"], "%", f"{STANDARD}; {lag}",
        kind)
    add("C2", "strategy minus CSI 300, annual 2022-01-01..2023-11-30", -0.0398 + 0.1169,
        s and s["ann"] - b["ann"], "%", f"{STANDARD}; {lag}", kind)
    for cid, end, pubs in (("C3", "2022-08-01", {"sharpe": (0.5322, 0.1603), "ann": (0.0775, 0.0137),
                                                  "cum": (0.906, 0.165), "mdd": (0.2693, 0.465)}),
                           ("C4", "2022-11-09", {"sharpe": (0.4520, 0.1243), "ann": (0.0717, 0.0037),
                                                  "cum": (0.8579, 0.0453), "mdd": (0.2693, 0.465)}),
                           ("C5", "2023-02-15", {"sharpe": (0.4458, 0.1516), "ann": (0.0725, None)})):
        bb = _perf(_period_returns(csi, "2010-01-01", end))
        ss = strat("2010-01-01", end)
        for key, (ps, pb) in pubs.items():
            unit = "" if key == "sharpe" else "%"
            conv = {"sharpe": "mean/sd x sqrt(252), rf 0", "ann": STANDARD, "cum": "prod(1+r)-1",
                    "mdd": "max drawdown, close to close"}[key]
            add(cid, f"strategy {key} 2010-01-01..{end}", ps, ss and ss[key], unit, f"{conv}; {lag}", kind)
            if pb is not None:
                add(cid, f"CSI 300 {key} 2010-01-01..{end}", pb, bb[key], unit, conv, "real")
    s4 = strat("2022-09-20", "2022-11-09")
    add("C4", "strategy return 2022-09-20..2022-11-09", -0.0370, s4 and s4["cum"], "%", f"prod(1+r)-1; {lag}", kind)
    if wts is not None:
        days = wts.index[(wts.index >= pd.Timestamp("2023-02-02")) & (wts.index <= pd.Timestamp("2023-02-15"))]
        rows = [float(wts.loc[_guidance_row(wts.index, d)]) for d in days]
        ours50 = f"50% on {sum(r == 0.5 for r in rows)} of {len(rows)} guidance days"
    else:
        ours50 = None
    add("C5", "weight 50% from guidance date 2023-02-02 to 2023-02-15", "50% on every guidance day", ours50, "",
        "our weight of the previous close", kind)
    # C6: the later Caixin updates
    for day, col, name, pub in (("2024-10-23", "concentration", "情绪浓度", 0.7693),
                                ("2024-10-23", "temperature", "情绪温度", 0.5619),
                                ("2024-10-23", "expectation", "情绪预期", 0.7356),
                                ("2024-12-31", "concentration", "情绪浓度", 0.7887),
                                ("2023-02-07", "concentration", "情绪浓度 (about)", 0.80)):
        add("C6", f"{name} on {day}", pub, at(col, day), "", "close of the day", kind,
            conc_note if col == "concentration" else "")
    add("C6", "target weight, guidance date 2024-11-08", 0.5, weight_for("2024-11-08"), "%",
        "our weight decided at the previous close", kind)
    return out


def _rotation_checks(path: str, crowd_path: str) -> list[Check]:
    from scipy.stats import spearmanr

    from engine.signals import crowding as cr
    from engine.signals import turnover_rotation as tr
    from engine.signals.industry_common import NAME_TO_CODE, industry_names

    out: list[Check] = []
    cfg, ds = _load(path)
    kind, dataset, fetch = _kind(ds, {"panel:sw_l1.close": "sw_l1"})
    if kind == "missing":
        for item, pub in (("buy list Nov 2023", BUYS_2311), ("sell list Nov 2023", SELLS_2311)):
            out.append(Check(R, "C7", item, pub, None, "", "", kind, dataset, fetch))
    else:
        p = dict(cfg.signal.params)                 # validated by load_config: every parameter
        mon = tr.rotation_monthly(ds, p)
        src = mon["mean"].attrs["turnover_source"]
        if kind == "real" and src in ("volume", "amount"):
            kind = "proxy"
        i = int(mon["slope"].index.searchsorted(pd.Timestamp("2023-11-30"), side="right")) - 1
        table = tr.rotation_table_for(ds, mon, i)
        buys, sells = (x.split("：")[1] for x in tr.rotation_footer(table, "11月"))
        conv = f"variant {p['variant']}, flag {p['flag']}, turnover_source {src}"
        printed = pd.Series({NAME_TO_CODE[n]: r for n, r in PRINTED_SLOPE_RANK.items()})
        ours = mon["slope_rank"].iloc[i].reindex(printed.index)
        rho = float(spearmanr(printed, ours, nan_policy="omit")[0])
        out += [Check(R, "C7", "换手率斜率排名 Nov 2023: Spearman rho with the printed ranks", 1.0, rho, "", conv, kind,
                      note="on real SW L1 volume the best of 1,540 variants gives 0.71 (§9.2)"),
                Check(R, "C7", "flagged industries Nov 2023 (中期趋势反转可能)", 16, int(mon["flag"].iloc[i].sum()), "",
                      conv, kind),
                Check(R, "C7", "buy list Nov 2023", BUYS_2311, buys, "", conv, kind,
                      note="variant C reproduces it exactly from the printed ranks and §9.2 trend states (tests)"),
                Check(R, "C7", "sell list Nov 2023", SELLS_2311, sells, "", conv, kind)]
    ccfg, cds = _load(crowd_path)
    ckind, cdataset, cfetch = _kind(cds, {"panel:sw_l1.close": "sw_l1", "panel:stocks.close": "stocks",
                                          "table:membership": "sw_membership"})
    printed = {("C8", "2023-11-30"): {"乖离率 flags": "医药生物", "关联度 flags": "银行、汽车", "成交集中度 flags": "无",
                                      "combined (OR) flags": "医药生物、银行、汽车", "crowding sell": "无"},
               ("C9", "2024-12-31"): {"成交集中度 flags": "家用电器、纺织服饰、商贸零售、通信、机械设备",
                                      "关联度 flags": "无", "乖离率 flags": "无"}}
    cm = None if ckind == "missing" else cr.crowding_monthly(
        cds, {k: v for k, v in ccfg.signal.params.items() if k in cr.CROWD_DEFAULTS})   # the crowding part
    keys = {"乖离率 flags": "bias", "关联度 flags": "rho", "成交集中度 flags": "share", "combined (OR) flags": "crowd",
            "crowding sell": "sell"}
    conv = (f"flag_when {ccfg.signal.params.get('flag_when')}, share_variant {ccfg.signal.params.get('share_variant')}, "
            f"trend {ccfg.signal.params.get('crowd_trend')}")
    for (cid, month), items in printed.items():
        for item, pub in items.items():
            ours = None
            if cm is not None:
                i = int(cm["crowd"].index.searchsorted(pd.Timestamp(month), side="right")) - 1
                row = cm[keys[item]].iloc[i]
                names = industry_names(cds, row.index[row.to_numpy(bool)])
                ours = "、".join(names) or "无"
            out.append(Check(R, cid, f"{item} {month[:7]}", pub, ours, "", conv, ckind, cdataset, cfetch))
    return out


def _valuation_checks() -> list[Check]:
    pub = {"上证50": (16.27, 1.80), "沪深300": (18.65, 2.13), "中证500": (21.60, 1.98)}
    note = "constituent-median PE-TTM / PB-LF; needs constituents and stock valuations, not shipped"
    return [Check(R, "C10", f"{name} constituent-median {k} 2023-12-01", v, None, "x", "median over constituents",
                  "missing", "stocks, index", f"{fetch_command('stocks')}; {fetch_command('index')}", note)
            for name, (pe, pb) in pub.items() for k, v in (("PE", pe), ("PB", pb))]


def checks(config_path: str | None = None) -> list[Check]:
    """Every §6 number of report 002 (C1-C10) with ours on the configured data; see the module docstring."""
    out = (_sentiment_checks(config_path or _yaml("sentiment.yaml"))
           + _rotation_checks(_yaml("turnover_rotation.yaml"), _yaml("crowding.yaml")) + _valuation_checks())
    return sorted(out, key=lambda c: int(c.id[1:]))          # stable: by §6 id, in the order computed
