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
        """The executed orders replayed as a ``vectorbt.Portfolio`` (:func:`engine.bridge.to_vectorbt`)."""
        from engine.bridge import to_vectorbt

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
    b = cfg.benchmark
    panel = ds.panel(b.panel)
    if b.code not in panel.codes:
        raise ConfigError(f"{cfg.source_file}: key 'benchmark.code': '{b.code}' is not in panel '{b.panel}' "
                          f"(codes: {', '.join(map(str, panel.codes[:5]))})")
    px = panel[b.field][b.code].reindex(index)
    if px.isna().any():
        d = px.index[px.isna().to_numpy()][0]
        raise DataError(f"{panel.source}: benchmark {b.code} has no {b.field} on {d:%Y-%m-%d} inside the period; "
                        f"fill the gap or move data.start/end")
    r = px.pct_change().fillna(0.0)
    r.iloc[0] = 0.0
    return r.rename("benchmark")


def _boards(ds: Dataset, universe: str):
    if universe == "stocks" and "stocks_info" in ds.tables:
        info = ds.tables["stocks_info"]
        if {"code", "board"} <= set(info.columns):
            return info.set_index("code")["board"]
    return None


def run_strategy(cfg: StrategyConfig, ds: Dataset) -> RunOutput:
    from engine.backtest import run_backtest
    from engine.metrics import compute_metrics, yearly_table
    from engine.metrics_warmup import warmup_section

    timings = {}
    t0 = time.perf_counter()
    spec = REGISTRY[cfg.signal.name]
    ds.require(spec.requires)
    sig = spec.compute(ds, dict(cfg.signal.params))
    timings["signal_s"] = time.perf_counter() - t0
    panel = ds.panel(spec.universe)
    start, end = resolve_period(cfg, panel.dates)
    t1 = time.perf_counter()
    bt = run_backtest(sig.weights, panel, start, end, cfg.execution, cfg.costs, cfg.market_rules,
                      boards=_boards(ds, spec.universe), rebalance_dates=sig.rebalance_dates)
    timings["backtest_s"] = time.perf_counter() - t1
    bench = benchmark_returns(ds, cfg, bt.returns.index)
    note = "price index (no dividends reinvested)" if cfg.benchmark.code == "000300.SH" else ""
    t2 = time.perf_counter()
    metrics = compute_metrics(bt.returns, bench, cfg.metrics, turnover=bt.turnover, cost_returns=bt.cost_returns,
                              benchmark_note=f"{cfg.benchmark.name} ({cfg.benchmark.code}) {note}".strip(),
                              calendar=panel.dates)
    metrics["warmup"], warn = warmup_section(sig, bt, bench, cfg.metrics, calendar=panel.dates)
    metrics["warnings"] += warn
    yearly = yearly_table(bt.returns, bench)
    timings["metrics_s"] = time.perf_counter() - t2
    extra = {}
    if cfg.extra_benchmarks:
        metrics["extra_benchmarks"] = {}
    for eb in cfg.extra_benchmarks:
        espec = REGISTRY[eb["signal"]]
        ds.require(espec.requires)
        esig = espec.compute(ds, dict(eb["params"]))
        ebt = run_backtest(esig.weights, ds.panel(espec.universe), start, end, cfg.execution, cfg.costs,
                           cfg.market_rules, boards=_boards(ds, espec.universe), rebalance_dates=esig.rebalance_dates)
        if not ebt.returns.index.equals(bt.returns.index):
            raise DataError(f"extra benchmark '{eb['name']}': its panel '{espec.universe}' has other trading days than "
                            f"the strategy's panel '{spec.universe}' in the period; align the data calendars")
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
    }
    return RunOutput(cfg, ds, sig, bt, bench, metrics, yearly, extra_benchmarks=extra, timings=timings)


def config_dir(cfg: StrategyConfig) -> Path | None:
    p = Path(cfg.source_file)
    return p.parent if p.exists() else None
