"""What a sweep will cost, told before it starts: the number of combinations, a rough time and memory estimate,
a cap above which it refuses to start (``--max-combinations``), and the swept keys checked by name.

The estimates are deliberately simple and printed as rough (about a factor of 3 either way):

* **time**: combinations x evaluation periods x trading days x codes x :data:`SEC_PER_CELL` seconds, over the
  worker processes, plus one signal computation per distinct signal-parameter set for signals without a batched
  path (:data:`engine.signals.batch.BATCHED`). ``SEC_PER_CELL`` was measured on a loaded 2-core machine: a 2,000
  combination ``ma_timing`` sweep over 4,857 CSI 300 days (1 code) took 61 s (about 6e-6 s per combination-day).
* **memory**: the process baseline (numba, pandas, the data: :data:`BASE_BYTES`), each combination's resolved config
  (~0.7 KB, measured with tracemalloc), its result row (every metric for every period plus the CSCV block sums,
  8 bytes each, about 3 copies while tables are assembled) and one backtest batch per worker
  (:data:`engine.sweep.execute.MEMORY_BUDGET`).

Default cap :data:`DEFAULT_MAX_COMBINATIONS` = 250,000: on a 2-core, 24 GB machine that is about an hour of
``ma_timing`` combinations and under 1 GB of tables; a larger sweep should be a deliberate choice (raise the cap,
or draw a random subset with ``sweep: {mode: random, samples: N}``).
"""
from __future__ import annotations

import dataclasses
import os

from engine.errors import ConfigError

DEFAULT_MAX_COMBINATIONS = 250_000
SEC_PER_CELL = 6.2e-6          # seconds per combination x trading day x code x period, one core
BASE_BYTES = 400 * 2**20
CONFIG_BYTES = 750


def n_combinations(spec) -> int:
    return spec.grid_size if spec.mode == "grid" else min(spec.samples or 0, spec.grid_size)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def check_cap(spec, max_combinations: int | None) -> int:
    """Refuse (ConfigError) a sweep above the cap before anything is built; return the number of combinations."""
    n = n_combinations(spec)
    cap = DEFAULT_MAX_COMBINATIONS if max_combinations is None else max_combinations
    if n > cap:
        dims = " x ".join(str(len(v)) for v in spec.values)
        raise ConfigError(f"sweep: {plural(n, 'combination')} ({dims}) is above the cap of {cap:,}; "
                          f"narrow the sweep: section, draw a subset with mode: random and samples: N, or raise "
                          f"the cap with --max-combinations {n}")
    return n


def check_keys(spec, raw: dict, source: str) -> None:
    """Every swept key must name a config key: a typo is reported with the key and a did-you-mean hint (signal
    parameters are checked against the signal's own parameters)."""
    from engine.config import SECTIONS, _suggest
    from engine.signals import REGISTRY

    for key in spec.keys:
        parts = key.split(".")
        sec = parts[0]
        if sec not in SECTIONS:
            raise ConfigError(f"{source}: sweep key '{key}': '{sec}' is not a config section{_suggest(sec, SECTIONS)}")
        if sec == "signal":
            name = (raw.get("signal") or {}).get("name")
            params = REGISTRY[name].defaults if name in REGISTRY else {}
            if len(parts) != 3 or parts[1] != "params":
                raise ConfigError(f"{source}: sweep key '{key}': signal parameters are swept as signal.params.NAME")
            if params and parts[2] not in params:
                raise ConfigError(f"{source}: sweep key '{key}': '{parts[2]}' is not a parameter of signal "
                                  f"'{name}'{_suggest(parts[2], params)}")
            continue
        fields = {f.name for f in dataclasses.fields(SECTIONS[sec])}
        if len(parts) < 2 or parts[1] not in fields:
            sub = parts[1] if len(parts) > 1 else ""
            raise ConfigError(f"{source}: sweep key '{key}': '{sub}' is not a key of section '{sec}'"
                              f"{_suggest(sub, fields)}")


def estimate(n: int, n_periods: int, n_days: int, n_codes: int, workers: int, n_signal_sets: int,
             batched: bool, n_metrics: int) -> dict:
    seconds = n * n_periods * n_days * max(n_codes, 1) * SEC_PER_CELL / max(workers, 1)
    row = 8 * (n_metrics * n_periods + 48 + 8) * 3
    from engine.sweep.execute import MEMORY_BUDGET

    mem = BASE_BYTES + n * (CONFIG_BYTES + row) + MEMORY_BUDGET * max(workers, 1)
    return {"combinations": n, "seconds": seconds, "memory_bytes": mem,
            "signal_computations": 0 if batched else n_signal_sets}


def _duration(s: float) -> str:
    if s < 1:
        return "under 1 s"
    if s < 90:
        return f"about {s:.0f} s"
    if s < 5400:
        return f"about {s / 60:.0f} min"
    return f"about {s / 3600:.1f} h"


def plan_lines(p, periods, tasks, workers: int, n_days: int, n_codes: int) -> list[str]:
    """The plan as printed before a sweep starts (and by ``--dry-run``)."""
    from engine.metrics.vector import METRIC_NAMES
    from engine.signals import REGISTRY
    from engine.signals.batch import BATCHED

    spec = p.spec
    n = len(p.configs)
    sig_sets = len({tuple(sorted(map(str, c.signal.params.items()))) for c in p.configs})
    est = estimate(n, len(periods), n_days, n_codes, workers, sig_sets, p.base.signal.name in BATCHED,
                   len(METRIC_NAMES))
    dims = " x ".join(f"{len(v)} {k}" for k, v in zip(spec.keys, spec.values))
    mode = "grid" if spec.mode == "grid" else f"random: {spec.samples} of the {spec.grid_size:,}-point grid"
    lines = [f"sweep plan: {plural(n, 'combination')} ({mode}; {dims})"
             + (f", {len(p.skipped)} invalid as combinations (skipped)" if p.skipped else "")]
    lines.append(f"  {plural(len(periods), 'evaluation period')} x {n_days:,} trading days x "
                 f"{plural(n_codes, 'code')}; {plural(len(tasks), 'chunk')} on {plural(workers, 'worker')}")
    extra = (f" + {plural(est['signal_computations'], 'signal computation')} (about one single run's signal time "
             f"each)" if est["signal_computations"] else "")
    cmap = REGISTRY[p.base.signal.name].components
    if cmap is not None and est["signal_computations"]:   # shared components: each distinct one computed once
        keys = {(name, k) for c in p.configs for name, k in zip(cmap.deps, cmap.sort_key(c.signal.params))}
        extra = (f" + up to {plural(len(keys), 'indicator component')} computed once each (at most once per worker "
                 f"process) and a rule per combination")
    lines.append(f"  estimate (rough, x3 either way): backtests {_duration(est['seconds'])}{extra}; "
                 f"peak memory about {est['memory_bytes'] / 2**30:.1f} GB")
    return lines


def default_workers(executor: str, workers: int | None, n_tasks: int) -> int:
    if executor == "serial" or n_tasks <= 1:
        return 1
    return workers or (2 if executor == "dask" else (os.cpu_count() or 1))
