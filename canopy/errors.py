"""Errors a person can fix, printed by the CLI as one line without a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Something the operator can act on: a bad config key, a missing file."""

    exit_code = 2


class ConfigError(UserError):
    """A configuration file is missing, unreadable or invalid.

    The message always names the file and, where there is one, the key.
    """
