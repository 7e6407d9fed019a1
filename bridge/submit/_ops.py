"""What the submitter sends: one state operation per floor event.

A mapper turns an event into an ``Op`` (a row for one of the client's batch
calls, plus how to tell afterwards whether it landed) or straight into a
verdict (events that are facility records only, or that the state cannot take).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bridge.ledger import Answer
from canopy.events import FACILITY_ONLY, Event

# Events that stay in the facility's records and are not a state operation: each
# payload declares it (``facility_only``), and every mapper has a case for them.
LOCAL_ONLY = FACILITY_ONLY


def facility_record(event: Event) -> Answer:
    """The answer for a record the facility keeps and no state system takes."""
    reason = type(event.data).facility_only
    assert reason is not None, f"{event.type} is reported to the state"
    return Answer(event.id, "accepted", reason)


class Call(Protocol):
    """A bound client method that sends one batch of rows, e.g. ``client.move_plants``."""

    __name__: str

    def __call__(self, rows: list[Any], /) -> Awaitable[object]: ...


async def _unknown() -> bool | None:
    return None


@dataclass
class Op:
    event_id: str
    call: Call  # the client's batch method, e.g. ``client.move_plants``
    row: Any
    # A resend after an ambiguous outcome could count twice (weights, waste,
    # destroys, new packages): read back before sending it again.
    double_counts: bool
    # Read-back: True landed, False did not, None cannot tell (read failed).
    landed: Callable[[], Awaitable[bool | None]] = field(default=_unknown)
    # Taken just before sending, for read-backs that compare before and after.
    before: Callable[[], Awaitable[None]] | None = None
    # False: the state takes this one call per event (no array), so a batch of
    # several could half-apply; it always goes alone.
    batchable: bool = True
    # What the accepted answer tells the worker, asked once the state took the op
    # (or a read-back found it): e.g. the ids the state assigned. "" says nothing.
    told: Callable[[], str] = field(default=lambda: "")
    # Rows share one call only when this matches too, e.g. BioTrack moves into one room.
    group: str = ""

    @property
    def endpoint(self) -> str:
        """What the ledger records and batches by: the call's name, e.g. "move_plants"."""
        return f"{self.call.__name__}:{self.group}" if self.group else self.call.__name__


class Mapper(Protocol):
    async def map(self, event: Event) -> Op | Answer: ...


class Sender(Protocol):
    """Sends one batch call; raises the ``bridge.state`` errors."""

    async def send(self, call: Call, rows: list[Any]) -> None: ...


class CallSender:
    """Sends a batch by awaiting the op's own bound call: no lookup by name."""

    async def send(self, call: Call, rows: list[Any]) -> None:
        await call(rows)


def business_date(at: datetime, zone: str) -> date:
    """The state's "actual date" is the facility's local date, not the UTC one."""
    return at.astimezone(ZoneInfo(zone)).date()


def body_digest(endpoint: str, rows: list[Any]) -> str:
    """sha256 of what one call sends, for its write-ahead intent in the ledger: two
    intents with one digest sent the same body."""

    def plain(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json", by_alias=True)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if f.name != "result"}  # BioTrack's answer, filled in after the send
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    text = json.dumps([endpoint, plain(rows)], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
