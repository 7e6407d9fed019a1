"""Ack messages, bridge → kiosk on ``canopy/v1/<facility>/<device>/acks``.

``{"v": 1, "t": <bridge clock, unix ms>, "acks": [{"id": …, "status":
"stored"|"accepted"|"rejected", "message": …, "code": …}, …]}``. ``t`` (optional)
lets a kiosk compare its clock with the bridge's (``canopy doctor``).
Many acks share one message, but never so many that it nears the broker's
packet limit: a drained backlog acks thousands of events at once, and one
oversize packet gets the whole connection dropped.

Both ends use this module: the bridge ``encode``s, the kiosk ``decode``s.

One more kind of item tells a kiosk that a rejection of one of its events was
dismissed (or corrected) elsewhere, in the compliance console:
``{"id": <the rejected event>, "status": "fixed", "by": <the record that fixed it>}``,
read by ``fixed``. ``decode`` skips it (it is no verdict), as a kiosk of an earlier
version does: that kiosk simply keeps the rejection on its "to fix" list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

from canopy.payload import json_object

ACKS_PER_MESSAGE = 500  # ~60 bytes each: far below the 256 KiB packet limit

AckState = Literal["stored", "accepted", "rejected"]
ACK_STATES: tuple[AckState, ...] = ("stored", "accepted", "rejected")


class InvalidAck(ValueError):
    """An ack message this side cannot read; the text says why."""


@dataclass(frozen=True, slots=True)
class Ack:
    """One answer about one event. ``id`` is None only for a rejection of a
    message the bridge could not read at all (nothing to settle, but it must be seen)."""

    id: str | None
    status: AckState
    message: str | None = None
    code: str | None = None


def encode(acks: Sequence[dict[str, Any]], *, sent_ms: int | None = None) -> list[bytes]:
    """One or more ack messages carrying ``acks`` in order (``sent_ms``: the bridge's clock)."""
    head: dict[str, Any] = {"v": 1} if sent_ms is None else {"v": 1, "t": sent_ms}
    return [
        json.dumps({**head, "acks": list(acks[start : start + ACKS_PER_MESSAGE])},
                   separators=(",", ":")).encode()
        for start in range(0, len(acks), ACKS_PER_MESSAGE)
    ]


# Unix ms between 2020 and 2100: anything else is not a clock reading.
_SENT_MS_RANGE = (1_577_836_800_000, 4_102_444_800_000)


def sent_at(payload: bytes) -> float | None:
    """The bridge's clock when it sent an ack message (unix seconds), None if it does not say."""
    body = json_object(payload)
    value = body.get("t") if body is not None else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    low, high = _SENT_MS_RANGE
    return value / 1000 if low <= value <= high else None


FIXED = "fixed"


def fixed(payload: bytes) -> list[tuple[str, str]]:
    """(rejected event, the record that fixed it) of each "fixed" item of an ack message;
    items of any other shape are skipped; a message that is not JSON raises ``InvalidAck``."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidAck(f"not JSON: {exc}") from None
    items = body.get("acks") if isinstance(body, dict) else None
    return [(item["id"], item["by"]) for item in items or () if isinstance(item, dict)
            and item.get("status") == FIXED and isinstance(item.get("id"), str)
            and isinstance(item.get("by"), str)] if isinstance(items, list) else []


def _is_state(value: object) -> TypeGuard[AckState]:
    return value in ACK_STATES


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def decode(payload: bytes) -> list[Ack]:
    """An ack message → its acks, in order. Items of an unknown shape are skipped
    (a newer bridge may say more); a message that is not an ack list raises ``InvalidAck``."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidAck(f"not JSON: {exc}") from None
    items = body.get("acks") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise InvalidAck("ack message without an 'acks' list")
    out: list[Ack] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        status, event_id = item.get("status"), item.get("id")
        if not _is_state(status):
            continue
        if isinstance(event_id, str) or (event_id is None and status == "rejected"):
            out.append(Ack(event_id, status, _text(item.get("message")), _text(item.get("code"))))
    return out
