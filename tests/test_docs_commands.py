"""Every command shown in README.md and docs/*.md runs (exit 0, no traceback).

The extractor is generic, because the docs change: it takes

* each command line of a fenced block whose info string is empty or a shell (``bash``, ``sh``, ``shell``,
  ``console``): lines starting with ``python``, ``python3``, ``jingong`` or ``sed`` (an optional ``$ `` prompt
  is dropped);
* each inline code span that is a whole command: ``python -m engine...`` or ``jingong ...``;
* each ```` ```python ```` block, run as a script (unless the same document runs its own Python blocks through a
  ``sed`` command, which is then the tested command).

Skipped, with the reason shown by pytest: blocks marked ``<!-- no-test: REASON -->`` right before the fence
(e.g. commands that need the network); the README's fresh-machine commands that create a virtual environment
(CI itself runs exactly those, see .ci/run); ``python -m engine.data fetch`` (downloads: tests never touch the
network); synopsis lines with placeholders (``CONFIG``, ``DATASET``, ``[--set ...]``, ``YYYY-MM-DD``,
``tcp://host:...``).

Each distinct command runs once, rewritten only so it leaves the repository alone and stays quick: ``DIR``
placeholders, ``--out`` and ``--csv`` point into a temporary directory (``--out`` is added to run/compare
commands whose ``--help`` offers it), strategies on the synthetic market get ``--set data.size=small`` (where
``--set`` exists) and ``synth`` gets
``--size small`` unless the command chooses a size, and ``python`` is this interpreter.
"""
from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_INFO = {"", "bash", "sh", "shell", "console"}
CMD_START = re.compile(r"^(?:\$\s+)?((?:python3?|jingong|sed)\b.*)$")
INLINE = re.compile(r"`((?:python3? -m engine\.\w+|jingong) [^`]+)`")
NO_TEST = re.compile(r"<!--\s*no-test:\s*(.*?)\s*-->")
PLACEHOLDER = re.compile(r"\[-|\[[A-Za-z]|\.\.\.|\b(?!DIR\b)[A-Z]{3,}\b|YYYY|\bN\b|tcp://host")
NETWORK = re.compile(r"engine\.data fetch\b")
VENV = "python3 -m venv"


def _blocks(text: str):
    """(info, body lines, no-test reason or None) of every fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^\s*```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        marker = NO_TEST.search(lines[j]) if j >= 0 else None
        body, k = [], i + 1
        while k < len(lines) and not re.match(r"^\s*```\s*$", lines[k]):
            body.append(lines[k])
            k += 1
        yield m.group(1).lower(), body, (marker.group(1) or "marked no-test") if marker else None
        i = k + 1


def _strip_fences(text: str) -> str:
    return re.sub(r"^\s*```.*?^\s*```\s*$", "", text, flags=re.S | re.M)


def _reason(cmd: str, marked: str | None) -> str | None:
    """Why a command is not run (None: run it)."""
    if marked:
        return marked
    if cmd.startswith(VENV):
        return "creates a fresh virtual environment; CI runs exactly this (.ci/run)"
    if NETWORK.search(cmd):
        return "downloads data (needs the network); tests never touch the network"
    if " -c " not in cmd and PLACEHOLDER.search(cmd.replace("--out DIR", "")):
        return "synopsis with placeholders"
    return None


def extract() -> list[tuple[str, str, str, str | None]]:
    """[(doc, kind 'shell'|'python', command or script, skip reason or None)], distinct commands once."""
    out, seen = [], set()

    def add(doc, kind, cmd, skip):
        key = (kind, " ".join(cmd.split()))
        if key not in seen:
            seen.add(key)
            out.append((doc, kind, cmd, skip))

    for path in DOCS:
        doc = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        self_running = "sed -n '/^```python$/" in text
        for info, body, skip in _blocks(text):
            if info == "python":
                if not self_running:
                    add(doc, "python", "\n".join(body), skip)
                continue
            if info not in SHELL_INFO:
                continue
            for line in body:
                m = CMD_START.match(line.strip())
                if m:
                    cmd = m.group(1).split("  #")[0].strip()
                    add(doc, "shell", cmd, _reason(cmd, skip))
        for m in INLINE.finditer(_strip_fences(text)):
            cmd = m.group(1).strip()
            add(doc, "shell", cmd, _reason(cmd, None))
    return out


def _is_synthetic(config: str) -> bool:
    p = ROOT / config
    return config.endswith((".yaml", ".yml")) and p.is_file() and re.search(r"source:\s*synthetic", p.read_text(encoding="utf-8")) is not None


@functools.lru_cache(maxsize=None)
def _options(module: str) -> str:
    """The ``--help`` text of ``python -m module`` (which options it takes: --out, --set)."""
    r = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    return r.stdout


def rewrite(cmd: str, tmp: Path) -> str:
    """The command made safe and quick (see the module docstring)."""
    n = [0]

    def fresh(_=None) -> str:
        n[0] += 1
        return shlex.quote(str(tmp / f"out{n[0]}"))

    cmd = re.sub(r"(--out|--csv)\s+(\S+)", lambda m: f"{m.group(1)} {fresh()}", cmd)
    cmd = re.sub(r"\bDIR\b", fresh, cmd)
    parts = shlex.split(cmd) if "|" not in cmd else None
    if parts:
        if parts[0] == "jingong":
            parts = [sys.executable, "-c", "import sys; from engine.run import console_main; sys.exit(console_main())",
                     *parts[1:]]
        elif parts[0] in ("python", "python3"):
            parts[0] = sys.executable
        mod = parts[parts.index("-m") + 1] if "-m" in parts else ("engine.run" if "console_main" in cmd else "")
        options = _options(mod) if mod.startswith("engine.") else ""
        if "--set" in options and any(_is_synthetic(a) for a in parts) and "data.size=" not in cmd:
            parts += ["--set", "data.size=small"]
        if "--out" in options and "--out" not in parts and mod != "engine.data":
            parts += ["--out", str(tmp / "out-added")]
        if mod == "engine.data" and "synth" in parts and "--size" not in parts:
            parts += ["--size", "small"]
        return shlex.join(parts)
    return re.sub(r"(^|\|\s*)python3?\b", lambda m: m.group(1) + shlex.quote(sys.executable), cmd)


CASES = extract()


def test_extractor_finds_the_documented_commands():
    cmds = [c for _, kind, c, _ in CASES if kind == "shell"]
    assert any("engine.signals" in c and "--asof" in c for c in cmds)
    assert any("engine.compare" in c for c in cmds)
    assert any(c.startswith(VENV) for c in cmds)
    assert len(CASES) >= 8


@pytest.mark.parametrize("doc,kind,cmd,skip", CASES, ids=[f"{d}:{c.splitlines()[0][:60]}" for d, _, c, _ in CASES])
def test_documented_command_runs(doc, kind, cmd, skip, tmp_path):
    if skip:
        pytest.skip(skip)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if kind == "python":
        r = subprocess.run([sys.executable, "-W", "ignore", "-"], input=cmd, cwd=ROOT, capture_output=True, text=True,
                           env=env, timeout=900)
        shown = cmd.splitlines()[0]
    else:
        shown = rewrite(cmd, tmp_path)
        r = subprocess.run(["bash", "-o", "pipefail", "-c", shown], cwd=ROOT, capture_output=True, text=True, env=env,
                           timeout=900)
    assert r.returncode == 0, f"{doc}: `{shown}` exited {r.returncode}: {r.stderr[-2000:]}"
    assert "Traceback" not in r.stderr, f"{doc}: `{shown}`: {r.stderr[-2000:]}"
