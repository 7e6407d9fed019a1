"""BioTrack errors and the one place that maps wire outcomes onto them.

They subclass the engine-neutral hierarchy in ``bridge.state`` so the submitter
can decide by kind of failure without knowing the engine. Every failure answers
two questions: *might BioTrack have applied this write?* (``maybe_applied``)
and *is trying again later sensible?* (``retryable``):

- ``BioTrackRejected`` (``StateRejected``): HTTP 200 with ``success: 0``.
  BioTrack looked at the request and said no. Not applied, not retryable as is.
  ``errorcode`` is BioTrack's code (602 is its catch-all), or None.
- ``BioTrackAuthError`` (``StateAuthError``): login refused, a privilege
  missing (62), or a fresh session expiring again at once. For IT to fix.
- ``BioTrackRateLimited`` (``StateRateLimited``): 429, refused before doing
  anything; wait ``retry_after`` seconds.
- ``BioTrackUnavailable`` (``StateUnavailable``): transient; its subclasses say
  whether the request reached the server:
  - ``BioTrackNotSent``: connect refused/timed out, or the login in front of
    the write failed. Surely not applied.
  - ``BioTrackAmbiguous``: a read timeout, a reset after sending, a garbled
    200. Maybe applied: read back (or ``nonce_replay``) before retrying.
  - ``BioTrackServerError`` (also ``StateServerError``): 5xx after sending.
    Maybe applied, like the above.
- ``BioTrackProtocolError``: an answer we can't classify (e.g. 404: wrong URL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from bridge.state import (
    StateApiError,
    StateAuthError,
    StateRateLimited,
    StateRejected,
    StateServerError,
    StateUnavailable,
)
from bridge.state import retry_after as retry_after_header
from bridge.state.biotrack import _wire

SESSION_EXPIRED = 63
NO_PRIVILEGE = 62
# BioTrack publishes no rate limits; without a Retry-After, wait this long.
DEFAULT_RETRY_AFTER = 5.0
# CRE-A matches the message too: some servers send the text without the code.
_SESSION_EXPIRED_TEXT = re.compile(r"session.+expired", re.IGNORECASE)


class BioTrackError(StateApiError):
    """Base of every error the BioTrack client raises. ``action`` names the call."""

    def __init__(self, message: str, *, action: str = "", status: int | None = None) -> None:
        StateApiError.__init__(self, message, status=status)
        self.action = action

    def __str__(self) -> str:
        return f"{self.action}: {self.message}" if self.action else self.message


class BioTrackRejected(StateRejected, BioTrackError):
    """BioTrack refused the request (``success: 0``); nothing was applied."""

    def __init__(self, errorcode: int | None, message: str, *, action: str = "") -> None:
        BioTrackError.__init__(self, message, action=action)
        self.errorcode = errorcode

    def __str__(self) -> str:
        code = f" (errorcode {self.errorcode})" if self.errorcode is not None else ""
        return f"{BioTrackError.__str__(self)}{code}"


class BioTrackAuthError(StateAuthError, BioTrackError):
    """Credentials, session or privileges are wrong; a person has to fix the setup."""

    def __init__(self, message: str, *, errorcode: int | None = None, action: str = "",
                 status: int | None = None) -> None:
        BioTrackError.__init__(self, message, action=action, status=status)
        self.errorcode = errorcode


class BioTrackRateLimited(StateRateLimited, BioTrackError):
    """HTTP 429: the server refused the call before doing anything."""

    def __init__(self, message: str, *, retry_after: float, action: str = "",
                 status: int | None = 429) -> None:
        StateRateLimited.__init__(self, message, retry_after=retry_after, status=status)
        self.action = action


class BioTrackUnavailable(StateUnavailable, BioTrackError):
    """BioTrack could not be reached or did not answer properly; try again later.

    ``retry_after`` is the server's hint (a 503's Retry-After), if it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        maybe_applied: bool,
        status: int | None = None,
        retry_after: float | None = None,
        action: str = "",
    ) -> None:
        StateUnavailable.__init__(self, message, maybe_applied=maybe_applied, status=status)
        self.action = action
        self.retry_after = retry_after


class BioTrackNotSent(BioTrackUnavailable):
    """The write never reached BioTrack (connect failed, or the login before it did)."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None, action: str = "") -> None:
        super().__init__(message, maybe_applied=False, status=status, retry_after=retry_after,
                         action=action)


class BioTrackAmbiguous(BioTrackUnavailable):
    """The request was sent but no usable answer came back: it may have been applied."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None, action: str = "") -> None:
        super().__init__(message, maybe_applied=True, status=status, retry_after=retry_after,
                         action=action)


class BioTrackServerError(StateServerError, BioTrackAmbiguous):
    """HTTP 5xx after the request was sent: it may have been applied."""


class BioTrackProtocolError(BioTrackError):
    """An answer that fits no rule above (wrong URL, unexpected status)."""


def is_session_expired(body: Mapping[str, Any]) -> bool:
    """True for the errorcode-63 answer (or its text without the code)."""
    if _wire.flag(body.get("success")):
        return False
    if _wire.optional_int(body.get("errorcode")) == SESSION_EXPIRED:
        return True
    message = _wire.optional_str(body.get("error")) or ""
    return bool(_SESSION_EXPIRED_TEXT.search(message))


def from_body(body: Mapping[str, Any], *, action: str, login: bool = False) -> BioTrackError:
    """The error for an HTTP-200 body whose ``success`` is not true."""
    errorcode = _wire.optional_int(body.get("errorcode"))
    message = _wire.optional_str(body.get("error"))
    if login:
        # BioTrack's login refusals often come without errorcode, even without text.
        text = message or "BioTrack refused the login without a message"
        return BioTrackAuthError(f"login refused: {text}", errorcode=errorcode, action=action)
    if "success" not in body and message is None:
        # Not an answer in BioTrack's shape at all; we can't tell what happened.
        return BioTrackAmbiguous("answer has neither 'success' nor 'error'", action=action)
    text = message or "BioTrack refused the request without a message"
    if errorcode in (SESSION_EXPIRED, NO_PRIVILEGE) or is_session_expired(body):
        return BioTrackAuthError(text, errorcode=errorcode, action=action)
    return BioTrackRejected(errorcode, text, action=action)


def from_status(response: httpx.Response, *, action: str, login: bool = False) -> BioTrackError:
    """The error for a non-200 HTTP status (BioTrack uses 200 for business errors)."""
    status = response.status_code
    retry_after = retry_after_header(response.headers)
    detail = f"HTTP {status}"
    if status == 429:
        return BioTrackRateLimited(
            f"rate limited ({detail})", status=status, action=action,
            retry_after=DEFAULT_RETRY_AFTER if retry_after is None else retry_after,
        )
    if status >= 500:
        if login:
            # The write behind this login was never sent.
            return BioTrackNotSent(
                f"login failed with {detail}", status=status, retry_after=retry_after,
                action=action,
            )
        return BioTrackServerError(
            f"server error ({detail})", status=status, retry_after=retry_after, action=action
        )
    if status in (401, 403):
        return BioTrackAuthError(f"access denied ({detail})", action=action, status=status)
    return BioTrackProtocolError(f"unexpected answer ({detail})", status=status, action=action)


def from_transport(exc: httpx.TransportError, *, action: str, login: bool = False) -> BioTrackError:
    """Connect-phase failures are surely not applied; anything after sending may be."""
    kind = type(exc).__name__
    detail = str(exc) or kind
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return BioTrackNotSent(f"could not connect ({kind}: {detail})", action=action)
    if login:
        return BioTrackNotSent(f"login got no answer ({kind}: {detail})", action=action)
    if isinstance(exc, httpx.TimeoutException):
        return BioTrackAmbiguous(f"no answer in time ({kind})", action=action)
    return BioTrackAmbiguous(f"connection lost after sending ({kind}: {detail})", action=action)


def from_unreadable(exc: _wire.WireError, *, action: str, login: bool = False) -> BioTrackError:
    """HTTP 200 whose body we cannot parse: the server did *something*."""
    if login:
        return BioTrackNotSent(f"login answer unreadable: {exc}", action=action)
    return BioTrackAmbiguous(f"answer unreadable: {exc}", action=action)
