"""The report's monthly industry tables as text: 图2 (换手率 ranks and 量能 orders) and 图3 (拥挤度 signals).

Shared by :mod:`engine.signals.turnover_rotation` and :mod:`engine.signals.crowding` (both print both tables for
``rotation_crowding``), so neither signal module imports the other for its printing.
"""
from __future__ import annotations

import pandas as pd

from engine.signals.industry_common import format_table

FLAG_TEXT, BUY_TEXT, SELL_TEXT = "中期趋势反转可能", "买入信号", "卖出信号"

# what the 换手率 columns measure, printed in the table header (a proxy is never shown as a turnover rate)
SOURCE_LABELS = {
    "turnover": "换手率 = field 'turnover' (the vendor's turnover rate, %)",
    "volume_float": "换手率 = volume / float_shares x 100 (turnover rate from free-float shares, %)",
    "turnover+volume_float": "换手率 = field 'turnover' (%), its gaps from volume / float_shares x 100",
    "volume": "PROXY: the 换手率 ranks are computed on SW L1 成交量 (field 'volume'), not on a turnover rate",
    "amount": "PROXY: the 换手率 ranks are computed on SW L1 成交额 (field 'amount'), not on a turnover rate",
}


def rotation_footer(table: pd.DataFrame, month_label: str) -> list[str]:
    """The report's two summary lines, e.g. '11月量能买入信号：计算机、社会服务'."""
    buys = [n for n, h in zip(table["行业"], table["提示"]) if BUY_TEXT in h][::-1]
    sells = [n for n, h in zip(table["行业"], table["提示"]) if SELL_TEXT in h][::-1]
    return [f"{month_label}量能买入信号：{'、'.join(buys) or '无'}", f"{month_label}量能卖出信号：{'、'.join(sells) or '无'}"]


def crowding_footer(table: pd.DataFrame, month_label: str) -> list[str]:
    """The report's summary lines: industries that triggered, and the crowding sell list."""
    hit = table.loc[table["拥挤度组合信号"] == 1, "行业"].tolist()
    sells = table.loc[table.get("拥挤度卖出信号", pd.Series(0, index=table.index)) == 1, "行业"].tolist()
    return [f"{month_label}触发拥挤或踩踏信号：{'、'.join(hit) or '无'}", f"{month_label}拥挤度卖出信号：{'、'.join(sells) or '无'}"]


def format_monthly_tables(tables: dict[str, pd.DataFrame], month_end) -> str:
    """Both tables as text with the report's titles and summary lines (e.g. '11月量能买入信号：...')."""
    m = pd.Timestamp(month_end)
    label = f"{m.month}月"
    parts = []
    if "rotation" in tables:
        src = tables["rotation"].attrs.get("turnover_source", "")
        title = f"图2：换手率因子排名和量能策略指令（截至{m:%Y-%m-%d}）"
        if src:
            title += "\n" + SOURCE_LABELS.get(src, src)
        parts.append(format_table(tables["rotation"], title, rotation_footer(tables["rotation"], label)))
    if "crowding" in tables:
        parts.append(format_table(tables["crowding"], f"图3：拥挤度信号（{m:%Y-%m}数据触发下月信号）",
                                  crowding_footer(tables["crowding"], label)))
    return "\n\n".join(parts)
