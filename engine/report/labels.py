"""Chinese and English labels of the metrics and report elements, and how each metric is formatted.

A key without an entry still gets a label (its name with spaces) and a format guessed from its name, so a metric
that :mod:`engine.metrics` adds later appears on the page without a change here.
"""
from __future__ import annotations

import math

# key -> (中文, English)
LABELS = {
    "total_return": ("累计收益", "Total return"),
    "annual_return": ("年化收益率", "Annual return"),
    "annual_volatility": ("年化波动率", "Annual volatility"),
    "sharpe": ("夏普比率", "Sharpe"),
    "sortino": ("索提诺比率", "Sortino"),
    "calmar": ("卡玛比率", "Calmar"),
    "max_drawdown": ("最大回撤", "Max drawdown"),
    "max_drawdown_peak": ("回撤起点", "Drawdown peak"),
    "max_drawdown_trough": ("回撤谷底", "Drawdown trough"),
    "max_drawdown_recovery": ("回撤修复", "Drawdown recovery"),
    "best_day": ("最佳单日", "Best day"),
    "best_day_date": ("最佳单日日期", "Best day date"),
    "worst_day": ("最差单日", "Worst day"),
    "worst_day_date": ("最差单日日期", "Worst day date"),
    "n_days": ("交易日数", "Trading days"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "annual_excess": ("年化超额收益", "Annual excess"),
    "annual_excess_geometric": ("年化超额收益 (几何)", "Annual excess, geometric"),
    "annual_excess_arithmetic": ("年化超额收益 (算术)", "Annual excess, arithmetic"),
    "total_excess_geometric": ("累计超额收益 (几何)", "Total excess, geometric"),
    "total_excess_arithmetic": ("累计超额收益 (算术)", "Total excess, arithmetic"),
    "primary_excess": ("主超额口径", "Primary excess"),
    "tracking_error": ("跟踪误差", "Tracking error"),
    "information_ratio": ("信息比率", "Information ratio"),
    "beta": ("贝塔", "Beta"),
    "alpha": ("阿尔法 (年化)", "Alpha (annual)"),
    "daily_win_rate": ("日胜率", "Daily win rate"),
    "monthly_win_rate": ("月胜率", "Monthly win rate"),
    "n_months": ("月数", "Months"),
    "annual_turnover": ("年化换手率", "Annual turnover"),
    "total_cost_drag": ("累计成本拖累", "Total cost drag"),
    "annual_cost_drag": ("年化成本拖累", "Annual cost drag"),
    "periods_per_year": ("年化期数", "Periods per year"),
    "risk_free": ("无风险利率", "Risk-free rate"),
    # report elements
    "strategy": ("策略", "Strategy"),
    "benchmark": ("基准", "Benchmark"),
    "excess": ("超额收益", "Excess"),
    "metric": ("指标", "Metric"),
    "definition": ("口径", "Definition"),
    "metrics": ("业绩指标", "Performance metrics"),
    "conventions": ("计算口径", "Conventions"),
    "equity": ("累计净值 (对数)", "Equity (log scale)"),
    "excess_curve": ("超额净值", "Excess equity"),
    "drawdown": ("回撤", "Drawdown"),
    "worst_drawdowns": ("最大回撤区间", "Worst drawdowns"),
    "peak": ("起点", "Peak"),
    "trough": ("谷底", "Trough"),
    "recovery": ("修复", "Recovery"),
    "depth": ("深度", "Depth"),
    "length": ("长度 (交易日)", "Length (trading days)"),
    "not_recovered": ("未修复", "not recovered"),
    "rolling": ("滚动一年指标", "Rolling one-year statistics"),
    "rolling_return": ("滚动收益", "Rolling return"),
    "rolling_vol": ("滚动波动率", "Rolling volatility"),
    "rolling_sharpe": ("滚动夏普", "Rolling Sharpe"),
    "rolling_beta": ("滚动贝塔", "Rolling beta"),
    "calendar": ("年度与月度收益", "Calendar-year and monthly returns"),
    "year": ("年份", "Year"),
    "monthly_heatmap": ("月度收益热力图", "Monthly returns heatmap"),
    "exposure": ("仓位与持仓权重", "Exposure and weights"),
    "gross_exposure": ("总仓位", "Gross exposure"),
    "turnover_costs": ("换手与成本", "Turnover and costs"),
    "turnover": ("换手率", "Turnover"),
    "cum_costs": ("累计成本 (占净值)", "Cumulative costs (of value)"),
    "trades": ("交易统计", "Trades"),
    "n_trades": ("交易次数", "Round trips"),
    "n_orders": ("成交笔数", "Executed orders"),
    "win_rate": ("胜率", "Win rate"),
    "profit_loss_ratio": ("盈亏比", "Profit/loss ratio"),
    "avg_holding_days": ("平均持仓天数", "Average holding days"),
    "open_trades": ("未平仓", "Open at the end"),
    "signal_panel": ("信号面板", "Signal panel"),
    "provenance": ("数据来源与版本", "Data provenance and versions"),
    "weight": ("权重", "Weight"),
    "comparison": ("策略对比", "Comparison"),
    "sweep": ("参数扫描", "Parameter sweep"),
    "top_n": ("排名前列", "Top combinations"),
    "heatmaps": ("参数热力图", "Parameter heatmaps"),
    "is_oos": ("样本内 vs 样本外", "In-sample vs out-of-sample"),
    "selection_bias": ("选择偏差", "Selection bias"),
    "synthetic": ("模拟数据", "SYNTHETIC"),
    "excess_geometric": ("超额 (几何)", "Excess, geometric"),
    "excess_arithmetic": ("超额 (算术)", "Excess, arithmetic"),
    "strategy_max_drawdown": ("策略最大回撤", "Strategy max DD"),
    "benchmark_max_drawdown": ("基准最大回撤", "Benchmark max DD"),
    "days": ("天数", "Days"),
    "code": ("代码", "Code"),
    "entry": ("开仓", "Entry"),
    "exit": ("平仓", "Exit"),
    "holding_days": ("持仓天数", "Holding days"),
    "bought": ("买入金额", "Bought"),
    "sold": ("卖出金额", "Sold"),
    "fees": ("费用", "Fees"),
    "pnl": ("盈亏", "P&L"),
    "return": ("收益率", "Return"),
    "open": ("未平仓", "Open"),
    "warmup": ("预热期", "Warm-up"),
    "warnings": ("警告", "Warnings"),
    "information_ratio_arithmetic": ("信息比率 (算术)", "Information ratio, arithmetic"),
    "daily_wins": ("日胜次数", "Winning days"),
    "daily_losses": ("日负次数", "Losing days"),
    "daily_ties": ("日平次数", "Tied days"),
    "monthly_wins": ("月胜次数", "Winning months"),
    "monthly_losses": ("月负次数", "Losing months"),
    "monthly_ties": ("月平次数", "Tied months"),
}

_PCT_WORDS = ("return", "excess", "drawdown", "volatility", "win_rate", "drag", "alpha", "tracking_error",
              "best_day", "worst_day", "risk_free", "share", "cost")
_RATIO_WORDS = ("sharpe", "sortino", "calmar", "beta", "ratio", "information", "skew", "kurt", "dsr", "pbo")


def label(key: str) -> tuple[str, str]:
    """(中文, English) of a key; an unknown key's English is its name with spaces, its Chinese the same."""
    if key in LABELS:
        return LABELS[key]
    base = key.rsplit(".", 1)[-1]
    for pre, (zh, en) in (("is_", ("样本内", "IS")), ("oos_", ("样本外", "OOS"))):
        if base.startswith(pre) and base[len(pre):] in LABELS:
            z, e = LABELS[base[len(pre):]]
            return f"{zh}{z}", f"{en} {e.lower()}"
    en = base.replace("_", " ")
    en = en[:1].upper() + en[1:]
    return en, en


def kind_of(key: str, value) -> str:
    """pct | ratio | times | int | money | text | num: how to show ``value`` of metric ``key``."""
    k = key.lower()
    if isinstance(value, (bool, dict, list, tuple)):
        return "text"
    if isinstance(value, str) or value is None:
        return "text"
    if isinstance(value, int):
        return "int"
    if "turnover" in k:
        return "times"
    if k.startswith(("n_", "num_")) or k.endswith(("_days", "_count")):
        return "num"
    if any(w in k for w in _RATIO_WORDS):
        return "ratio"
    if any(w in k for w in _PCT_WORDS):
        return "pct"
    return "num"


def fmt(value, kind: str) -> str:
    """The text shown for a value: the terminal table's own formatting (engine.metrics.format: 2-decimal
    percentages, 3-decimal ratios, 'x' for turnover) with "-0.00%" shown as "0.00%"; money with thousands
    separators; other numbers with 4 significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind in ("pct", "ratio", "times", "int"):
        from engine.metrics.format import _fmt

        s = _fmt(value, kind)
        return "0.00%" if s == "-0.00%" else s
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "num":
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    return str(value)
