"""Order-size capital flows, margin trading and northbound trading.

Main-force (超大单 + 大单) shares of each stock's amount::

    rho_buy[t]  = 0.345 + 0.03 ou[t] + 0.05 tanh(ret20[t]/0.08) + 0.02 tanh(m[t]/1.5%)      market regime
    rho_sell[t] = 0.345 + 0.03 ou[t] + 0.05 tanh(ret20[t]/0.08) - 0.02 tanh(m[t]/1.5%) + 0.01 e[t]
    buy[s,t]    = clip(rho_buy + 0.03 log size_s + 0.05 tanh(R[s,t]/3%) + 0.03 e, 0.05, 0.8)
    elg share of main u[s,t] = clip(0.45 + 0.05 log size_s + 0.04 e, 0.2, 0.7)
    elg_buy = amount * buy * u, lg_buy = amount * buy * (1-u) (sell side likewise, with -0.05 tanh(R/3%))

ou is an AR(1) with a 60-day half-life and sd 1; ret20 and m are causal functions of the real CSI 300, so the
main-force buy ratio follows the market (as 情绪温度 should) without knowing its future. Market series are
exact sums over stocks (all amounts are whole CNY).

Margin (from 2010-03-31): eligible stocks are the largest by float cap at each exchange expansion date (share
of listed stocks below), never while ST. Per stock the balance chases a target ``L[t] * float_mcap * lev_s *
exp(0.3 heat)`` at 4% a day, ``L[t] = 3.5% * adoption[t] * exp(clip(ret120, -0.6, 0.6))`` (adoption: logistic
in time, half reached 2012-06); financing buys are 9% * adoption of the amount (raised to the balance change
when that is larger), repayments = buys - balance change. Suspended days carry the balance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.synthetic.market import Market, ar1, stream
from engine.data.synthetic.stocks import Stocks
from engine.data.synthetic.universe import Universe

MARGIN_START, NORTHBOUND_START = "2010-03-31", "2014-11-17"
MARGIN_EXPANSIONS = (("2010-03-31", 0.06), ("2011-12-05", 0.12), ("2013-01-31", 0.20), ("2013-09-16", 0.28),
                     ("2014-09-22", 0.35), ("2016-12-12", 0.36), ("2019-08-19", 0.45), ("2022-11-11", 0.50),
                     ("2023-09-08", 0.65))
NB_SHARE = ((2014.9, 0.04), (2017.0, 0.05), (2018.0, 0.07), (2019.0, 0.08), (2020.0, 0.09), (2021.0, 0.11),
            (2022.0, 0.12), (2025.0, 0.12))


def main_force(mkt: Market, uni: Universe, st: Stocks, seed: int) -> dict:
    """Per-stock elg/lg buy/sell amounts (T, N), NaN where not listed, 0 on suspended days."""
    rng = stream(seed, "flows/main_force")
    T, n = st.close.shape
    ou = ar1(rng, (T,), 0.5 ** (1 / 60), 1.0)
    common = 0.345 + 0.03 * ou + 0.05 * np.tanh(mkt.ret20 / 0.08)
    day = 0.02 * np.tanh(mkt.m / 0.015)
    rb = (common + day)[:, None]
    rs = (common - day + 0.01 * rng.standard_normal(T))[:, None]
    ls = np.log(uni.size)[None, :]
    own = 0.05 * np.tanh(np.nan_to_num(st.ret) / 0.03)
    buy = np.clip(rb + 0.03 * ls + own + 0.03 * rng.standard_normal((T, n)), 0.05, 0.8)
    sell = np.clip(rs + 0.03 * ls - own + 0.03 * rng.standard_normal((T, n)), 0.05, 0.8)
    ub = np.clip(0.45 + 0.05 * ls + 0.04 * rng.standard_normal((T, n)), 0.2, 0.7)
    us = np.clip(0.45 + 0.05 * ls + 0.04 * rng.standard_normal((T, n)), 0.2, 0.7)
    a = st.amount
    out = {"elg_buy": a * buy * ub, "lg_buy": a * buy * (1 - ub),
           "elg_sell": a * sell * us, "lg_sell": a * sell * (1 - us)}
    return {k: np.round(v) for k, v in out.items()}  # whole CNY, so market sums are exact


def margin(mkt: Market, uni: Universe, st: Stocks, heat_s: np.ndarray, seed: int) -> dict:
    """Per-stock margin_balance, margin_buy, margin_repay (T, N): 0 before eligibility, NaN when not listed."""
    rng = stream(seed, "flows/margin")
    T, n = st.close.shape
    listed = uni.ind >= 0
    fmcap = np.nan_to_num(uni.fs * st.close)
    tt = np.arange(T)
    is_st = (uni.st_start[None, :] >= 0) & (tt[:, None] >= uni.st_start[None, :]) & (tt[:, None] <= uni.st_end[None, :])
    since = np.full(n, T, dtype=np.int64)
    for date, frac in MARGIN_EXPANSIONS:
        d = mkt.index_of(date)
        if d >= T:
            break
        ok = listed[d] & (tt[d] - uni.list_day > 60)
        rank = np.argsort(-np.where(ok, fmcap[d], -1.0), kind="stable")
        top = rank[: int(round(frac * listed[d].sum()))]
        since[top] = np.minimum(since[top], d)
    eligible = (tt[:, None] >= since[None, :]) & listed & ~is_st
    yrs = (mkt.dates.year.to_numpy() - 2012.5) + (mkt.dates.day_of_year.to_numpy() - 166) / 366.0
    d0 = mkt.index_of(MARGIN_START)
    adoption = np.where(tt >= d0, 1.0 / (1.0 + np.exp(-1.6 * yrs)), 0.0)
    lev = np.exp(rng.normal(0.0, 0.5, n))
    lev /= lev.mean()
    L = 0.035 * adoption * np.exp(np.clip(mkt.ret120, -0.6, 0.6))
    target = np.where(eligible, L[:, None] * fmcap * lev[None, :] * np.exp(0.3 * heat_s), 0.0)
    phi = 0.09 * adoption[:, None] * np.exp(ar1(rng, (T, n), 0.95, 0.2))
    gross = np.round(np.where(eligible, phi * np.nan_to_num(st.amount), 0.0))
    trading = listed & ~uni.susp
    bal = np.zeros((T, n))
    b = np.zeros(n)
    for t in range(d0, T):
        b = np.where(trading[t], b + 0.04 * (target[t] - b), b)
        bal[t] = b
    bal = np.round(bal)  # whole CNY: balance[t] = balance[t-1] + buy[t] - repay[t] holds exactly
    prev = np.vstack([np.zeros((1, n)), bal[:-1]])
    dbal = bal - prev
    buy = np.maximum(gross, dbal)
    repay = buy - dbal
    out = {"margin_balance": bal, "margin_buy": buy, "margin_repay": repay}
    for v in out.values():
        v[~listed] = np.nan
    return out


def margin_market(mkt: Market, per_stock: dict, seed: int) -> pd.DataFrame:
    """Market margin series from 2010-03-31: sums over stocks plus a market-level short side."""
    rng = stream(seed, "flows/short")
    d0 = mkt.index_of(MARGIN_START)
    tot = {k: np.nansum(v, axis=1) for k, v in per_stock.items()}
    yr = mkt.dates.year.to_numpy() + mkt.dates.day_of_year.to_numpy() / 366.0
    ratio = np.interp(yr, [2010.2, 2019.5, 2021.0, 2023.7, 2024.2], [0.01, 0.012, 0.06, 0.05, 0.015])
    short_bal = tot["margin_balance"] * ratio * np.exp(ar1(rng, (mkt.n,), 0.98, 0.15))
    short_sell = short_bal * 0.08 * np.exp(0.25 * rng.standard_normal(mkt.n))
    df = pd.DataFrame({**tot, "short_balance": short_bal, "short_sell": short_sell}, index=mkt.dates)
    return df.iloc[d0:]


def northbound(mkt: Market, market_amount: np.ndarray, seed: int) -> pd.DataFrame:
    """Northbound turnover (buy + sell, CNY) and net buying from 2014-11-17."""
    rng = stream(seed, "flows/northbound")
    yr = mkt.dates.year.to_numpy() + mkt.dates.day_of_year.to_numpy() / 366.0
    share = np.interp(yr, *zip(*NB_SHARE)) * np.exp(ar1(rng, (mkt.n,), 0.97, 0.12))
    turnover = share * market_amount
    net = turnover * (0.025 * ar1(rng, (mkt.n,), 0.3, 1.0) + 0.03 * np.tanh(mkt.m / 0.015))
    d0 = mkt.index_of(NORTHBOUND_START)
    return pd.DataFrame({"turnover": turnover, "net_buy": net}, index=mkt.dates).iloc[d0:]
