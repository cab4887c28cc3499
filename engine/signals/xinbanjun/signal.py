"""兴业 "新半军" timing (seed report 004, methodology §4): fund-flow and valuation timing of 新能源 / 半导体 / 军工.

Indicators (``engine/signals/xinbanjun/indicators.py``, all parameters below):

* 主力资金净流入 (found-verbatim definition): sector net (超大单 + 大单) flow; weekly sum, cumulative since the current
  drawdown's peak, ``mf_window``-day sum, its sign and z-score.
* 基金发行分位 (reconstructed): monthly new equity-fund count, expanding (or rolling) rank percentile, the 触底回升
  event; a month is used only from the ``iss_publish_lag``-th trading day after it ends.
* ETF净流入 (reconstructed): ``(shares_t - shares_{t-1}) x NAV_t`` over the sector's ETFs; cumulative during the
  current drawdown, ranked against completed corrections since ``etf_since``.
* 公募仓位 / 私募成长仓位 (proposal): rolling constrained regressions (weights >= 0, sum <= cap) of a fund index on
  the sector indices (+ ``pos_other``) and of a private-fund index on growth/value style indices; computed when the
  dataset has the series named by ``pos_*`` / ``priv_*`` (synthetic: series ``fund_indices``), else reported missing.
* 估值分位 (found-verbatim: rolling one year): rank percentile of PE-TTM over ``val_window`` trading days.

Drawdowns: a zigzag with ``dd_min_depth`` (a correction) and ``dd_rebound`` (its end) on the sector close.

Position rule (OUR OWN DESIGN, not the report's: the report gives readings, not a trading rule), per sector,
``rule: composite``: go long when the ``mf_window``-day main-force flow is positive, the valuation percentile is
<= ``entry_val_max`` and the sector is in a correction (``entry_need_drawdown``), plus the optional ETF
(``use_etf``: rank >= ``etf_rank_min``) and issuance (``use_issuance``: 触底回升 within ``iss_hold_months``) gates;
go flat when the flow is negative and the percentile is >= ``exit_val_min``; otherwise keep the previous state.
``rule: flow`` is long exactly when the flow sum is positive, ``rule: valuation`` uses only the percentile
thresholds, ``rule: hold`` is always long (the buy-and-hold benchmark on the same tradable). A long sector gets
``weight_total / len(sectors)`` in its tradable (``tradable`` maps sector -> code of the universe panel).

Timing: weights.loc[t] uses data up to the close of t only and is executed by the backtester at t + lag. Warm-up:
``val_min_periods`` PE rows and ``mf_window`` flow rows (flat until both exist). Output bounds: [0, weight_total].
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import Dataset
from engine.errors import DataError, ParamError
from engine.signals.xinbanjun import indicators as xi
from engine.signals.base import IndicatorSpec, SignalResult, SignalSpec
from engine.signals.xinbanjun.report import asof_tables, charts, format_asof, indicator_frame

DEFAULTS = {
    "sectors": ["new_energy", "semiconductor", "defense"],
    "sector_industry": {"new_energy": "801730.SI", "semiconductor": "801080.SI", "defense": "801740.SI"},
    "price_panel": "sectors",         # panel with the sector index close (drawdowns) and pe_ttm (valuation)
    # the traded codes: an explicit ``tradable`` {sector: code of panel ``panel``} wins; else ``tradable_source``:
    # etf = the real ETFs ``real_tradable`` of panel ``real_panel`` (data.embedded: [etf]); sector = the sector
    # indices (codes = sector names) of panel ``panel``; auto = etf when every ETF has a close on the period's first
    # and last day (listed for the whole period), else sector with a one-line note saying why
    "panel": "sectors",
    "tradable": {},
    "tradable_source": "auto",
    "real_panel": "etf",
    "real_tradable": {"new_energy": "516160.SH", "semiconductor": "512480.SH", "defense": "512660.SH"},
    "real_limit": 0.10,               # the ETFs' daily price limit: a larger raw move is an unadjusted split (auto: no)
    "rule": "composite",
    "weight_total": 1.0,
    "dd_min_depth": 0.10, "dd_rebound": 0.20,
    "mf_week": 5, "mf_window": 20, "mf_z_lookback": 250,
    "iss_series": "fund_issuance", "iss_column": "count", "iss_window_months": 0, "iss_min_months": 12,
    "iss_trough_lookback": 3, "iss_rise_min": 0.0, "iss_publish_lag": 1, "iss_hold_months": 3,
    "etf_panel": "sector_etfs", "etf_table": "sector_etfs_info", "etf_since": "2019-01-01", "etf_min_episodes": 1,
    "pos_series": "fund_indices", "pos_column": "active_equity", "pos_other": ["000300.SH"], "pos_window": 60, "pos_cap": 0.95,
    "priv_series": "fund_indices", "priv_column": "private_long", "priv_style_series": "fund_indices", "priv_growth": "growth",
    "priv_value": "value", "priv_window": 60, "priv_cap": 1.0,
    "val_window": 250, "val_min_periods": 120,
    "entry_val_max": 0.5, "exit_val_min": 0.8, "entry_need_drawdown": True,
    "use_etf": False, "etf_rank_min": 0.5, "use_issuance": False,
}
CHOICES = {"rule": ("composite", "flow", "valuation", "hold"), "tradable_source": ("auto", "etf", "sector")}
POSITIVE = ("mf_week", "mf_window", "mf_z_lookback", "iss_min_months", "iss_trough_lookback", "iss_publish_lag",
            "iss_hold_months", "pos_window", "priv_window", "val_window", "val_min_periods", "weight_total")


RANGES = {k: (0.0, 1.0, "[]") for k in ("dd_min_depth", "entry_val_max", "exit_val_min", "etf_rank_min", "real_limit")}
POSITIVE_FLOAT = ("dd_rebound", "pos_cap", "priv_cap")


def _check(p: dict) -> None:
    """The sector tables (params only; whether the codes exist in the data is checked where the data is read):
    at least one sector, each with an entry in ``sector_industry`` and in the table of the traded codes."""
    if not p["sectors"]:
        raise ParamError("sectors", "is empty; name at least one sector")
    keys = ("sector_industry", "tradable" if p["tradable"] else "real_tradable" if p["tradable_source"] != "sector"
            else "sector_industry")
    for s in p["sectors"]:
        for key in keys:
            if s not in p[key]:
                raise ParamError(key, f"sector '{s}' has no entry (it has: {', '.join(map(str, p[key])) or 'none'})")


def _params(params: dict | None) -> dict:
    """``params`` merged over :data:`DEFAULTS` and checked by the signal's one validator (:data:`SPEC`)."""
    return SPEC.validate(params)


def _panel_cols(ds: Dataset, panel: str, field: str, codes, dates=None) -> pd.DataFrame:
    pn = ds.panel(panel)
    missing = [c for c in codes if c not in pn.codes]
    if missing:
        raise DataError(f"{pn.source}: panel '{panel}' has no code(s) {', '.join(missing)} (it has "
                        f"{', '.join(map(str, pn.codes[:6]))}); set the xinbanjun signal's parameters")
    df = pn[field][list(codes)]
    return df.reindex(dates) if dates is not None else df


def indicators(ds: Dataset, p: dict) -> dict:
    """Every indicator as {name: date x sector frame} on the price panel's calendar, plus ``episodes``."""
    sectors = list(p["sectors"])
    price = _panel_cols(ds, p["price_panel"], "close", sectors)
    dates = price.index
    out = {"close": price}
    dd = xi.drawdowns(price, p["dd_min_depth"], p["dd_rebound"])
    out.update({"dd": dd["dd"], "down": dd["down"], "peak_row": dd["peak_row"]})
    out["episodes"] = dd["episodes"]
    mf = xi.sector_main_force(ds, {s: p["sector_industry"][s] for s in sectors}, dates)
    out["mf"] = mf
    out.update(xi.main_force_indicators(mf, dd["peak_row"], p["mf_week"], p["mf_window"], p["mf_z_lookback"]))
    pe = _panel_cols(ds, p["price_panel"], "pe_ttm", sectors)
    out["pe"] = pe
    out["val_pct"] = xi.valuation(pe, p["val_window"], p["val_min_periods"])
    out["val_pct_peak"] = xi.at_rows(out["val_pct"], dd["peak_row"])
    out["issuance"] = _issuance(ds, p, dates)
    out.update(_etf(ds, p, sectors, dates, dd))
    out.update(_positions(ds, p, sectors, dates))
    return out


def _issuance(ds: Dataset, p: dict, dates) -> pd.DataFrame | None:
    if p["iss_series"] not in ds.series:
        return None
    s = ds.get_series(p["iss_series"])
    if p["iss_column"] not in s.columns:
        raise DataError(f"{ds.source}: series '{p['iss_series']}' has no column '{p['iss_column']}'")
    monthly = xi.issuance_monthly(s[p["iss_column"]].dropna(), p["iss_window_months"], p["iss_min_months"],
                                  p["iss_trough_lookback"], p["iss_rise_min"])
    return xi.issuance_daily(monthly, dates, p["iss_publish_lag"], p["iss_hold_months"])


def _etf(ds: Dataset, p: dict, sectors, dates, dd) -> dict:
    if p["etf_panel"] not in ds.panels or p["etf_table"] not in ds.tables:
        return {}
    pn = ds.panel(p["etf_panel"])
    info = ds.table(p["etf_table"])
    sector_of = dict(zip(info["code"].astype(str), info["sector"].astype(str)))
    flow = xi.etf_sector_flows(pn["shares"].reindex(dates), pn["nav"].reindex(dates), sector_of, sectors)
    cum = xi.cum_since_peak(flow, dd["peak_row"])
    since = int(np.searchsorted(dates.to_numpy(), np.datetime64(pd.Timestamp(p["etf_since"]))))
    return {"etf_flow": flow, "etf_dd": cum, "etf_rank": xi.episode_rank(cum, dd["episodes"], since,
                                                                          p["etf_min_episodes"])}


def _returns(df: pd.DataFrame) -> pd.DataFrame:
    return df.pct_change(fill_method=None)


def _series_col(ds: Dataset, name: str, cols: list, dates) -> pd.DataFrame | None:
    """Columns of an optional input series on ``dates``; None when the dataset lacks the series (the table then
    says '无输入'); a series without the named columns is a data error."""
    if not name or name not in ds.series:
        return None
    s = ds.get_series(name)
    missing = [c for c in cols if c not in s.columns]
    if missing:
        raise DataError(f"{ds.source}: series '{name}' has no column(s) {', '.join(missing)} (it has: "
                        f"{', '.join(map(str, s.columns))}); set the xinbanjun pos_* / priv_* parameters")
    return s[cols].reindex(dates)


def _positions(ds: Dataset, p: dict, sectors, dates) -> dict:
    out = {}
    y = _series_col(ds, p["pos_series"], [p["pos_column"]], dates)
    if y is not None:
        X = _panel_cols(ds, p["price_panel"], "close", sectors, dates)
        if p["pos_other"]:
            X = X.join(_panel_cols(ds, "index", "close", list(p["pos_other"]), dates))
        w = xi.rolling_positions(_returns(y.iloc[:, 0]), _returns(X), p["pos_window"], p["pos_window"], p["pos_cap"])
        out["pos_fund"] = w[sectors]
    y = _series_col(ds, p["priv_series"], [p["priv_column"]], dates)
    st = _series_col(ds, p["priv_style_series"], [p["priv_growth"], p["priv_value"]], dates)
    if y is not None and st is not None:
        w = xi.rolling_positions(_returns(y.iloc[:, 0]), _returns(st), p["priv_window"], p["priv_window"], p["priv_cap"])
        out["pos_private_growth"] = pd.DataFrame({s: w[p["priv_growth"]] for s in sectors}, index=dates)
    return out


def position_rule(ind: dict, p: dict) -> pd.DataFrame:
    """Long (1) / flat (0) per sector from the indicators (module doc); NaN inputs mean 'condition not met'."""
    flow = ind["mf_sum"]
    val = ind["val_pct"]
    rule = p["rule"]
    if rule == "hold":
        return pd.DataFrame(1.0, index=flow.index, columns=flow.columns)
    if rule == "flow":
        return (flow > 0).astype(float)
    val_low = val <= p["entry_val_max"]
    val_high = val >= p["exit_val_min"]
    if rule == "valuation":
        entry, exit_ = val_low, val_high
    else:
        entry = (flow > 0) & val_low
        if p["entry_need_drawdown"]:
            entry &= ind["down"]
        if p["use_etf"]:
            if "etf_rank" not in ind:
                raise DataError("xinbanjun: use_etf needs the ETF panel and table (etf_panel, etf_table)")
            entry &= ind["etf_rank"] >= p["etf_rank_min"]
        if p["use_issuance"]:
            if ind["issuance"] is None:
                raise DataError(f"xinbanjun: use_issuance needs series '{p['iss_series']}'")
            entry &= pd.DataFrame({c: ind["issuance"]["rising"] for c in flow.columns})
        exit_ = (flow < 0) & val_high
    state = pd.DataFrame(np.where(entry, 1.0, np.where(exit_, 0.0, np.nan)), index=flow.index, columns=flow.columns)
    return state.ffill().fillna(0.0)


def choose_tradable(ds: Dataset, p: dict, start=None, end=None) -> tuple[str, dict, str]:
    """(panel, {sector: code}, note) of the traded codes (DEFAULTS ``tradable_source``). The period is
    ``start..end`` (data.start/end; None = the price panel's first/last day)."""
    sectors = list(p["sectors"])
    if p["tradable"]:
        return p["panel"], {s: p["tradable"][s] for s in sectors}, ""
    sector = (p["panel"], {s: s for s in sectors})
    if p["tradable_source"] == "sector":
        return (*sector, "")
    cal = ds.panel(p["price_panel"]).dates
    a = pd.Timestamp(start) if start else cal[0]
    b = pd.Timestamp(end) if end else cal[-1]
    codes = {s: p["real_tradable"][s] for s in sectors}
    why = ""
    if p["real_panel"] not in ds.panels:
        why = f"the dataset has no panel '{p['real_panel']}' (add data.embedded: [etf])"
    else:
        close = ds.panel(p["real_panel"])["close"]
        absent = [c for c in codes.values() if c not in close.columns]
        if absent:
            why = f"panel '{p['real_panel']}' has no code(s) {', '.join(absent)}"
        for s, c in codes.items():
            if why:
                break
            listed = close[c].dropna().index
            if len(listed) == 0 or listed[0] > a or listed[-1] < b:
                span = f"{listed[0]:%Y-%m-%d}..{listed[-1]:%Y-%m-%d}" if len(listed) else "no prices"
                why = f"{c} ({s}) has prices {span}, not all of the period {a:%Y-%m-%d}..{b:%Y-%m-%d}"
            elif (jump := _beyond_limit(close[c], a, b, float(p["real_limit"]))) is not None:
                why = (f"{c} ({s}) moves {jump[1]:+.1%} on {jump[0]:%Y-%m-%d}, beyond the exchange's 10% daily limit: "
                       f"an unadjusted share split or merge in raw prices (add an adj_factor to panel "
                       f"'{p['real_panel']}' or choose a period without it)")
    if not why:
        return p["real_panel"], codes, ""
    if p["tradable_source"] == "etf":
        raise DataError(f"xinbanjun: tradable_source etf: {why}; move data.start/end or set tradable_source: auto")
    return (*sector, f"tradable_source auto: trading the sector indices of panel '{p['panel']}' because {why}")


def _beyond_limit(close: pd.Series, a, b, limit: float = 0.10):
    """(date, return) of the first close in (a, b] outside the ±``limit`` (10%) limit of the previous close (rounded to the
    0.001 tick), else None. 上海证券交易所交易规则 3.4.13 / 深圳 3.4.15: securities funds have a 10% daily price
    limit (20% for ETFs of ChiNext / STAR indices: set ``real_limit``), so a larger move in raw, unadjusted prices is a share split or merge (份额拆分/合并), not a return."""
    c = close.dropna()
    prev = c.shift(1)
    up = np.floor(prev * (1 + limit) * 1000 + 0.5) / 1000 + 1e-9      # limit prices round half up to the tick
    down = np.floor(prev * (1 - limit) * 1000 + 0.5) / 1000 - 1e-9
    bad = ((c > up) | (c < down)) & (c.index > a) & (c.index <= b)
    if not bad.any():
        return None
    d = bad.idxmax()
    return d, c[d] / prev[d] - 1.0


def resolve(ds: Dataset, params: dict, start=None, end=None) -> tuple[dict, str]:
    """The params with ``panel``/``tradable`` fixed for the run's period, and the line saying which tradable is
    used and whether it is real (printed by the pipeline)."""
    from engine.signals.xinbanjun.report import _kind

    p = _params(params)
    panel, codes, note = choose_tradable(ds, p, start, end)
    kind = _kind(ds, panel)
    line = (f"xinbanjun tradable: {', '.join(f'{s} {c}' for s, c in codes.items())} in panel '{panel}' "
            f"({'REAL' if kind == 'real' else kind})" + (f"; {note}" if note else ""))
    return {**params, "panel": panel, "tradable": codes}, line


def compute(ds: Dataset, params: dict) -> SignalResult:
    """Target weights in the sectors' tradables (module doc); indicators and the as-of tables for reports."""
    return _compute(ds, _params(params))


def _compute(ds: Dataset, params: dict) -> SignalResult:
    """:func:`compute` of validated params (``SPEC.compute``: the engine validated them from the YAML)."""
    p = dict(params)
    if not p["tradable"]:
        p["panel"], p["tradable"], _ = choose_tradable(ds, p)
    ind = indicators(ds, p)
    state = position_rule(ind, p)
    sectors = list(p["sectors"])
    tradable = ds.panel(p["panel"])
    missing = [p["tradable"][s] for s in sectors if p["tradable"][s] not in tradable.codes]
    if missing:
        raise DataError(f"{tradable.source}: panel '{p['panel']}' has no code(s) {', '.join(missing)}; set the "
                        f"xinbanjun parameters 'panel' and 'tradable' (codes: {', '.join(map(str, tradable.codes[:8]))})")
    per = float(p["weight_total"]) / len(sectors)
    weights = pd.DataFrame({p["tradable"][s]: state[s] * per for s in sectors}, index=state.index)
    # no weight in a tradable without a close that day (an ETF before its listing): the close of t is known at t
    listed = tradable["close"][list(weights.columns)].reindex(weights.index).notna()
    weights = weights.where(listed, 0.0).reindex(tradable.dates).fillna(0.0)
    return SignalResult(weights=weights, indicators=indicator_frame(ind, state),
                        tables=asof_tables(ind, state, p, ds))


def _requires() -> tuple:
    # the price panel (param ``price_panel``, default 'sectors') is checked in compute(): it is not the traded panel
    return ("panel:stocks.elg_buy", "panel:stocks.lg_buy",
            "panel:stocks.elg_sell", "panel:stocks.lg_sell", "panel:sw_l1.close", "table:membership")


def _flat(frames: dict) -> pd.DataFrame:
    """{name: date x sector} -> one frame with ``<sector>.<name>`` columns."""
    cols = {f"{s}.{n}": f[s] for n, f in frames.items() for s in f.columns}
    return pd.DataFrame(cols)


def _alone(kind: str):
    """compute(ds, params) of one indicator family with only its own inputs (``--indicator``)."""

    def compute_one(ds: Dataset, params: dict) -> pd.DataFrame:
        p = _params(params)
        sectors = list(p["sectors"])
        price = _panel_cols(ds, p["price_panel"], "close", sectors)
        if kind == "valuation":
            pe = _panel_cols(ds, p["price_panel"], "pe_ttm", sectors)
            dd = xi.drawdowns(price, p["dd_min_depth"], p["dd_rebound"])
            pct = xi.valuation(pe, p["val_window"], p["val_min_periods"])
            return _flat({"pe": pe, "val_pct": pct, "val_pct_peak": xi.at_rows(pct, dd["peak_row"])})
        if kind == "issuance":
            iss = _issuance(ds, p, price.index)
            if iss is None:
                raise DataError(f"{ds.source}: dataset has no series '{p['iss_series']}' (基金发行分位 input)")
            return iss[["count", "pct", "event", "rising"]].astype(float)
        dd = xi.drawdowns(price, p["dd_min_depth"], p["dd_rebound"])
        if kind == "main_force":
            mf = xi.sector_main_force(ds, {s: p["sector_industry"][s] for s in sectors}, price.index)
            out = xi.main_force_indicators(mf, dd["peak_row"], p["mf_week"], p["mf_window"], p["mf_z_lookback"])
            return _flat({"mf": mf, **out})
        if kind == "etf":
            out = _etf(ds, p, sectors, price.index, dd)
            if not out:
                raise DataError(f"{ds.source}: ETF净流入 needs panel '{p['etf_panel']}' and table '{p['etf_table']}'")
            return _flat(out)
        out = _positions(ds, p, sectors, price.index)
        if not out:
            raise DataError(f"{ds.source}: 仓位 needs series '{p['pos_series']}' / '{p['priv_series']}'")
        return _flat(out)

    return compute_one


_PRICE = ("panel:sectors.close",)
INDICATORS = (
    IndicatorSpec("main_force", _alone("main_force"), _PRICE + _requires(), ("主力资金", "主力资金净流入"),
                  "主力资金净流入 per sector: daily, weekly, since the drawdown's peak, window sum, sign, z-score"),
    IndicatorSpec("issuance", _alone("issuance"), _PRICE + ("series:fund_issuance.count",), ("基金发行分位",),
                  "基金发行分位: monthly count (used after its month ends), percentile, 触底回升 event"),
    IndicatorSpec("etf", _alone("etf"), _PRICE + ("panel:sector_etfs.shares", "table:sector_etfs_info"),
                  ("ETF净流入",), "ETF净流入 per sector: daily, since the drawdown's peak, rank vs earlier corrections"),
    IndicatorSpec("positions", _alone("positions"), _PRICE, ("仓位", "公募仓位", "私募成长仓位"),
                  "公募仓位 / 私募成长仓位: rolling constrained regressions"),
    IndicatorSpec("valuation", _alone("valuation"), _PRICE + ("panel:sectors.pe_ttm",), ("估值分位",),
                  "估值分位: PE-TTM, its rolling one-year percentile and its value on the drawdown's peak day"),
)


SPEC = SignalSpec(
    "xinbanjun", _compute, DEFAULTS, "sectors", _requires(),
    "兴业 新半军 fund-flow and valuation timing of 新能源 / 半导体 / 军工 (rule of our own design), sector tradables.",
    choices=CHOICES, positive=POSITIVE + POSITIVE_FLOAT, ranges=RANGES, not_above={"val_min_periods": "val_window"},
    check=_check, format_tables=format_asof, charts=charts, indicators=INDICATORS,
    resolve=resolve)
