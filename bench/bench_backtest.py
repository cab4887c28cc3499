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

Usage: python bench/bench_backtest.py [--cold-cache] [--repeat N]
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
    args = ap.parse_args()
    if args.cold_cache:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="jingong-bench-numba-")

    import numpy as np
    import pandas as pd

    from engine import backtest as bt
    from engine.kernels.portfolio import dense_events
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
    prep = bt._prepare(panel, 0, T - 1, ex, costs, rules, None)
    ev = dense_events(lagged_targets(W, panel.dates, 0, T - 1, 1), True)
    ev1 = dense_events(lagged_targets(np.ascontiguousarray(W[:, :1]), panel.dates, 0, T - 1, 1), True)
    force = np.zeros(T, dtype=bool)
    threads = os.environ.get("JINGONG_THREADS")
    os.environ["JINGONG_THREADS"] = "1"
    t_k1000, _ = _best(lambda: bt._run_kernel(lambda a, b: ev, prep, force, W.shape[1]), args.repeat)
    t_k1, _ = _best(lambda: bt._run_kernel(lambda a, b: ev1, prep, force, 1), args.repeat)
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


if __name__ == "__main__":
    main()
