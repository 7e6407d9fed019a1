"""Records: what this kiosk saved, where each record is, and corrections.

Each recent event shows its delivery: *saved* (on this kiosk only), *sent*
(the bridge stored it), *accepted* or *rejected* with the state's own message.
Nothing is edited in place (domain.md §2.6 "Error correction"): correcting a
wrong or rejected record is a new ``record.corrected`` event that points at it
(``corrects``) and says why; the work is then done again in its own flow.
A worker who is not a supervisor needs a supervisor to sign in and sign the
correction off (the event's ``witness``), unless the kiosk is configured otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from agent.workflows.base import Flow, FlowContext, Outcome, arg_str, refused
from canopy.events import LABELS, RecordCorrected

SHOWN = 30
_STATE_WORDS = {"pending": "saved", "stored": "sent", "accepted": "accepted", "rejected": "rejected"}


class RecordsFlow(Flow):
    screen = "records"
    title = "Records"
    second_role = "supervisor"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self.rows: list[dict[str, Any]] = []
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
        before = self.rows
        await self.refresh()
        return self.rows != before

    async def refresh(self) -> None:
        recent = await self.ctx.outbox.recent(SHOWN)
        ids = [r.id for r in recent]
        entries = await self.ctx.floor.journal.entries(ids)
        corrected = await self.ctx.floor.journal.corrections_of(ids)
        rows = []
        for r in recent:
            entry = entries.get(r.id)
            rows.append({
                "id": r.id,
                "seq": r.seq,
                "type": r.type,
                "what": LABELS.get(r.type, r.type),
                "summary": entry.summary if entry else r.type,
                "user": entry.user if entry else "",
                "at": datetime.fromtimestamp(r.created / 1000, UTC).isoformat(),
                "at_ms": r.created,
                "state": _STATE_WORDS[r.state],
                "message": r.message or "",
                "corrected_by": corrected.get(r.id),
                "corrects": entry.corrects if entry else None,
            })
        self.rows = rows

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "select":
            event_id = arg_str(args, "id")
            if not any(row["id"] == event_id for row in self.rows):
                return refused("That record is no longer listed.")
            self.selected, self.supervisor = event_id, None
            return Outcome(True, "Choose why it is wrong.", quiet=True)
        if action == "back":
            self.selected, self.supervisor = None, None
            return Outcome(True, "Records.", quiet=True)
        if action == "correct":
            return await self.correct(arg_str(args, "reason"))
        return await super().act(action, args)

    async def correct(self, reason: str) -> Outcome:
        row = next((r for r in self.rows if r["id"] == self.selected), None)
        if row is None:
            return refused("Choose a record first.")
        if reason not in self.ctx.settings.correction_reasons:
            return refused("Choose one of the reasons shown.")
        if row["type"] == RecordCorrected.type_name:
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
        selected = next((r for r in self.rows if r["id"] == self.selected), None)
        return {
            "rows": self.rows,
            "selected": selected,
            "reasons": list(self.ctx.settings.correction_reasons),
            "needs_supervisor": self.needs_supervisor,
            "supervisor": self.supervisor["name"] if self.supervisor else None,
        }
