"""Who and when, checked at the bridge before an event goes to the state.

The kiosk checks its worker at sign-in, but the bridge must not believe the
payload: a kiosk with an old list, a broken clock or a hostile login could
otherwise put any name and any date into the state's records. ``Vetting`` wraps
a facility's mapper and, before mapping, checks:

- **when**: an event stamped further in the future than ``max_clock_skew_s``
  past the bridge's receipt, earlier than its device's previous event (by
  ``seq``), or more than a year before its receipt, is *held* (ledger status
  ``held``): never sent, shown by ``canopy bridge report held``, released by
  ``canopy bridge confirm`` with the time to report. A confirmed time is then
  the event's time for every later check and for the state's date;
- **who**: ``user`` and ``witness`` were on the facility's worker list at that
  time (the bridge's workers file keeps leavers with the time they left); a
  witness signs waste and destruction where the profile says so; a correction
  by a non-supervisor is signed by a supervisor (the kiosk's own rule,
  agent/workflows/records.py). A failure is answered *rejected* with words the
  worker understands.

A facility without a workers file (or whose file does not exist yet) has no
list to check against: the who-check is skipped, and the log says so once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bridge.ledger import Answer, Ledger
from bridge.roster import Signature, signature
from canopy.events import (
    Event,
    HarvestWaste,
    Payload,
    PlantDestroyCompleted,
    PlantDestroyed,
    RecordCorrected,
    RejectionDismissed,
    SigninAlerted,
    format_utc,
)
from canopy.topics import CONSOLE_DEVICE
from canopy.workerfile import BRIDGE_HINT, Former, Worker, WorkerFile, WorkerFileError, read_file

if TYPE_CHECKING:
    from bridge.config import FacilityProfile
    from bridge.submit._ops import Mapper, Op

log = logging.getLogger(__name__)

# Records of waste and destruction: the ones the kiosk asks a witness for where the
# facility profile sets ``witness_required_for_waste`` (agent/workflows/base.py).
WITNESSED: frozenset[type[Payload]] = frozenset({PlantDestroyed, HarvestWaste, PlantDestroyCompleted})
# A kiosk keeps records while the bridge is away, for days; a record older than this
# when it arrives has a broken clock behind it (and a year-1 date would break the
# state's "actual date" besides).
OLDEST = timedelta(days=366)
# Records a supervisor signs (as the witness) unless the worker is one.
SUPERVISED: frozenset[type[Payload]] = frozenset({RecordCorrected})
# Records only a supervisor (the user or the witness) may make, whatever the profile says.
SUPERVISORS_ONLY: frozenset[type[Payload]] = frozenset({RejectionDismissed})
# Records the kiosk makes itself (user ``KIOSK_USER``): no worker to check.
BY_KIOSK: frozenset[type[Payload]] = frozenset({SigninAlerted})
# Records the compliance console writes into the ledger (device ``CONSOLE_DEVICE``): its
# user is a console account, not a worker on the kiosks' list.
FROM_CONSOLE: frozenset[type[Payload]] = frozenset({RejectionDismissed})


class WorkerList:
    """The facility's workers file, read again only when it changed.

    A file that turns malformed keeps the last good list (as the roster feed does:
    a typo must not reject a whole facility's work); a missing file is no list.
    """

    def __init__(self, facility: str, path: Path | None) -> None:
        self.facility = facility
        self.path = path
        self._seen: Signature = None
        self._content: WorkerFile | None = None
        self._said: str | None = None

    def current(self) -> WorkerFile | None:
        if self.path is None:
            self._say("no workers_file in its profile")
            return None
        sig = signature(self.path)
        if sig is None:
            self._content = None
            self._say(f"workers file {self.path} does not exist")
            return None
        if sig != self._seen:
            try:
                self._content = read_file(self.path, hint=BRIDGE_HINT)
                self._said = None
            except WorkerFileError as exc:
                log.error("%s: %s; checking workers against the last good list", self.facility, exc)
            self._seen = sig
        return self._content

    def _say(self, why: str) -> None:
        if self._said != why:
            log.warning("%s: %s: events are not checked against a worker list", self.facility, why)
            self._said = why


class Vetting:
    """A ``Mapper`` that checks who and when before the facility's own mapper runs."""

    def __init__(self, inner: Mapper, profile: FacilityProfile, ledger: Ledger) -> None:
        self.inner = inner
        self.ledger = ledger
        self.workers = WorkerList(profile.license, profile.workers_file)
        self.witness_required = profile.witness_required_for_waste
        self.corrections_need_supervisor = profile.corrections_need_supervisor
        self.skew = timedelta(seconds=profile.max_clock_skew_s)
        self.zone = ZoneInfo(profile.timezone)

    async def map(self, event: Event) -> Op | Answer:
        when = await self._when(event)
        if isinstance(when, Answer):
            return when
        if when != event.at:
            event = event.model_copy(update={"at": when})
        problem = self.who(event)
        if problem is not None:
            return Answer(event.id, "rejected", problem)
        return await self.inner.map(event)

    async def _when(self, event: Event) -> datetime | Answer:
        """The event's time to report, or its hold."""
        timing = await self.ledger.timing(event.id)
        if timing is None:  # not in this ledger: nothing to compare with
            return event.at
        if timing.confirmed_at is not None:
            return _instant(timing.confirmed_at)
        received = datetime.fromtimestamp(timing.received / 1000, UTC)
        if event.at > received + self.skew:
            return self._hold(event, f"its time {self._local(event.at)} is"
                                     f" {_span(event.at - received)} after the bridge received it")
        if event.at < received - OLDEST:
            return self._hold(event, f"its time {self._local(event.at)} is more than a year before"
                                     " the bridge received it")
        if timing.previous_at is not None and event.at < (previous := _instant(timing.previous_at)):
            return self._hold(event, f"its time {self._local(event.at)} is before the kiosk's"
                                     f" previous record ({self._local(previous)})")
        return event.at

    def _hold(self, event: Event, why: str) -> Answer:
        log.warning("%s: event %s from %s held: %s", event.facility, event.id, event.device, why)
        return Answer(event.id, "held",
                      f"held: {why}; the kiosk's clock may be wrong. Confirm with"
                      f" `canopy bridge confirm {event.id} --at TIME` or `--as-recorded`")

    def who(self, event: Event) -> str | None:
        """Why the event's people do not check out, in the worker's words; None if they do."""
        kind = type(event.data)
        if kind in WITNESSED and self.witness_required and event.witness is None:
            return ("rejected: waste and destruction need a witness at this facility; record it"
                    " again with a witness signed in")
        if kind in BY_KIOSK:
            return None
        if event.device == CONSOLE_DEVICE and kind in FROM_CONSOLE:
            # Made in the office by a console account whose role the console checked
            # (bridge.office); ingest refuses this device from every kiosk.
            return None
        roster = self.workers.current()
        if roster is None:
            return None
        user = roster.on_roster(event.user, event.at)
        if user is None:
            return f"rejected: {self._not_on(roster, event.user, event.at)}"
        witness = None
        if event.witness is not None:
            witness = roster.on_roster(event.witness, event.at)
            if witness is None:
                return f"rejected: the witness: {self._not_on(roster, event.witness, event.at)}"
        if (kind in SUPERVISED and self.corrections_need_supervisor and not user.supervisor
                and not (witness is not None and witness.supervisor)):
            return ("rejected: a supervisor signs off corrections; record the correction again"
                    " with a supervisor signed in")
        if kind in SUPERVISORS_ONLY and not user.supervisor and not (witness is not None
                                                                    and witness.supervisor):
            return "rejected: only a supervisor dismisses a rejection; a supervisor signs in and dismisses it"
        return None

    def _not_on(self, roster: WorkerFile, worker_id: str, at: datetime) -> str:
        known: list[Worker | Former] = [*roster.workers, *roster.former]
        named = next((w for w in reversed(known) if w.id == worker_id), None)
        who = f"{named.name} ({worker_id})" if named else worker_id
        return f"{who} was not on this facility's worker list at {self._local(at)}"

    def _local(self, at: datetime) -> str:
        try:
            return at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        except OverflowError:  # year 1 or 9999 cannot move across a zone
            return format_utc(at)


def vetted(inner: Mapper, profile: FacilityProfile, ledger: Ledger) -> Mapper:
    """``inner`` with who and when checked first (the one line where mappers are built)."""
    return Vetting(inner, profile, ledger)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _span(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"
