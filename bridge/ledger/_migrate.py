"""``canopy bridge migrate``: bring a ledger written by an older version up to this one's.

Opening a ledger already upgrades its schema (cheap steps: columns with a default, no
table rewrite) and, on PostgreSQL, builds the late indexes without blocking ingest.
What opening leaves is done here: the backfills of rows written before a column existed,
in short batches (resumable after a kill, safe while bridges ingest), then the indexes
that wait for them, or that another process was building when this one opened (waited
for). A second run finds nothing to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.ledger._queries import Backfilled


@dataclass(frozen=True, slots=True)
class Migrated:
    upgraded: list[str]  # schema steps this run did ("schema", "index …", "column …")
    backfill: Backfilled | None  # None: nothing was left to backfill
    seconds: float

    @property
    def nothing_to_do(self) -> bool:
        return not self.upgraded and self.backfill is None

    def as_json(self) -> dict[str, Any]:
        backfill = None if self.backfill is None else {
            "rows_given_time": self.backfill.given, "rows_walked": self.backfill.walked,
            "batches": self.backfill.batches, "seconds": round(self.backfill.seconds, 1),
            "rows_per_s": self.backfill.rows_per_s}
        return {"nothing_to_do": self.nothing_to_do, "upgraded": self.upgraded, "backfill": backfill,
                "seconds": round(self.seconds, 1)}

    def lines(self) -> list[str]:
        if self.nothing_to_do:
            return ["nothing to do: the ledger is current (schema, indexes, backfills)"]
        out = [f"upgraded: {step}" for step in self.upgraded]
        if self.backfill is not None:
            b = self.backfill
            out.append(f"backfilled event_tags.at: {b.given:,} index rows given their event's time,"
                       f" {b.batches:,} batches, {b.seconds:.1f} s ({b.rows_per_s:,} rows/s walked)")
        out.append(f"done in {self.seconds:.1f} s; the ledger is current")
        return out


class CannotOpen(Exception):
    """The ledger cannot be opened: a wrong URL, no such database, no server (why, in one line)."""


async def migrate(url: str, *, batch: int | None = None,
                  progress: Callable[[Backfilled], None] | None = None) -> Migrated:
    """Upgrade the ledger at ``url``; what was done. ``CannotOpen`` if it cannot be opened,
    ``LedgerUnreachable`` if it goes away meanwhile (run again: it resumes)."""
    from bridge.ledger import open_ledger

    started = time.perf_counter()
    try:
        ledger = await open_ledger(url)
    except Exception as exc:  # any driver error here is a setup problem for IT
        lines = str(exc).strip().splitlines()
        raise CannotOpen(lines[0] if lines else type(exc).__name__) from exc
    try:
        backfill = (await ledger.backfill_tag_times(batch, progress)
                    if await ledger.backfill_pending() else None)
        # Last: an index that waits for its rows' backfill (PostgreSQL), or for another
        # process that was building indexes when this one opened.
        upgraded = [*ledger.upgraded, *(f"index {name}" for name in await ledger.complete_schema())]
    finally:
        await ledger.close()
    return Migrated(upgraded, backfill, time.perf_counter() - started)
