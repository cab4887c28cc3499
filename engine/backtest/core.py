"""The backtester: the only place that applies the execution lag, the tradability masks and the cost model.

Timing convention (all functions here):

* Weights are decided at the close of day t (a signal uses data up to close t). The simulation starts with all
  cash (``execution.initial_cash``) at the close of the **base day** = the last trading day before ``start``
  (the first row of the panel if there is none). Result rows run from the base day to ``end``.
* ``price: close``, lag L >= 0: the trade at the close of day i uses the weights decided at close i-L (warm-up rows
  before the period are used), so with L = 1 the first trade happens at the base day's close.
* ``price: open``, lag L >= 1: the trade at the open of day i uses the weights decided at close i-L; no trade on
  the base day.
* The base row is an anchor: ``value[0] = initial_cash`` and ``returns[0] = turnover[0] = costs[0] =
  cost_returns[0] = 0``. Trades at the base day's close are booked on the first period day: ``returns[1] =
  value[1] / initial_cash - 1`` and their costs/turnover are added to row 1. So ``(1 + returns).cumprod() ==
  value / initial_cash`` and holding 100% of the CSI 300 with lag 1 / close returns exactly the index's close-to-close
  returns from the base day's close, minus the entry costs on the first day.
* An all-NaN weight row = no new target (keep positions); other NaN weights count as 0. With
  ``rebalance_threshold`` = 0 the portfolio trades only when the target changes (constant weights = buy and hold).
  Rebalancing, blocked (pending) orders, lot rounding and cash-limited buys follow
  :mod:`engine.kernels.portfolio` (its docstring is the contract; ``tests/naive_portfolio.py`` is its spec).
* Costs are dated (:mod:`engine.backtest.costs`); tradability (price limits at the tick, suspensions) is
  :mod:`engine.backtest.limits`. Idle cash earns ``costs.cash_return``. A panel with an ``adj_factor`` field (adjusted
  price = raw close x adj_factor) pays each holder ``close_i (adj_i / adj_{i-1} - 1)`` per share into cash on the
  bar the factor changes, so positions earn the adjusted (total) return while shares, lots and limits stay raw.
"""
from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
from engine.backtest.costs import cash_growth, sh_share_mask, stamp_duty_schedule, transfer_schedule, validate_cost_specs
from engine.data.panel import Panel, _fmt_codes, _fmt_dates
from engine.errors import ConfigError, DataError
from engine.kernels.events import dense_events
from engine.kernels.portfolio import simulate_events, simulate_events_log
from engine.backtest.limits import mask_args, mask_outputs, tradability, values
from engine.kernels.prep import (event_codes, held_and_trades, log_positions, price_window, trade_count,
                                 weight_events, window_masks_into,
                                 window_open_masks_into)
from engine.backtest.weightpaths import SparsePaths, as_paths, clean_targets, lagged_targets

__all__ = ["BacktestResult", "backtest_dates", "run_backtest", "run_backtest_many", "stamp_duty_schedule",
           "tradability", "kernel_threads", "kernel_threads_default"]


@dataclass
class BacktestResult:
    """Date-indexed results from the base day to ``end`` (row 0 is the anchor; see the module docstring).

    ``returns``: daily close-to-close returns (row 0 = 0). ``value``: portfolio value at each close (row 0 =
    initial cash). ``weights_held``: actual end-of-day weights (position value / portfolio value) per code,
    computed on first access (from the positions, the forward-filled closes and the values the run kept) and then
    kept. ``turnover``: traded value / pre-trade value. ``costs``: commission + stamp + transfer + slippage,
    currency. ``cost_returns``: costs / previous value. ``positions``: shares per code. ``cash``: end-of-day cash.
    ``trades_count``: number of executed orders (one code on one day), including the base day. ``positions``,
    ``weights_held`` and ``cash`` show the actual holdings, so their row 0 is after any base-day trade.
    """

    returns: pd.Series
    value: pd.Series
    turnover: pd.Series
    costs: pd.Series
    cost_returns: pd.Series
    trades_count: int
    _positions: object = field(repr=False)     # a DataFrame, or a _PositionLog until read
    cash: pd.Series
    base_date: pd.Timestamp
    initial_cash: float
    _held: object = field(default=None, repr=False, compare=False)   # a DataFrame, or a _HeldInputs until read

    @property
    def positions(self) -> pd.DataFrame:
        if isinstance(self._positions, _PositionLog):
            self._positions = self._positions.frame()
        return self._positions

    @positions.setter
    def positions(self, frame: pd.DataFrame) -> None:
        self._positions = frame

    @property
    def weights_held(self) -> pd.DataFrame:
        if isinstance(self._held, _HeldInputs):
            self._held = self._held.frame()
        return self._held

    @weights_held.setter
    def weights_held(self, frame: pd.DataFrame) -> None:
        self._held = frame


class _PositionLog:
    """The kernel's positions of the traded codes as its change log (:func:`engine.kernels.portfolio.
    simulate_events_log`), or as the (T, n) array itself; the array is rebuilt once, on first use."""

    def __init__(self, T: int, n: int, log=None, pos=None, act=None, index=None, columns=None):
        self.T, self.n, self.log, self.pos = T, n, log, pos
        self.act, self.index, self.columns = act, index, columns

    def array(self) -> np.ndarray:
        if self.pos is None:
            pos = np.empty((self.n, self.T)).T          # numpy's allocation (huge pages), filled by the kernel
            log_positions(*self.log, pos)
            self.pos, self.log = pos, None
        return self.pos

    def trades(self) -> int:
        """Executed orders: the cells that differ from the row before (row -1 = none)."""
        if self.log is not None and not np.isnan(self.log[2]).any():
            return len(self.log[0])                    # one log entry per change
        return int(trade_count(self.array()))

    def frame(self) -> pd.DataFrame:
        return _wide(self.array(), self.act, self.index, self.columns)


@dataclass
class _HeldInputs:
    """What :attr:`BacktestResult.weights_held` is computed from: the kernel's positions of the traded codes
    ``pos`` (a :class:`_PositionLog`, (T, n)), their forward-filled closes ``close`` (T, n), the values at each
    close ``v_close`` (T,) and where the n codes go among the result's columns (``act``, all when n =
    len(columns))."""

    pos: _PositionLog
    close: np.ndarray
    v_close: np.ndarray
    act: np.ndarray
    index: pd.DatetimeIndex
    columns: pd.Index

    def frame(self) -> pd.DataFrame:
        held, _ = held_and_trades(self.pos.array(), self.close, self.v_close)
        return _wide(held, self.act, self.index, self.columns)


def _wide(a: np.ndarray, act: np.ndarray, index, columns) -> pd.DataFrame:
    """A (T, n) array of the codes ``act`` as a date x code frame over all ``columns`` (0 for the others)."""
    if len(act) < len(columns):
        full = np.zeros((len(index), len(columns)))
        full[:, act] = a
        a = full
    return pd.DataFrame(a, index=index, columns=columns, copy=False)


def backtest_dates(dates: pd.DatetimeIndex, start=None, end=None) -> pd.DatetimeIndex:
    """The result index: the base day (last date before ``start``, else the first date) through ``end``."""
    i0, i1 = _period(pd.DatetimeIndex(dates), start, end, "<dates>")
    return pd.DatetimeIndex(dates)[i0:i1 + 1]


def _period(dates: pd.DatetimeIndex, start, end, where: str) -> tuple[int, int]:
    start = dates[0] if start is None else pd.Timestamp(start)
    end = dates[-1] if end is None else pd.Timestamp(end)
    i_start = int(dates.searchsorted(start, side="left"))
    i1 = int(dates.searchsorted(end, side="right")) - 1
    i0 = max(i_start - 1, 0)
    if i1 - i0 < 1:
        raise DataError(f"{where}: the period {start:%Y-%m-%d}..{end:%Y-%m-%d} needs a base day and at least one "
                        f"trading day in the data ({dates[0]:%Y-%m-%d}..{dates[-1]:%Y-%m-%d}); widen it")
    return i0, i1


def _check_config(execution: ExecutionConfig, costs: CostConfig, rules: MarketRulesConfig) -> None:
    if execution.price not in ("close", "open"):
        raise ConfigError(f"execution.price: '{execution.price}' is not allowed; use close or open")
    lag = execution.lag
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise ConfigError(f"execution.lag must be an integer >= 0, got {lag!r}")
    if execution.price == "open" and lag < 1:
        raise ConfigError("execution.lag: price: open needs lag >= 1 "
                          "(a weight decided at close t trades at the open of t+lag)")
    if not execution.initial_cash > 0:
        raise ConfigError(f"execution.initial_cash must be > 0, got {execution.initial_cash!r}")
    checks = {"execution.rebalance_threshold": execution.rebalance_threshold, "costs.commission": costs.commission,
              "costs.min_commission": costs.min_commission,
              "costs.slippage_bps": costs.slippage_bps, "market_rules.lot_size": rules.lot_size}
    for key, v in checks.items():
        if not (np.isfinite(v) and v >= 0):
            raise ConfigError(f"{key} must be a finite number >= 0, got {v!r}")
    if costs.slippage_bps >= 10_000:
        raise ConfigError(f"costs.slippage_bps must be below 10000 (100%), got {costs.slippage_bps}")
    validate_cost_specs(costs)
    if execution.price == "close" and lag == 0 and not execution.allow_same_close:
        warnings.warn("execution.lag: 0 at price: close trades at the very close the signal reads (it assumes the "
                      "close is known before it is printed); use lag: 1, or set execution.allow_same_close: true "
                      "if that is intended", SameCloseWarning, stacklevel=3)


class SameCloseWarning(UserWarning):
    """``lag: 0`` with close execution: the signal and the trade use the same close."""


def _prepare(panel: Panel, i0: int, i1: int, execution, costs, rules, boards, dataset=None, cols=None) -> dict:
    """Kernel inputs for rows i0..i1 and columns ``cols`` (int indices, default all) of ``panel``: prices, masks,
    per-bar stamp duty and transfer fee, cash growth, distributions from ``adj_factor``, scalar costs. Read from
    the panel's arrays by :mod:`engine.kernels.prep` (no (T, N) pandas temporaries)."""
    cols = np.arange(len(panel.codes), dtype=np.int64) if cols is None else np.asarray(cols, dtype=np.int64)
    px_field = execution.price
    close_all = values(panel["close"])
    same = px_field == "close"
    px_all = close_all if same else values(panel[px_field])
    T = i1 - i0 + 1
    view = same and i0 == 0 and T == close_all.shape[0] and np.array_equal(cols, np.arange(close_all.shape[1])) \
        and close_all.flags.f_contiguous
    n = len(cols)
    rule = mask_args(panel, rules, boards, cols, i0, i1)
    close = np.empty((n, T)).T          # allocated by numpy (huge pages), filled by the kernel: see price_window_into
    exec_px = np.empty((0, 0)).T if view else np.empty((n, T)).T
    prev = np.full(n, np.nan)
    can_buy, can_sell = mask_outputs(rules, T, n)
    # the raw close itself when it is the window: NaN exactly where the filled close is (no copy)
    px_read = close_all if view else exec_px
    if rules.limits == "off":           # one mask for both sides (mask_outputs), no limit rule to compile
        window_open_masks_into(close_all, px_all, cols, i0, T, same, not view, close, exec_px, prev, px_read,
                               rule[-2], rule[-1], can_buy)
    else:
        window_masks_into(close_all, px_all, cols, i0, T, same, not view, close, exec_px, prev, px_read, *rule,
                          can_buy, can_sell)
    if view:
        exec_px = close_all
    dates = panel.dates[i0:i1 + 1]
    buy, sell = stamp_duty_schedule(dates, costs.stamp_duty)
    tf = transfer_schedule(dates, costs.transfer_fee)
    g = cash_growth(dates, costs.cash_return, dataset)
    div = np.zeros((0, 0))
    if "adj_factor" in panel:
        div = _distributions(panel, cols, i0, T, close)

    def c(a):   # C-contiguous and writeable (1-D inputs): one compiled kernel signature
        return np.require(a, dtype=np.float64 if a.dtype != bool else None, requirements=["C", "W"])

    def ro(a):  # the (T, n) inputs: Fortran-ordered and read-only, one compiled kernel signature (views are read-only)
        a = np.asfortranarray(a)
        a.flags.writeable = False
        return a

    return dict(exec_price=ro(exec_px), close=ro(close), can_buy=ro(can_buy), can_sell=ro(can_sell),
                trade_bar0=execution.price == "close",
                commission=float(costs.commission), min_commission=float(costs.min_commission),
                stamp_buy=c(buy), stamp_sell=c(sell), transfer=c(tf["rate"]), tshare=c(tf["sh_per_share"]),
                tshare_min=c(tf["sh_min"]),
                sh_mask=c(sh_share_mask(panel.codes[cols]) if tf["sh_per_share"].any() else np.zeros(len(cols))),
                cash_g=c(np.zeros(0) if g is None else g), div=ro(div),
                slippage=float(costs.slippage_bps) / 1e4, lot=float(rules.lot_size),
                initial_cash=float(execution.initial_cash), threshold=float(execution.rebalance_threshold))


def _distributions(panel: Panel, cols: np.ndarray, i0: int, T: int, close: np.ndarray) -> np.ndarray:
    """(T, n) cash per share paid into each bar of rows i0.. of columns ``cols`` from the adjustment factor (h10's
    docs/data.md: adjusted price = raw close x adj_factor): ``close_i * (adj_i / adj_{i-1} - 1)`` (``close``
    forward filled), so a held position earns exactly the adjusted return ``close_i adj_i / (close_{i-1}
    adj_{i-1})`` while trading, lots and limits use raw prices. A factor that falls (a negative distribution) is
    accepted as given; a non-positive factor is an error."""
    adj_all = values(panel["adj_factor"])[:, cols]
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(adj_all) & ~(adj_all > 0)
    if bad.any():
        col = panel.codes[cols][bad.any(axis=0)]
        raise DataError(f"{panel.source}: panel '{panel.name}' field adj_factor has values <= 0 for codes "
                        f"{_fmt_codes(col)}; an adjustment factor must be positive")
    lo = max(i0 - 1, 0)
    a, _, before = price_window(adj_all, adj_all, np.arange(len(cols), dtype=np.int64), lo, i0 + T - lo, True)
    prev_a = a[:-1] if lo < i0 else np.vstack([np.full((1, len(cols)), np.nan), a[:-1]])
    with np.errstate(invalid="ignore", divide="ignore"):
        div = close * (a[i0 - lo:] / prev_a - 1.0)
    return np.nan_to_num(div, nan=0.0, posinf=0.0, neginf=0.0)


def _force(dates: pd.DatetimeIndex, i0: int, i1: int, lag: int, rebalance_dates) -> np.ndarray:
    """(T,) bool: bar j is a forced rebalance when the weights it executes (decided at row j - lag) were decided
    on one of ``rebalance_dates`` (e.g. month ends: re-apply equal weights even if the list did not change)."""
    force = np.zeros(i1 - i0 + 1, dtype=np.bool_)
    if rebalance_dates is None or len(rebalance_dates) == 0:
        return force
    rd = pd.DatetimeIndex(rebalance_dates)
    bad = rd.difference(dates)
    if len(bad):
        raise DataError(f"rebalance dates {_fmt_dates(bad)} are not trading days of the panel")
    rows = dates.get_indexer(rd) + lag - i0
    rows = rows[(rows >= 0) & (rows < len(force))]
    force[rows] = True
    return force


_DEFAULT_THREADS: ContextVar[int | None] = ContextVar("jingong_kernel_threads_default", default=None)


@contextmanager
def kernel_threads_default(n: int):
    """Within this block (this thread's context only), :func:`kernel_threads` returns ``n`` when
    ``JINGONG_THREADS`` is unset. Used by executors whose workers already fill the cores (a Dask task runs in a
    worker thread beside one worker per core): one kernel thread per task, without changing any process-wide
    state; an explicit ``JINGONG_THREADS`` in the worker's environment still wins."""
    token = _DEFAULT_THREADS.set(int(n))
    try:
        yield
    finally:
        _DEFAULT_THREADS.reset(token)


def kernel_threads() -> int:
    """Threads for one multi-column backtest: ``JINGONG_THREADS`` if set (>= 1), else the default of the current
    :func:`kernel_threads_default` block, else the number of cores. The kernel releases the GIL, so column blocks
    run in parallel threads; every column is computed by the same code whatever the split, so results do not
    depend on it (bit for bit)."""
    raw = os.environ.get("JINGONG_THREADS", "")
    try:
        n = int(raw) if raw.strip() else (_DEFAULT_THREADS.get() or os.cpu_count() or 1)
    except ValueError:
        raise ConfigError(f"JINGONG_THREADS must be a whole number >= 1, got {raw!r}") from None
    if n < 1:
        raise ConfigError(f"JINGONG_THREADS must be a whole number >= 1, got {raw!r}")
    return n


_POOL: dict = {}            # the process's thread pool: {"key": (pid, size), "pool": ThreadPoolExecutor}
MIN_COLS_PER_THREAD = 64    # below this a thread's start-up costs more than it saves


def _pool(n: int):
    """One lazily created pool of ``n`` threads per process. A process forked from one that had a pool gets a new
    one (the parent's threads do not exist in the child; submitting to the inherited pool would wait forever)."""
    from concurrent.futures import ThreadPoolExecutor

    key = (os.getpid(), n)
    if _POOL.get("key") != key:
        old = _POOL.get("pool")
        if old is not None and _POOL["key"][0] == key[0]:
            old.shutdown(wait=False)
        _POOL["key"] = key
        _POOL["pool"] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="jingong-kernel")
    return _POOL["pool"]


def _run_kernel(events_of, prep, force, P, record=False, want=("returns", "value", "turnover", "costs")):
    """Run :func:`engine.kernels.portfolio.simulate_events` in anchored mode; returns the (P, T) outputs by name
    (``value`` always; ``returns``, ``turnover``/``costs`` as asked in ``want``; ``cash``, ``positions`` and ``raw0``
    when ``record``). ``events_of(p0, p1)`` gives the target events of columns p0..p1-1. Outputs are allocated here
    with numpy (transparent huge pages for large arrays); blocks of columns run in :func:`kernel_threads` threads
    (events and simulation of a block both in its thread)."""
    T, N = prep["close"].shape
    flows = "turnover" in want or "costs" in want
    asked = {"value": True, "returns": "returns" in want, "turnover": flows, "costs": flows, "cash": record}
    dummy = np.zeros((1, 1))
    out = {k: np.empty((P, T)) if on else dummy for k, on in asked.items()}
    out["positions"] = np.empty((P, T, N)) if record else np.zeros((1, 1, 1))
    out["raw0"] = np.empty(P)
    asked.update(positions=record, raw0=True)
    close_t = dummy if record else np.ascontiguousarray(prep["close"].T)

    def block(p0, p1):
        ptr, bars, ew = events_of(p0, p1)
        rows = {k: v[p0:p1] if asked[k] else v for k, v in out.items()}   # this block's rows of each output
        simulate_events(ptr, bars, ew, prep["exec_price"], prep["close"], close_t, prep["can_buy"], prep["can_sell"],
                        prep["trade_bar0"], prep["commission"], prep["min_commission"], prep["stamp_buy"],
                        prep["stamp_sell"], prep["transfer"], prep["tshare"], prep["tshare_min"], prep["sh_mask"],
                        prep["slippage"], prep["lot"], prep["initial_cash"], prep["threshold"], force,
                        prep["cash_g"], prep["div"], True, "returns" in want, flows, record, rows["value"],
                        rows["returns"], rows["turnover"], rows["costs"], dummy, dummy, rows["cash"],
                        rows["positions"], rows["raw0"])

    n = min(kernel_threads(), P // MIN_COLS_PER_THREAD)
    if n <= 1:
        block(0, P)
        return out
    edges = np.linspace(0, P, n + 1).astype(int)
    futures = [_pool(n).submit(block, int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    for f in futures:
        f.result()
    return out


def _run_logged(events, prep, force, cap=None, limit=None):
    """One portfolio through :func:`engine.kernels.portfolio.simulate_events_log` (anchored, every output):
    ``(outputs by name as from _run_kernel with record, _PositionLog)``. The log is sized from the events (each
    decision or forced rebalance may change every code it or the one before holds) and the run repeated with the
    exact size if that was short; past T x n / 2 changes (the log would outgrow the (T, n) positions) the dense
    positions are recorded instead. ``cap`` / ``limit``: that first size and that bound (tests)."""
    ptr, bars, ew = events
    T, n = prep["close"].shape
    out = {k: np.empty((1, T)) for k in ("value", "returns", "turnover", "costs", "cash")}
    out["raw0"] = np.empty(1)
    limit = max(T * n // 2, 1024) if limit is None else limit
    if cap is None:
        per_row = int((ew != 0).sum(axis=1).max()) if ew.size else 0
        cap = min(limit, 2 * (per_row + 1) * (len(bars) + int(force.sum()) + 1) + n + 1024)
    while True:
        log = (np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32), np.empty(cap))
        got = simulate_events_log(ptr, bars, ew, prep["exec_price"], prep["close"],
                                  np.ascontiguousarray(prep["close"].T), prep["can_buy"], prep["can_sell"],
                                  prep["trade_bar0"], prep["commission"], prep["min_commission"], prep["stamp_buy"],
                                  prep["stamp_sell"], prep["transfer"], prep["tshare"], prep["tshare_min"],
                                  prep["sh_mask"], prep["slippage"], prep["lot"], prep["initial_cash"],
                                  prep["threshold"], force, prep["cash_g"], prep["div"], True, True, out["value"],
                                  out["returns"], out["turnover"], out["costs"], out["cash"], out["raw0"], *log)
        if got <= cap:
            return out, _PositionLog(T, n, log=tuple(a[:got].copy() for a in log))
        if got > limit:
            dense = _run_kernel(lambda p0, p1: events, prep, force, 1, record=True)
            return dense, _PositionLog(T, n, pos=dense["positions"][0])
        cap = got


def _frame_events(weights, panel: Panel, start, end, execution):
    """``(i0, i1, ptr, bars, ev_w)``: the period and the target events of a date x code weight frame (checked on
    every row, traded or not)."""
    if not isinstance(weights, pd.DataFrame) or not isinstance(weights.index, pd.DatetimeIndex):
        raise DataError("weights: expected a DataFrame indexed by date (DatetimeIndex) with one column per code, "
                        "or a SparsePaths")
    if weights.index.has_duplicates or weights.columns.has_duplicates:
        raise DataError(f"weights: duplicate dates {_fmt_dates(weights.index[weights.index.duplicated()])} or codes "
                        f"{_fmt_codes(weights.columns[weights.columns.duplicated()])}; keep one of each")
    dates, codes = panel.dates, panel.codes
    bad_codes = weights.columns.difference(codes)
    if len(bad_codes):
        raise DataError(f"weights: codes {_fmt_codes(bad_codes)} are not in panel '{panel.name}' ({panel.source}); "
                        "drop them or load data that has them")
    bad_dates = weights.index.difference(dates)
    if len(bad_dates):
        raise DataError(f"weights: dates {_fmt_dates(bad_dates)} are not trading days of panel '{panel.name}' "
                        f"({panel.source}); align the weights to the panel's dates")
    aligned = weights.index.equals(dates)
    try:
        frame_w = weights if aligned else weights.reindex(index=dates)
        numeric = all(pd.api.types.is_numeric_dtype(d) for d in set(frame_w.dtypes.tolist()))
        w = values(frame_w) if numeric else frame_w.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise DataError("weights: values must be numbers (fractions of portfolio value, 0.5 = 50%)") from None
    if w.dtype != np.float64:
        w = w.astype(np.float64)
    try:
        i0, i1 = _period(dates, start, end, f"{panel.source}: panel '{panel.name}'")
    except DataError:       # bad weights are reported first
        clean_targets(w[:, None, :].copy(), lambda m: _fmt_dates(dates[m[:, 0]]))
        raise
    lag = int(execution.lag)
    trade_bar0 = execution.price == "close"
    ptr, bars, ew, ok = weight_events(w, i0 - lag, i1 - i0 + 1, trade_bar0)
    if not ok:      # a row not clearly valid: the numpy check names it, or (borderline) the reference clean
        clean_targets(w[:, None, :].copy(), lambda m: _fmt_dates(dates[m[:, 0]]))   # every row, also never traded
        ptr, bars, ew = dense_events(lagged_targets(w[:, None, :], dates, i0, i1, lag), trade_bar0)
    return i0, i1, ptr, bars, ew


def run_backtest(weights, panel: Panel, start=None, end=None,
                 execution: ExecutionConfig = ExecutionConfig(), costs: CostConfig = CostConfig(),
                 rules: MarketRulesConfig = MarketRulesConfig(), boards=None,
                 rebalance_dates=None, dataset=None) -> BacktestResult:
    """Backtest one target-weight path; timing and base-row conventions in the module docstring.

    ``weights``: date x code, decided at close t, values in [0, 1] with row sums <= 1 (NaN = no view; an all-NaN
    row = keep positions); may start long before ``start`` (warm-up). Its dates and codes must be in ``panel``
    (which needs ``close``, and ``open`` for price: open). Or one :class:`~engine.backtest.weightpaths.SparsePaths`
    (sparse rebalancing: decision dates and the codes held), which gives the same result as its dense frame.
    ``boards``: code -> board name, or an info frame (code, board, list_date, st_start, st_end, issue_price), for
    the board limit rule (:mod:`engine.backtest.limits`). ``dataset``: needed only for ``costs.cash_return`` given as a
    panel code. ``rebalance_dates``: decision dates on which the
    target is re-applied even if unchanged (scheduled rebalancing; otherwise only a changed target trades).
    Returns a :class:`BacktestResult` in float64 from the
    base day to ``end``. Deterministic.
    """
    _check_config(execution, costs, rules)
    panel.fields.values()    # a lazily loaded panel: every field read and validated, as a run has always done
    dates = panel.dates
    if isinstance(weights, SparsePaths):
        columns = panel.codes if weights.columns is None else weights.columns
        col_idx = panel.codes.get_indexer(columns)
        if weights.shape[1] != 1 or weights.shape[0] != len(dates) or weights.shape[2] != len(columns):
            raise DataError(f"weights: expected one sparse path aligned to panel '{panel.name}' (dates={len(dates)}, "
                            f"codes={len(columns)}), got shape {weights.shape}")
        if (col_idx < 0).any():
            raise DataError(f"weights: codes {_fmt_codes(columns[col_idx < 0])} are not in panel '{panel.name}' "
                            f"({panel.source}); drop them or load data that has them")
        i0, i1 = _period(dates, start, end, f"{panel.source}: panel '{panel.name}'")
        ptr, bars, ew = weights.events(dates, i0, i1, int(execution.lag), execution.price == "close")
    else:
        i0, i1, ptr, bars, ew = _frame_events(weights, panel, start, end, execution)
        columns, col_idx = weights.columns, panel.codes.get_indexer(weights.columns)
    lag = int(execution.lag)
    active = event_codes(ew)
    if not active.any():
        active[:1] = True
    if 2 * active.sum() >= len(active) and np.array_equal(col_idx, np.arange(len(panel.codes))):
        active[:] = True         # most codes trade: the panel's own arrays serve without a column gather
    act = np.flatnonzero(active)
    events = (ptr, bars, np.ascontiguousarray(ew[:, act]))
    cols = col_idx[act]
    prep = _prepare(panel, i0, i1, execution, costs, rules, boards, dataset, cols=cols)
    force = _force(dates, i0, i1, lag, rebalance_dates)
    idx = dates[i0:i1 + 1]
    out, pos = _run_logged(events, prep, force)
    v_anchor, returns, turnover, cost_b = (out[k][0] for k in ("value", "returns", "turnover", "costs"))
    pos.act, pos.index, pos.columns = act, idx, columns
    v_close = v_anchor.copy()
    v_close[0] = out["raw0"][0]                  # the value at the base day's close, after any base-day trade
    trades = pos.trades()
    held_in = (pos, prep["close"], v_close)
    del prep
    cost_r = np.zeros_like(cost_b)
    cost_r[1:] = cost_b[1:] / v_anchor[:-1]

    def series(a, name):
        return pd.Series(a, index=idx, name=name)

    return BacktestResult(
        returns=series(returns, "returns"), value=series(v_anchor, "value"),
        turnover=series(turnover, "turnover"), costs=series(cost_b, "costs"),
        cost_returns=series(cost_r, "cost_returns"),
        trades_count=int(trades), _positions=pos, cash=series(out["cash"][0], "cash"),
        base_date=idx[0], initial_cash=float(execution.initial_cash),
        _held=_HeldInputs(*held_in, act, idx, columns))


def run_backtest_many(weights3d, panel: Panel, start=None, end=None,
                      execution: ExecutionConfig = ExecutionConfig(), costs: CostConfig = CostConfig(),
                      rules: MarketRulesConfig = MarketRulesConfig(), boards=None,
                      rebalance_dates=None, outputs=("returns", "value", "turnover", "costs"), dataset=None) -> dict:
    """Backtest P weight paths at once (sweeps): one mask/price preparation, one kernel call.

    ``weights3d``: (T_all, P, N) float array aligned to ``panel.dates`` x (portfolio) x ``panel.codes``, same
    meaning and timing as :func:`run_backtest` weights, or a weight-paths object (:mod:`engine.backtest.weightpaths`, e.g.
    the compact ``CrossPaths`` of an ``ma_timing`` sweep, or ``SparsePaths``: P portfolios rebalanced on
    a few dates, in memory proportional to the decisions). Returns a dict of (T, P) float64 arrays, by default
    ``returns``, ``value``, ``turnover``, ``costs`` (currency) (``outputs`` may ask for fewer; ``value`` always
    comes), whose rows are ``backtest_dates(panel.dates, start, end)``, with the base-row conventions of
    :func:`run_backtest` (cost returns = ``costs[1:] / value[:-1]``, not materialised). The arrays are transposed
    views of the kernel's (P, T) rows (Fortran order: each column contiguous). Weight values are checked on the
    rows that get traded only (the full array is not copied).
    Memory: one (T, P) array per output, plus for a dense input one cleaned (T, P, N) copy of the traded rows.
    """
    _check_config(execution, costs, rules)
    unknown = set(outputs) - {"returns", "value", "turnover", "costs"}
    if unknown:
        raise ValueError(f"run_backtest_many: unknown outputs {sorted(unknown)}")
    dates = panel.dates
    paths = as_paths(weights3d)
    shape = tuple(paths.shape)
    if len(shape) != 3 or shape[0] != len(dates) or shape[2] != len(panel.codes):
        raise DataError(f"weights3d: expected shape (dates={len(dates)}, P, codes={len(panel.codes)}) aligned to panel "
                        f"'{panel.name}', got {shape}")
    i0, i1 = _period(dates, start, end, f"{panel.source}: panel '{panel.name}'")
    prep = _prepare(panel, i0, i1, execution, costs, rules, boards, dataset)
    force = _force(dates, i0, i1, int(execution.lag), rebalance_dates)
    lag = int(execution.lag)

    def events_of(p0, p1):
        part = paths if (p0, p1) == (0, shape[1]) else paths.take(range(p0, p1))
        return part.events(dates, i0, i1, lag, prep["trade_bar0"])

    out = _run_kernel(events_of, prep, force, shape[1], want=tuple(outputs))
    return {k: out[k].T for k in ("returns", "value", "turnover", "costs") if k == "value" or k in outputs}
