"""What every floor flow shares: the outcome a worker hears and sees, and the flow contract.

A flow is one screen's worth of work (move plants, harvest, destroy…). It gets
what the scanner read (already resolved by the floor), touches from the
screen, and stable weights from the scale, one at a time, and answers each
with an ``Outcome``. It records events through ``FlowContext.record``, which
saves to the outbox first and only then updates what the kiosk knows locally.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, get_args

from agent.config import FloorSettings
from agent.floor import Floor, Resolved
from agent.floorinfo import weight_text as weight_text  # the flows' one way to write a weight
from agent.journal import JournalEntry
from agent.outbox import Outbox, OutboxFault
from canopy.events import Event, InvalidEvent, MassUnit, Payload, Weight
from drivers.printer import PrintResult
from drivers.scale import Reading
from drivers.scanner import Scan

log = logging.getLogger(__name__)

_MASS_UNITS: tuple[str, ...] = get_args(MassUnit)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the worker is told. ``ok`` drives the good/bad beep and light;
    ``quiet`` outcomes (hints such as "put the plant on the scale") make no sound."""

    ok: bool
    message: str
    event_id: str | None = None
    quiet: bool = False
    detail: str = ""  # a second line: e.g. what could not be checked offline


def refused(message: str, detail: str = "") -> Outcome:
    return Outcome(False, message, detail=detail)


def hint(message: str) -> Outcome:
    return Outcome(True, message, quiet=True)


class FlowError(Exception):
    """A touch that makes no sense in the flow's state (stale screen, bad input)."""


@dataclass
class FlowContext:
    """Everything a flow may use; built once per kiosk, shared by its flows."""

    outbox: Outbox
    floor: Floor
    settings: FloorSettings
    kiosk_room: str | None
    user: Callable[[], str]  # the signed-in worker's id
    is_supervisor: Callable[[], bool]  # the signed-in worker may sign off as supervisor
    scale_id: Callable[[], str]
    weight_ok: Callable[[Reading], Weight | Outcome]  # the one weight rule set (see ScaleWatch)
    settled: Callable[[], Reading | None]  # the load on the scale now, once steady
    mark_weighed: Callable[[], None]
    # Told how every print job ended, so the status bar's printer pill follows it at once.
    printed: Callable[[PrintResult], None] = lambda result: None

    async def record(self, data: Payload, *, summary: str, witness: str | None = None,
                     corrects: str | None = None, at: datetime | None = None) -> Event | Outcome:
        """Save one event (the payload names its type); the event, or a refusal saying nothing was saved."""
        user = self.user()
        try:
            event = await self.outbox.append(data, user=user, witness=witness, corrects=corrects, at=at)
        except (OutboxFault, InvalidEvent) as exc:
            log.error("%s not saved: %s", data.type_name, exc)
            return refused(f"NOT saved: {exc}")
        try:
            await self.floor.journal.add(JournalEntry(
                event.id, data.type_name, summary, user, int(event.at.timestamp() * 1000), corrects))
        except Exception:  # the record is safe in the outbox; a lost summary is cosmetic
            log.exception("journal entry for %s not written", event.id)
        await self.floor.remember(event)
        return event


def unknown_tag(text: str) -> str:
    """The refusal of a tag the kiosk's lists do not know, with what to do next."""
    return (f"Unknown tag {text}: not a plant of this facility. Check it is the plant's own tag and"
            " scan again; if it is, tell a supervisor (the plant may be missing from the state's list).")


def mass_unit(unit: str) -> bool:
    return unit in _MASS_UNITS


def utc_today() -> datetime:
    return datetime.now(UTC)


class Flow:
    """One screen of floor work. Subclasses set ``screen`` and override what they use."""

    screen: ClassVar[str] = "home"
    title: ClassVar[str] = ""
    # Who signs in as the second person for this screen's record: the role is the
    # screen's to say, never the request's (a sign-off request that leaves out or
    # changes its purpose must not let a plain worker sign a correction off).
    second_role: ClassVar[str] = "witness"

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx

    @property
    def wants_weight(self) -> bool:
        return False

    async def enter(self) -> Outcome:
        """The answer on opening this screen (a flow may first read what it shows)."""
        return Outcome(True, self.title or "Choose a task", quiet=True)

    @property
    def polled(self) -> bool:
        """The screen shows what changes without the worker (the Records list's delivery
        states): the kiosk calls ``poll`` with each status check."""
        return False

    async def poll(self) -> bool:
        """Read again what the screen shows; True when it changed."""
        return False

    def preview(self) -> bytes | None:
        """A PNG the page shows beside the screen (the label about to print), if any."""
        return None

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        return refused(f"Nothing to scan here ({item.describe()}). Choose a task first.")

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        raise FlowError(f"unknown action {action!r} on the {self.screen} screen")

    async def weighed(self, reading: Reading) -> Outcome | None:
        return None

    def view(self) -> dict[str, Any]:
        return {}


class OneLoadFlow(Flow):
    """A flow that saves one load from the scale (waste, a package's new total):
    the settled reading, checked by the one weight rule set, is kept until saved."""

    load_name: ClassVar[str] = "Weight"
    weight: Weight | None = None

    async def weighed(self, reading: Reading) -> Outcome | None:
        checked = self.ctx.weight_ok(reading)
        if isinstance(checked, Outcome):
            return checked
        self.weight = checked
        return hint(f"{self.load_name} {weight_text(checked.value, checked.unit)}.")


class WitnessedFlow(Flow):
    """Waste work that a second person witnesses where the facility profile asks
    for one (domain.md §2.6 "Waste record")."""

    witness: dict[str, str] | None = None

    @property
    def witness_required(self) -> bool:
        return self.ctx.floor.witness_required_for_waste

    @property
    def witness_missing(self) -> bool:
        return self.witness_required and self.witness is None


class WasteFlow(OneLoadFlow, WitnessedFlow):
    """Waste: one load from the scale, and the witness where one is needed."""

    load_name = "Waste weight"

    def weight_and_witness_missing(self) -> list[str]:
        """The last lines of "what still stops Save", the same for every waste flow."""
        out = [] if self.weight is not None else ["weigh the waste on the scale"]
        return out + (["a witness signs in"] if self.witness_missing else [])

    def witness_too_early(self) -> str | None:
        """Why a witness cannot sign yet (nothing chosen to witness), or ``None``."""
        return None

    def set_witness(self, worker: dict[str, str]) -> Outcome:
        early = self.witness_too_early()
        if early is not None:
            return refused(early)
        self.witness = worker
        return Outcome(True, f"Witness: {worker['name']}.")


def arg_str(args: Mapping[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise FlowError(f"{key} missing")
    return value


def arg_int(args: Mapping[str, Any], key: str) -> int:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlowError(f"{key} must be a whole number")
    return value
