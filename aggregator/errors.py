"""The one base class of every error a user can cause or an operator must fix, with its exit code.

`cli.main` turns any AggregatorError into its message and exit code; nothing here does I/O.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class AggregatorError(Exception):
    """A problem with a message for a person, not a bug: printed without a traceback."""

    exit_code = EXIT_FATAL
    # A fatal state of the installation (database, output directory): --debug shows its traceback.
    operational = False


class UsageError(AggregatorError):
    """A command given something it cannot use (an unknown story, a bad option value)."""

    exit_code = EXIT_USAGE
