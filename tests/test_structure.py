"""The code's layout (design.md, module map): families of modules are packages, no import cycles, numba only in
engine/kernels. Checked on the source (ast), so function-level imports count as edges too: a cycle "worked around"
by importing inside a function is still a cycle."""
import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"


def _modules() -> dict[str, Path]:
    out = {}
    for f in ENGINE.rglob("*.py"):
        parts = f.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    def resolve(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph = {m: set() for m in mods}
    for m, f in mods.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                r = resolve(t)
                if r and r != m:
                    graph[m].add(r)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative-safe for this size)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_planted_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(g) == [["a", "b", "c"]]


def test_no_import_cycles_in_engine():
    assert _cycles(_graph(_modules())) == []


def test_families_are_packages():
    flat = sorted(p.name for p in ENGINE.glob("*.py"))
    for family in ("sweep", "metrics", "backtest", "reproduce"):
        assert (ENGINE / family / "__init__.py").is_file()
        assert not [n for n in flat if n.startswith(family + "_") or n == family + ".py"], flat
    for moved in ("weightpaths.py", "bridge.py", "costs.py", "limits.py"):
        assert moved not in flat


def test_numba_only_in_kernels():
    users = []
    for f in ENGINE.rglob("*.py"):
        if "kernels" in f.relative_to(ENGINE).parts:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "numba" or n.startswith("numba.") for n in names):
                users.append(str(f.relative_to(ROOT)))
    assert users == []


# ------------------------------------------------------------------------------------------------ sys.modules
_MUTATORS = {"__setitem__", "__delitem__", "setdefault", "update", "pop", "popitem", "clear"}


def _sys_modules_writes(source: str) -> list[int]:
    """Lines of ``source`` that write into ``sys.modules`` (global interpreter state): an assignment, augmented
    assignment or ``del`` whose target is ``sys.modules[...]`` (or ``sys.modules`` itself), and calls of its
    mutating methods (``__setitem__``, ``setdefault``, ``update``, ...). Aliases count: ``import sys as s``,
    ``from sys import modules [as m]``."""
    tree = ast.parse(source)
    sys_names, mod_names = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            sys_names |= {a.asname or a.name for a in node.names if a.name == "sys"}
        elif isinstance(node, ast.ImportFrom) and node.module == "sys" and node.level == 0:
            mod_names |= {a.asname or a.name for a in node.names if a.name == "modules"}

    def is_modules(e) -> bool:
        return (isinstance(e, ast.Attribute) and e.attr == "modules" and isinstance(e.value, ast.Name)
                and e.value.id in sys_names) or (isinstance(e, ast.Name) and e.id in mod_names)

    def is_target(t) -> bool:
        if isinstance(t, (ast.Tuple, ast.List)):
            return any(is_target(x) for x in t.elts)
        if isinstance(t, ast.Starred):
            return is_target(t.value)
        return is_modules(t) or (isinstance(t, ast.Subscript) and is_modules(t.value))

    lines = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS \
                and is_modules(node.func.value):
            lines.append(node.lineno)
        if any(is_target(t) for t in targets):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_sys_modules_checker_finds_planted_writes():
    planted = """\
import sys
import sys as system
from sys import modules as mods
sys.modules["x"] = object()
del sys.modules["x"]
sys.modules.__setitem__("y", None)
system.modules.setdefault("z", None)
mods.update({"w": None})
a, sys.modules["v"] = 1, None
sys.modules.pop("x", None)
ok = sys.modules.get("x")
name = "x" in sys.modules
modules = {}
modules["x"] = 1
other = {}
other.update(sys.modules)
"""
    assert _sys_modules_writes(planted) == [4, 5, 6, 7, 8, 9, 10]


def test_nothing_in_engine_writes_sys_modules():
    """A library must not change global interpreter state for other packages' imports (issue 17: no placeholder
    modules in sys.modules); reading sys.modules is fine."""
    found = {str(f.relative_to(ROOT)): lines for f in sorted(ENGINE.rglob("*.py"))
             if (lines := _sys_modules_writes(f.read_text(encoding="utf-8")))}
    assert found == {}


# ------------------------------------------------------------------------------------------------ matplotlib
def _backend_switches(source: str) -> list[int]:
    """Lines of ``source`` that switch matplotlib's backend for the whole process (``matplotlib.use(...)``,
    ``pyplot.switch_backend(...)``) or set ``MPLBACKEND`` in the environment."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if (f.attr == "use" and isinstance(f.value, ast.Name) and f.value.id in ("matplotlib", "mpl")) \
                    or f.attr == "switch_backend":
                lines.append(node.lineno)
            elif f.attr in ("setdefault", "__setitem__", "update") and "MPLBACKEND" in ast.unparse(node):
                lines.append(node.lineno)
        elif isinstance(node, ast.Assign) and any("MPLBACKEND" in ast.unparse(t) for t in node.targets):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_backend_checker_finds_planted_switches():
    planted = """\
import os
import matplotlib
import matplotlib as mpl
import matplotlib.pyplot as plt
matplotlib.use("Agg")
mpl.use("Agg")
plt.switch_backend("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["MPLBACKEND"] = "Agg"
backend = matplotlib.get_backend()
from matplotlib.figure import Figure
"""
    assert _backend_switches(planted) == [5, 6, 7, 8, 9]


def test_charts_leave_the_callers_matplotlib_backend_alone():
    """Charts are drawn through the object API (matplotlib.figure.Figure): a library must not switch the backend of
    the user's process (a notebook's inline backend) nor set MPLBACKEND for it. Statically for all of engine/, and
    once for real: the comparison chart and a sweep heatmap in a process whose backend is 'pdf'."""
    found = {str(f.relative_to(ROOT)): lines for f in sorted(ENGINE.rglob("*.py"))
             if (lines := _backend_switches(f.read_text(encoding="utf-8")))}
    assert found == {}
    code = """\
import os, sys, tempfile, pathlib
import matplotlib
matplotlib.use("pdf")
import numpy as np, pandas as pd
from engine.compare import _chart
from engine.sweep.report import _heatmap_grid_png
d = pathlib.Path(tempfile.mkdtemp())
r = pd.Series([0.01, -0.02, 0.005], index=pd.date_range("2024-01-02", periods=3))
_chart({"a": r, "b": r * 0.5}, d / "c.png", "t", benchmarks=("b",))
_heatmap_grid_png(d / "h.png", [(np.array([[0.1, 0.2], [0.3, np.nan]]), ["1", "2"], ["x", "y"], "b", "a")], "t", "RdYlGn")
assert (d / "c.png").read_bytes()[:4] == b"\\x89PNG" and (d / "h.png").read_bytes()[:4] == b"\\x89PNG"
print(matplotlib.get_backend(), os.environ.get("MPLBACKEND"))
"""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["pdf", "None"]
