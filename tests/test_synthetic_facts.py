"""Stylized facts, accounting identities, magnitudes and planted effects of the synthetic market.

Every statistic is computed here from the published dataset with plain numpy/pandas/scipy, independently of
the generator's code. Thresholds are the facts' definitions (e.g. excess kurtosis > 1) or documented
magnitude ranges from docs/data.md, never numbers copied from a run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.test_synthetic_support import STRENGTH, small


def log_returns(close: pd.DataFrame) -> pd.DataFrame:
    return np.log(close).diff().iloc[1:]


def acf_abs(x: np.ndarray, lags=range(1, 21)) -> np.ndarray:
    a = np.abs(x[np.isfinite(x)])
    a = a - a.mean()
    return np.array([np.dot(a[:-k], a[k:]) / np.dot(a, a) for k in lags])


def stock_returns(ds) -> pd.DataFrame:
    st = ds.panel("stocks")
    r = np.log(st["close"]).diff().where(~st["suspended"])
    return r.loc[:, r.notna().sum() >= 500]


def month_end_positions(index: pd.DatetimeIndex) -> np.ndarray:
    m = index.year * 12 + index.month
    return np.flatnonzero(np.r_[m[1:] != m[:-1], True])


# ---------------------------------------------------------------- stylized facts


def test_fat_tails_excess_kurtosis_above_one():
    ds = small()
    sw = log_returns(ds.panel("sw_l1")["close"])
    assert (stats.kurtosis(sw, axis=0) > 1).all()
    excess = sw.sub(log_returns(ds.panel("index")["close"])["000300.SH"], axis=0)   # the simulated part alone
    assert np.median(stats.kurtosis(excess, axis=0)) > 1
    k = np.array([stats.kurtosis(c.dropna()) for _, c in stock_returns(ds).items()])
    assert np.median(k) > 1 and (k > 1).mean() > 0.75


def test_volatility_clustering_abs_return_autocorrelation_positive_lags_1_to_20():
    ds = small()
    sw = log_returns(ds.panel("sw_l1")["close"])
    assert all((acf_abs(sw[c].to_numpy()) > 0).all() for c in sw.columns)
    excess = sw.sub(log_returns(ds.panel("index")["close"])["000300.SH"], axis=0)
    assert (np.mean([acf_abs(excess[c].to_numpy()) for c in excess], axis=0) > 0).all()
    st = stock_returns(ds)
    assert (np.median([acf_abs(st[c].to_numpy()) for c in st], axis=0) > 0).all()


def test_turnover_rises_with_volatility():
    sw = small().panel("sw_l1")
    r = log_returns(sw["close"])
    blocks = np.arange(len(r)) // 20                      # non-overlapping 20-day blocks
    vol = r.groupby(blocks).std()
    to = sw["turnover"].iloc[1:].groupby(blocks).mean()
    rho = np.array([stats.spearmanr(vol[c], to[c])[0] for c in r.columns])
    assert (rho > 0).all() and np.median(rho) > 0.3


def first_pc_share(l3: pd.DataFrame, window=250, step=20) -> pd.Series:
    r = log_returns(l3)
    out = {}
    for e in range(window, len(r) + 1, step):
        w = r.iloc[e - window : e].dropna(axis=1)            # indices with full data in the window
        ev = np.linalg.eigvalsh(np.corrcoef(w.to_numpy().T))
        out[r.index[e - 1]] = ev[-1] / ev.sum()
    return pd.Series(out)


def test_cross_sectional_correlation_regimes_first_pc_share_moves_widely():
    share = first_pc_share(small().panel("citic_l3")["close"])
    assert share.min() < 0.4 and share.max() > 0.85
    assert share.diff().abs().median() < 0.05               # regimes, not noise: the share moves slowly


def _windows(close: pd.DataFrame, h=20, k=1.0):
    """Turning points: day t is the max (min) of close over [t-h, t+h] with a rise (fall) of at least k sd*sqrt(h)
    over the h days before and a fall (rise) of as much after. Continuations: same-size moves in one direction."""
    lc = np.log(close.to_numpy())
    T, K = lc.shape
    sd = np.nanstd(np.diff(lc, axis=0), axis=0)
    turn = np.zeros((T, K), bool)
    cont = np.zeros((T, K), bool)
    for j in range(K):
        big = k * sd[j] * np.sqrt(h)
        for t in range(h, T - h):
            before, after = lc[t, j] - lc[t - h, j], lc[t + h, j] - lc[t, j]
            seg = lc[t - h : t + h + 1, j]
            peak = lc[t, j] == seg.max() and before > big and after < -big
            trough = lc[t, j] == seg.min() and before < -big and after > big
            if peak or trough:
                turn[t - 10 : t + 11, j] = True
            elif t % 5 == 0 and ((before > big and after > big) or (before < -big and after < -big)):
                cont[t - 10 : t + 11, j] = True
    return turn, cont & ~turn


def test_turnover_surges_around_trend_reversals():
    sw = small().panel("sw_l1")
    rel = (sw["turnover"] / sw["turnover"].shift(1).rolling(250, min_periods=60).mean()).to_numpy()
    turn, cont = _windows(sw["close"])
    ok = np.isfinite(rel)
    assert turn.sum() > 1000
    near, other, cont_mean = rel[turn & ok].mean(), rel[~turn & ok].mean(), rel[cont & ok].mean()
    assert near > 1.15 * other          # ~+30% turnover within 10 days of a turning point
    assert near > cont_mean             # more than around equally large moves that do not reverse


def test_crowded_industries_amount_share_swings_and_crowding_raises_internal_correlation():
    ds = small()
    sw = ds.panel("sw_l1")
    amount = sw["amount"]
    share = amount.div(amount.sum(axis=1), axis=0).rolling(20).mean()
    assert (share.quantile(0.95) / share.quantile(0.05) > 2).all()
    pct = share.rolling(250, min_periods=120).rank(pct=True)
    st = ds.panel("stocks")
    r = np.log(st["close"]).diff().where(~st["suspended"]).to_numpy()
    mem = member_matrix(ds).to_numpy()
    rows = []
    for e in month_end_positions(st.dates)[13:]:
        win = r[e - 19 : e + 1]
        full = np.isfinite(win).all(axis=0) & (np.nanstd(win, axis=0) > 0)   # trading, and moving, on all 20 days
        for ind in sw.codes:
            cols = np.flatnonzero((mem[e] == ind) & full)
            if len(cols) >= 3:
                c = np.corrcoef(win[:, cols].T)
                rows.append(((c.sum() - len(cols)) / (len(cols) * (len(cols) - 1)), pct.loc[st.dates[e], ind]))
    df = pd.DataFrame(rows, columns=["rho", "pct"]).dropna()
    hot, cold = df.rho[df.pct >= 0.8], df.rho[df.pct <= 0.5]
    t = stats.ttest_ind(hot, cold, equal_var=False)
    assert hot.mean() - cold.mean() > 0.05 and t.statistic > 3


# ---------------------------------------------------------------- identities


def member_matrix(ds) -> pd.DataFrame:
    """date x stock -> SW L1 code from the point-in-time membership table (start/end inclusive)."""
    st = ds.panel("stocks")
    out = pd.DataFrame(None, index=st.dates, columns=st.codes, dtype=object)
    for row in ds.table("membership").itertuples():
        end = row.end if pd.notna(row.end) else st.dates[-1]
        out.loc[row.start : end, row.code] = row.industry
    return out


def test_industry_indices_are_consistent_with_constituents():
    ds = small()
    st, sw = ds.panel("stocks"), ds.panel("sw_l1")
    mem = member_matrix(ds).to_numpy()
    close = st["close"].to_numpy()
    prev = np.vstack([np.full((1, close.shape[1]), np.nan), close[:-1]])
    fs = st["float_shares"].to_numpy()
    fs_prev = np.vstack([np.full((1, fs.shape[1]), np.nan), fs[:-1]])
    in_idx = np.isfinite(prev) & np.isfinite(close)
    for code in sw.codes:
        m = (mem == code) & in_idx
        w = np.where(m, fs_prev * prev, 0.0)
        ret = np.where(m, close / np.where(m, prev, 1.0) - 1.0, 0.0)
        want = (w * ret).sum(axis=1)[1:] / w.sum(axis=1)[1:]
        got = sw["close"][code].pct_change().to_numpy()[1:]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=code)
        for field in ("volume", "amount"):
            tot = np.where(m, st[field].to_numpy(), 0.0).sum(axis=1)[1:]
            np.testing.assert_array_equal(sw[field][code].to_numpy()[1:], tot, err_msg=f"{code} {field}")
        turn = np.where(m, st["volume"].to_numpy(), 0).sum(axis=1)[1:] / np.where(m, fs, 0).sum(axis=1)[1:] * 100
        np.testing.assert_allclose(sw["turnover"][code].to_numpy()[1:], turn, rtol=1e-12)
        fm = np.where(m, fs * close, 0.0).sum(axis=1)[1:]
        np.testing.assert_allclose(sw["float_mcap"][code].to_numpy()[1:], fm, rtol=1e-12)
    assert (sw["high"] >= np.maximum(sw["open"], sw["close"]) * (1 - 1e-12)).all().all()
    assert (sw["low"] <= np.minimum(sw["open"], sw["close"]) * (1 + 1e-12)).all().all()


def limit_pct(ds) -> np.ndarray:
    """Board price limit in percent per stock-day (independent statement of the A-share rules)."""
    st = ds.panel("stocks")
    info = ds.table("stocks_info").set_index("code").loc[st.codes]
    d = st.dates.to_numpy()[:, None]
    board = info["board"].to_numpy()[None, :]
    st_end = info["st_end"].fillna(st.dates[-1])            # empty end with a start = still ST at the end
    st_on = (info["st_start"].to_numpy()[None, :] <= d) & (d <= st_end.to_numpy()[None, :])
    new_chinext = np.datetime64("2020-08-24")
    wide = (board == "star") | ((board == "chinext") & (d >= new_chinext))
    pct = np.where(wide, 20, 10)
    return np.where(st_on & ~wide, 5, pct)


def test_limit_flags_consistent_with_closes_and_board_limits():
    ds = small()
    st = ds.panel("stocks")
    cents = {f: np.round(st[f].to_numpy() * 100) for f in ("open", "high", "low", "close")}
    c = cents["close"]
    p = np.vstack([np.full((1, c.shape[1]), np.nan), c[:-1]])
    susp = st["suspended"].to_numpy()
    L = limit_pct(ds)
    live = np.isfinite(p) & np.isfinite(c) & ~susp
    pi = np.where(live, p, 0).astype(np.int64)
    up_px = (pi * (100 + L) + 50) // 100          # round half up in integer cents
    dn_px = (pi * (100 - L) + 50) // 100
    up, down = st["limit_up"].to_numpy(), st["limit_down"].to_numpy()
    assert (c[live] <= up_px[live]).all() and (c[live] >= dn_px[live]).all()
    np.testing.assert_array_equal(up[live], c[live] == up_px[live])
    np.testing.assert_array_equal(down[live], c[live] == dn_px[live])
    assert (cents["high"][live] <= up_px[live]).all() and (cents["low"][live] >= dn_px[live]).all()
    ok = np.isfinite(c)
    assert (cents["high"][ok] >= np.maximum(cents["open"][ok], c[ok])).all()
    assert (cents["low"][ok] <= np.minimum(cents["open"][ok], c[ok])).all()
    assert not (up | down)[susp].any() and (c[susp & np.isfinite(p)] == p[susp & np.isfinite(p)]).all()
    assert not up[~np.isfinite(c)].any()
    share = up[live].mean()
    assert 0.0005 < share < 0.05 and down[live].mean() > 0.0005
    assert (L[up & live] == 5).any() and (L[up & live] == 10).any()     # ST and main-board limits both bind


def test_flows_add_up_and_margin_accounting():
    ds = small()
    st = ds.panel("stocks")
    flows, market, margin = ds.get_series("flows"), ds.get_series("market"), ds.get_series("margin")
    for col in ("elg_buy", "elg_sell", "lg_buy", "lg_sell", "amount"):
        total = st[col].to_numpy()
        np.testing.assert_array_equal(flows[col].to_numpy(), np.nansum(total, axis=1), err_msg=col)
    np.testing.assert_array_equal(market["amount"].to_numpy(), flows["amount"].to_numpy())
    main = (st["elg_buy"] + st["lg_buy"]).to_numpy()
    live = np.isfinite(main)
    assert (main[live] <= st["amount"].to_numpy()[live]).all()
    for col in ("margin_balance", "margin_buy", "margin_repay"):
        total = np.nansum(st[col].loc[margin.index].to_numpy(), axis=1)
        np.testing.assert_array_equal(margin[col].to_numpy(), total, err_msg=col)
    bal, buy, repay = (st[c].to_numpy() for c in ("margin_balance", "margin_buy", "margin_repay"))
    step = bal[1:] - bal[:-1]
    both = np.isfinite(step)
    np.testing.assert_array_equal(step[both], (buy[1:] - repay[1:])[both])
    assert (buy[np.isfinite(bal)] >= 0).all() and (repay[np.isfinite(bal)] >= 0).all()
    assert np.nansum(bal[st.dates < pd.Timestamp("2010-03-31")]) == 0 and margin.index[0] == pd.Timestamp("2010-03-31")


# ---------------------------------------------------------------- magnitudes and sentiment inputs


def pct_rank(x: pd.Series, window: int) -> pd.Series:
    return x.rolling(window).apply(lambda v: (v <= v[-1]).mean(), raw=True)


def test_magnitudes_and_sentiment_indicators_vary_realistically():
    ds = small()
    sw = ds.panel("sw_l1")
    med = sw["turnover"].median()
    assert med.between(0.2, 5.0).all() and sw["turnover"].stack().quantile([0.05, 0.95]).between(0.2, 10).all()
    amount = ds.get_series("market")["amount"].resample("YE").mean()
    assert amount.between(1e10, 3e12).all() and amount.max() > 1e12
    fl = ds.get_series("flows")
    mbr = (fl["elg_buy"] + fl["lg_buy"]) / fl["amount"]
    assert mbr.quantile(0.05) > 0.2 and mbr.quantile(0.95) < 0.5 and mbr.quantile(0.95) - mbr.quantile(0.05) > 0.1
    temp = pct_rank(mbr.rolling(20).mean(), 1050).dropna()
    assert temp.min() < 0.1 and temp.max() > 0.9
    fut = ds.get_series("futures_if")
    spot = ds.panel("index")["close"]["000300.SH"].reindex(fut.index)
    basis = fut["close"] / spot - 1
    days = (fut["expiry"] - fut.index.to_series()).dt.days
    ann = (basis * 365 / days.clip(lower=5))
    assert basis.abs().median() < 0.01 and basis.abs().quantile(0.99) < 0.025
    assert ann.quantile(0.05) > -0.2 and ann.quantile(0.95) < 0.2 and ann.std() > 0.03
    assert (fut["expiry"] >= fut.index.to_series()).all() and fut["expiry"].dt.day_of_week.isin(range(5)).all()
    opt = ds.get_series("options_50etf")
    pcr = opt["put_amount"] / opt["call_amount"]
    assert opt.index[0] == pd.Timestamp("2015-02-09") and pcr.quantile(0.05) > 0.5 and pcr.quantile(0.95) < 1.5
    bal = ds.get_series("margin")["margin_balance"]
    assert bal.iloc[0] < 1e10 and 1e12 < bal.iloc[-1] < 5e12
    nb = ds.get_series("northbound")
    share = nb["turnover"] / fl["amount"].reindex(nb.index)
    assert nb.index[0] == pd.Timestamp("2014-11-17") and 0.05 < share.loc["2017":].median() < 0.15
    ic = ds.get_series("futures_ic")
    assert (ic["expiry_m0"] <= ic["expiry_m1"]).all() and (ic["expiry_m1"] < ic["expiry_q0"]).all()
    assert (ic["expiry_q0"] < ic["expiry_q1"]).all() and ic["expiry_q0"].dt.month.isin([3, 6, 9, 12]).all()
    assert (ds.get_series("fund_issuance")["count"] >= 0).all()
    pe = ds.panel("sectors")["pe_ttm"]
    assert (pe > 5).all().all() and (pe < 400).all().all()


# ---------------------------------------------------------------- effects: none by default, detectable when planted


def turnover_reversal_effect(ds) -> tuple[float, float]:
    """Difference in next-month industry return (relative to the equal-weight mean of the 31 industries, in
    units of monthly volatility) between months flagged "60-day downtrend and turnover slope in the top half"
    and all other industry-months, with Welch's t statistic."""
    sw = ds.panel("sw_l1")
    close, to = sw["close"], sw["turnover"]
    y = to / to.shift(1).rolling(250, min_periods=20).mean()
    lr = np.log(close).diff()
    ends = month_end_positions(close.index)
    starts = np.r_[0, ends[:-1] + 1]
    flag, z = [], []
    for i in range(len(ends) - 1):
        a, e, nxt = starts[i], ends[i], ends[i + 1]
        if e < 80 or y.iloc[a : e + 1].isna().any().any():
            continue
        ym = y.iloc[a : e + 1].to_numpy()
        d = np.arange(1, len(ym) + 1) - (len(ym) + 1) / 2
        slope = (d[:, None] * (ym - ym.mean(axis=0))).sum(axis=0) / (d * d).sum()
        top = slope >= np.sort(slope)[-16]
        down = (close.iloc[e] / close.iloc[e - 60] - 1).to_numpy() < 0
        ret = (close.iloc[nxt] / close.iloc[e] - 1).to_numpy()
        vol = lr.iloc[e - 59 : e + 1].std().to_numpy() * np.sqrt(nxt - e)
        flag.extend(down & top)
        z.extend((ret - ret.mean()) / vol)
    flag, z = np.array(flag), np.array(z)
    t = stats.ttest_ind(z[flag], z[~flag], equal_var=False)
    return z[flag].mean() - z[~flag].mean(), t.statistic


def test_no_effect_by_default():
    diff, t = turnover_reversal_effect(small(42))
    assert abs(t) < 2.5, (diff, t)


def test_no_momentum_or_reversal_edge_by_default():
    """Cross-sectional rank IC of past 1-month / 3-month industry returns on next-month returns is not significant."""
    close = small(42).panel("sw_l1")["close"]
    ends = month_end_positions(close.index)
    m = close.iloc[ends]
    fwd = m.shift(-1) / m - 1
    for lb in (1, 3):
        past = m / m.shift(lb) - 1
        ic = [stats.spearmanr(past.iloc[i], fwd.iloc[i])[0] for i in range(lb, len(m) - 1)]
        t = np.mean(ic) / np.std(ic, ddof=1) * np.sqrt(len(ic))
        assert abs(t) < 2.5, (lb, t)


@pytest.mark.parametrize("seed", [42])
def test_planted_turnover_reversal_effect_is_detected(seed):
    diff, t = turnover_reversal_effect(small(seed, STRENGTH))
    assert diff > 0.1 and t > 3, (diff, t)
    ds0, ds1 = small(seed), small(seed, STRENGTH)
    assert ds1.meta["generator"]["effects"] == {"turnover_reversal": STRENGTH}
    # the effect moves industries (and their stocks) only; the real CSI 300 and the sub-industries are unchanged
    pd.testing.assert_frame_equal(ds0.panel("citic_l3")["close"], ds1.panel("citic_l3")["close"])
    assert not ds0.panel("sw_l1")["close"].equals(ds1.panel("sw_l1")["close"])
