"""The 31 Shenwan level-1 industries (2021 classification): latent returns, activity (heat) and turnover.

Model (per industry k, day t; m = real CSI 300 log return, see ``market.py``)::

    heat[k,t]   AR(1), half-life 90 days, sd 0.45                      (theme "heat": what rotates)
    s[k,t]      = vol_k * exp(heat/2) * comove[t] * garch[k,t] * z     z ~ unit Student-t(6), GARCH(0.06, 0.92)
    ell[k,t]    = beta_k * m[t] + s[k,t] (+ planted drift, effects.py)  industry log return (latent)
    log TO[k,t] = log base_k + activity[t] + 0.5 log(sig[k,t]/1.5%) + 0.25 (|ell|/sig - 0.8)
                  + 0.6 rev[k,t] + 0.6 heat[k,t] + u[k,t]               turnover in percent
    sig[k,t]    = sqrt(beta_k^2 sigma_m[t]^2 + sd(s)[k,t]^2)            conditional daily volatility
    rev[k,t]    = clip(-sign(P[t-1]-P[t-61]) * (P[t]-P[t-5]) / (sig sqrt 5), 0, 3),  P = cumsum(ell)
    u[k,t]      AR(1) phi 0.8, sd 0.12

Persistence lives in heat (volatility, turnover, amount share and internal co-movement of an industry), not in
expected returns: the industry-specific return s is a martingale difference, so momentum or reversal rules have
no edge unless an effect is planted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data.synthetic.market import Market, ar1, stream, student_t
from engine.kernels.synthetic import garch_sigma

# code, name, beta, weight in the stock count, relative float cap per stock, base turnover (%/day)
SW_L1 = (
    ("801010.SI", "农林牧渔", 0.95, 25, 0.7, 2.2),
    ("801030.SI", "基础化工", 1.05, 80, 0.7, 2.0),
    ("801040.SI", "钢铁", 1.00, 20, 1.0, 1.2),
    ("801050.SI", "有色金属", 1.20, 35, 1.2, 2.0),
    ("801080.SI", "电子", 1.20, 90, 0.9, 2.8),
    ("801110.SI", "家用电器", 0.90, 20, 1.5, 1.0),
    ("801120.SI", "食品饮料", 0.85, 30, 2.0, 1.0),
    ("801130.SI", "纺织服饰", 0.95, 25, 0.5, 2.3),
    ("801140.SI", "轻工制造", 0.95, 40, 0.5, 2.3),
    ("801150.SI", "医药生物", 0.85, 90, 0.9, 1.8),
    ("801160.SI", "公用事业", 0.80, 35, 1.3, 1.0),
    ("801170.SI", "交通运输", 0.85, 35, 1.3, 1.0),
    ("801180.SI", "房地产", 1.05, 35, 1.0, 1.5),
    ("801200.SI", "商贸零售", 0.95, 30, 0.6, 2.0),
    ("801210.SI", "社会服务", 0.95, 15, 0.6, 2.5),
    ("801230.SI", "综合", 1.00, 8, 0.5, 2.5),
    ("801710.SI", "建筑材料", 1.00, 20, 0.8, 1.5),
    ("801720.SI", "建筑装饰", 1.00, 35, 1.0, 1.3),
    ("801730.SI", "电力设备", 1.15, 65, 1.0, 2.2),
    ("801740.SI", "国防军工", 1.20, 25, 0.8, 2.6),
    ("801750.SI", "计算机", 1.20, 65, 0.7, 3.2),
    ("801760.SI", "传媒", 1.15, 35, 0.6, 3.0),
    ("801770.SI", "通信", 1.15, 25, 0.9, 2.8),
    ("801780.SI", "银行", 0.75, 12, 10.0, 0.35),
    ("801790.SI", "非银金融", 1.30, 25, 4.0, 1.0),
    ("801880.SI", "汽车", 1.05, 50, 1.1, 1.8),
    ("801890.SI", "机械设备", 1.05, 100, 0.6, 2.3),
    ("801950.SI", "煤炭", 1.00, 12, 2.0, 1.0),
    ("801960.SI", "石油石化", 0.85, 12, 6.0, 0.6),
    ("801970.SI", "环保", 1.00, 25, 0.5, 2.2),
    ("801980.SI", "美容护理", 0.90, 8, 0.6, 2.5),
)
CODES = tuple(r[0] for r in SW_L1)
NAMES = tuple(r[1] for r in SW_L1)
K = len(SW_L1)

HEAT_HALF_LIFE, HEAT_SD = 90.0, 0.45
GARCH_ALPHA, GARCH_BETA, T_DF = 0.06, 0.92, 6.0
TURN_VOL, TURN_ABS, TURN_REV, TURN_HEAT = 0.5, 0.25, 0.6, 0.6


@dataclass
class Industries:
    """Latent industry block on the full calendar (T days x K = 31 industries)."""

    beta: np.ndarray        # (K,)
    heat: np.ndarray        # (T, K)
    spec: np.ndarray        # (T, K) industry-specific log return s
    spec_sd: np.ndarray     # (T, K) conditional sd of s
    sig: np.ndarray         # (T, K) conditional total daily volatility
    ell: np.ndarray         # (T, K) latent log return incl. planted drift
    drift: np.ndarray       # (T, K) planted drift (0 without effects)
    turnover: np.ndarray    # (T, K) latent turnover, percent

    @property
    def g(self) -> np.ndarray:
        """Target simple return per day (the cap-weighted constituent return before limits and rounding)."""
        return np.expm1(self.ell)


def _turnover_rows(mkt: Market, ind: Industries, base: np.ndarray, u: np.ndarray, a: int, b: int) -> np.ndarray:
    """Turnover (percent) for days a..b-1 from ell up to b-1 (causal: row t uses ell up to t only)."""
    p = np.vstack([np.zeros((1, K)), np.cumsum(ind.ell[:b], axis=0)])  # p[t+1] = P[t]
    t = np.arange(a, b)
    sig = ind.sig[a:b]
    trend60 = p[t] - p[np.maximum(t - 60, 0)]                 # P[t-1] - P[t-61]
    move5 = p[t + 1] - p[np.maximum(t - 4, 0)]                # P[t] - P[t-5]
    rev = np.clip(-np.sign(trend60) * move5 / (sig * np.sqrt(5.0)), 0.0, 3.0)
    logto = (
        np.log(base)[None, :]
        + mkt.activity[a:b, None]
        + TURN_VOL * np.log(sig / 0.015)
        + TURN_ABS * (np.abs(ind.ell[a:b]) / sig - 0.8)
        + TURN_REV * rev
        + TURN_HEAT * ind.heat[a:b]
        + u[a:b]
    )
    return np.exp(logto)


def simulate_industries(mkt: Market, seed: int, effects) -> Industries:
    """Simulate the latent industry block; ``effects`` is an ``effects.Effects`` (planted drifts, maybe none)."""
    n = mkt.n
    rng = stream(seed, "industries")
    beta = np.array([r[2] for r in SW_L1]) * np.exp(rng.normal(0.0, 0.05, K))
    base_vol = rng.uniform(0.007, 0.011, K)
    base_turn = np.array([r[5] for r in SW_L1]) * np.exp(rng.normal(0.0, 0.1, K))
    heat = ar1(rng, (n, K), phi=0.5 ** (1 / HEAT_HALF_LIFE), sd=HEAT_SD)
    z = student_t(rng, T_DF, (n, K))
    garch = garch_sigma(z, GARCH_ALPHA, GARCH_BETA)
    u = ar1(rng, (n, K), phi=0.8, sd=0.12)
    spec_sd = base_vol[None, :] * np.exp(0.5 * heat) * mkt.comove[:, None] * garch
    spec = spec_sd * z
    sig = np.sqrt((beta[None, :] * mkt.sigma[:, None]) ** 2 + spec_sd**2)
    ell = beta[None, :] * mkt.m[:, None] + spec
    ind = Industries(beta, heat, spec, spec_sd, sig, ell, np.zeros((n, K)), np.empty((n, K)))
    if not effects.active:
        ind.turnover[:] = _turnover_rows(mkt, ind, base_turn, u, 0, n)
        return ind
    ends = mkt.month_ends()
    starts = np.r_[0, ends[:-1] + 1]
    pending = np.zeros(K)
    for i, (a, e) in enumerate(zip(starts, ends)):
        b = e + 1
        ind.drift[a:b] = pending[None, :]
        ind.ell[a:b] += pending[None, :]
        ind.turnover[a:b] = _turnover_rows(mkt, ind, base_turn, u, a, b)
        n_next = int(ends[i + 1] - e) if i + 1 < len(ends) else 1
        pending = effects.industry_drift(ind.ell[:b], ind.turnover[:b], a, b, n_next)
    return ind
