"""strategies/*.yaml -> a typed, frozen :class:`StrategyConfig`.

Every problem is one line naming the file, the key (with its YAML line) and what was expected, with a
"did you mean" hint for typos. ``--set key.sub=value`` overrides (value parsed as YAML) are applied before
validation, so they are checked exactly like the file.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import re
import typing
from pathlib import Path
from typing import Any

import yaml

from engine import config_schema as S
from engine.errors import ConfigError, ParamError
from engine.values import coerce, suggest, type_name

SECTIONS = {
    "data": S.DataConfig,
    "benchmark": S.BenchmarkConfig,
    "signal": S.SignalConfig,
    "execution": S.ExecutionConfig,
    "costs": S.CostConfig,
    "market_rules": S.MarketRulesConfig,
    "metrics": S.MetricsConfig,
    "output": S.OutputConfig,
    "report": S.ReportConfig,
}
TOP_LEVEL = {"name", "description", "sweep", "extra_benchmarks", *SECTIONS}

CHOICES = {
    ("data", "source"): ("embedded", "synthetic", "dataset", "csv", "parquet", "cache"),
    ("data", "size"): ("default", "small"),
    ("data", "layout"): ("long", "wide"),
    ("execution", "price"): ("close", "open"),
    ("market_rules", "limits"): ("auto", "data", "board", "off"),
    ("metrics", "primary_excess"): ("geometric", "arithmetic"),
    ("report", "language"): ("zh", "en", "both"),
}
NON_NEGATIVE = {
    ("execution", "lag"), ("execution", "rebalance_threshold"), ("costs", "commission"), ("costs", "min_commission"),
    ("costs", "transfer_fee"), ("costs", "slippage_bps"), ("market_rules", "lot_size"), ("metrics", "risk_free"),
}
POSITIVE = {("execution", "initial_cash"), ("output", "last_n_days")}   # metrics.*: engine.metrics.inputs
# Rates are fractions of traded value (0.0003 = 3 bp). Above the error bound a value is certainly a percent or bp
# number typed as a fraction; between the bounds it is legal but unusual, so it runs with a warning.
RATE_BOUNDS = {("costs", "commission"): (0.01, 0.1), ("execution", "rebalance_threshold"): (0.5, 1.0)}


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings, so a bad date is reported by key instead of crashing the parser."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.1 reads on/off/yes/no as booleans; `limits: off` must stay the string "off". Only true/false are booleans.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"] for k, v in _Loader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _construct_mapping(loader, node, deep=False):
    """A mapping that refuses a key given twice (PyYAML silently keeps the last one)."""
    seen: dict = {}
    for key_node, _ in node.value:
        key = key_node.value
        if key in seen:
            raise ConfigError(f"{{file}}:{key_node.start_mark.line + 1}: key '{key}' appears twice in the same mapping "
                              f"(first on line {seen[key]}); keep one")
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# ----------------------------------------------------------------------------------------------- line numbers
def _line_map(text: str) -> dict[tuple, int]:
    """(key path) -> 1-based YAML line, for error messages."""
    out: dict[tuple, int] = {}
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return out

    def walk(n, path):
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                p = path + (k.value,)
                out[p] = k.start_mark.line + 1
                walk(v, p)

    walk(node, ())
    return out


class _Ctx:
    def __init__(self, file: str, lines: dict[tuple, int]):
        self.file = file
        self.lines = lines

    def where(self, path: tuple) -> str:
        key = ".".join(str(p) for p in path)
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return f"{self.file}:{self.lines[path[:cut]]}: key '{key}'"
        return f"{self.file}: key '{key}'"

    def fail(self, path: tuple, msg: str):
        raise ConfigError(f"{self.where(path)}: {msg}")


_suggest = suggest          # the names the sweep modules import
_type_name = type_name


def _coerce(value: Any, expected: type, ctx: _Ctx, path: tuple):
    try:
        return coerce(value, expected)
    except ValueError as exc:
        ctx.fail(path, str(exc))


def _field_type(cls, f: dataclasses.Field):
    hints = typing.get_type_hints(cls)
    t = hints[f.name]
    origin = typing.get_origin(t)
    if origin is typing.Union:
        args = [a for a in typing.get_args(t) if a is not type(None)]
        return args[0], True
    return t, False


def _build_section(cls, raw: Any, ctx: _Ctx, path: tuple):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        ctx.fail(path, f"expected a mapping of settings, got {raw!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in raw.items():
        p = path + (key,)
        if key not in names:
            ctx.fail(p, f"unknown key{_suggest(key, names)}")
        f = next(f for f in dataclasses.fields(cls) if f.name == key)
        t, optional = _field_type(cls, f)
        if value is None and optional:
            kwargs[key] = None
            continue
        if t is typing.Any:
            kwargs[key] = value
            continue
        sec = path[-1] if path else ""
        if sec == "data" and key in ("start", "end"):
            value = _yyyymmdd(value)
            if not isinstance(value, str):
                ctx.fail(p, f"expected a date YYYY-MM-DD (or YYYYMMDD), got {value!r}")
        v = _coerce(value, t, ctx, p)
        if (sec, key) == ("data", "embedded"):
            v = _embedded_names(v, ctx, p)
        if (sec, key) in CHOICES and v not in CHOICES[(sec, key)]:
            ctx.fail(p, f"'{v}' is not allowed{_suggest(v, CHOICES[(sec, key)])}")
        if (sec, key) in NON_NEGATIVE and v < 0:
            ctx.fail(p, f"must be >= 0, got {v}")
        if (sec, key) in POSITIVE and v <= 0:
            ctx.fail(p, f"must be > 0, got {v}")
        if (sec, key) in RATE_BOUNDS:
            _check_rate(v, RATE_BOUNDS[(sec, key)], ctx, p)
        kwargs[key] = v
    return cls(**kwargs)


def _embedded_names(value, ctx: _Ctx, path: tuple) -> tuple:
    """``data.embedded``: a panel name or a list of them, each an embedded real panel, no repeats."""
    from engine.data.embedded import EMBEDDED_PANELS

    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)):
        ctx.fail(path, f"expected a list of embedded panel names ({', '.join(EMBEDDED_PANELS)}), got {value!r}")
    for n in names:
        if n not in EMBEDDED_PANELS:
            ctx.fail(path, f"'{n}' is not an embedded panel{_suggest(n, EMBEDDED_PANELS)}")
    if len(set(names)) < len(names):
        ctx.fail(path, f"a panel is named twice in {list(names)}; name each once")
    return tuple(names)


def _check_rate(v: float, bounds: tuple[float, float], ctx: _Ctx, path: tuple) -> None:
    from engine.errors import warn

    unusual, impossible = bounds
    if v > impossible:
        ctx.fail(path, f"{v} is {v:.0%} of the traded value; rates are fractions (0.0003 = 3 bp = 0.03%), "
                       f"at most {impossible:g}")
    if v > unusual:
        warn(f"{ctx.where(path)}: {v} is {v:.2%} of the traded value, unusually high; rates are fractions "
             f"(0.0003 = 3 bp)")


# rates of the dated cost schedules (fractions of traded value): (warn above, error above)
SCHEDULE_RATE_BOUNDS = {"buy": (0.01, 0.1), "sell": (0.01, 0.1), "rate": (0.001, 0.1)}


def _check_cost_rates(costs: S.CostConfig, ctx: _Ctx) -> None:
    """A transfer fee or stamp duty typed as a percent (0.5 for 0.5%) is 100 times too large: same bounds as
    ``costs.commission``."""
    fee = costs.transfer_fee
    if isinstance(fee, (int, float)) and not isinstance(fee, bool):
        _check_rate(float(fee), SCHEDULE_RATE_BOUNDS["rate"], ctx, ("costs", "transfer_fee"))
    for key in ("stamp_duty", "transfer_fee"):
        items = getattr(costs, key)
        if isinstance(items, (list, tuple)):
            for item in items:
                for k, bounds in SCHEDULE_RATE_BOUNDS.items():
                    v = item.get(k) if isinstance(item, dict) else None
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        _check_rate(float(v), bounds, ctx, ("costs", key))


def _yyyymmdd(value):
    """20150105 (an integer, as YAML reads an unquoted compact date) -> '2015-01-05'; anything else unchanged."""
    if isinstance(value, int) and not isinstance(value, bool) and 19000101 <= value <= 29991231:
        s = str(value)
        try:
            return _dt.date(int(s[:4]), int(s[4:6]), int(s[6:])).isoformat()
        except ValueError:
            return value
    return value


def _parse_date(value, ctx: _Ctx, path: tuple):
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        ctx.fail(path, f"expected a date YYYY-MM-DD, got {value!r}")


def _validate_signal(sig: S.SignalConfig, ctx: _Ctx, path: tuple = ("signal",), combination: bool = True
                     ) -> S.SignalConfig:
    """The signal's params through its one validator (:meth:`engine.signals.base.ParamRules.validate`), a problem
    reported at ``<path>.params.<key>`` with its YAML line. ``combination=False``: the per-value rules only (sweeps
    check each combination's cross-parameter rules themselves)."""
    from engine.signals import REGISTRY

    if sig.name not in REGISTRY:
        ctx.fail(path + ("name",), f"unknown signal '{sig.name}'{_suggest(sig.name, REGISTRY)}")
    spec = REGISTRY[sig.name]
    if not isinstance(sig.params or {}, dict):
        ctx.fail(path + ("params",), "expected a mapping of parameter: value")
    try:
        params = spec.validate(sig.params or {}, combination=combination)
    except ParamError as exc:
        ctx.fail(path + ("params", exc.key), exc.reason)
    if "path" in spec.defaults and isinstance(params.get("path"), str):   # weights_file: relative to the YAML
        from engine.signals.basic import resolve_param_path

        params["path"] = resolve_param_path(params["path"], ctx.file)
    return S.SignalConfig(name=sig.name, params=params)


def _validate_costs(costs: S.CostConfig, ctx: _Ctx) -> S.CostConfig:
    """Dated cost schedules through the backtester's own validator (engine.backtest.costs), reported at their YAML key."""
    from engine.backtest import costs as C

    for key, (_, named) in C.SCHEDULES.items():
        spec = getattr(costs, key)
        try:
            items = C.schedule_items(key, spec)
            if isinstance(getattr(costs, key), list):    # normalised: ISO dates, float rates
                costs = dataclasses.replace(costs, **{key: tuple({"from": f"{d:%Y-%m-%d}", **v} for d, v in items)})
        except ValueError as exc:
            msg = str(exc)
            if "is not allowed" in msg and isinstance(spec, str):
                msg = f"'{spec}' is not allowed{_suggest(spec, named)} or a list of {{from, ...}}"
            ctx.fail(("costs", key), msg)
    try:
        C._cash_spec(costs.cash_return)
    except ConfigError as exc:
        ctx.fail(("costs", "cash_return"), str(exc).split(": ", 1)[1])
    return costs


# ------------------------------------------------------------------------------------------------- overrides
def parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key.sub=value, e.g. --set execution.lag=2")
    key, _, value = item.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"--set {item!r}: empty key; expected key.sub=value")
    try:
        parsed = yaml.load(value, Loader=_Loader) if value.strip() else ""  # noqa: S506
    except yaml.YAMLError:
        parsed = value
    except ConfigError as exc:            # a duplicate key inside the value
        raise ConfigError(str(exc).replace("{file}:1", f"--set {item}")) from None
    return key.split("."), parsed


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    raw = json.loads(json.dumps(raw, default=str))  # deep copy, dates -> str
    for item in overrides or []:
        path, value = parse_override(item)
        node = raw
        for part in path[:-1]:
            if node.get(part) is None:
                node[part] = {}
            if not isinstance(node[part], dict):
                raise ConfigError(f"--set {item}: '{part}' is not a section")
            node = node[part]
        node[path[-1]] = value
    return raw


# ---------------------------------------------------------------------------------------------------- public
def read_yaml(path: str | Path) -> tuple[Any, str]:
    """``(parsed YAML, text)`` of a strategy file; a missing file or bad YAML is a one-line ConfigError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found; pass a strategy YAML such as strategies/sentiment.yaml")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; pass a strategy YAML file such as strategies/sentiment.yaml")
    text = _decode(path, path.read_bytes())
    try:
        return yaml.load(text, Loader=_Loader), text  # noqa: S506 - a SafeLoader subclass
    except ConfigError as exc:                        # a duplicate key (the constructor does not know the file)
        raise ConfigError(str(exc).replace("{file}", str(path))) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


def _clamp_synthetic_start(start: str, size: str, ctx: _Ctx) -> str:
    """The shipped YAMLs start in 2010 for the default synthetic market (from 2006); ``--set data.size=small``
    (from 2010-01-04) should still run. A start on or before the dataset's first day moves to the day after it
    (the first day is then the base day), with a warning naming the day and the override that chooses another."""
    from engine.data.synthetic import SIZES

    first = SIZES[size]["start"]
    if start > first:
        return start
    new = (_dt.date.fromisoformat(first) + _dt.timedelta(days=1)).isoformat()
    from engine.errors import warn

    warn(f"{ctx.where(('data', 'start'))}: {start} is not after the first day of the synthetic '{size}' dataset "
         f"({first}, which becomes the base day); the period starts {new} instead (choose with --set data.start=...)")
    return new


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); anything else is a one-line ConfigError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: the file is UTF-16 text; save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            data.decode("gb18030")
            guess = "it decodes as GBK/GB18030; save it as UTF-8 (e.g. iconv -f GBK -t UTF-8)"
        except UnicodeDecodeError:
            guess = "save it as UTF-8"
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); {guess}") from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> S.StrategyConfig:
    raw, text = read_yaml(path)
    return config_from_dict(raw, source=str(path), overrides=overrides, lines=_line_map(text))


def config_from_dict(raw: Any, source: str = "<memory>", overrides=None, lines=None) -> S.StrategyConfig:
    ctx = _Ctx(source, lines or {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a YAML mapping with at least 'name' and 'signal'")
    raw = apply_overrides(raw, overrides or [])
    for key in raw:
        if key not in TOP_LEVEL:
            ctx.fail((key,), f"unknown key{_suggest(key, TOP_LEVEL)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        ctx.fail(("name",), "required: a short strategy name (string)")
    if any(c in name for c in "/\\ ") or name.startswith("."):
        ctx.fail(("name",), f"'{name}' must not contain spaces or slashes (it names the results folder)")
    sections = {sec: _build_section(cls, raw.get(sec), ctx, (sec,)) for sec, cls in SECTIONS.items()}
    data = sections["data"]
    start = _parse_date(data.start, ctx, ("data", "start"))
    end = _parse_date(data.end, ctx, ("data", "end"))
    if start and end and end < start:
        ctx.fail(("data", "end"), f"end {end} is before start {start}")
    if data.source == "synthetic" and start:
        start = _clamp_synthetic_start(start, data.size, ctx)
    sections["data"] = dataclasses.replace(data, start=start, end=end)
    sections["costs"] = _validate_costs(sections["costs"], ctx)
    _check_cost_rates(sections["costs"], ctx)
    if sections["execution"].price == "open" and sections["execution"].lag < 1:
        ctx.fail(("execution", "lag"), "price: open needs lag >= 1 (a weight decided at close t trades at the open of t+lag)")
    if sections["costs"].min_commission > 0 and sections["execution"].initial_cash < sections["costs"].min_commission * 10:
        ctx.fail(("execution", "initial_cash"), "too small for the minimum commission; raise initial_cash or set costs.min_commission: 0")
    sections["signal"] = _validate_signal(sections["signal"], ctx)
    from engine.metrics.inputs import config_problem

    bad = config_problem(sections["metrics"])
    if bad:
        ctx.fail(("metrics", bad[0]), bad[1])
    extra = []
    for i, item in enumerate(raw.get("extra_benchmarks") or []):
        path = ("extra_benchmarks", i)
        if not isinstance(item, dict) or "name" not in item or "signal" not in item:
            ctx.fail(path, "each extra benchmark needs 'name' and 'signal' (and optional 'params'), "
                           "e.g. {name: SW L1 equal weight, signal: equal_weight}")
        bad = set(item) - {"name", "signal", "params"}
        if bad:
            ctx.fail(path + (sorted(bad)[0],), f"unknown key{_suggest(sorted(bad)[0], ('name', 'signal', 'params'))}")
        sig = _validate_signal(S.SignalConfig(name=str(item["signal"]), params=item.get("params") or {}), ctx, path)
        extra.append({"name": str(item["name"]), "signal": sig.name, "params": sig.params})
    sweep = raw.get("sweep") or {}
    if not isinstance(sweep, dict):
        ctx.fail(("sweep",), "expected a mapping of parameter -> list of values")
    return S.StrategyConfig(
        name=name.strip(), description=str(raw.get("description") or ""), sweep=sweep, source_file=source,
        extra_benchmarks=tuple(extra), **sections
    )


def to_dict(cfg: S.StrategyConfig) -> dict:
    d = dataclasses.asdict(cfg)
    d.pop("source_file", None)
    return json.loads(json.dumps(d, default=str))


def to_yaml(cfg: S.StrategyConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, allow_unicode=True)


def config_hash(cfg: S.StrategyConfig) -> str:
    d = to_dict(cfg)
    d.pop("report", None)       # presentation only: the same results keep the same hash
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:10]
