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
