"""Fund-side series: monthly new equity-fund issuance, the three 新半军 sector indices and their ETFs.

* ``fund_issuance.count``: new 偏股型 funds per month (dated on the month's last trading day), Poisson with
  ``log rate = log base(year) + 1.2 * ret120 + 0.3 * AR(1)`` where base(year) follows the real boom and bust of
  issuance (4/month in 2006, ~100 in 2021, ~40 in 2024) and ret120 is the real CSI 300 120-day log return to the
  month end: issuance follows past performance (causal only).
* ``sectors`` (new_energy, semiconductor, defense): ``r = (1 + R_parent)^1.1 - 1 + 0.6% t-noise`` on the SW L1
  parents 电力设备 801730, 电子 801080, 国防军工 801740; ``pe_ttm`` as in ``derivatives.pe_ttm``.
* ``sector_etfs``: two ETFs per sector (codes of real ETFs, listing dates approximate, data synthetic); NAV
  follows the sector index with 0.03% daily tracking noise from 1.0 at listing; shares move by
  ``-0.15 * ret5(sector) + AR(1) noise + a 0.05%/day growth drift`` (contrarian buying after declines).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.synthetic.derivatives import pe_ttm
from engine.data.synthetic.market import Market, ar1, stream, student_t

SECTORS = (("new_energy", "801730.SI", 40.0), ("semiconductor", "801080.SI", 60.0), ("defense", "801740.SI", 60.0))
SECTOR_ETFS = (("516160.SH", "new_energy", "2021-02-04"), ("515030.SH", "new_energy", "2020-03-04"),
               ("512480.SH", "semiconductor", "2019-06-12"), ("159995.SZ", "semiconductor", "2020-02-10"),
               ("512660.SH", "defense", "2016-08-08"), ("512710.SH", "defense", "2019-08-26"))
ISSUANCE_BASE = ((2006, 4), (2007, 8), (2009, 8), (2012, 10), (2015, 25), (2017, 30), (2019, 45), (2020, 80),
                 (2021, 100), (2022, 60), (2023, 45), (2024, 35), (2025, 45))


def fund_issuance(mkt: Market, seed: int) -> pd.DataFrame:
    """Monthly new equity-fund count (int >= 0), one row per month dated its last trading day (module doc)."""
    rng = stream(seed, "funds/issuance")
    ends = mkt.month_ends()
    d = mkt.dates[ends]
    yr = d.year.to_numpy() + (d.month.to_numpy() - 0.5) / 12.0
    base = np.exp(np.interp(yr, [y + 0.5 for y, _ in ISSUANCE_BASE], np.log([b for _, b in ISSUANCE_BASE])))
    lam = base * np.exp(1.2 * mkt.ret120[ends] + 0.3 * ar1(rng, (len(ends),), 0.7, 1.0))
    return pd.DataFrame({"count": rng.poisson(lam).astype(np.int64)}, index=pd.DatetimeIndex(d, name="date"))


def sectors(mkt: Market, sw_close: np.ndarray, sw_codes, seed: int, drift: np.ndarray | None = None) -> dict:
    """{'close': (T, 3), 'pe_ttm': (T, 3), 'codes': [...]}; ``drift`` (T-1, 3): a planted effect added to the daily
    returns (``effects.flow_leads_returns_drift``), None = none."""
    rng = stream(seed, "funds/sectors")
    T = mkt.n
    cols = [list(sw_codes).index(p) for _, p, _ in SECTORS]
    rp = sw_close[1:, cols] / sw_close[:-1, cols]
    r = rp**1.1 - 1.0 + 0.006 * student_t(rng, 5.0, (T - 1, len(cols)))
    if drift is not None:
        r = r + drift
    close = 1000.0 * np.vstack([np.ones((1, len(cols))), np.cumprod(1.0 + np.maximum(r, -0.5), axis=0)])
    pe = pe_ttm(mkt, close, np.array([s[2] for s in SECTORS]), rng)
    return {"close": close, "pe_ttm": pe, "codes": [s[0] for s in SECTORS]}


def sector_etfs(mkt: Market, sec_close: np.ndarray, seed: int) -> dict:
    """{'shares': (T, E), 'nav': (T, E), 'codes': [...], 'sectors': [...]} with NaN before listing."""
    rng = stream(seed, "funds/etfs")
    T, E = mkt.n, len(SECTOR_ETFS)
    names = [s[0] for s in SECTORS]
    shares = np.full((T, E), np.nan)
    nav = np.full((T, E), np.nan)
    for j, (code, sector, listed) in enumerate(SECTOR_ETFS):
        d0 = mkt.index_of(listed)
        if d0 >= T:
            continue
        sc = sec_close[:, names.index(sector)]
        r = np.r_[0.0, sc[1:] / sc[:-1] - 1.0][d0:]
        nv = np.cumprod(1.0 + r + 0.0003 * rng.standard_normal(len(r)))
        nv[0] = 1.0
        ret5 = np.r_[np.zeros(5), np.log(sc[5:] / sc[:-5])][d0:]
        dlog = np.clip(0.0005 - 0.15 * ret5 / 5.0 + 0.01 * ar1(rng, (len(r),), 0.5, 1.0), -0.2, 0.2)
        dlog[0] = 0.0
        shares[d0:, j] = np.round(rng.uniform(5e8, 3e9) * np.exp(np.cumsum(dlog)))
        nav[d0:, j] = np.round(nv, 4)
    return {"shares": shares, "nav": nav, "codes": [e[0] for e in SECTOR_ETFS], "sectors": [e[1] for e in SECTOR_ETFS]}


GROWTH = ("801080.SI", "801730.SI", "801740.SI", "801750.SI", "801760.SI", "801770.SI")   # 电子 电力设备 军工 计算机 传媒 通信
VALUE = ("801780.SI", "801790.SI", "801180.SI", "801160.SI", "801950.SI", "801960.SI")    # 银行 非银 地产 公用 煤炭 石化
FUND_BASE = (0.12, 0.10, 0.05)     # active funds' mean weight in new_energy, semiconductor, defense


def fund_indices(mkt: Market, sw_close: np.ndarray, sw_codes, sec_close: np.ndarray, seed: int) -> pd.DataFrame:
    """Series ``fund_indices`` (NAV-like, 1.0 on the first day): the inputs of the 新半军 position regressions.

    * ``growth`` / ``value``: equal-weight style indices of six SW L1 industries each (``GROWTH`` / ``VALUE``),
      plus 0.2% daily t-noise.
    * ``active_equity``: an active equity-fund index holding the three 新半军 sectors and the real CSI 300 with
      weights decided at the previous close: sector weight ``base * exp(0.4 AR(1) + 0.8 tanh(ret60))``
      (funds chase the sector's own 60-day log return), equity total ``0.85 + 0.05 AR(1)``, the CSI 300 gets the
      rest of the equity total, cash earns 0; plus 0.05% daily noise.
    * ``private_long``: a stock-long private-fund index, growth weight ``0.5 + 0.25 tanh(AR(1) + ret60(growth))``
      and value weight ``0.3 + 0.1 AR(1)`` (total <= 0.95), plus 0.1% noise.

    All weights use returns up to the previous close only. Synthetic; own stream ``funds/indices``.
    """
    rng = stream(seed, "funds/indices")
    T = mkt.n
    codes = list(sw_codes)
    lr = np.vstack([np.zeros((1, sw_close.shape[1])), np.diff(np.log(sw_close), axis=0)])
    style = {}
    for name, grp in (("growth", GROWTH), ("value", VALUE)):
        r = np.expm1(lr[:, [codes.index(c) for c in grp]]).mean(axis=1) + 0.002 * student_t(rng, 5.0, T)
        r[0] = 0.0
        style[name] = r
    sr = np.vstack([np.zeros((1, 3)), sec_close[1:] / sec_close[:-1] - 1.0])
    slog = np.log(sec_close)
    ret60 = np.vstack([np.zeros((60, 3)), slog[60:] - slog[:-60]])
    w = np.asarray(FUND_BASE) * np.exp(0.4 * ar1(rng, (T, 3), 0.98, 1.0) + 0.8 * np.tanh(ret60))
    total = 0.85 + 0.05 * ar1(rng, (T,), 0.98, 1.0)
    w_csi = np.maximum(total - w.sum(axis=1), 0.0)
    rc = np.expm1(mkt.m)
    fund = np.r_[0.0, (w[:-1] * sr[1:]).sum(axis=1) + w_csi[:-1] * rc[1:]] + 0.0005 * rng.standard_normal(T)
    g60 = np.r_[np.zeros(60), np.convolve(np.log1p(style["growth"]), np.ones(60), "valid")[:-1]]
    wg = 0.5 + 0.25 * np.tanh(ar1(rng, (T,), 0.98, 1.0) + g60)
    wv = np.minimum(0.3 + 0.1 * ar1(rng, (T,), 0.98, 1.0), 0.95 - wg)
    priv = np.r_[0.0, wg[:-1] * style["growth"][1:] + wv[:-1] * style["value"][1:]] + 0.001 * rng.standard_normal(T)
    fund[0] = priv[0] = 0.0
    out = {"active_equity": fund, "private_long": priv, **style}
    return pd.DataFrame({k: np.round(np.cumprod(1.0 + v), 6) for k, v in out.items()},
                        index=pd.DatetimeIndex(mkt.dates, name="date"))
