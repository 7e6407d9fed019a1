"""Bridge status, bridge → kiosks, retained on ``canopy/v1/bridges/<bridge id>``.

``{"v": 1, "state": "online"|"offline", "bridge": <id>, "at": <unix seconds>,
"facilities": {<licence>: {"reachable": bool, "since": <unix ms>|null,
"notify": bool, "after_h": <hours>}}}``.

A bridge publishes "online" (retained) each time its connection comes up, and
leaves "offline" as its last will. A kiosk that sees a bridge come online
publishes again at once what that bridge's predecessor may never have stored:
after a broker restart Mosquitto has dropped what it held for the bridges'
shared subscription, and waiting for the ack timeout would cost 30 s.

``facilities`` (optional; "online" only) says, per facility licence, whether its
state system answers, as the ledger's outage record has it: while an outage is
open, ``reachable`` is false and ``since`` is when it began; ``notify`` is true
once it has lasted ``after_h`` hours (California: notify the state after 72 h).
The bridge publishes again when any of that changes, so every kiosk of the
facility shows the same band. Several bridges share one ledger and say the same;
a kiosk takes the newest.

Both ends use this module: the bridge ``encode``s, the kiosk ``decode``s.
``decode`` reads anything a client could publish and never raises: what it
cannot read is None (the kiosk ignores it); a facility entry it cannot read is
left out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from canopy import topics
from canopy.payload import json_object

State = Literal["online", "offline"]
_STATES: frozenset[str] = frozenset({"online", "offline"})
MAX_FACILITIES = 200  # one bridge's licences; more is not a status
# A status is ~80 bytes, plus ~90 a facility; anything bigger is not one.
MAX_BYTES = 1024 + 120 * MAX_FACILITIES
_MAX_MS = 2**53  # JSON numbers a browser reads exactly


@dataclass(frozen=True)
class StateSystem:
    """One facility's state system as the bridge last saw it."""

    reachable: bool
    since_ms: int | None = None  # the open outage's start (unix ms); None while reachable
    notify: bool = False  # the outage has lasted ``after_h`` hours: the state must be told
    after_h: float = 72.0

    def as_json(self) -> dict[str, object]:
        return {"reachable": self.reachable, "since": self.since_ms, "notify": self.notify,
                "after_h": self.after_h}


@dataclass(frozen=True)
class BridgeStatus:
    bridge: str
    state: State
    at: int | None
    facilities: dict[str, StateSystem] = field(default_factory=dict)


def encode(bridge: str, state: State, facilities: Mapping[str, StateSystem] | None = None) -> bytes:
    body: dict[str, object] = {"v": 1, "state": state, "bridge": bridge, "at": int(time.time())}
    if facilities:
        body["facilities"] = {licence: s.as_json() for licence, s in sorted(facilities.items())}
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
    return BridgeStatus(bridge, state, when, _facilities(body.get("facilities")))


def _facilities(raw: object) -> dict[str, StateSystem]:
    if not isinstance(raw, dict) or len(raw) > MAX_FACILITIES:
        return {}
    out: dict[str, StateSystem] = {}
    for licence, entry in raw.items():
        if isinstance(licence, str) and topics.valid_name(licence) and isinstance(entry, dict):
            system = _state_system(entry)
            if system is not None:
                out[licence] = system
    return out


def _state_system(entry: dict[str, object]) -> StateSystem | None:
    reachable, since, notify = entry.get("reachable"), entry.get("since"), entry.get("notify", False)
    after = entry.get("after_h", 72.0)
    if not isinstance(reachable, bool) or not isinstance(notify, bool):
        return None
    if since is not None and not (isinstance(since, int) and not isinstance(since, bool)
                                  and 0 <= since < _MAX_MS):
        return None
    if isinstance(after, bool) or not isinstance(after, int | float) or not 0 < after < 1e6:
        return None
    if reachable:  # nothing is open: no start, nothing to notify
        return StateSystem(True, after_h=float(after))
    return StateSystem(False, since, notify, float(after))
