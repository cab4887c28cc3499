"""Benchmark: our target-weight kernel vs vectorbt ``Portfolio.from_orders`` on the real CSI 300 (one process).

W1    = one moving-average timing backtest (MA 10 / 60) over all 4,857 days.
W1000 = 1,000 portfolio columns (MA short 5..24 x long 30..79) over the same days.

Ours is timed through the public wrappers (``run_backtest`` for W1, ``run_backtest_many`` for W1000 on a dense
(T, P, 1) weight array: masks, lag, weight checks, target events, cost model and result assembly included, column
blocks in ``JINGONG_THREADS`` threads) and the bare kernel call (one thread, events given); vectorbt through ``from_orders`` +
``.value()``. Everything warm (after one call); the first call of our kernel is reported as compile time
(``--cold-cache`` points numba at an empty cache directory so it is a true compile for both libraries).
Costs: proportional commission 0.025% + transfer 0.001% (vectorbt ``fees=0.00026``), no minimum, no stamp duty,
lag 1 at the close, no limits, fractional shares, so both must agree; the value series are checked to 1e-9.

W5    = stock-level portfolios (issue 17 item 3), ``--w5``: synthetic stocks (20% listing late, a few suspensions),
        T = 4,857 days, N = 300 ... 5,000, monthly top-10% equal weight, fee 0.025%, lag 1 at the close. Per N:
        ours ``run_backtest`` (frictionless-comparable, and with A-share rules: lots of 100, board limits,
        suspensions, stamp duty, transfer fee, minimum commission), ``run_backtest_many`` on the dense (T, 1, N)
        weights, vectorbt ``from_orders(size_type='targetpercent', group_by=True, cash_sharing=True)`` on the same
        weights (up to ``--vbt-max-n``: about 73 s at N = 5,000), and P = 100 sparse portfolios over 1,000 stocks
        (``SparsePaths``). Calibration: a minimal dedicated numba kernel for the same work (one pass over the dense
        weights, rebalance at the close after each decision, value at every close), timed alternately with ours in
        the same child process; ratios ours / floor and vectorbt / ours. Each case runs in its own child process
        (peak RSS = its ru_maxrss, the inputs included).

Usage: python bench/bench_backtest.py [--cold-cache] [--repeat N]
       python bench/bench_backtest.py --w5 [--w5-sizes 300,1000,3000,5000] [--vbt-max-n 1000] [--skip-sparse]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    return f"nproc={nproc}, CPU={model}, python {platform.python_version()}"


def _best(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold-cache", action="store_true", help="use an empty NUMBA_CACHE_DIR (true compile times)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--w5", action="store_true", help="run W5 (stock-level portfolios) instead of W1/W1000")
    ap.add_argument("--w5-sizes", default="300,1000,3000,5000", help="W5 stock counts (comma separated)")
    ap.add_argument("--vbt-max-n", type=int, default=1000, help="W5: run vectorbt only up to this N")
    ap.add_argument("--skip-sparse", action="store_true", help="W5: skip the P = 100 sparse case")
    ap.add_argument("--w5-case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.w5_case:
        import json
        kind, n, npy = args.w5_case.split(":", 2)
        print(json.dumps(w5_case(kind, int(n), args.repeat, npy)))
        return
    if args.w5:
        w5_main(args)
        return
    if args.cold_cache:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="jingong-bench-numba-")

    import numpy as np
    import pandas as pd

    from engine import backtest as bt
    from engine.backtest import core as bt_core
    from engine.kernels.events import dense_events
    from engine.backtest.weightpaths import lagged_targets
    from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig
    from engine.data.embedded import CSI300_CODE, csi300_panel

    panel = csi300_panel()
    close = panel["close"][CSI300_CODE]
    c = close.to_numpy()
    T = len(c)
    cs = np.concatenate([[0.0], np.cumsum(c)])

    def ma(n):
        out = np.full(T, np.nan)
        out[n - 1:] = (cs[n:] - cs[:-n]) / n
        return out

    pairs = [(s, l) for s in range(5, 25) for l in range(30, 80)]
    W = np.empty((T, len(pairs), 1))
    for j, (s, l) in enumerate(pairs):
        W[:, j, 0] = (ma(s) > ma(l)).astype(float)
    w1 = pd.DataFrame({CSI300_CODE: (ma(10) > ma(60)).astype(float)}, index=panel.dates)

    ex = ExecutionConfig(lag=1, price="close", initial_cash=1e7)
    costs = CostConfig(commission=0.00025, min_commission=0.0, stamp_duty="none", transfer_fee=0.00001)
    rules = MarketRulesConfig(limits="off", lot_size=0)
    print(f"machine: {_machine()}; numba cache: {'cold (empty dir)' if args.cold_cache else 'default'}")
    print(f"work: T={T} days, W1 = 1 column, W1000 = {len(pairs)} columns, {W.mean():.3f} mean weight")

    t = time.perf_counter()
    bt.run_backtest(w1, panel, None, None, ex, costs, rules)
    compile_s = time.perf_counter() - t
    t_w1, r1 = _best(lambda: bt.run_backtest(w1, panel, None, None, ex, costs, rules), args.repeat)
    t_w1000, rm = _best(lambda: bt.run_backtest_many(W, panel, None, None, ex, costs, rules), args.repeat)
    # the kernel alone, one thread: dense weights already turned into target events; the four outputs allocated
    prep = bt_core._prepare(panel, 0, T - 1, ex, costs, rules, None)
    ev = dense_events(lagged_targets(W, panel.dates, 0, T - 1, 1), True)
    ev1 = dense_events(lagged_targets(np.ascontiguousarray(W[:, :1]), panel.dates, 0, T - 1, 1), True)
    force = np.zeros(T, dtype=bool)
    threads = os.environ.get("JINGONG_THREADS")
    os.environ["JINGONG_THREADS"] = "1"
    t_k1000, _ = _best(lambda: bt_core._run_kernel(lambda a, b: ev, prep, force, W.shape[1]), args.repeat)
    t_k1, _ = _best(lambda: bt_core._run_kernel(lambda a, b: ev1, prep, force, 1), args.repeat)
    if threads is None:
        del os.environ["JINGONG_THREADS"]
    else:
        os.environ["JINGONG_THREADS"] = threads

    t = time.perf_counter()
    import vectorbt as vbt
    import_vbt_s = time.perf_counter() - t

    def vbt_value(weights: pd.DataFrame) -> pd.DataFrame:
        size = weights.shift(1)
        size = size.where(size.ne(size.shift(1)))          # an order only where the lagged weight changes
        pf = vbt.Portfolio.from_orders(close, size=size, size_type="targetpercent", direction="longonly",
                                       fees=0.00026, init_cash=1e7, freq="D")
        return pf.value()

    W1000_df = pd.DataFrame(W[:, :, 0], index=panel.dates, columns=pd.RangeIndex(len(pairs), name="combo"))
    t = time.perf_counter()
    vbt_value(w1)
    vbt_first_s = time.perf_counter() - t
    t_v1, v1 = _best(lambda: vbt_value(w1), args.repeat)
    vbt_value(W1000_df)
    t_v1000, v1000 = _best(lambda: vbt_value(W1000_df), max(1, min(args.repeat, 3)))

    err1 = float(np.max(np.abs(r1.value.to_numpy()[1:] / v1.to_numpy().ravel()[1:] - 1)))
    err1000 = float(np.max(np.abs(rm["value"][1:] / v1000.to_numpy()[1:] - 1)))
    ms = lambda s: f"{s * 1e3:9.2f} ms"  # noqa: E731
    print(f"ours   first call (compile or cache load): {compile_s:7.2f} s")
    print(f"vbt    import {import_vbt_s:.2f} s, first from_orders call (compile or cache load): {vbt_first_s:.2f} s")
    print(f"W1     ours run_backtest {ms(t_w1)} | kernel only {ms(t_k1)} | vectorbt {ms(t_v1)} | "
          f"ratio vbt/ours {t_v1 / t_w1:7.1f}x | max rel value diff {err1:.1e}")
    print(f"W1000  ours run_backtest_many {ms(t_w1000)} | kernel only {ms(t_k1000)} | vectorbt {ms(t_v1000)} | "
          f"ratio vbt/ours {t_v1000 / t_w1000:7.1f}x | max rel value diff {err1000:.1e}")
    ok = err1 < 1e-9 and err1000 < 1e-9
    print("values agree to 1e-9:", "yes" if ok else "NO")
    sys.exit(0 if ok else 1)


# ------------------------------------------------------------------------------------------------------------ W5
W5_T = 4857
W5_FEE = 0.00025


def w5_market(N: int, T: int = W5_T, seed: int = 5):
    """Synthetic stocks (labelled: ``Panel.source = 'synthetic W5'``), deterministic from ``seed``: random walks at
    the 0.01 tick; 20% list late (no close before); 2% have one suspension of 1-20 days (``suspended`` flag and no
    close), never on an execution day (the day after a month end), so that vectorbt, which skips an order without a
    price, fills the same orders as ours. Weights: at each month end the top 10% by 20-day momentum among the
    names with a close, equal weight 0.99 / n (a 1% cash buffer covers the fees, so neither side scales its buys).
    Returns ``(panel, weights frame, month ends, execution rows)``."""
    import numpy as np
    import pandas as pd

    from engine.data.panel import Panel

    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(pd.bdate_range("2006-01-04", periods=T), name="date")
    codes = pd.Index([f"{600000 + k:06d}.SH" if k % 2 else f"{k:06d}.SZ" for k in range(N)])
    close = np.round(10 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, (T, N)), axis=0)), 2)
    np.maximum(close, 0.01, out=close)
    late = np.flatnonzero(rng.random(N) < 0.2)
    listed = np.zeros(N, dtype=np.int64)
    listed[late] = rng.integers(1, T // 2, len(late))
    close[np.arange(T)[:, None] < listed[None, :]] = np.nan
    month = dates.to_period("M")
    ends = np.flatnonzero(np.append(month[1:] != month[:-1], False))
    ends = ends[ends >= 20]
    exec_rows = ends + 1
    susp = np.zeros((T, N), dtype=bool)
    for k in rng.choice(N, max(1, N // 50), replace=False):
        a = int(rng.integers(listed[k] + 1, T - 30))
        susp[a:a + int(rng.integers(1, 21)), k] = True
    susp[exec_rows] = False
    close[susp] = np.nan
    ff = pd.DataFrame(close).ffill().to_numpy()
    W = np.full((T, N), np.nan)
    top = max(1, N // 10)
    for i in ends:
        mom = ff[i] / ff[i - 20] - 1
        ok = np.isfinite(mom) & np.isfinite(close[i])
        mom[~ok] = -np.inf
        pick = np.argsort(-mom, kind="stable")[:min(top, int(ok.sum()))]
        W[i] = 0.0
        W[i, pick] = 0.99 / len(pick)
    frame = lambda a: pd.DataFrame(a, index=dates, columns=codes)  # noqa: E731
    panel = Panel("stocks", {"close": frame(close), "suspended": frame(susp)}, "synthetic W5")
    return panel, frame(W), dates[ends], exec_rows


def _calibration_kernel():
    import numba
    import numpy as np

    @numba.njit(nogil=True, cache=True)
    def floor(w, close, fee, cash0):
        """The dense-weights floor: one pass over the (T, N) weights (any layout) to find the decision rows, then
        at the close after each decision rebalance to the weights (value before trading, sells and buys, a
        proportional fee), and the value at every close from the held names only."""
        T, N = close.shape
        decided = np.zeros(T, dtype=np.bool_)
        for k in range(N):
            for r in range(T):
                if not decided[r] and not np.isnan(w[r, k]):
                    decided[r] = True
        pos = np.zeros(N)
        held = np.empty(N, dtype=np.int64)
        n_held = 0
        cash = cash0
        value = np.empty(T)
        value[0] = cash0
        for i in range(1, T):
            if decided[i - 1]:
                V = cash
                for h in range(n_held):
                    V += pos[held[h]] * close[i, held[h]]
                for k in range(N):               # sells first, then buys
                    x = w[i - 1, k]
                    tgt = 0.0 if np.isnan(x) else x * V / close[i, k]
                    if tgt < pos[k]:
                        q = pos[k] - tgt
                        cash += q * close[i, k] - fee * q * close[i, k]
                        pos[k] = tgt
                for k in range(N):
                    x = w[i - 1, k]
                    tgt = 0.0 if np.isnan(x) else x * V / close[i, k]
                    if tgt > pos[k]:
                        q = tgt - pos[k]
                        cash -= q * close[i, k] + fee * q * close[i, k]
                        pos[k] = tgt
                n_held = 0
                for k in range(N):
                    if pos[k] != 0.0:
                        held[n_held] = k
                        n_held += 1
            v = cash
            for h in range(n_held):
                v += pos[held[h]] * close[i, held[h]]
            value[i] = v
        return value

    return floor


def _rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _call_peak(fn) -> tuple[float, float]:
    """``(resident before, peak during)`` one call of ``fn``, MB: the kernel's peak-RSS mark (VmHWM) is reset
    through /proc/self/clear_refs first, so the peak is this call's, with the inputs already resident."""
    import gc
    gc.collect()
    before = _status_mb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return before, float("nan")
    fn()
    return before, _status_mb("VmHWM")


def w5_case(kind: str, N: int, repeat: int, out_npy: str) -> dict:
    """One W5 case in this (child) process; peak RSS = this process's ru_maxrss (data included)."""
    import numpy as np
    import pandas as pd

    T = W5_T
    panel, w, ends, exec_rows = w5_market(N)
    res = {"kind": kind, "N": N, "rss_data_mb": _rss_mb()}
    if kind == "vbt":
        import vectorbt as vbt
        close_v = panel["close"].ffill().fillna(1.0)            # never traded before listing (weight 0 there)
        size = pd.DataFrame(np.nan, index=w.index, columns=w.columns)
        size.iloc[exec_rows] = w.iloc[exec_rows - 1].to_numpy()

        def run():
            pf = vbt.Portfolio.from_orders(close_v, size=size, size_type="targetpercent", direction="longonly",
                                           group_by=True, cash_sharing=True, call_seq="auto", fees=W5_FEE,
                                           init_cash=1e7, freq="D")
            return pf.value().to_numpy()
    else:
        from engine.backtest import run_backtest, run_backtest_many
        from engine.backtest.weightpaths import SparsePaths
        from engine.config_schema import CostConfig, ExecutionConfig, MarketRulesConfig

        ex = ExecutionConfig(lag=1, price="close", initial_cash=1e7)
        if kind == "ours_a":
            costs, rules = CostConfig(commission=W5_FEE), MarketRulesConfig(limits="board", lot_size=100)
        else:
            costs = CostConfig(commission=W5_FEE, min_commission=0.0, stamp_duty="none", transfer_fee="none")
            rules = MarketRulesConfig(limits="off", lot_size=0)
        if kind in ("ours", "ours_a"):
            def run():
                return run_backtest(w, panel, None, None, ex, costs, rules, rebalance_dates=ends).value.to_numpy()
        elif kind == "many":
            def run():
                return run_backtest_many(w.to_numpy()[:, None, :], panel, None, None, ex, costs, rules,
                                         rebalance_dates=ends)["value"][:, 0]
        else:                                                     # sparse: P = 100 lookbacks 5..104 days
            ff = panel["close"].ffill().to_numpy()
            rows, ks, ws, row_ptr, ptr = [], [], [], [0], [0]
            top = max(1, N // 10)
            for p in range(100):
                look = 5 + p
                for i in exec_rows - 1:
                    if i < look:
                        continue
                    mom = ff[i] / ff[i - look] - 1
                    ok = np.isfinite(mom)
                    mom[~ok] = -np.inf
                    pick = np.sort(np.argsort(-mom, kind="stable")[:min(top, int(ok.sum()))])
                    rows.append(i)
                    ks.append(pick)
                    ws.append(np.full(len(pick), 0.99 / max(len(pick), 1)))
                    row_ptr.append(row_ptr[-1] + len(pick))
                ptr.append(len(rows))
            sp = SparsePaths(ptr, rows, row_ptr, np.concatenate(ks), np.concatenate(ws), T, N, dates=w.index)
            res["sparse_mb"] = sum(a.nbytes for a in (sp.ptr, sp.rows, sp.row_ptr, sp.codes, sp.weights)) / 2**20
            res["dense_gb"] = T * 100 * N * 8 / 1e9

            def run():
                return run_backtest_many(sp, panel, None, None, ex, costs, rules, rebalance_dates=ends)["value"]
    floor = None
    if kind in ("ours", "many"):
        floor = _calibration_kernel()
        close_ff = np.ascontiguousarray(panel["close"].ffill().to_numpy())
        wv = w.to_numpy()
    times, ftimes = [], []
    value = run()                                               # warm (compile or cache load)
    for _ in range(repeat):
        t = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - t)
    res["rss_peak_mb"] = _rss_mb()
    res["rss_before_mb"], res["call_peak_mb"] = _call_peak(run)
    res["TN_mb"] = T * N * 8 / 2**20
    if floor is not None:
        fv = floor(wv, close_ff, W5_FEE, 1e7)
        for _ in range(repeat):                                 # alternate: ours, floor, ours, floor ...
            t = time.perf_counter()
            fv = floor(wv, close_ff, W5_FEE, 1e7)
            ftimes.append(time.perf_counter() - t)
            t = time.perf_counter()
            value = run()
            times.append(time.perf_counter() - t)
        res["floor_s"] = min(ftimes)
        res["floor_rel_diff"] = float(np.max(np.abs(fv[1:] / value[1:] - 1)))
    res["time_s"] = min(times)
    res["load"] = os.getloadavg()[0]
    np.save(out_npy, value)
    return res


def w5_main(args) -> None:
    import json

    import numpy as np

    sizes = [int(x) for x in args.w5_sizes.split(",")]
    print(f"machine: {_machine()}")
    print(f"W5: synthetic stocks (engine-free generator in this file), T={W5_T}, monthly top-10% equal weight "
          f"(0.99 in total), fee {W5_FEE:.3%}, lag 1 at the close; each case in its own child process, best of "
          f"{args.repeat} warm calls; memory = the peak RSS during one warm call (VmHWM reset "
          f"first) against the RSS before it (inputs resident), in (T, N) float64 arrays; process peak = ru_maxrss "
          f"(includes the generator); vectorbt up to N={args.vbt_max_n} (--vbt-max-n)")
    cases = [(k, n) for n in sizes for k in ("ours", "ours_a", "many")] + \
            [(k, n) for n in sizes if n <= args.vbt_max_n for k in ("vbt",)]
    if not args.skip_sparse:
        cases.append(("sparse", 1000))
    got = {}
    with tempfile.TemporaryDirectory() as d:
        for kind, n in cases:
            npy = str(Path(d) / f"{kind}_{n}.npy")
            cmd = [sys.executable, __file__, "--w5-case", f"{kind}:{n}:{npy}", "--repeat", str(args.repeat)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"  {kind} N={n}: FAILED\n{proc.stderr[-2000:]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["value"] = np.load(npy)
            got[(kind, n)] = r
    ok = True
    mem = lambda r: (f"peak {r['call_peak_mb']:.0f} MB during a call, {r['rss_before_mb']:.0f} MB resident "  # noqa: E731
                     f"before = +{(r['call_peak_mb'] - r['rss_before_mb']) / r['TN_mb']:.1f} (T, N) arrays; "
                     f"process peak {r['rss_peak_mb']:.0f} MB")
    for n in sizes:
        line = [f"N={n:5d}"]
        o, a, m, v = (got.get((k, n)) for k in ("ours", "ours_a", "many", "vbt"))
        if o:
            line.append(f"run_backtest {o['time_s'] * 1e3:8.1f} ms = {o['time_s'] / o['floor_s']:.1f}x the floor "
                        f"{o['floor_s'] * 1e3:.1f} ms (alternated in one process) [load {o['load']:.2f}]; {mem(o)}")
        if a:
            line.append(f"A-share rules {a['time_s'] * 1e3:8.1f} ms = {a['time_s'] / o['floor_s']:.1f}x the floor "
                        f"(floor from the run_backtest child) [load {a['load']:.2f}]; {mem(a)}" if o else "")
        if m:
            line.append(f"run_backtest_many {m['time_s'] * 1e3:8.1f} ms = {m['time_s'] / m['floor_s']:.1f}x its "
                        f"floor {m['floor_s'] * 1e3:.1f} ms [load {m['load']:.2f}]; {mem(m)}")
        if v:
            err = float(np.max(np.abs(o["value"][1:] / v["value"][1:] - 1))) if o else float("nan")
            errm = float(np.max(np.abs(m["value"][1:] / v["value"][1:] - 1))) if m else float("nan")
            ok &= err < 1e-9 and errm < 1e-9
            line.append(f"vectorbt {v['time_s'] * 1e3:9.1f} ms (process peak {v['rss_peak_mb']:.0f} MB) = "
                        f"{v['time_s'] / o['time_s']:.1f}x run_backtest, {v['time_s'] / m['time_s']:.1f}x "
                        f"run_backtest_many; max rel value diff {err:.1e} / {errm:.1e} [load {v['load']:.2f}]")
        else:
            line.append("vectorbt skipped (--vbt-max-n)")
        if o:
            line.append(f"floor vs ours max rel value diff {o['floor_rel_diff']:.1e}")
            ok &= o["floor_rel_diff"] < 1e-9 and bool(np.array_equal(o["value"], m["value"]) if m else True)
        print("\n    ".join(x for x in line if x))
    s = got.get(("sparse", 1000))
    if s:
        print(f"P=100 x N=1000 sparse targets (SparsePaths, 100 lookbacks): run_backtest_many "
              f"{s['time_s'] * 1e3:.1f} ms; {mem(s)}; "
              f"targets {s['sparse_mb']:.1f} MB vs {s['dense_gb']:.2f} GB dense (T, P, N) [load {s['load']:.2f}]")
    print("values agree (ours = vectorbt to 1e-9 where run, = floor to 1e-9, run_backtest = run_backtest_many "
          "exactly):", "yes" if ok else "NO")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
