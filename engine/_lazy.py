"""Lazy module imports (the standard-library recipe ``importlib.util.LazyLoader``), for start-up time only.

``lazy_import("scipy.stats")`` registers a placeholder module in ``sys.modules`` (and as the attribute of its
parent package) *without executing it*; the first attribute access executes the real module in place, so every
later ``import scipy.stats`` / ``from scipy.stats import norm`` / ``scipy.stats.norm`` sees the real, complete
module (same object). Nothing is registered when the module was already imported, or is already a placeholder.

Why: ``empyrical.stats`` runs ``from scipy import optimize, stats`` at import time (~1 s on 2 cores), but the
functions :mod:`engine.metrics` calls never touch scipy; and numba's first kernel call imports
``scipy.linalg.cython_blas``, which would execute the whole ``scipy.linalg`` package (~0.25 s). :mod:`engine.metrics`
registers the three placeholders before ``import empyrical``, so a strategy run pays for none of them; sweeps
(``scipy.stats.norm``) and tests load them on first use.

``deferred``: names of *callables* that may be looked up on the placeholder without loading it (the lookup returns
a forwarding callable that loads the module on first call). Needed because ``empyrical.stats`` lists
``stats.skew`` and ``stats.kurtosis`` in a module-level table (``SIMPLE_STAT_FUNCS``). After the load, the module
attribute is the real function; only references taken before the load are forwarders.

Reading ``__name__``, ``__spec__``, ``__path__`` (and the other import book-keeping attributes) does not load a
placeholder: ``import x`` and ``import pkg.sub`` check exactly those, so importing a submodule of a placeholder
package (numba imports ``scipy.linalg.cython_blas`` at its first kernel call) does not execute the package.

Thread safety: the first load runs under a per-module lock, as in CPython 3.12.3+ (Python 3.11's ``_LazyModule``
lets a second thread see a half-executed module). Only *when* a module executes changes, never what it computes.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

__all__ = ["lazy_import", "is_lazy"]

_LOCK = threading.RLock()
_DEFERRED: dict[str, frozenset] = {}      # module name -> names handed out as forwarders while lazy
# Set by module_from_spec before anything runs; reading them does not load the module. This lets the import system
# check a placeholder (``import x`` reads ``x.__spec__``) and import a submodule of a placeholder package (reads
# ``__path__``) without executing the package's ``__init__``.
_META = frozenset({"__name__", "__spec__", "__path__", "__package__", "__loader__", "__file__", "__cached__",
                   "__class__"})                  # __class__: isinstance(placeholder, X) must not load it either


class _Forward:
    """Stands for ``module.name`` (a callable) until first called; then calls the real object."""

    def __init__(self, module: str, name: str):
        self._module, self._name = module, name
        self.__name__ = self.__qualname__ = name
        self.__module__ = module

    def _real(self):
        module = importlib.import_module(self._module)
        if type(module) is _LockedLazyModule:
            _load(module, self._module, types.ModuleType.__getattribute__(module, "__spec__").loader_state)
        return getattr(module, self._name)

    def __call__(self, *args, **kwargs):
        return self._real()(*args, **kwargs)

    def __getattr__(self, attr):          # public attributes of the real callable; never dunders (copy, pickle)
        if attr.startswith("__") or attr in ("_module", "_name"):
            raise AttributeError(attr)
        return getattr(self._real(), attr)

    def __repr__(self) -> str:
        return f"<deferred {self._module}.{self._name}>"


class _LockedLazyModule(importlib.util._LazyModule):
    """``importlib.util._LazyModule`` made thread-safe as in CPython 3.12.3+ (gh-114763), plus two shortcuts.

    Python 3.11's version switches the class back to ``ModuleType`` *before* executing the module, so a second
    thread can read a half-executed module (AttributeError). Here the first access executes the module under a
    per-module lock and switches the class only at the end; other threads wait; re-entrant access by the loading
    thread (the module's own imports) reads the partial module, as a normal import would. Shortcuts: ``_META``
    attributes and ``deferred`` names never trigger a load.
    """

    def __getattribute__(self, attr):
        get = types.ModuleType.__getattribute__
        if attr in _META:                                 # import machinery book-keeping: no load
            return get(self, attr)
        name = get(self, "__name__")
        if attr in _DEFERRED.get(name, ()):
            return _Forward(name, attr)
        spec = get(self, "__spec__")
        if _load(self, name, spec.loader_state):          # False: this thread is executing it right now
            return getattr(self, attr)
        return get(self, attr)

    def __delattr__(self, attr):
        self.__getattribute__(attr)
        delattr(self, attr)


def _load(module, name: str, state: dict) -> bool:
    """Execute placeholder ``module`` once (other threads wait); False for re-entry from the loading thread."""
    with state["lock"]:
        if object.__getattribute__(module, "__class__") is not _LockedLazyModule:
            return True                                   # loaded meanwhile (by another thread)
        if state["is_loading"]:                           # the loading thread itself, during exec_module
            return False
        state["is_loading"] = True
        spec = types.ModuleType.__getattribute__(module, "__spec__")
        attrs_then, attrs_now = state["__dict__"], types.ModuleType.__getattribute__(module, "__dict__")
        updated = {k: v for k, v in attrs_now.items() if k not in attrs_then or attrs_then[k] is not v}
        try:
            spec.loader.exec_module(module)
        except BaseException:                             # as a failed eager import: forget the module
            state["is_loading"] = False
            if sys.modules.get(name) is module:
                del sys.modules[name]
            raise
        if name in sys.modules and sys.modules[name] is not module:
            raise ValueError(f"module object for {name!r} substituted in sys.modules during a lazy load")
        attrs_now.update(updated)                         # attributes set on the placeholder win, as if eager
        object.__setattr__(module, "__class__", state["__class__"])
        return True


def is_lazy(module) -> bool:
    """True while ``module`` is an unexecuted placeholder (any ``LazyLoader`` placeholder counts)."""
    return isinstance(module, importlib.util._LazyModule)


def lazy_import(name: str, deferred: tuple[str, ...] = ()) -> types.ModuleType:
    """Return module ``name``: the imported one if already in ``sys.modules``, else a new lazy placeholder.

    The parent package is imported (eagerly) to find the module; the placeholder is set as the parent's attribute
    so ``from parent import child`` returns it without loading it. Raises ``ModuleNotFoundError`` if ``name``
    does not exist. ``deferred``: see the module docstring.
    """
    with _LOCK:
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)                        # makes it a _LazyModule; nothing is executed yet
        state = getattr(spec, "loader_state", None)
        if not isinstance(state, dict) or not {"__dict__", "__class__"} <= set(state):
            del sys.modules[name]                         # an importlib we were not written for: import eagerly
            return importlib.import_module(name)
        module.__class__ = _LockedLazyModule              # (plain setattr: does not trigger a load)
        spec.loader_state.update(lock=threading.RLock(), is_loading=False)
        if deferred:
            _DEFERRED[name] = frozenset(deferred)
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)
        return module
