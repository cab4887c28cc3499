"""User-facing errors.

Anything the user can fix (a config key, a data file, a date range) raises ``JingongError`` with one line that
names the file, the key/field/dates/codes and what to do. The CLI prints it to stderr and exits with status 2.
"""


class JingongError(Exception):
    """A problem the user can fix; the message is one self-contained line."""


class ConfigError(JingongError):
    pass


class DataError(JingongError):
    pass


def run_cli(fn, args) -> int:
    """The one error policy of every command line: a user-fixable problem prints ``error: <one line>`` on stderr and
    exits with status 2 (no traceback); Ctrl-C exits with 130. Anything else is a bug and keeps its traceback."""
    import sys

    try:
        return fn(args)
    except JingongError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
