"""Records: what this kiosk saved, where each record is, and corrections.

Each recent event shows its delivery: *saved* (on this kiosk only), *sent*
(the bridge stored it), *accepted* or *rejected* with the state's own message.
Nothing is edited in place (domain.md §2.6 "Error correction"): correcting a
wrong or rejected record is a new ``record.corrected`` event that points at it
(``corrects``) and says why; the work is then done again in its own flow.
A worker who is not a supervisor needs a supervisor to sign in and sign the
correction off (the event's ``witness``), unless the kiosk is configured otherwise.

Rejections stay on the "to fix" list, however many records follow, until a
correction or a supervisor's dismissal (``rejection.dismissed``, with a reason)
names them; the status bar's count is that list's length (``agent.outbox``).
Records no state system takes show as *kept at the facility*, never as accepted
by the state; every type shows by its label (``Payload.label``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agent.outbox import RecordRow
from agent.workflows.base import Flow, FlowContext, Outcome, arg_str, refused
from canopy.events import LABELS, RecordCorrected, RejectionDismissed, kept_at_facility

SHOWN = 30
TO_FIX_SHOWN = 100  # the oldest first; the heading counts them all
_STATE_WORDS = {"pending": "saved", "stored": "sent", "accepted": "accepted", "rejected": "rejected"}
KEPT = "kept"  # the state word of an answered record no state system takes
NEXT_STEP = ("Correct it (then do the work again in its own task), or a supervisor dismisses it with"
             " a reason.")


def label(type_: str) -> str:
    """The event type in the worker's words, never its wire name."""
    return LABELS.get(type_, "Record")


def state_word(row: RecordRow, system: str | None) -> str:
    """``system``: the facility's state system (some records only it has no call for)."""
    if row.state == "accepted" and kept_at_facility(row.type, system):
        return KEPT
    return _STATE_WORDS[row.state]


class RecordsFlow(Flow):
    screen = "records"
    title = "Records"
    second_role = "supervisor"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.rows: list[dict[str, Any]] = []
        self.to_fix: list[dict[str, Any]] = []
        self.selected: str | None = None
        self.supervisor: dict[str, str] | None = None  # signed in for this correction

    @property
    def needs_supervisor(self) -> bool:
        return self.ctx.settings.corrections_need_supervisor and not self.ctx.is_supervisor()

    def set_witness(self, worker: dict[str, str]) -> Outcome:
        """A supervisor signed in to sign off the correction (the kiosk checked the role)."""
        if self.selected is None:
            return refused("Choose the record first.")
        if worker.get("role") != "supervisor":  # the kiosk checks too; a correction never trusts it
            return refused(f"{worker.get('name', 'That worker')} is not a supervisor.")
        self.supervisor = worker
        return Outcome(True, f"Supervisor: {worker['name']}.")

    async def enter(self) -> Outcome:
        await self.refresh()
        return await super().enter()

    @property
    def polled(self) -> bool:
        return self.selected is None  # a record being corrected stays as it was chosen

    async def poll(self) -> bool:
        before = (self.rows, self.to_fix)
        await self.refresh()
        return (self.rows, self.to_fix) != before

    async def refresh(self) -> None:
        recent = await self.ctx.outbox.recent(SHOWN)
        to_fix = await self.ctx.outbox.to_fix(TO_FIX_SHOWN)
        ids = list(dict.fromkeys(r.id for r in (*recent, *to_fix)))
        entries = await self.ctx.floor.journal.entries(ids)
        corrected = await self.ctx.floor.journal.corrections_of(ids)
        fixers = await self.ctx.floor.journal.entries(list(set(corrected.values())))
        dismissed = {i for i, by in corrected.items()
                     if (f := fixers.get(by)) is not None and f.type == RejectionDismissed.type_name}
        fixing = {r.id for r in to_fix}
        profile = self.ctx.floor.profile
        system = profile.system if profile else None

        def shown(r: RecordRow) -> dict[str, Any]:
            entry = entries.get(r.id)
            word = state_word(r, system)
            return {
                "id": r.id,
                "seq": r.seq,
                "type": r.type,
                "what": label(r.type),
                "summary": entry.summary if entry else label(r.type),
                "user": entry.user if entry else "",
                "at": datetime.fromtimestamp(r.created / 1000, UTC).isoformat(),
                "at_ms": r.created,
                "state": word,
                # A facility record's answer is the bridge's, not the state's: the chip says it.
                "message": "" if word == KEPT else r.message or "",
                "corrected_by": corrected.get(r.id),
                "fixed": "dismissed" if r.id in dismissed else "corrected" if r.id in corrected else None,
                "corrects": entry.corrects if entry else None,
                "to_fix": r.id in fixing,
            }

        self.rows = [shown(r) for r in recent]
        self.to_fix = [shown(r) for r in to_fix]

    def _row(self, event_id: str | None) -> dict[str, Any] | None:
        return next((r for r in (*self.to_fix, *self.rows) if r["id"] == event_id), None)

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "select":
            event_id = arg_str(args, "id")
            if self._row(event_id) is None:
                return refused("That record is no longer listed.")
            self.selected, self.supervisor = event_id, None
            return Outcome(True, "Choose why it is wrong.", quiet=True)
        if action == "back":
            self.selected, self.supervisor = None, None
            return Outcome(True, "Records.", quiet=True)
        if action == "correct":
            return await self.correct(arg_str(args, "reason"))
        if action == "dismiss":
            return await self.dismiss(arg_str(args, "reason"))
        return await super().act(action, args)

    @property
    def can_dismiss(self) -> bool:
        """A supervisor is signed in, or signed in for this record (the agent checks the role)."""
        return self.ctx.is_supervisor() or self.supervisor is not None

    async def dismiss(self, reason: str) -> Outcome:
        row = self._row(self.selected)
        if row is None:
            return refused("Choose a record first.")
        if not row["to_fix"]:
            return refused("Only a rejection still to fix can be dismissed.")
        if reason not in self.ctx.settings.dismissal_reasons:
            return refused("Choose one of the reasons shown.")
        if not self.can_dismiss:
            return refused("Only a supervisor dismisses a rejection: a supervisor signs in first.")
        witness = None if self.ctx.is_supervisor() else self.supervisor["id"] if self.supervisor else None
        note = f"state said: {row['message']}"[:500] if row["message"] else ""
        event = await self.ctx.record(RejectionDismissed(reason=reason, note=note), corrects=row["id"],
                                      summary=f"Dismissed: {row['summary']} ({reason})", witness=witness)
        if isinstance(event, Outcome):
            return event
        self.selected, self.supervisor = None, None
        await self.refresh()
        return Outcome(True, f"Rejection dismissed: {row['summary']}. Nothing else to do.", event.id)

    async def correct(self, reason: str) -> Outcome:
        row = self._row(self.selected)
        if row is None:
            return refused("Choose a record first.")
        if reason not in self.ctx.settings.correction_reasons:
            return refused("Choose one of the reasons shown.")
        if row["type"] in (RecordCorrected.type_name, RejectionDismissed.type_name):
            return refused("A correction cannot itself be corrected; correct the original record.")
        if row["corrected_by"]:
            return refused("That record is corrected already.")
        if self.needs_supervisor and self.supervisor is None:
            return refused("A supervisor signs off corrections: a supervisor signs in first.")
        note = f"state said: {row['message']}"[:500] if row["state"] == "rejected" and row["message"] else ""
        event = await self.ctx.record(RecordCorrected(reason=reason, note=note),
                                      corrects=row["id"], summary=f"Corrected: {row['summary']} ({reason})",
                                      witness=self.supervisor["id"] if self.supervisor else None)
        if isinstance(event, Outcome):
            return event
        self.selected, self.supervisor = None, None
        await self.refresh()
        return Outcome(True, f"Correction saved for: {row['summary']}. Now redo it if needed.", event.id)

    def view(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "to_fix": self.to_fix,
            "to_fix_total": max(self.ctx.outbox.counts.to_fix, len(self.to_fix)),
            "selected": self._row(self.selected),
            "reasons": list(self.ctx.settings.correction_reasons),
            "dismissal_reasons": list(self.ctx.settings.dismissal_reasons),
            "can_dismiss": self.can_dismiss,
            "next_step": NEXT_STEP,
            "needs_supervisor": self.needs_supervisor,
            "supervisor": self.supervisor["name"] if self.supervisor else None,
        }
