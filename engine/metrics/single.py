"""Performance statistics of a strategy against its benchmark, with every convention stated.

Inputs (shared by all public functions)
---------------------------------------
``strategy_returns`` / ``benchmark_returns``: daily **simple close-to-close** returns (fractions; 0.01 = 1%) as
``pd.Series`` on the same ``DatetimeIndex``. The strategy returns are **net of costs**. The **first row is the
base day** (the close the period is measured from) with return 0 (NaN accepted); it is excluded from every
statistic. Hence ``n = rows - 1`` = the number of trading days in the period, and the period runs from the first
trading day after the base day to the last row. Validation lives in :mod:`engine.metrics.inputs`.

Conventions (also returned in ``metrics["conventions"]`` and printed by :func:`format_metrics_table`)
------------------------------------------------------------------------------------------------------
Statistics marked "(empyrical)" follow empyrical-reloaded's definitions; :mod:`engine.metrics.formulas` computes
them with empyrical's own arithmetic (equal to the last bit; the tests compare them with empyrical), so a run does
not import empyrical (or the scipy modules it loads).

* ``ppy`` = ``MetricsConfig.periods_per_year`` (empyrical's ``annualization``). Default ``auto``: the
  data's own trading days per complete calendar year (:mod:`engine.metrics.ppy`; ``calendar`` argument, else the
  return series' dates); a number (250, 252, 365) is used as given. The value used is printed next to every
  annualised number.
* annual return (geometric, CAGR): ``(1 + R)^(ppy / n) - 1``, R = total compounded return (empyrical).
* annual volatility: ``std(r, ddof=1) * sqrt(ppy)`` (empyrical).
* risk-free: config gives an annual rate ``rf``; the formulas use a per-period rate,
  ``rf_d = (1 + rf)^(1/ppy) - 1`` (geometric de-annualisation).
* Sharpe: ``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(ppy)`` (empyrical).
* Sortino: ``mean(r - rf_d) * ppy / (sqrt(mean(min(r - rf_d, 0)^2)) * sqrt(ppy))``; the downside deviation
  averages over all n days (empyrical).
* max drawdown: ``min_t(V_t / max_{s<=t} V_s - 1)`` with ``V`` the equity including the base day (V = 1 there);
  negative fraction (empyrical). Peak = last date at the running maximum before the trough, trough = first date of
  the minimum, recovery = first later date with ``V >= V_peak`` (None if not recovered).
* Calmar: annual return / |max drawdown| (empyrical; None if there is no drawdown).
* beta = ``cov(r_s - rf_d, r_b - rf_d) / var(r_b - rf_d)`` (population moments); alpha (annualised) =
  ``(1 + mean((r_s - rf_d) - beta (r_b - rf_d)))^ppy - 1``.
* active return ``a = r_s - r_b`` (daily). Tracking error = ``std(a, ddof=1) * sqrt(ppy)``. Information ratio
  (primary) = ``annual_excess / tracking error`` (the primary excess, geometric by default, so the ratio printed
  beside it matches it); arithmetic information ratio = ``mean(a) * ppy / tracking error``. They differ by the
  volatility drag between the two annualisations (None when tracking error is 0).
* excess: geometric ``(1 + Ra_s)/(1 + Ra_b) - 1`` and arithmetic ``Ra_s - Ra_b`` (both reported; ``annual_excess``
  is the one ``MetricsConfig.primary_excess`` names).
* win rates: ``wins / (wins + losses)``, ties excluded and counted: a day is a win when ``r_s - r_b > 1e-12``, a
  loss when ``< -1e-12``, else a tie (e.g. a fully invested day of a benchmark-holding strategy); the same for
  calendar months of compounded returns (partial first/last months included). None when every day is a tie.
* annual turnover = ``mean(daily turnover) * ppy``; daily turnover = two-sided traded value / portfolio value.
* cost drag: ``c_t`` = costs_t / V_{t-1}, so the gross (pre-cost) return is ``r_t + c_t``. Total cost drag =
  ``prod(1 + r + c) / prod(1 + r) - 1``; annual cost drag = ``(prod(1 + r + c) / prod(1 + r))^(ppy/n) - 1``
  = ``(1 + Ra_gross)/(1 + Ra_net) - 1``. Positive = how much higher the pre-cost result would have been.
* Undefined numbers (zero volatility, zero tracking error, n too small) are ``None`` in the output, never NaN/inf.
* ``warnings``: one-line strings (the ppy fallback; a period shorter than one year annualised); the table prints
  them first.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

import pandas as pd

from engine.config_schema import MetricsConfig
from engine.metrics import formulas as F
from engine.metrics.format import format_metrics_table  # re-exported
from engine.metrics.inputs import check_aux, check_config, check_pair
from engine.metrics.ppy import format_ppy, resolve_ppy

__all__ = ["compute_metrics", "yearly_table", "format_metrics_table", "drawdown_dates", "to_json_safe"]


def _f(x) -> Optional[float]:
    """A plain float, or None for NaN/inf/None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _iso(ts) -> Optional[str]:
    return None if ts is None else pd.Timestamp(ts).date().isoformat()


def to_json_safe(obj: Any) -> Any:
    """Recursively convert numpy/pandas scalars to builtins, dates to ISO strings, NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): to_json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json_safe(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _f(obj)
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return _iso(obj)
    return obj


def drawdown_dates(period_returns: pd.Series, base_date) -> dict:
    """Max drawdown and its dates for period returns (base row already removed).

    The equity starts at 1 on ``base_date``. Returns ``{"max_drawdown": float <= 0, "peak", "trough",
    "recovery"}`` with Timestamps (None when there is no drawdown; recovery None when not recovered).
    """
    r = period_returns.to_numpy(dtype=float)
    idx = pd.DatetimeIndex([pd.Timestamp(base_date)]).append(period_returns.index)
    equity = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    running = np.maximum.accumulate(equity)
    dd = equity / running - 1.0
    t = int(np.argmin(dd))
    if not dd[t] < 0:
        return {"max_drawdown": 0.0, "peak": None, "trough": None, "recovery": None}
    p = int(np.flatnonzero(equity[: t + 1] == running[t])[-1])
    after = np.flatnonzero(equity[t + 1:] >= equity[p])
    rec = idx[t + 1 + int(after[0])] if len(after) else None
    return {"max_drawdown": float(dd[t]), "peak": idx[p], "trough": idx[t], "recovery": rec}


def _per_period_rf(config: MetricsConfig, ppy: float) -> float:
    return (1.0 + float(config.risk_free)) ** (1.0 / ppy) - 1.0


def _series_stats(r: pd.Series, base_date, ppy: float, rf_d: float) -> dict:
    """The per-series block of compute_metrics (r = period returns, base row removed)."""
    arr = r.to_numpy(dtype=float)
    dd = drawdown_dates(r, base_date)
    return {
        "total_return": float(np.prod(1.0 + arr) - 1.0),
        "annual_return": _f(F.annual_return(arr, ppy)),
        "annual_volatility": _f(F.annual_volatility(arr, ppy)),
        "sharpe": _f(F.sharpe(arr, rf_d, ppy)),
        "sortino": _f(F.sortino(arr, rf_d, ppy)),
        "max_drawdown": _f(F.max_drawdown(arr)),
        "max_drawdown_peak": _iso(dd["peak"]),
        "max_drawdown_trough": _iso(dd["trough"]),
        "max_drawdown_recovery": _iso(dd["recovery"]),
        "calmar": _f(F.calmar(arr, ppy)),
        "n_days": int(len(arr)),
        "start": _iso(r.index[0]),
        "end": _iso(r.index[-1]),
        "best_day": _f(arr.max()),
        "best_day_date": _iso(r.index[int(np.argmax(arr))]),
        "worst_day": _f(arr.min()),
        "worst_day_date": _iso(r.index[int(np.argmin(arr))]),
    }


# A win needs r_s - r_b > 1e-12: identical returns computed along two float paths (e.g. holding the benchmark)
# differ by ~1e-17 and must count as ties, not as wins.
WIN_TOL = 1e-12


def _wins(diff: np.ndarray, prefix: str) -> dict:
    """Win rate = wins / (wins + losses) of the differences ``diff``; |diff| <= WIN_TOL is a tie."""
    wins, losses = int(np.sum(diff > WIN_TOL)), int(np.sum(diff < -WIN_TOL))
    return {f"{prefix}_win_rate": wins / (wins + losses) if wins + losses else None, f"{prefix}_wins": wins,
            f"{prefix}_losses": losses, f"{prefix}_ties": int(len(diff)) - wins - losses}


def _monthly_wins(s: pd.Series, b: pd.Series) -> dict:
    keys = [s.index.year, s.index.month]
    ms = (1.0 + s).groupby(keys).prod()
    mb = (1.0 + b).groupby(keys).prod()
    return _wins((ms - mb).to_numpy(), "monthly") | {"n_months": int(len(ms))}


def _excess(s: pd.Series, b: pd.Series, st: dict, bt: dict, config: MetricsConfig, ppy: float, rf_d: float,
            turnover: Optional[pd.Series], costs: Optional[pd.Series]) -> dict:
    n = len(s)
    sa, ba = s.to_numpy(dtype=float), b.to_numpy(dtype=float)
    active = sa - ba
    if n < 2:
        te = float("nan")
    elif active.max() == active.min():
        te = 0.0  # exactly constant active return: avoid a 1e-18 float residue posing as tracking error
    else:
        te = float(np.std(active, ddof=1) * math.sqrt(ppy))
    ir_ari = active.mean() * ppy / te if te > 0 else float("nan")
    alpha, beta = F.alpha_beta(sa, ba, rf_d, ppy)
    ra_s, ra_b = st["annual_return"], bt["annual_return"]
    geo = (1 + ra_s) / (1 + ra_b) - 1 if ra_s is not None and ra_b is not None and ra_b > -1 else None
    ari = ra_s - ra_b if ra_s is not None and ra_b is not None else None
    primary = geo if config.primary_excess == "geometric" else ari
    out = {
        "annual_excess": primary,
        "primary_excess": config.primary_excess,
        "annual_excess_geometric": _f(geo),
        "annual_excess_arithmetic": _f(ari),
        "total_excess_geometric": _f((1 + st["total_return"]) / (1 + bt["total_return"]) - 1
                                     if bt["total_return"] > -1 else None),
        "total_excess_arithmetic": _f(st["total_return"] - bt["total_return"]),
        "tracking_error": _f(te),
        "information_ratio": _f(primary / te) if primary is not None and te > 0 else None,
        "information_ratio_arithmetic": _f(ir_ari),
        "beta": _f(beta),
        "alpha": _f(alpha),
        **_wins(active, "daily"),
        **_monthly_wins(s, b),
        "annual_turnover": None if turnover is None else float(turnover.to_numpy().mean() * ppy),
        "total_cost_drag": None,
        "annual_cost_drag": None,
    }
    out["annual_excess"] = _f(out["annual_excess"])
    if costs is not None:
        net = np.prod(1.0 + sa)
        gross = np.prod(1.0 + sa + costs.to_numpy())
        if net > 0:
            out["total_cost_drag"] = _f(gross / net - 1.0)
            out["annual_cost_drag"] = _f((gross / net) ** (ppy / n) - 1.0)
    out["definitions"] = {
        "annual_excess_geometric": "(1 + Ra_strategy) / (1 + Ra_benchmark) - 1",
        "annual_excess_arithmetic": "Ra_strategy - Ra_benchmark",
        "total_excess_geometric": "(1 + R_strategy) / (1 + R_benchmark) - 1 over the period",
        "total_excess_arithmetic": "R_strategy - R_benchmark over the period",
        "tracking_error": "std(r_s - r_b, ddof=1) * sqrt(ppy)",
        "information_ratio": f"annual_excess ({config.primary_excess}, the primary) / tracking_error",
        "information_ratio_arithmetic": "mean(r_s - r_b) * ppy / tracking_error",
        "beta": "cov(r_s - rf_d, r_b - rf_d) / var(r_b - rf_d) (population moments, as empyrical)",
        "alpha": "(1 + mean((r_s - rf_d) - beta * (r_b - rf_d)))^ppy - 1 (annualised, as empyrical)",
        "daily_win_rate": "wins / (wins + losses) of days; win: r_s - r_b > 1e-12, loss: < -1e-12, else a tie",
        "monthly_win_rate": "wins / (wins + losses) of calendar months of prod(1 + r) (partial months included; "
                            "|difference| <= 1e-12 is a tie)",
        "annual_turnover": "mean(daily two-sided traded value / portfolio value) * ppy",
        "total_cost_drag": "prod(1 + r + c) / prod(1 + r) - 1, c = costs / previous value, r = net return",
        "annual_cost_drag": "(prod(1 + r + c) / prod(1 + r))^(ppy / n) - 1",
    }
    return out


def _conventions(config: MetricsConfig, ppy_info: dict, rf_d: float, benchmark_note: Optional[str]) -> dict:
    return {
        "periods_per_year": ppy_info["value"],
        "periods_per_year_setting": ppy_info["setting"],
        "periods_per_year_rule": ppy_info["rule"],
        "risk_free": float(config.risk_free),
        "risk_free_per_period": float(rf_d),
        "risk_free_conversion": "rf_d = (1 + rf_annual)^(1/ppy) - 1",
        "return_type": "simple, close-to-close, daily; strategy net of costs",
        "annualisation": "annual_return = (1 + R)^(ppy / n) - 1 (geometric); volatility = std(r, ddof=1) * sqrt(ppy)",
        "sharpe": "mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(ppy)",
        "sortino": "mean(r - rf_d) * ppy / (sqrt(mean(min(r - rf_d, 0)^2)) * sqrt(ppy))",
        "information_ratio": f"annual_excess ({config.primary_excess}) / tracking_error; arithmetic: "
                             "mean(r_s - r_b) * ppy / tracking_error; tracking_error = std(r_s - r_b, ddof=1) * sqrt(ppy)",
        "win_rates": "wins / (wins + losses); ties (|r_s - r_b| <= 1e-12) are counted apart",
        "max_drawdown": "min(V / running_max(V) - 1), V = equity incl. base day (negative fraction)",
        "calmar": "annual_return / |max_drawdown|",
        "excess": {"geometric": "(1 + Ra_s) / (1 + Ra_b) - 1", "arithmetic": "Ra_s - Ra_b",
                   "primary": config.primary_excess},
        "benchmark_note": benchmark_note,
        "day_count": "n = trading days in the period = rows - 1 (the first row is the base day, return 0, excluded)",
        "undefined": "None when a ratio is undefined (zero volatility / tracking error, too few days)",
        "library": "engine.metrics.formulas: empyrical-reloaded's formulas and arithmetic with annualization=ppy "
                   "(tests compare them with empyrical)",
    }


def compute_metrics(strategy_returns: pd.Series, benchmark_returns: pd.Series, config: MetricsConfig,
                    turnover: Optional[pd.Series] = None, cost_returns: Optional[pd.Series] = None,
                    benchmark_note: Optional[str] = None, calendar=None) -> dict:
    """Strategy-vs-benchmark statistics as a JSON-serialisable dict (conventions in the module docstring).

    Inputs: two base-row daily return Series on the same dates (first row = base day, return 0, excluded;
    n = rows - 1 >= 1); optional ``turnover`` (daily two-sided traded value / value, >= 0) and ``cost_returns``
    (daily costs / previous value, >= 0), indexed like the returns with or without the base row (base-row value
    must be 0/NaN); ``config`` (periods_per_year, annual risk_free, primary_excess); ``benchmark_note`` (free text
    such as "CSI 300 price index, no dividends", copied into conventions); ``calendar`` (the data's trading days,
    for ``periods_per_year: auto``; default: the return series' own dates).

    Output keys: ``strategy``, ``benchmark`` (total_return, annual_return, annual_volatility, sharpe, sortino,
    max_drawdown <= 0 and its peak/trough/recovery ISO dates, calmar, n_days, start, end, best_day(+_date),
    worst_day(+_date)), ``excess`` (see its ``definitions``), ``conventions``, ``period`` (start, end, n_days,
    base_date), ``warnings`` (list of one-line strings). Floats or None (never NaN/inf), ints, ISO date strings. No warm-up; the whole period is used.
    Raises DataError / ConfigError with a one-line message on bad input.
    """
    check_config(config)
    s_full, b_full = check_pair(strategy_returns, benchmark_returns)
    turnover_p = check_aux(turnover, "turnover", s_full.index)
    costs_p = check_aux(cost_returns, "cost_returns", s_full.index)
    base_date = s_full.index[0]
    s, b = s_full.iloc[1:], b_full.iloc[1:]
    ppy, ppy_info = resolve_ppy(config.periods_per_year, s_full.index if calendar is None else calendar)
    rf_d = _per_period_rf(config, ppy)
    st = _series_stats(s, base_date, ppy, rf_d)
    bt = _series_stats(b, base_date, ppy, rf_d)
    warnings = [ppy_info["warning"]] if ppy_info["warning"] else []
    if len(s) < ppy:
        warnings.append(f"the period {_iso(s.index[0])}..{_iso(s.index[-1])} has {len(s)} trading days, less than "
                        f"one year ({format_ppy(ppy)}): its annualised numbers extrapolate a short period")
    out = {
        "strategy": st,
        "benchmark": bt,
        "excess": _excess(s, b, st, bt, config, ppy, rf_d, turnover_p, costs_p),
        "conventions": _conventions(config, ppy_info, rf_d, benchmark_note),
        "period": {"start": _iso(s.index[0]), "end": _iso(s.index[-1]), "n_days": int(len(s)),
                   "base_date": _iso(base_date)},
        "warnings": warnings,
    }
    return to_json_safe(out)


def yearly_table(strategy_returns: pd.Series, benchmark_returns: pd.Series) -> pd.DataFrame:
    """Calendar-year table from two base-row return series (base row excluded, as in compute_metrics).

    One row per calendar year present in the period (index ``year``, int; partial first/last years included),
    columns: ``strategy``, ``benchmark`` (compounded returns within the year), ``excess_geometric``
    ((1+s)/(1+b)-1), ``excess_arithmetic`` (s-b), ``strategy_max_drawdown`` and ``benchmark_max_drawdown``
    (<= 0, equity anchored at the previous year-end close / base day), ``days`` (trading days in the year).
    """
    s_full, b_full = check_pair(strategy_returns, benchmark_returns)
    s, b = s_full.iloc[1:], b_full.iloc[1:]
    rows = []
    for year in sorted(set(s.index.year)):
        ys, yb = s[s.index.year == year].to_numpy(), b[b.index.year == year].to_numpy()
        rs, rb = float(np.prod(1 + ys) - 1), float(np.prod(1 + yb) - 1)
        rows.append({
            "year": int(year), "strategy": rs, "benchmark": rb,
            "excess_geometric": (1 + rs) / (1 + rb) - 1 if rb > -1 else np.nan,
            "excess_arithmetic": rs - rb,
            "strategy_max_drawdown": F.max_drawdown(ys),
            "benchmark_max_drawdown": F.max_drawdown(yb),
            "days": int(len(ys)),
        })
    return pd.DataFrame(rows).set_index("year")

