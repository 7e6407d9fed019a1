"""Kiosk status messages, kiosk → everyone, retained on ``canopy/v1/<facility>/<device>/status``.

``{"v": 1, "state": "online"|"offline", "facility", "device", "version", "at":
<unix seconds>, "backlog", "oldest_unsent_age_s", "fault"}``. A kiosk refreshes
its retained status at least every status interval, and its last will replaces
it with "offline" when the connection dies; subscribing to every status topic
hands IT the whole fleet at once.

Both ends use this module: the kiosk ``encode``s, the fleet view and ``canopy
doctor`` ``decode``. ``decode`` reads anything a client could publish there and
never raises: what it cannot read becomes a row in state "unknown" saying so.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from canopy import __version__, topics
from canopy.payload import json_object

# A kiosk republishes its status at least every uplink.status_interval_s (30 s
# by default); one that said "online" but has been quiet much longer is hung
# or cut off in a way the broker has not noticed yet (no last will so far).
DEFAULT_STALE_AFTER_S = 120.0

Reported = Literal["online", "offline"]


@dataclass(frozen=True)
class KioskStatus:
    facility: str
    device: str
    state: str  # "online", "offline", "stale" (said online, quiet too long) or "unknown"
    # The kiosk's own clock when it wrote the message. For "offline" that is its
    # last will, written when it last connected: it was alive then, at least.
    last_seen: datetime | None
    backlog: int | None
    oldest_unsent_age_s: float | None
    version: str | None
    fault: str | None

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["last_seen"] = self.last_seen.isoformat() if self.last_seen else None
        return body


def encode(
    facility: str,
    device: str,
    state: Reported,
    *,
    backlog: int | None = None,
    oldest_unsent_age_s: float | None = None,
    fault: str | None = None,
) -> bytes:
    """The status message; ``backlog`` None leaves out the counts (a last will)."""
    body: dict[str, Any] = {
        "v": 1,
        "state": state,
        "facility": facility,
        "device": device,
        "version": __version__,
        "at": int(time.time()),
    }
    if backlog is not None:
        body["backlog"] = backlog
        body["oldest_unsent_age_s"] = (
            round(oldest_unsent_age_s, 1) if oldest_unsent_age_s is not None else None
        )
        if fault:
            body["fault"] = fault
    return json.dumps(body, separators=(",", ":")).encode()


def _instant(value: object) -> datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None  # a clock no kiosk has: say nothing rather than crash


def decode(topic: str, payload: bytes, *, now: float,
           stale_after_s: float = DEFAULT_STALE_AFTER_S) -> KioskStatus | None:
    """One retained status message → a row; None for anything that is not a status topic."""
    where = topics.parse(topic)
    if where is None or where.leaf != "status" or not payload:
        return None  # an empty retained payload is a deleted status
    body = json_object(payload)
    if body is None:
        return KioskStatus(where.facility, where.device, "unknown", None, None, None, None,
                           "unreadable status message")
    last_seen = _instant(body.get("at"))
    state = body.get("state") if body.get("state") in ("online", "offline") else "unknown"
    if state == "online" and last_seen is not None and now - last_seen.timestamp() > stale_after_s:
        state = "stale"
    backlog, oldest = body.get("backlog"), body.get("oldest_unsent_age_s")
    version, fault = body.get("version"), body.get("fault")
    return KioskStatus(
        facility=where.facility,
        device=where.device,
        state=str(state),
        last_seen=last_seen,
        backlog=backlog if isinstance(backlog, int) and not isinstance(backlog, bool) else None,
        oldest_unsent_age_s=(float(oldest) if isinstance(oldest, int | float)
                             and not isinstance(oldest, bool) and abs(oldest) < 1e12 else None),
        version=version if isinstance(version, str) else None,
        fault=fault if isinstance(fault, str) else None,
    )


def age_text(seconds: float) -> str:
    """An age as the fleet view and ``canopy doctor`` both say it: "90 s", "12 min", "3.5 h", "2.0 days"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
