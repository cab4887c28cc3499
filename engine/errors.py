"""User-facing errors and warnings.

Anything the user can fix (a config key, a data file, a date range) raises ``JingongError`` with one line that
names the file, the key/field/dates/codes and what to do. The CLI prints it to stderr and exits with status 2.
Input that is accepted but suspicious (a window longer than the data, a clamped period) issues a
``JingongWarning`` through :func:`warn`; the command lines print it as one ``warning: ...`` line on stderr.
"""
from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path


class JingongError(Exception):
    """A problem the user can fix; the message is one self-contained line."""


class ConfigError(JingongError):
    pass


class DataError(JingongError):
    pass


class ParamError(ConfigError):
    """A bad signal parameter (:meth:`engine.signals.base.ParamRules.validate`): ``key`` is the parameter and
    ``reason`` the one-line problem, so :mod:`engine.config` reports it at the YAML key ``signal.params.<key>`` (with
    its line); raised directly (the Python API) the message is ``<signal>: key 'signal.params.<key>': <reason>``."""

    def __init__(self, key: str, reason: str, signal: str = ""):
        self.key, self.reason, self.signal = key, reason, signal
        super().__init__(f"{signal + ': ' if signal else ''}key 'signal.params.{key}': {reason}")

    def __reduce__(self):          # picklable (sweep workers in other processes)
        return ParamError, (self.key, self.reason, self.signal)


class JingongWarning(UserWarning):
    """Accepted-but-suspicious input; the message is one self-contained line naming the key or file."""


def warn(message: str) -> None:
    warnings.warn(message, JingongWarning, stacklevel=2)


def _show(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, JingongWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def ensure_writable(path: str | Path, what: str) -> None:
    """Check, before any computing, that ``path`` (a directory to be created or filled) can be written: probe a
    temporary file in the directory itself when it exists, else in its nearest existing ancestor. Creates nothing
    that stays behind. One-line ConfigError naming ``what`` (e.g. ``--out``) and the path otherwise."""
    p = Path(path).expanduser()
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "" if probe == p else f"{probe} "
        raise ConfigError(f"{what} {path}: {where}is a file, not a directory; choose a new directory path")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".jingong-probe-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot write there ({exc.strerror or exc}); choose a writable directory") from None


def ensure_cache_writable() -> None:
    """The data and sweep caches live under ``$JINGONG_CACHE_DIR`` (default ``~/.cache/jingong``): check it is
    writable before a dataset is generated or a sweep computed, not when the first result is saved."""
    base = os.environ.get("JINGONG_CACHE_DIR")
    if base:
        try:
            ensure_writable(base, "JINGONG_CACHE_DIR")
        except ConfigError as exc:
            raise ConfigError(f"{exc} (or unset JINGONG_CACHE_DIR to use ~/.cache/jingong)") from None
    else:
        ensure_writable(Path.home() / ".cache" / "jingong", "cache directory (set JINGONG_CACHE_DIR to move it)")


def run_cli(fn, args) -> int:
    """The one error policy of every command line: a user-fixable problem prints ``error: <one line>`` on stderr and
    exits with status 2 (no traceback); an operating-system refusal to read or write a named file (permissions, a
    full or read-only disk) is reported the same way; Ctrl-C exits with 130; a closed stdout (``| head``) exits
    quietly with 141. Anything else is a bug and keeps its
    traceback. Warnings of category :class:`JingongWarning` print as one ``warning: ...`` line each (once per
    distinct message)."""
    with warnings.catch_warnings():
        warnings.simplefilter("default", JingongWarning)
        warnings.showwarning = _show
        try:
            return fn(args)
        except JingongError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            # stdout's reader went away (``... | head``): the results files are written before anything is printed,
            # so stop quietly with the status of a Unix tool killed by SIGPIPE (128 + 13); stdout is pointed at
            # /dev/null so that the interpreter's final flush does not raise a second time.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        except OSError as exc:
            name = exc.filename or ""
            if not name and not isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
                raise
            print(f"error: {name}: {exc.strerror or exc}; check the path and its permissions", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
