"""The one-direction flow: config -> data -> signal -> backtest -> metrics. No I/O besides reading data.

``run_strategy(cfg)`` returns a :class:`RunOutput` that :mod:`engine.report` writes to disk; sweeps and the
comparison tool reuse the same pieces.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.config_schema import StrategyConfig
from engine.data.panel import Dataset
from engine.errors import ConfigError, DataError
from engine.signals import REGISTRY
from engine.signals.base import SignalResult


@dataclass
class RunOutput:
    cfg: StrategyConfig
    dataset: Dataset
    signal: SignalResult
    backtest: object            # engine.backtest.BacktestResult
    benchmark_returns: pd.Series
    metrics: dict
    yearly: pd.DataFrame
    extra_benchmarks: dict = field(default_factory=dict)   # name -> daily returns
    timings: dict = field(default_factory=dict)

    def to_vectorbt(self, freq: str = "D"):
        """The executed orders replayed as a ``vectorbt.Portfolio`` (:func:`engine.backtest.bridge.to_vectorbt`)."""
        from engine.backtest.bridge import to_vectorbt

        return to_vectorbt(self, freq)


def resolve_period(cfg: StrategyConfig, dates: pd.DatetimeIndex) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Check ``data.start``/``data.end`` against the data's calendar; one-line ConfigError naming the key."""
    first, last = dates[0], dates[-1]
    src = cfg.source_file
    start = pd.Timestamp(cfg.data.start) if cfg.data.start else first
    end = pd.Timestamp(cfg.data.end) if cfg.data.end else last
    if start > last:
        raise ConfigError(f"{src}: key 'data.start': {start:%Y-%m-%d} is after the last date of the data ({last:%Y-%m-%d})")
    if end < first:
        raise ConfigError(f"{src}: key 'data.end': {end:%Y-%m-%d} is before the first date of the data ({first:%Y-%m-%d})")
    if start < first:
        raise ConfigError(f"{src}: key 'data.start': {start:%Y-%m-%d} is before the first date of the data "
                          f"({first:%Y-%m-%d}); set data.start on or after it")
    if end > last:
        raise ConfigError(f"{src}: key 'data.end': {end:%Y-%m-%d} is after the last date of the data ({last:%Y-%m-%d}); "
                          f"set data.end on or before it")
    inside = dates[(dates >= start) & (dates <= end)]
    if len(inside) < 2:
        raise ConfigError(f"{src}: keys 'data.start'/'data.end': the period {start:%Y-%m-%d}..{end:%Y-%m-%d} holds "
                          f"{len(inside)} trading day(s); widen it")
    return start, end


def benchmark_returns(ds: Dataset, cfg: StrategyConfig, index: pd.DatetimeIndex) -> pd.Series:
    """Close-to-close returns of the benchmark on ``index`` (index[0] is the base day, return 0)."""
    from engine.data.codes import normalize_code

    b = cfg.benchmark
    panel = ds.panel(b.panel)
    code = b.code if b.code in panel.codes else normalize_code(b.code, b.panel, f"{cfg.source_file}: key 'benchmark.code'")
    if code not in panel.codes:
        raise ConfigError(f"{cfg.source_file}: key 'benchmark.code': '{b.code}' is not in panel '{b.panel}' "
                          f"(codes: {', '.join(map(str, panel.codes[:5]))})")
    px = panel[b.field][code].reindex(index)
    if px.isna().any():
        d = px.index[px.isna().to_numpy()][0]
        raise DataError(f"{panel.source}: benchmark {b.code} has no {b.field} on {d:%Y-%m-%d} inside the period; "
                        f"fill the gap or move data.start/end")
    if "adj_factor" in panel:
        from engine.data.adjust import filled_factor

        px = px * filled_factor(panel["adj_factor"][[code]])[code].reindex(index)
    r = px.pct_change().fillna(0.0)
    if b.dividend_yield:
        r = r + _daily_yield(ds, cfg, index)
    r.iloc[0] = 0.0
    return r.rename("benchmark")


def _daily_yield(ds: Dataset, cfg: StrategyConfig, index: pd.DatetimeIndex) -> pd.Series:
    """dividend_yield[t-1] / periods_per_year: the yield known at the previous close, accrued over day t."""
    name, _, col = cfg.benchmark.dividend_yield.partition(".")
    if not col:
        raise ConfigError(f"{cfg.source_file}: key 'benchmark.dividend_yield': write it as series.column "
                          f"(e.g. index_valuation.dividend_yield), got {cfg.benchmark.dividend_yield!r}")
    ds.require([f"series:{name}.{col}"])
    y = ds.get_series(name)[col].astype(float)
    if (y.abs() > 0.5).any():
        raise DataError(f"series '{name}' column '{col}': values above 0.5 (e.g. {y[y.abs() > 0.5].iloc[0]}); the dividend "
                        f"yield must be a fraction (0.025 = 2.5%), divide percent values by 100")
    y = y.reindex(y.index.union(index)).ffill().reindex(index)
    if y.isna().iloc[:-1].any():
        d = y.index[y.isna().to_numpy()][0]
        raise DataError(f"series '{name}' column '{col}': no dividend yield on or before {d:%Y-%m-%d}; extend the series "
                        f"or move data.start")
    from engine.metrics.ppy import resolve_ppy

    ppy, _ = resolve_ppy(cfg.metrics.periods_per_year, ds.panel(cfg.benchmark.panel).dates)
    return (y.shift(1) / ppy).fillna(0.0)


def benchmark_label(ds: Dataset, cfg: StrategyConfig) -> str:
    """How the benchmark's returns were made, printed next to its name: price or total return, and from what."""
    b = cfg.benchmark
    if b.kind not in ("price", "total_return"):
        raise ConfigError(f"{cfg.source_file}: key 'benchmark.kind': '{b.kind}' is not allowed (price | total_return)")
    if "adj_factor" in ds.panel(b.panel):
        how = "total return (close x adj_factor)"
    elif b.dividend_yield:
        how = f"total return approximated: price + dividend yield of series {b.dividend_yield}"
    elif b.kind == "total_return":
        how = "total-return index as supplied"
    else:
        how = "price index (no dividends reinvested)"
    return f"{b.name} ({b.code}) {how}"


def _boards(ds: Dataset, universe: str):
    """The info table of a stock panel for the limit rules (engine.backtest.limits): code, board, list_date, ST dates,
    issue price, as far as the data has them; None otherwise."""
    if universe == "stocks" and "stocks_info" in ds.tables:
        info = ds.tables["stocks_info"]
        if "code" in info.columns:
            return info
    return None


def resolve_params(cfg: StrategyConfig, ds: Dataset, say=True) -> tuple[StrategyConfig, str]:
    """``cfg`` with the signal's (and the extra benchmarks') data-dependent parameters fixed for the period
    (:attr:`SignalSpec.resolve`), and the signal's line about them ("" if none); ``say`` prints it to stderr."""
    import dataclasses
    import sys

    def fix(name: str, params: dict) -> tuple[dict, str]:
        spec = REGISTRY[name]
        return spec.resolve(ds, dict(params), cfg.data.start, cfg.data.end) if spec.resolve else (params, "")

    params, line = fix(cfg.signal.name, cfg.signal.params)
    extra = tuple({**eb, "params": fix(eb["signal"], eb["params"])[0]} for eb in cfg.extra_benchmarks)
    if line and say:
        print(line, file=sys.stderr)
    return dataclasses.replace(cfg, signal=dataclasses.replace(cfg.signal, params=params),
                               extra_benchmarks=extra), line


def run_strategy(cfg: StrategyConfig, ds: Dataset) -> RunOutput:
    from engine.backtest import run_backtest
    from engine.metrics import compute_metrics, yearly_table
    from engine.metrics.warmup import warmup_section
    from engine.preflight import check_codes

    timings = {}
    t0 = time.perf_counter()
    cfg, tradable_line = resolve_params(cfg, ds)
    check_codes(cfg, ds)                  # the CLI checked already; Python callers get the same one-line error
    spec = REGISTRY[cfg.signal.name]
    universe = spec.universe_for(cfg.signal.params)
    ds.require(spec.requires_for(cfg.signal.params))
    sig = spec.compute(ds, dict(cfg.signal.params))
    timings["signal_s"] = time.perf_counter() - t0
    panel = ds.panel(universe)
    start, end = resolve_period(cfg, panel.dates)
    _check_weights_in_period(cfg, sig, start, end)
    t1 = time.perf_counter()
    target = sig.weights if sig.targets is None else sig.targets      # the compact form when the signal has one
    bt = run_backtest(target, panel, start, end, cfg.execution, cfg.costs, cfg.market_rules,
                      boards=_boards(ds, universe), rebalance_dates=sig.rebalance_dates, dataset=ds)
    timings["backtest_s"] = time.perf_counter() - t1
    bench = benchmark_returns(ds, cfg, bt.returns.index)
    t2 = time.perf_counter()
    metrics = compute_metrics(bt.returns, bench, cfg.metrics, turnover=bt.turnover, cost_returns=bt.cost_returns,
                              benchmark_note=benchmark_label(ds, cfg), calendar=panel.dates)
    metrics["warmup"], warn = warmup_section(sig, bt, bench, cfg.metrics, calendar=panel.dates)
    metrics["warnings"] += warn
    yearly = yearly_table(bt.returns, bench)
    timings["metrics_s"] = time.perf_counter() - t2
    extra = {}
    if cfg.extra_benchmarks:
        metrics["extra_benchmarks"] = {}
    for eb in cfg.extra_benchmarks:
        espec = REGISTRY[eb["signal"]]
        euniverse = espec.universe_for(eb["params"])
        ds.require(espec.requires_for(eb["params"]))
        esig = espec.compute(ds, dict(eb["params"]))
        ebt = run_backtest(esig.weights, ds.panel(euniverse), start, end, cfg.execution, cfg.costs,
                           cfg.market_rules, boards=_boards(ds, euniverse), rebalance_dates=esig.rebalance_dates,
                           dataset=ds)
        if not ebt.returns.index.equals(bt.returns.index):
            raise DataError(f"extra benchmark '{eb['name']}': its panel '{euniverse}' has other trading days than "
                            f"the strategy's panel '{universe}' in the period; align the data calendars")
        em = compute_metrics(bt.returns, ebt.returns, cfg.metrics, turnover=bt.turnover, cost_returns=bt.cost_returns,
                             benchmark_note=f"{eb['name']} (signal {eb['signal']}, same execution and costs)",
                             calendar=panel.dates)
        metrics["extra_benchmarks"][eb["name"]] = {"benchmark": em["benchmark"], "excess": em["excess"],
                                                   "signal": eb["signal"]}
        extra[eb["name"]] = ebt.returns.rename(eb["name"])
    metrics["data"] = {
        "synthetic": bool(ds.synthetic),
        "source": cfg.data.source,
        "note": ("SYNTHETIC inputs: signal computed on the simulated market; not evidence about real markets"
                 if ds.synthetic else "real data"),
        "real_panels": list(ds.meta.get("real_panels", [])),
    }
    if tradable_line:
        metrics["data"]["tradable"] = tradable_line
    return RunOutput(cfg, ds, sig, bt, bench, metrics, yearly, extra_benchmarks=extra, timings=timings)


def _check_weights_in_period(cfg: StrategyConfig, sig: SignalResult, start, end) -> None:
    """A weights file whose rows all fall after the period (or hold nothing in it) is an error, not an all-cash run."""
    if cfg.signal.name != "weights_file":
        return
    w = sig.weights.loc[:end]
    if len(w) == 0 or not (w.to_numpy() > 0).any():
        path = cfg.signal.params.get("path")
        nz = sig.weights.index[(sig.weights.to_numpy() > 0).any(axis=1)]
        first = f"first weight on {nz[0]:%Y-%m-%d}" if len(nz) else "no positive weight at all"
        raise DataError(f"{path}: no positive weight on or before data.end {pd.Timestamp(end):%Y-%m-%d} ({first}); "
                        f"move data.start/end or fix the file's dates")


def config_dir(cfg: StrategyConfig) -> Path | None:
    p = Path(cfg.source_file)
    return p.parent if p.exists() else None
