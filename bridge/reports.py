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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bridge.ingest import CORRECTS
from bridge.ledger import Ledger
from canopy.events import LABELS
from canopy.payload import json_object


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


class Clock:
    """Times as an inspector reads them: the facility's own wall clock, with its zone."""

    def __init__(self, zones: Mapping[str, str] | None = None) -> None:
        self._zones = {f: ZoneInfo(z) for f, z in (zones or {}).items()}

    def show(self, facility: str | None, instant: datetime) -> str:
        zone = self._zones.get(facility or "")
        if zone is None:
            return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    def ms(self, facility: str | None, ms: int | None) -> str | None:
        return None if ms is None else self.show(facility, datetime.fromtimestamp(ms / 1000, UTC))

    def iso(self, facility: str | None, text: str) -> str:
        try:
            return self.show(facility, datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            return text


def _weight(value: object) -> str:
    if not isinstance(value, dict):
        return ""
    return f"{value.get('value', '')} {value.get('unit', '')}".strip()


def _body(payload: bytes) -> dict[str, Any]:
    return json_object(payload) or {}


@dataclass(frozen=True)
class Facts:
    """What an inspector asks of one record, read from the bytes the kiosk sent."""

    worker: str
    witness: str
    weight: str
    scale: str
    reason: str
    method: str
    where: str

    @classmethod
    def of(cls, payload: bytes) -> Facts:
        body = _body(payload)
        raw_data = body.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        weighed = data.get("weight") or data.get("quantity")
        raw_sources = data.get("sources")
        sources: list[Any] = raw_sources if isinstance(raw_sources, list) else []
        weights = [_weight(s.get("weight")) for s in sources if isinstance(s, dict)]
        return cls(
            worker=str(body.get("user", "")),
            witness=str(body.get("witness", "")),
            weight=_weight(weighed) or ", ".join(w for w in weights if w),
            scale=str(weighed.get("scale_id") or "") if isinstance(weighed, dict) else "",
            reason=str(data.get("reason", "")),
            method=" / ".join(str(data[k]) for k in ("method", "material_mixed") if data.get(k)),
            where=str(data.get("location", "")),
        )


def _record(type_: str) -> str:
    return LABELS.get(type_, type_)


async def outages(ledger: Ledger, facility: str | None = None, clock: Clock | None = None) -> Report:
    clock = clock or Clock()
    rows: list[tuple[Any, ...]] = []
    for o in await ledger.outages(facility):
        rows.append((o.facility, clock.ms(o.facility, o.started),
                     clock.ms(o.facility, o.ended) or "ongoing", round(o.hours(), 2),
                     o.cause, "yes" if o.alerted else "no"))
    return Report("Loss of access to the state system", ("facility", "started", "ended", "hours",
                  "cause", "alert_raised"), rows)


async def rejections(ledger: Ledger, facility: str | None = None, clock: Clock | None = None) -> Report:
    """Every record the state refused, with who recorded it and whether it was corrected."""
    clock = clock or Clock()
    found = await ledger.rejections(facility)
    corrected = await ledger.keyed([f"{CORRECTS}{r[0]}" for r in found])
    rows = []
    for event_id, fac, device, seq, type_, at, message, payload in found:
        facts = Facts.of(bytes(payload))
        rows.append((clock.iso(fac, at), fac, device, seq, _record(type_), facts.worker, message,
                     corrected.get(f"{CORRECTS}{event_id}", ""), event_id))
    return Report("Records the state rejected", ("when", "facility", "device", "seq", "record",
                  "worker", "state_said", "corrected_by", "event"), rows)


async def held(ledger: Ledger, facility: str | None = None, clock: Clock | None = None) -> Report:
    clock = clock or Clock()
    rows = [(*r[:5], clock.iso(r[1], r[5]), clock.ms(r[1], int(r[6])), r[7])
            for r in await ledger.held(facility)]
    return Report("Records held for a person to confirm their time (canopy bridge confirm)",
                  ("event", "facility", "device", "seq", "type", "at", "received", "why"), rows)


ACTIVITY_COLUMNS = ("when", "facility", "device", "seq", "record", "worker", "witness", "weight",
                    "scale", "reason", "method", "where", "status", "state_said", "event")


async def activity(ledger: Ledger, key: str, facility: str | None = None,
                   clock: Clock | None = None) -> Report:
    """Everything recorded about a tag, a harvest batch or a plant batch (found literally)."""
    clock = clock or Clock()
    rows = []
    for event_id, fac, device, seq, type_, at, status, message, payload in await ledger.activity(
            key, facility):
        f = Facts.of(bytes(payload))
        rows.append((clock.iso(fac, at), fac, device, seq, _record(type_), f.worker, f.witness,
                     f.weight, f.scale, f.reason, f.method, f.where, status, message, event_id))
    return Report(f"Everything recorded about {key}", ACTIVITY_COLUMNS, rows)


@dataclass(frozen=True)
class Register:
    """One report a facility keeps: its command and web name, and how it is built.

    The command line (``canopy bridge report NAME``) and the compliance console
    both list these, so a register added here appears in both.
    """

    name: str
    help: str
    build: Callable[[Ledger, str | None, Clock], Awaitable[Report]]


REGISTERS: tuple[Register, ...] = (
    Register("outages", "loss of access to the state system: start, end, cause, alert", outages),
    Register("rejections", "records the state refused, and whether they were corrected", rejections),
    Register("held", "records held for a person to confirm their time", held),
)
BY_NAME: Mapping[str, Register] = {r.name: r for r in REGISTERS}


def render(report: Report, fmt: str) -> str:
    return {"table": report.as_table, "json": report.as_json, "csv": report.as_csv}[fmt]()


__all__: Sequence[str] = ("BY_NAME", "REGISTERS", "Clock", "Facts", "Register", "Report", "activity", "held",
                          "outages", "rejections", "render")
