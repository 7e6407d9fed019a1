"""Bridge status, bridge → kiosks, retained on ``canopy/v1/bridges/<bridge id>``.

``{"v": 1, "state": "online"|"offline", "bridge": <id>, "at": <unix seconds>}``.
A bridge publishes "online" (retained) each time its connection comes up, and
leaves "offline" as its last will. A kiosk that sees a bridge come online
publishes again at once what that bridge's predecessor may never have stored:
after a broker restart Mosquitto has dropped what it held for the bridges'
shared subscription, and waiting for the ack timeout would cost 30 s.

Both ends use this module: the bridge ``encode``s, the kiosk ``decode``s.
``decode`` reads anything a client could publish and never raises: what it
cannot read is None (the kiosk ignores it).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Literal

from canopy import topics
from canopy.payload import json_object

State = Literal["online", "offline"]
_STATES: frozenset[str] = frozenset({"online", "offline"})
MAX_BYTES = 1024  # a status is ~80 bytes; anything bigger is not one


@dataclass(frozen=True)
class BridgeStatus:
    bridge: str
    state: State
    at: int | None


def encode(bridge: str, state: State) -> bytes:
    body = {"v": 1, "state": state, "bridge": bridge, "at": int(time.time())}
    return json.dumps(body, separators=(",", ":")).encode()


def decode(topic: str, payload: bytes) -> BridgeStatus | None:
    """The status on ``topic``; None for another topic or anything unreadable."""
    prefix = topics.BRIDGES + "/"
    if not topic.startswith(prefix) or len(payload) > MAX_BYTES:
        return None
    bridge = topic[len(prefix):]
    if not topics.valid_name(bridge):
        return None
    body = json_object(payload)
    if body is None or body.get("v") != 1:
        return None
    state = body.get("state")
    if state not in _STATES:
        return None
    at = body.get("at")
    when = at if isinstance(at, int) and not isinstance(at, bool) and 0 <= at < 2**63 else None
    return BridgeStatus(bridge, state, when)
