"""Metrc errors, and the one place that turns an HTTP outcome into one of them.

Metrc's 400 bodies come in several shapes (state-apis.md §2.4), all parsed here:

- ``[{"row": 0, "message": "Tag … is not available."}]`` — the documented one;
- ``["message", …]`` — a bare array of strings;
- ``{"Message": "…"}`` — one message for the whole request;
- ``{"Message": "…", "ModelState": {"request[2].Label": ["…"]}}`` — ASP.NET model
  validation, which names the row inside the key;
- plain text.

When the state does not say which row a message is about, and the request had a
single row, the message can only be about row 0; otherwise the index is ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from bridge.state import (
    RowError,
    StateApiError,
    StateAuthError,
    StateRateLimited,
    StateRejected,
    StateRowErrors,
    StateServerError,
    StateUnavailable,
    retry_after,
)
from bridge.state.metrc import _wire

# When a 429 has no usable Retry-After, wait this long: Metrc's limits are per second.
DEFAULT_RETRY_AFTER = 1.0
_MODEL_STATE_ROW = re.compile(r"\[(\d+)\]")
_MAX_TEXT = 500


class MetrcError(StateApiError):
    """Base of every error the Metrc client raises."""


class MetrcRejected(StateRejected, MetrcError):
    """A 4xx other than 401/403/429 (e.g. 404, 405, 413): refused, nothing applied."""


class MetrcRowErrors(StateRowErrors, MetrcRejected):
    """400: the batch was refused; ``rows`` lists the rows Metrc complained about."""


class MetrcAuthError(StateAuthError, MetrcError):
    """401/403: bad keys, another license's object, a v1-only key, a missing permission."""


class MetrcRateLimited(StateRateLimited, MetrcError):
    """429: wait ``retry_after`` seconds."""


class MetrcUnavailable(StateUnavailable, MetrcError):
    """No answer: connection refused, timeout, reset. See ``maybe_applied``."""


class MetrcServerError(StateServerError, MetrcUnavailable):
    """5xx, or a 2xx whose body could not be read. A write may have been applied."""


def row_errors_from_body(body: Any, *, row_count: int) -> list[RowError]:
    """Parse any of Metrc's 400 body shapes into row errors (never empty)."""
    fallback_index = 0 if row_count == 1 else None
    errors: list[RowError] = []
    if isinstance(body, list):
        for entry in body:
            if isinstance(entry, Mapping):
                index = _get(entry, "row")
                message = _get(entry, "message")
                errors.append(
                    RowError(
                        index if isinstance(index, int) else fallback_index,
                        str(message) if message is not None else _short(entry),
                    )
                )
            else:
                errors.append(RowError(fallback_index, str(entry)))
    elif isinstance(body, Mapping):
        model_state = _get(body, "ModelState")
        if isinstance(model_state, Mapping):
            for key, messages in model_state.items():
                found = _MODEL_STATE_ROW.search(str(key))
                index = int(found.group(1)) if found else fallback_index
                for message in messages if isinstance(messages, list) else [messages]:
                    errors.append(RowError(index, f"{key}: {message}"))
        message = _get(body, "Message")
        if not errors:
            errors.append(RowError(fallback_index, str(message) if message else _short(body)))
    elif body is not None and str(body).strip():
        errors.append(RowError(fallback_index, str(body).strip()[:_MAX_TEXT]))
    return errors or [RowError(fallback_index, "Metrc rejected the request without a reason")]


def error_from_response(response: httpx.Response, *, is_write: bool, row_count: int) -> MetrcError:
    """Map a non-2xx response to the error the caller should see."""
    status = response.status_code
    body = _body(response)
    where = f"{response.request.method} {response.request.url.path}"
    if status == 400:
        rows = row_errors_from_body(body, row_count=row_count)
        summary = "; ".join(
            f"row {row.index}: {row.message}" if row.index is not None else row.message for row in rows
        )
        return MetrcRowErrors(f"{where} rejected: {summary}", rows, status=status)
    message = f"{where}: HTTP {status}: {_message(body) or response.reason_phrase}"
    if status in (401, 403):
        return MetrcAuthError(message, status=status)
    if status == 429:
        return MetrcRateLimited(message, retry_after=retry_after_seconds(response), status=status)
    if status >= 500:
        return MetrcServerError(message, maybe_applied=is_write, status=status)
    return MetrcRejected(message, status=status)


def retry_after_seconds(response: httpx.Response, *, now: float | None = None) -> float:
    """The ``Retry-After`` header as seconds, or Metrc's default wait when absent."""
    seconds = retry_after(response.headers, now=now)
    return DEFAULT_RETRY_AFTER if seconds is None else seconds


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return _wire.loads(response.content)
    except ValueError:
        return response.text


def _message(body: Any) -> str:
    if isinstance(body, Mapping):
        return str(_get(body, "Message") or "")
    if isinstance(body, str):
        return body.strip()[:_MAX_TEXT]
    return _short(body) if body is not None else ""


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    """Metrc mixes ``row``/``Row`` and ``Message``/``message``; match either."""
    if key in mapping:
        return mapping[key]
    folded = key.casefold()
    for name, value in mapping.items():
        if str(name).casefold() == folded:
            return value
    return None


def _short(value: Any) -> str:
    return str(value)[:_MAX_TEXT]
