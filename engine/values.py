"""Config values: coercion to an expected type and the "did you mean" hint. Shared by :mod:`engine.config` (the
sections) and :mod:`engine.signals.base` (signal parameters, :class:`~engine.signals.base.ParamRules`), so a value
is read the same way wherever it is checked. No heavy imports: the CLI loads this before anything else."""
from __future__ import annotations

import datetime as _dt
import difflib
from typing import Any


def suggest(word: Any, options) -> str:
    """' (did you mean 'x'?)' for the closest option, else ' (expected one of: a, b, ...)'."""
    m = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.5)
    return f" (did you mean '{m[0]}'?)" if m else f" (expected one of: {', '.join(sorted(map(str, options)))})"


def type_name(t) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false", dict: "a mapping"}.get(t, str(t))


def coerce(value: Any, expected: type) -> Any:
    """``value`` as ``expected`` (int from an integral float, float from an int, str from a date, list from a
    tuple); raises ValueError('expected an integer, got ...') when it is not one."""
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
    raise ValueError(f"expected {type_name(expected)}, got {value!r} ({type(value).__name__})")
