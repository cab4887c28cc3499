"""Index-enhanced (指数增强) fund NAVs around the synthetic CSI 500 / CSI 1000, consistent with ``index_enhanced``.

For each benchmark b (``000905.SH`` CSI 500, ``000852.SH`` CSI 1000) there are ``N_QUANT`` quant-managed funds and
``N_ACTIVE`` fundamentally managed ones. Fund i's daily return::

    r_i[t] = R_b[t] + e[t] + d_i[t]      R_b: the synthetic index's close-to-close return (100% benchmark; real
                                          funds use ~95% index + 5% deposit rate, see docs/data.md)
                                          e: the published ``index_enhanced`` mean excess of the benchmark's column
                                          d_i: fund-specific excess, Student-t(5) with 0.15% daily sd times an AR(1)
                                          vol regime; demeaned across the quant funds each day, so (once every quant
                                          fund is live, before NAV rounding) the cross-fund mean of their daily
                                          excess equals ``index_enhanced``
    active funds: d_i without demeaning, twice the sd, and e replaced by 0.3 e

NAV starts at 1.0 on the fund's inception day (drawn between the benchmark's excess start and 2021) and is rounded to
4 decimals like published NAVs; NaN before inception. Codes ``EF500Q01.SYN`` ... say they are synthetic.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.synthetic.market import Market, ar1, stream, student_t

N_QUANT, N_ACTIVE = 8, 2
FUNDS = (("000905.SH", "csi500_excess", "500", "2012-01-04"), ("000852.SH", "csi1000_excess", "1000", "2016-01-04"))
LAST_INCEPTION = "2021-06-30"


def enhanced_funds(mkt: Market, index_close: dict, excess: pd.DataFrame, seed: int) -> dict:
    """{'nav': (T, F) array, 'info': DataFrame(code, name, benchmark, quant, inception)} (module doc)."""
    rng = stream(seed, "funds/enhanced_navs")
    T = mkt.n
    navs, rows = [], []
    full = excess.reindex(mkt.dates)
    for bench, col, tag, first in FUNDS:
        close = index_close[bench]
        rb = np.r_[0.0, close[1:] / close[:-1] - 1.0]
        e = np.nan_to_num(full[col].to_numpy())
        k = N_QUANT + N_ACTIVE
        sd = 0.0015 * np.exp(0.3 * ar1(rng, (T, k), 0.98, 1.0))
        d = sd * student_t(rng, 5.0, (T, k))
        d[:, :N_QUANT] -= d[:, :N_QUANT].mean(axis=1, keepdims=True)
        d[:, N_QUANT:] *= 2.0
        lo, hi = mkt.index_of(first), mkt.index_of(LAST_INCEPTION)
        incep = np.r_[lo, rng.integers(lo, hi, size=k - 1)]   # the first quant fund exists from the start
        for i in range(k):
            quant = i < N_QUANT
            r = rb + (e if quant else 0.3 * e) + d[:, i]
            nav = np.full(T, np.nan)
            nav[incep[i]:] = np.cumprod(np.r_[1.0, 1.0 + r[incep[i] + 1:]])
            navs.append(np.round(nav, 4))
            kind = "Q" if quant else "A"
            code = f"EF{tag}{kind}{i + 1:02d}.SYN"
            rows.append((code, f"合成{tag}指增{kind}{i + 1:02d}", bench, quant, mkt.dates[incep[i]]))
    info = pd.DataFrame(rows, columns=["code", "name", "benchmark", "quant", "inception"])
    info["inception"] = info["inception"].astype("datetime64[us]")
    return {"nav": np.column_stack(navs), "info": info}
