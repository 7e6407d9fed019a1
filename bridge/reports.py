"""Compliance reports from the ledger: outages, rejections, held records, one tag's history.

California lets a licensee keep working through a loss of access only with a
record of it (start, end, cause) and requires notifying the state after 72 hours;
inspectors ask for the history of a tag; the office works through rejections.
Each report is rows of plain values, printed as a table, JSON or CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.ledger import Ledger


@dataclass(frozen=True)
class Report:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def as_table(self) -> str:
        shown = [tuple("" if v is None else str(v) for v in row) for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(self.columns)]
        line = "  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))
        out = [self.title, "", line, "  ".join("-" * w for w in widths)]
        out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in shown]
        if not shown:
            out.append("(none)")
        return "\n".join(out)

    def as_json(self) -> str:
        return json.dumps([dict(zip(self.columns, row, strict=True)) for row in self.rows], indent=2,
                          default=str)

    def as_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue()


def _when(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


async def outages(ledger: Ledger, facility: str | None = None) -> Report:
    rows: list[tuple[Any, ...]] = []
    for o in await ledger.outages(facility):
        rows.append((o.facility, _when(o.started), _when(o.ended) or "ongoing", round(o.hours(), 2),
                     o.cause, "yes" if o.alerted else "no"))
    return Report("Loss of access to the state system", ("facility", "started", "ended", "hours",
                  "cause", "alert_raised"), rows)


async def rejections(ledger: Ledger, facility: str | None = None) -> Report:
    rows = [tuple(r) for r in await ledger.rejections(facility)]
    return Report("Records the state rejected", ("event", "facility", "device", "seq", "type", "at",
                  "message"), rows)


async def held(ledger: Ledger, facility: str | None = None) -> Report:
    rows = [(*r[:6], _when(int(r[6])), r[7]) for r in await ledger.held(facility)]
    return Report("Records held for a person to confirm their time (canopy bridge confirm)",
                  ("event", "facility", "device", "seq", "type", "at", "received", "why"), rows)


async def activity(ledger: Ledger, tag: str) -> Report:
    rows = [tuple(r) for r in await ledger.activity(tag)]
    return Report(f"Everything recorded about {tag}", ("event", "facility", "device", "seq", "type",
                  "at", "status", "message"), rows)


def render(report: Report, fmt: str) -> str:
    return {"table": report.as_table, "json": report.as_json, "csv": report.as_csv}[fmt]()


__all__: Sequence[str] = ("Report", "activity", "held", "outages", "rejections", "render")
