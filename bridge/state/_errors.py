"""How a state call failed, in words common to every state system (see ``bridge.state``)."""


from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected row of a batch call.

    ``index`` is the 0-based position in the request array, or ``None`` when the
    state did not say which row the message is about.
    """

    index: int | None
    message: str


class StateApiError(Exception):
    """A state API call did not succeed. ``status`` is the HTTP status, if one came back."""

    #: The request may have reached the state and been applied (read back first).
    maybe_applied: bool = False
    #: Sending the same request again later can succeed.
    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class StateRejected(StateApiError):
    """The state refused the request; nothing in it was applied."""


class StateRowErrors(StateRejected):
    """A batch was refused because of the listed rows; none of the batch was applied."""

    def __init__(self, message: str, rows: Sequence[RowError], *, status: int | None = 400) -> None:
        super().__init__(message, status=status)
        self.rows: tuple[RowError, ...] = tuple(rows)

    def indexes(self) -> set[int]:
        """The row indexes named by the state (rows with no index are left out)."""
        return {row.index for row in self.rows if row.index is not None}


class StateAuthError(StateApiError):
    """Bad keys, a license the user may not use, or a missing permission."""


class StateRateLimited(StateApiError):
    """Too many requests; nothing was processed. Wait ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class StateUnavailable(StateApiError):
    """The state could not be reached or did not answer.

    ``maybe_applied`` is False only when the request surely never arrived (the
    connection was never made); otherwise the write may have landed.
    """

    retryable = True

    def __init__(self, message: str, *, maybe_applied: bool, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.maybe_applied = maybe_applied


class StateServerError(StateUnavailable):
    """The state answered with a 5xx (or an unreadable success)."""


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header as seconds (delta-seconds or an HTTP date); None if absent
    or unreadable. One reading for every state system."""
    value = (headers.get("retry-after") or headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
