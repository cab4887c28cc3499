"""The dated cost model: stamp duty, transfer fee and the return on idle cash, per bar.

One validator (:func:`dated_items`) reads every dated schedule, for the YAML loader (:mod:`engine.config`, which
adds the file and line) and for the backtester (a config built in code), so the two cannot disagree.

Rules as written (sources cited at the constants in :mod:`engine.config_schema`):

* Stamp duty (印花税): fractions of traded value per side, ``costs.stamp_duty: a_share | none | [{from, buy,
  sell}, ...]``.
* Transfer fee (过户费): ``costs.transfer_fee: a_share | none | rate | [{from, rate, sh_per_share, sh_min}, ...]``:
  ``rate`` is a fraction of traded value (both sides); ``sh_per_share`` is yuan per share traded of a Shanghai
  A-share (codes ``6xxxxx.SH``) with a minimum of ``sh_min`` yuan per order: the pre-2015-08-01 Shanghai rule (0.1%
  of face value = 1 yuan per 1,000 shares, minimum 1 yuan; Shenzhen charged none).
* Cash return: ``costs.cash_return: 0 | annual rate | {panel: P, code: C}``. A rate accrues on the cash balance
  by calendar days between sessions (ACT/365: ``rate * days / 365``, the money-market convention); a panel code
  gives the daily close-to-close return of that instrument (adjusted by its ``adj_factor`` if the panel has one),
  e.g. the money-market ETF 511880.SH of panel ``etf``. The cash held at close i-1 earns the bar-i rate.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from engine.config_schema import A_SHARE_STAMP_DUTY, A_SHARE_TRANSFER_FEE
from engine.errors import ConfigError, DataError

SH_A_SHARE = re.compile(r"^6\d{5}\.SH$")

STAMP_KEYS = {"buy": 0.0, "sell": 0.0}
TRANSFER_KEYS = {"rate": 0.0, "sh_per_share": 0.0, "sh_min": 0.0}
# The dated schedules of ``costs``: key -> (rate keys with defaults, named schedules). The one table that both the
# YAML loader (engine.config) and the backtester read.
SCHEDULES = {
    "stamp_duty": (STAMP_KEYS, {"a_share": A_SHARE_STAMP_DUTY, "none": ()}),
    "transfer_fee": (TRANSFER_KEYS, {"a_share": A_SHARE_TRANSFER_FEE, "none": ()}),
}


def dated_items(spec, key: str, rates: dict, named: dict) -> list[tuple[pd.Timestamp, dict]]:
    """Validate a dated schedule: a name from ``named`` (-> its items), or a non-empty list of mappings with a
    ``from`` date and the rate keys of ``rates`` (missing = the default there), sorted by date, rates finite and
    in [0, 1) (``sh_*`` in yuan: >= 0). Returns ``[(from, {rate: value})]``. ValueError with a message that
    starts with what was wrong (the caller adds where)."""
    allowed = ", ".join(f"'{n}'" for n in named)
    shape = "{from: YYYY-MM-DD, " + ", ".join(f"{k}: rate" for k in rates) + "}"
    if isinstance(spec, str):
        if spec not in named:
            raise ValueError(f"'{spec}' is not allowed; use {allowed} or a list of {shape}")
        spec = named[spec]
        if not spec:
            return []
    if not isinstance(spec, (list, tuple)) or not spec:
        raise ValueError(f"expected {allowed} or a list of {shape}")
    out = []
    for n, item in enumerate(spec):
        if not isinstance(item, dict) or "from" not in item or set(item) - {"from", *rates}:
            raise ValueError(f"item {n} must be a mapping with keys from, {', '.join(rates)}; got {item!r}")
        try:
            d = pd.Timestamp(str(item["from"])[:10])
            vals = {k: float(item.get(k, dflt)) for k, dflt in rates.items()}
        except (TypeError, ValueError):
            raise ValueError(f"item {n}: 'from' must be a date YYYY-MM-DD and rates numbers; got {item!r}") from None
        for k, v in vals.items():
            top = np.inf if k.startswith("sh_") else 1.0
            if not (np.isfinite(v) and 0.0 <= v < top):
                raise ValueError(f"item {n}: {k} must be {'>= 0' if top == np.inf else 'a fraction in [0, 1)'}, "
                                 f"got {v}")
        out.append((d, vals))
    if [d for d, _ in out] != sorted(d for d, _ in out):
        raise ValueError("items must be sorted by 'from' date")
    return out


def _schedule(dates, items, rates) -> dict[str, np.ndarray]:
    dates = pd.DatetimeIndex(dates)
    out = {k: np.zeros(len(dates)) for k in rates}
    for d, vals in items:
        on = np.asarray(dates >= d)
        for k, v in vals.items():
            out[k][on] = v
    return out


def schedule_items(key: str, spec) -> list[tuple[pd.Timestamp, dict]]:
    """:func:`dated_items` of ``costs.<key>`` (a key of :data:`SCHEDULES`; a number for ``transfer_fee`` is one
    undated rate of traded value). ValueError as there."""
    rates, named = SCHEDULES[key]
    if key == "transfer_fee" and isinstance(spec, (int, float)) and not isinstance(spec, bool):
        spec = [{"from": "1900-01-01", "rate": float(spec)}]
    return dated_items(spec, key, rates, named)


def _items(key, spec):
    try:
        return schedule_items(key, spec)
    except ValueError as exc:
        raise ConfigError(f"costs.{key}: {exc}") from None


def stamp_duty_schedule(dates, spec) -> tuple[np.ndarray, np.ndarray]:
    """Per-date stamp duty ``(buy, sell)`` (fractions of traded value, len(dates)); each item applies from its
    date until the next; dates before the first item pay none."""
    s = _schedule(dates, _items("stamp_duty", spec), STAMP_KEYS)
    return s["buy"], s["sell"]


def transfer_schedule(dates, spec) -> dict[str, np.ndarray]:
    """Per-date transfer fee ``{"rate", "sh_per_share", "sh_min"}`` arrays (len(dates)) of ``costs.transfer_fee``
    (a number = one undated rate of traded value)."""
    return _schedule(dates, _items("transfer_fee", spec), TRANSFER_KEYS)


def validate_cost_specs(costs) -> None:
    """ConfigError (one line) for a malformed stamp duty, transfer fee or cash return in ``costs``."""
    stamp_duty_schedule([], costs.stamp_duty)
    transfer_schedule([], costs.transfer_fee)
    _cash_spec(costs.cash_return)


def _cash_spec(spec):
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        if not (np.isfinite(spec) and -1.0 < spec < 1.0):
            raise ConfigError(f"costs.cash_return: an annual rate must be a fraction in (-1, 1), got {spec}")
        return float(spec)
    if isinstance(spec, dict) and {"panel", "code"} <= set(spec) and not set(spec) - {"panel", "code"}:
        return {"panel": str(spec["panel"]), "code": str(spec["code"])}
    raise ConfigError(f"costs.cash_return: expected 0, an annual rate (0.02 = 2%) or {{panel: etf, code: 511880.SH}}"
                      f" (a money-market fund's daily returns), got {spec!r}")


def sh_share_mask(codes) -> np.ndarray:
    """(N,) float: 1.0 for Shanghai A-share codes (``6xxxxx.SH``, charged the per-share transfer fee), else 0."""
    codes = codes.tolist() if hasattr(codes, "tolist") else codes      # plain str (not one Arrow scalar per code)
    return np.array([1.0 if SH_A_SHARE.match(str(c)) else 0.0 for c in codes])


def cash_growth(dates, spec, dataset=None) -> np.ndarray | None:
    """(T,) per-bar growth factors ``1 + r_i`` of idle cash for ``dates`` (row 0 = 1), or None for no return.
    ``dataset`` (an :class:`engine.data.Dataset`) is needed for a ``{panel, code}`` series."""
    spec = _cash_spec(spec)
    dates = pd.DatetimeIndex(dates)
    if isinstance(spec, float):
        if spec == 0.0:
            return None
        days = np.diff(dates.values).astype("timedelta64[D]").astype(float)
        return np.r_[1.0, 1.0 + spec * days / 365.0]
    if dataset is None:
        raise ConfigError("costs.cash_return: a {panel, code} series needs the dataset; run it through the pipeline")
    panel = dataset.panel(spec["panel"])
    if spec["code"] not in panel.codes:
        raise DataError(f"{panel.source}: costs.cash_return: code {spec['code']} is not in panel '{spec['panel']}'; "
                        "use one of its codes, e.g. the money-market ETF 511880.SH of panel etf")
    px = panel["close"][spec["code"]]
    if "adj_factor" in panel:
        px = px * panel["adj_factor"][spec["code"]].ffill()
    px = px.reindex(dates)
    inside = px.notna().to_numpy()
    if not inside.any():
        raise DataError(f"{panel.source}: costs.cash_return: {spec['code']} has no close between "
                        f"{dates[0]:%Y-%m-%d} and {dates[-1]:%Y-%m-%d}; use a rate or a series covering the period")
    first = dates[int(np.argmax(inside))]
    if len(dates) > 1 and first > dates[1]:
        warnings.warn(f"costs.cash_return: {spec['code']} starts on {first:%Y-%m-%d}, after the period starts; "
                      "cash earns 0 before that", stacklevel=2)
    g = np.array((px.ffill() / px.ffill().shift(1)).to_numpy(dtype=float, na_value=np.nan))
    g[~np.isfinite(g)] = 1.0
    g[0] = 1.0
    return g
