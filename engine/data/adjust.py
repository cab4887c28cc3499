"""Adjusted prices: the ``adj_factor`` contract of docs/data.md.

Prices stay raw; ``adj_factor`` (cumulative, any scale) gives adjusted price = raw x factor. A ``dividend`` field
(cash per share on the ex-date row) is converted to a factor with the exchanges' ex-rights/ex-dividend reference
price (上海/深圳证券交易所交易规则, 除权（息）参考价 = [(前收盘价 - 现金红利) + 配股价格 x 股份变动比例]
/ (1 + 流通股份变动比例); with cash only: 前收盘价 - 现金红利), so on an ex-date
``factor[t] / factor[t-1] = close[t-1] / (close[t-1] - dividend[t])``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import LazyFields, Panel
from engine.errors import DataError


def dividends_to_factor(close: pd.DataFrame, dividend: pd.DataFrame, where: str = "") -> pd.DataFrame:
    """Cumulative factor (1.0 before the first ex-date) from raw closes and cash dividends per share."""
    div = dividend.reindex(index=close.index, columns=close.columns).fillna(0.0)
    prev = close.ffill().shift(1)
    d = div.to_numpy(dtype=float)
    p = prev.to_numpy(dtype=float, na_value=np.nan)
    has = d > 0
    if (has & np.isnan(p)).any():
        r, c = np.argwhere(has & np.isnan(p))[0]
        raise DataError(f"{where}: dividend on {close.index[r]:%Y-%m-%d} for {close.columns[c]} has no previous close; "
                        f"drop it or add the previous day's close")
    with np.errstate(invalid="ignore"):
        bad = has & (d >= p)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{where}: dividend {d[r, c]} for {close.columns[c]} on {close.index[r]:%Y-%m-%d} is not below "
                        f"the previous close {p[r, c]}; dividends are cash per share in CNY")
    step = np.ones_like(d)
    step[has] = p[has] / (p[has] - d[has])
    return pd.DataFrame(np.cumprod(step, axis=0), index=close.index, columns=close.columns)


def filled_factor(factor: pd.DataFrame) -> pd.DataFrame:
    """The factor as the backtester uses it: forward-filled within a code, back-filled before its first value,
    1.0 for a code without any factor."""
    return factor.ffill().bfill().fillna(1.0)


def adjusted_close(panel: Panel) -> pd.DataFrame:
    """close x adj_factor (raw close when the panel has no factor)."""
    close = panel["close"]
    if "adj_factor" not in panel:
        return close
    return close * filled_factor(panel["adj_factor"]).reindex(index=close.index, columns=close.columns)


def attach_dividend_factor(panel: Panel) -> Panel:
    """If the panel has ``dividend``, add ``adj_factor`` computed from it (lazily for lazy panels)."""
    if "dividend" not in panel:
        return panel
    if "adj_factor" in panel:
        raise DataError(f"{panel.source}: panel '{panel.name}' has both 'adj_factor' and 'dividend'; give one of them "
                        f"(docs/data.md, adjusted prices)")

    def make():
        return dividends_to_factor(panel["close"], panel["dividend"], f"{panel.source}: panel '{panel.name}'")

    if isinstance(panel.fields, LazyFields):
        panel.fields.add_loader("adj_factor", make)
    else:
        panel.fields["adj_factor"] = make()
    return panel
