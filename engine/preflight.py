"""Checks of a config against its loaded data, before the signal is computed (and one after the backtest).

* ``signal.params.code`` (and ``benchmark.code``) must be a code of the panel it refers to: a one-line
  ConfigError naming the key, the panel and the closest codes (aliases such as ``000300.XSHG`` are accepted,
  as the signals accept them: engine.data.codes).
* An integer window parameter longer than the data cannot form a value: a :class:`~engine.errors.JingongWarning`
  naming the key (the strategy would silently hold cash).
* After the backtest: a strategy that held no position on any day of the period gets a warning too.
"""
from __future__ import annotations

import difflib

from engine.errors import ConfigError, warn

# parameters whose integer value is a count of trading days of history
CANONICAL_SUFFIXES = ("SH", "SZ", "BJ", "SI", "CI", "CSI")
WINDOW_NAMES = ("window", "short", "long", "lookback", "min_periods", "trend_k")


def _code_hint(code: str, codes) -> str:
    codes = [str(c) for c in codes]
    if not codes:
        return " (the panel has no codes at all: an empty export, or a header without rows?)"
    stem = code.split(".")[0]
    same_stem = [c for c in codes if c.split(".")[0] == stem]
    if same_stem and same_stem[0].rsplit(".", 1)[-1] in CANONICAL_SUFFIXES:
        return f" (did you mean '{same_stem[0]}'?)"
    if same_stem:
        return (f" (the data writes it '{same_stem[0]}'; codes must be written like 000300.SH / 600000.SH / "
                f"000001.SZ in both the data and the config)")
    m = difflib.get_close_matches(code, codes, n=1, cutoff=0.6)
    if m:
        return f" (did you mean '{m[0]}'?)"
    return f" (it has: {', '.join(codes[:5])}{' ...' if len(codes) > 5 else ''})"


def _alias_of(code: str, panel) -> str | None:
    """The canonical spelling of an accepted alias (000300.XSHG, sh000300; engine.data.codes), else None."""
    try:
        from engine.data.codes import normalize_code
    except ImportError:          # pragma: no cover - older data package
        return None
    try:
        return normalize_code(code, panel.name)
    except Exception:            # noqa: BLE001 - not an alias: the caller reports the code as written
        return None


def check_codes(cfg, ds) -> None:
    """``signal.params.code`` must be a code of its panel: a one-line ConfigError otherwise (no warnings here, so
    :func:`engine.pipeline.run_strategy` can call it for Python users without repeating the CLI's warnings)."""
    from engine.signals import REGISTRY

    spec = REGISTRY[cfg.signal.name]
    params = cfg.signal.params or {}
    src = cfg.source_file
    if isinstance(params.get("code"), str):
        panel_name = params.get("panel", spec.universe_for(params))
        panel = ds.panel(panel_name)
        code = params["code"]
        if code not in panel.codes and _alias_of(code, panel) not in panel.codes:
            raise ConfigError(f"{src}: key 'signal.params.code': '{code}' is not in panel '{panel_name}' of the data "
                              f"({ds.source}){_code_hint(code, panel.codes)}")


def check_config_against_data(cfg, ds) -> None:
    """:func:`check_codes`, then a warning for each integer window parameter longer than the data."""
    from engine.signals import REGISTRY

    check_codes(cfg, ds)
    spec = REGISTRY[cfg.signal.name]
    params = cfg.signal.params or {}
    src = cfg.source_file
    universe = spec.universe_for(params)
    n = len(ds.panel(universe).dates)
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if any(w in key for w in WINDOW_NAMES) and value > n:
            warn(f"{src}: key 'signal.params.{key}': {value} trading days is longer than the data ({n} days in panel "
                 f"'{universe}'); the signal cannot form and the strategy would hold cash")


def check_swept_windows(p, n_days: int) -> None:
    """A sweep's window values longer than the data: one warning per key naming the values (those combinations
    would hold cash)."""
    for key, values in zip(p.spec.keys, p.spec.values):
        name = key.rsplit(".", 1)[-1]
        if not key.startswith("signal.params.") or not any(w in name for w in WINDOW_NAMES):
            continue
        long_ = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > n_days]
        if long_:
            warn(f"{p.base.source_file}: sweep key '{key}': {', '.join(map(str, long_[:5]))}"
                 f"{' ...' if len(long_) > 5 else ''} trading days is longer than the data ({n_days} days); those "
                 f"combinations cannot form a signal and hold cash")


def check_result(run) -> None:
    held = run.backtest.weights_held
    if len(held) and float(abs(held.to_numpy()).sum()) == 0.0:
        p = run.metrics.get("period", {})
        warn(f"{run.cfg.source_file}: the strategy held no position on any day of {p.get('start')}..{p.get('end')} "
             f"(all cash); check the signal's windows and data.start against the data")
