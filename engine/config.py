"""strategies/*.yaml -> a typed, frozen :class:`StrategyConfig`.

Every problem is one line naming the file, the key (with its YAML line) and what was expected, with a
"did you mean" hint for typos. ``--set key.sub=value`` overrides (value parsed as YAML) are applied before
validation, so they are checked exactly like the file.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import hashlib
import json
import re
import typing
from pathlib import Path
from typing import Any

import yaml

from engine import config_schema as S
from engine.errors import ConfigError

SECTIONS = {
    "data": S.DataConfig,
    "benchmark": S.BenchmarkConfig,
    "signal": S.SignalConfig,
    "execution": S.ExecutionConfig,
    "costs": S.CostConfig,
    "market_rules": S.MarketRulesConfig,
    "metrics": S.MetricsConfig,
    "output": S.OutputConfig,
}
TOP_LEVEL = {"name", "description", "sweep", "extra_benchmarks", *SECTIONS}

CHOICES = {
    ("data", "source"): ("embedded", "synthetic", "dataset", "csv", "parquet", "cache"),
    ("data", "size"): ("default", "small"),
    ("data", "layout"): ("long", "wide"),
    ("execution", "price"): ("close", "open"),
    ("market_rules", "limits"): ("auto", "data", "board", "off"),
    ("metrics", "primary_excess"): ("geometric", "arithmetic"),
}
NON_NEGATIVE = {
    ("execution", "lag"), ("execution", "rebalance_threshold"), ("costs", "commission"), ("costs", "min_commission"),
    ("costs", "transfer_fee"), ("costs", "slippage_bps"), ("market_rules", "lot_size"), ("metrics", "risk_free"),
}
POSITIVE = {("execution", "initial_cash"), ("output", "last_n_days")}   # metrics.*: engine.metrics_input


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


def _suggest(word: str, options) -> str:
    m = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.5)
    return f" (did you mean '{m[0]}'?)" if m else f" (expected one of: {', '.join(sorted(map(str, options)))})"


# ------------------------------------------------------------------------------------------------- coercion
def _type_name(t) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false", dict: "a mapping"}.get(t, str(t))


def _coerce(value: Any, expected: type, ctx: _Ctx, path: tuple):
    if expected is bool:
        if isinstance(value, bool):
            return value
    elif expected is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif expected is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif expected is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (_dt.date, _dt.datetime)):
            return value.strftime("%Y-%m-%d")
    elif expected is dict:
        if isinstance(value, dict):
            return value
    elif expected is list:
        if isinstance(value, (list, tuple)):
            return list(value)
    else:
        return value
    ctx.fail(path, f"expected {_type_name(expected)}, got {value!r} ({type(value).__name__})")


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
        v = _coerce(value, t, ctx, p)
        sec = path[-1] if path else ""
        if (sec, key) in CHOICES and v not in CHOICES[(sec, key)]:
            ctx.fail(p, f"'{v}' is not allowed{_suggest(v, CHOICES[(sec, key)])}")
        if (sec, key) in NON_NEGATIVE and v < 0:
            ctx.fail(p, f"must be >= 0, got {v}")
        if (sec, key) in POSITIVE and v <= 0:
            ctx.fail(p, f"must be > 0, got {v}")
        kwargs[key] = v
    return cls(**kwargs)


def _parse_date(value, ctx: _Ctx, path: tuple):
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        ctx.fail(path, f"expected a date YYYY-MM-DD, got {value!r}")


def _validate_signal(sig: S.SignalConfig, ctx: _Ctx, path: tuple = ("signal",)) -> S.SignalConfig:
    from engine.signals import REGISTRY

    if sig.name not in REGISTRY:
        ctx.fail(path + ("name",), f"unknown signal '{sig.name}'{_suggest(sig.name, REGISTRY)}")
    spec = REGISTRY[sig.name]
    params = dict(spec.defaults)
    if not isinstance(sig.params or {}, dict):
        ctx.fail(path + ("params",), "expected a mapping of parameter: value")
    for key, value in (sig.params or {}).items():
        p = path + ("params", key)
        if key not in spec.defaults:
            ctx.fail(p, f"unknown parameter of signal '{sig.name}'{_suggest(key, spec.defaults)}")
        default = spec.defaults[key]
        if default is None or value is None:
            params[key] = value
            continue
        expected = type(default)
        v = _coerce(value, expected, ctx, p)
        if key in spec.choices and v not in spec.choices[key]:
            ctx.fail(p, f"'{v}' is not allowed{_suggest(v, spec.choices[key])}")
        if key in spec.positive and v <= 0:
            ctx.fail(p, f"must be > 0, got {v}")
        params[key] = v
    if "path" in spec.defaults and isinstance(params.get("path"), str):   # weights_file: relative to the YAML
        from engine.signals.basic import resolve_param_path

        params["path"] = resolve_param_path(params["path"], ctx.file)
    return S.SignalConfig(name=sig.name, params=params)


def _validate_costs(costs: S.CostConfig, ctx: _Ctx) -> S.CostConfig:
    """Dated cost schedules through the backtester's own validator (engine.costs), reported at their YAML key."""
    from engine import costs as C

    checks = (("stamp_duty", C.STAMP_KEYS, {"a_share": S.A_SHARE_STAMP_DUTY, "none": ()}),
              ("transfer_fee", C.TRANSFER_KEYS, {"a_share": S.A_SHARE_TRANSFER_FEE, "none": ()}))
    for key, rates, named in checks:
        spec = getattr(costs, key)
        if key == "transfer_fee":
            spec = C._transfer_named(spec)
        try:
            items = C.dated_items(spec, key, rates, named)
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
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_Loader), text  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


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
    sections["data"] = dataclasses.replace(data, start=start, end=end)
    sections["costs"] = _validate_costs(sections["costs"], ctx)
    if sections["execution"].price == "open" and sections["execution"].lag < 1:
        ctx.fail(("execution", "lag"), "price: open needs lag >= 1 (a weight decided at close t trades at the open of t+lag)")
    if sections["costs"].min_commission > 0 and sections["execution"].initial_cash < sections["costs"].min_commission * 10:
        ctx.fail(("execution", "initial_cash"), "too small for the minimum commission; raise initial_cash or set costs.min_commission: 0")
    sections["signal"] = _validate_signal(sections["signal"], ctx)
    from engine.metrics_input import config_problem

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
    return hashlib.sha256(json.dumps(to_dict(cfg), sort_keys=True).encode()).hexdigest()[:10]
