"""Where a result came from: the command as the user typed it and the state of the source tree (commit, dirty).

Entry points call :func:`set_command` with their program name (``python -m engine.run``) and the arguments they
parsed, so ``meta.json`` records ``python -m engine.run strategies/x.yaml --set ...`` rather than the path of a
module file; without it, the interpreter's ``sys.argv`` is rendered the same way.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

_COMMAND: list[str] = []
_ROOT = Path(__file__).resolve().parent


def set_command(prog: str, argv: list[str] | None) -> None:
    _COMMAND[:] = [*shlex.split(prog), *(sys.argv[1:] if argv is None else [str(a) for a in argv])]


def command_line() -> str:
    if _COMMAND:
        return shlex.join(_COMMAND)
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    try:
        rel = argv0.resolve().relative_to(_ROOT.parent)
        head = ["python", "-m", ".".join(rel.with_suffix("").parts).removesuffix(".__main__")]
    except ValueError:
        head = [argv0.name]
    return shlex.join([*head, *sys.argv[1:]])


def _git(*args: str) -> str | None:
    try:
        r = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=_ROOT)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def git_state() -> dict:
    """``{"git_commit": sha or None, "git_dirty": bool or None}``; dirty = tracked files differ from the commit
    (``git status --porcelain --untracked-files=no``); None outside a git checkout."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit.strip() or None, "git_dirty": None if status is None else bool(status.strip())}


def version_string(prog: str) -> str:
    from engine import __version__

    return f"{prog} (jingong) {__version__}"
