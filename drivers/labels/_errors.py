"""The one error the label renderer raises."""

from __future__ import annotations


class LabelError(ValueError):
    """A label that cannot be drawn: bad UID, unknown media, or content too big for the roll.

    It is a ``ValueError`` and not a ``DeviceFault`` because retrying or fixing the
    printer does not help: the data or the configured roll has to change.
    """
