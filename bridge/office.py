"""Records made in the office rather than at a kiosk: a rejection dismissed from the console.

A kiosk's dismissal travels kiosk outbox → MQTT → ingest → ledger, and the bridge
checks that a supervisor made it (``bridge.vetting``). The console writes the same
``rejection.dismissed`` record straight into the ledger: same envelope, device
``CONSOLE_DEVICE`` (no kiosk may be enrolled under it, and ingest refuses it from
MQTT), user ``console:<account>``, ``corrects`` naming the rejected event, the next
``seq`` of that device at the facility. ``Ledger.store`` chains it like any event and
indexes it under ``corrects:<id>``, so the rejection register shows it at once; the
submitter then answers it like a kiosk's (a facility record, no state call), the
console's role check standing in for the kiosk list's supervisor check.

The kiosk that recorded the rejection keeps it on its "to fix" list until it hears of
the dismissal: a kiosk drops a rejection when it records the correction or dismissal
itself (``agent.outbox``, ``outbox_fixed``), and, for one made here, when the bridge
has answered the dismissal and sends that kiosk a "fixed" notice on its acks topic
(``bridge.answers``, ``canopy.acks.fixed``). A kiosk of an earlier version ignores the
notice and keeps it listed; the console says so where the dismissal is made.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.ingest import CORRECTS, incoming
from bridge.ledger import IncomingEvent, Ledger
from bridge.reports import Clock, Stored, resolution
from canopy.events import RejectionDismissed, build_event
from canopy.ids import uuid7
from canopy.topics import CONSOLE_DEVICE

USER_PREFIX = "console:"  # the envelope's user: a console account, never a kiosk worker id
KIOSKS_NOTE = ("The kiosk that recorded it drops it from its \"To fix\" list once the bridge has answered"
               " the dismissal (within seconds while the bridge runs and the kiosk is online). A kiosk"
               " of an earlier Canopy version keeps it listed: tell the floor it was dismissed here.")


class CannotDismiss(ValueError):
    """Why this rejection cannot be dismissed, in words for the person who asked."""


@dataclass(frozen=True)
class Dismissal:
    event: str  # the new rejection.dismissed record
    rejected: str
    seq: int


async def dismiss(ledger: Ledger, facility: str, rejected: str, account: str, reason: str, note: str = "",
                  clock: Callable[[], float] = time.time, zones: Clock | None = None) -> Dismissal:
    """Record that ``account`` (whose role the caller checked) dismissed the rejection of
    event ``rejected`` at ``facility`` for ``reason``; ``CannotDismiss`` saying why not
    (already dismissed or corrected: by whom and when, in ``zones``' time of the facility)."""
    zones = zones or Clock()
    reason, note = reason.strip(), note.strip()
    if not reason:
        raise CannotDismiss("give a reason for dismissing it")
    if len(reason) > 120 or len(note) > 500:
        raise CannotDismiss("the reason takes at most 120 characters and the note 500")
    found = (await ledger.events([rejected])).get(rejected)
    if found is None or str(found[1]) != facility:
        raise CannotDismiss(f"there is no record {rejected!r} at {facility}")
    if str(found[6]) != "rejected":
        raise CannotDismiss("that record was not rejected by the state")
    said = str(found[7] or "")
    made: list[IncomingEvent] = []

    def dismissal(seq: int) -> IncomingEvent:
        event = build_event(RejectionDismissed.type_name,
                            RejectionDismissed(reason=reason, note=note or f"state said: {said}"[:500]),
                            id=uuid7(), facility=facility, device=CONSOLE_DEVICE,
                            user=f"{USER_PREFIX}{account}"[:64],
                            at=datetime.fromtimestamp(clock(), UTC), seq=seq, corrects=rejected)
        made.append(incoming(event, event.to_json()))
        return made[-1]

    # Looked for and recorded in one transaction: of two people dismissing it at once, one
    # records it and the other is told so (never two dismissals, nor two with one seq).
    fixed = await ledger.store_first(f"{CORRECTS}{rejected}", facility, CONSOLE_DEVICE, dismissal)
    if fixed is not None:
        fixer = (await ledger.events([fixed])).get(fixed)
        done = resolution(Stored.of(fixer), zones) if fixer else "corrected or dismissed"
        raise CannotDismiss(f"that rejection is already {done} (record {fixed})")
    return Dismissal(made[-1].id, rejected, made[-1].seq)
