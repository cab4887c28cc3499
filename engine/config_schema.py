"""Typed, frozen configuration sections. Loading/validation of YAML is in :mod:`engine.config`.

Every field has a default; the default's type is the expected type. A-share facts (stamp-duty history, board
price limits, lot size) are defaults here, not constants in code, so a user can change them in YAML.
"""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, Optional

# China A-share stamp duty (证券交易印花税), rates as fractions of traded value, each from the date given (the Ministry
# of Finance / State Administration of Taxation announcements; dates are the days the new rate took effect):
# 0.3% both sides before 1997-05-12; 1997-05-12: 0.5%; 1998-06-12: 0.4%; 2001-11-16: 0.2%; 2005-01-24: 0.1%;
# 2007-05-30: 0.3%; 2008-04-24: 0.1%; 2008-09-19: 0.1% on the seller only; 2023-08-28: 0.05% on the seller only.
A_SHARE_STAMP_DUTY = (
    {"from": "1990-01-01", "buy": 0.003, "sell": 0.003},
    {"from": "1997-05-12", "buy": 0.005, "sell": 0.005},
    {"from": "1998-06-12", "buy": 0.004, "sell": 0.004},
    {"from": "2001-11-16", "buy": 0.002, "sell": 0.002},
    {"from": "2005-01-24", "buy": 0.001, "sell": 0.001},
    {"from": "2007-05-30", "buy": 0.003, "sell": 0.003},
    {"from": "2008-04-24", "buy": 0.001, "sell": 0.001},
    {"from": "2008-09-19", "buy": 0.0, "sell": 0.001},
    {"from": "2023-08-28", "buy": 0.0, "sell": 0.0005},
)
# China A-share transfer fee (过户费), both sides. Before 2015-08-01 only Shanghai charged it, by share count: 0.1% of
# face value (1 yuan per 1,000 shares), minimum 1 yuan per order; Shenzhen charged none (its fee was inside the
# handling fee). From 2015-08-01 (CSDC, 关于调整A股交易过户费收费标准的通知, 2015-07-30) both markets: 0.02 per mille
# (0.002%) of traded value; from 2022-04-29 (CSDC, halved): 0.01 per mille (0.001%).
A_SHARE_TRANSFER_FEE = (
    {"from": "1990-01-01", "rate": 0.0, "sh_per_share": 0.001, "sh_min": 1.0},
    {"from": "2015-08-01", "rate": 0.00002},
    {"from": "2022-04-29", "rate": 0.00001},
)
# Daily price limits (涨跌幅限制) by board as fractions of the previous close; a number, or a dated list of
# {from, pct} (pct 0 = no limit). Main board: none before 1996-12-16, 10% from then (SSE/SZSE 1996-12-13 notice).
# ChiNext: 10% until 2020-08-23, 20% from 2020-08-24 (创业板注册制改革, SZSE ChiNext trading rules art. 3.3.6).
# STAR: 20% from its first listings on 2019-07-22 (SSE STAR trading rules). Beijing Stock Exchange: 30% (BSE trading
# rules art. 3.3.4, also the NEEQ select tier before the BSE opened on 2021-11-15). Risk-warning (ST) stocks of a
# board whose own limit is 10%: 5% (main board; ChiNext before 2020-08-24), 10% from 2025-07-07 (SSE/SZSE notice
# of 2025-06-27); ST stocks of ChiNext (from 2020-08-24), STAR and BSE keep their board's limit.
A_SHARE_BOARD_LIMITS = {
    "main": [{"from": "1900-01-01", "pct": 0.0}, {"from": "1996-12-16", "pct": 0.10}],
    "chinext": [{"from": "1900-01-01", "pct": 0.10}, {"from": "2020-08-24", "pct": 0.20}],
    "star": 0.20,
    "bse": 0.30,
    "st": [{"from": "1900-01-01", "pct": 0.05}, {"from": "2025-07-07", "pct": 0.10}],
}


@dataclass(frozen=True)
class DataConfig:
    source: str = "embedded"          # embedded | synthetic | dataset | csv | parquet | cache
    path: Optional[str] = None        # dataset dir (dataset), file/dir (csv/parquet), cache dir (cache; default $JINGONG_DATA_DIR)
    start: Optional[str] = None       # first day of the reported period (YYYY-MM-DD); None = first day of data
    end: Optional[str] = None         # last day of the reported period; None = last day of data
    seed: int = 42                    # synthetic only
    size: str = "default"             # synthetic only: default | small
    effects: dict = _field(default_factory=dict)   # synthetic only: planted effects (docs/data.md)
    layout: str = "long"              # csv/parquet import: long | wide
    panel: str = "index"              # csv/parquet import: which panel the file fills
    field: str = "close"              # csv/parquet wide layout: which field the file holds
    columns: dict = _field(default_factory=dict)   # csv/parquet import: rename map {their_name: our_name}
    units: dict = _field(default_factory=dict)     # csv/parquet import: {field: factor} or {field: {code: factor, '*': default}}
    date_format: Optional[str] = None
    encoding: Optional[str] = None    # csv import: None = detect (UTF-8 / UTF-16 BOM / GB18030 = GBK)
    datasets: tuple = ()              # cache: which cached datasets to read (sw_l1, index, margin, ...); () = all
    embedded: tuple = ()              # any source: embedded real panels added to the dataset (etf, index), with their tables


@dataclass(frozen=True)
class BenchmarkConfig:
    panel: str = "index"
    code: str = "000300.SH"
    name: str = "CSI 300"
    field: str = "close"
    # price: a price index (labelled "no dividends reinvested"); total_return: the series already includes
    # dividends (e.g. CSI 300 全收益 H00300.CSI supplied by the user). A panel adj_factor is always applied.
    kind: str = "price"
    dividend_yield: str = ""          # "series.column": annual dividend yield (fraction) added day by day to the price return


@dataclass(frozen=True)
class SignalConfig:
    name: str = "hold"
    params: dict = _field(default_factory=dict)


@dataclass(frozen=True)
class ExecutionConfig:
    lag: int = 1                      # weights decided at close t trade at t+lag
    price: str = "close"              # close: at the close of t+lag; open: at the open of t+lag
    initial_cash: float = 10_000_000.0
    rebalance_threshold: float = 0.0  # trade only when max |target - last traded target| exceeds this
    allow_same_close: bool = False    # lag 0 at the close trades at the close the signal reads: warns unless true


@dataclass(frozen=True)
class CostConfig:
    commission: float = 0.00025       # per side, fraction of traded value
    min_commission: float = 5.0       # CNY per order (needs initial_cash)
    stamp_duty: Any = "a_share"       # a_share | none | list of {from: YYYY-MM-DD, buy: rate, sell: rate}
    transfer_fee: Any = "a_share"     # a_share (dated) | none | rate of traded value | list of {from, rate, sh_per_share, sh_min}
    cash_return: Any = 0.0            # 0 | annual rate (ACT/365) | {panel: etf, code: 511880.SH}: return on idle cash
    slippage_bps: float = 0.0         # buys fill at p*(1+s), sells at p*(1-s)


@dataclass(frozen=True)
class MarketRulesConfig:
    limits: str = "auto"              # auto (data flags if present, else board pct) | data | board | off
    board_limits: dict = _field(default_factory=lambda: dict(A_SHARE_BOARD_LIMITS))   # board: pct or [{from, pct}]
    default_board: str = "main"       # board of codes without a board in the data and no board-specific code prefix
    ipo_free_days: bool = True        # no limit in the first days after listing where the rules say so (needs list_date)
    suspension: bool = True           # no trade while suspended (flag or missing price)
    lot_size: int = 0                 # 0 = fractional shares; 100 = A-share board lot


@dataclass(frozen=True)
class MetricsConfig:
    # "auto" = the data's own trading days per year (engine.metrics.ppy); or a number: 250, 252 (US), 365, ...
    periods_per_year: Any = "auto"
    risk_free: float = 0.0            # annual, a fraction (0.03 = 3%), for Sharpe/Sortino
    primary_excess: str = "geometric"  # geometric (1+Rs)/(1+Rb)-1 | arithmetic Rs-Rb; both are always reported
    # warn when the signal's warm-up covers more than this share of the period: at 5% of a 16-year period (0.8 year)
    # a 1-sigma CSI 300 move (21% a year -> ~19%) shifts the annual excess by about 1%, more than rounding
    warmup_warning: float = 0.05


@dataclass(frozen=True)
class OutputConfig:
    dir: str = "results"
    last_n_days: int = 20


@dataclass(frozen=True)
class ReportConfig:
    language: str = "both"            # report.html labels: zh | en | both (Chinese with English beside)


@dataclass(frozen=True)
class StrategyConfig:
    name: str
    description: str = ""
    data: DataConfig = _field(default_factory=DataConfig)
    benchmark: BenchmarkConfig = _field(default_factory=BenchmarkConfig)
    signal: SignalConfig = _field(default_factory=SignalConfig)
    execution: ExecutionConfig = _field(default_factory=ExecutionConfig)
    costs: CostConfig = _field(default_factory=CostConfig)
    market_rules: MarketRulesConfig = _field(default_factory=MarketRulesConfig)
    metrics: MetricsConfig = _field(default_factory=MetricsConfig)
    output: OutputConfig = _field(default_factory=OutputConfig)
    report: ReportConfig = _field(default_factory=ReportConfig)
    sweep: dict = _field(default_factory=dict)
    # more benchmarks, each a signal run through the same backtester and costs, e.g.
    # [{name: SW L1 equal weight, signal: equal_weight}] -> reported next to the CSI 300
    extra_benchmarks: tuple = ()
    source_file: str = "<memory>"
