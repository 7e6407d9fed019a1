"""Compliance reports from the ledger: the registers an inspector asks for, and one key's history.

California lets a licensee keep working through a loss of access only with a
record of it (start, end, cause) and requires notifying the state after 72 hours;
inspectors ask for the history of a tag; the office works through rejections.
Each report is rows of plain values, printed as a table, JSON or CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bridge.config import DEFAULT_DEADLINE, Deadline, FacilityProfile
from bridge.ingest import CORRECTS, worker_key
from bridge.ledger import Ledger
from canopy.events import LABELS, format_utc
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
    """Times as an inspector reads them: the facility's own wall clock, with its zone,
    and the state's deadline for reporting (the facility profile's ``report_deadline``)."""

    def __init__(self, zones: Mapping[str, str] | None = None,
                 deadlines: Mapping[str, Deadline] | None = None) -> None:
        self._zones = {f: ZoneInfo(z) for f, z in (zones or {}).items()}
        self._deadlines = dict(deadlines or {})

    @classmethod
    def of(cls, facilities: Iterable[FacilityProfile]) -> Clock:
        """The clock of the bridge's licences, from their profiles."""
        profiles = list(facilities)
        return cls({f.license: f.timezone for f in profiles},
                   {f.license: f.report_deadline for f in profiles})

    def zone(self, facility: str | None) -> ZoneInfo | None:
        return self._zones.get(facility or "")

    def deadline(self, facility: str | None) -> Deadline:
        return self._deadlines.get(facility or "", DEFAULT_DEADLINE)

    def show(self, facility: str | None, instant: datetime) -> str:
        zone = self.zone(facility)
        if zone is None:
            return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    def ms(self, facility: str | None, ms: int | None) -> str | None:
        return None if ms is None else self.show(facility, datetime.fromtimestamp(ms / 1000, UTC))

    def iso(self, facility: str | None, text: str) -> str:
        instant = instant_of(text)
        return text if instant is None else self.show(facility, instant)

    def day(self, facility: str | None, instant: datetime) -> date:
        """The facility's own date of ``instant`` (UTC where its zone is unknown)."""
        return instant.astimezone(self.zone(facility) or UTC).date()


def instant_of(text: str) -> datetime | None:
    """An RFC 3339 time from the ledger as an aware datetime (None if it is not one, or is
    too near the calendar's ends to be shown in a zone or moved by a deadline: shown as recorded)."""
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not 1 < instant.year < 9999:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    """The stretch of time a register covers: from ``since``, before ``until`` (aware
    datetimes; None: unbounded). Registers of "now" (held, overdue) take no period."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def days(cls, first: date | None, last: date | None, zone: ZoneInfo | None) -> Period:
        """Whole local days, ``first`` to ``last`` inclusive, in the facility's zone."""
        def midnight(day: date | None) -> datetime | None:
            return None if day is None else datetime.combine(day, datetime.min.time(), zone or UTC)
        return cls(midnight(first), midnight(last + timedelta(days=1) if last else None))

    def bounds(self) -> tuple[str | None, str | None]:
        """As the ledger stores times (RFC 3339 UTC text), for its ``since``/``until``."""
        return (None if self.since is None else format_utc(self.since),
                None if self.until is None else format_utc(self.until))

    def holds_ms(self, started: int, ended: int | None) -> bool:
        """Whether a stretch (unix ms; ``ended`` None: still going) overlaps the period."""
        after = self.since is None or ended is None or ended >= self.since.timestamp() * 1000
        return after and (self.until is None or started < self.until.timestamp() * 1000)


ALL_TIME = Period()


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


async def outages(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    clock = clock or Clock()
    rows: list[tuple[Any, ...]] = []
    for o in await ledger.outages(facility):
        if not period.holds_ms(o.started, o.ended):
            continue
        rows.append((o.facility, clock.ms(o.facility, o.started),
                     clock.ms(o.facility, o.ended) or "ongoing", round(o.hours(), 2),
                     o.cause, "yes" if o.alerted else "no"))
    return Report("Loss of access to the state system", ("facility", "started", "ended", "hours",
                  "cause", "alert_raised"), rows)


async def rejections(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    """Every record the state refused, with who recorded it and whether it was corrected."""
    clock = clock or Clock()
    found = await ledger.rejections(facility, *period.bounds())
    corrected = await ledger.keyed([f"{CORRECTS}{r[0]}" for r in found])
    fixers = {k: Stored.of(v) for k, v in (await ledger.events(list(corrected.values()))).items()}
    rows = []
    for event_id, fac, device, seq, type_, at, message, payload in found:
        facts = Facts.of(bytes(payload))
        by = corrected.get(f"{CORRECTS}{event_id}", "")
        rows.append((clock.iso(fac, at), fac, device, seq, _record(type_), facts.worker, message,
                     by, resolution(fixers.get(by), clock), event_id))
    return Report("Records the state rejected", REJECTION_COLUMNS, rows)


REJECTION_COLUMNS = ("when", "facility", "device", "seq", "record", "worker", "state_said", "corrected_by",
                     "resolution", "event")


def resolution(fixer: Stored | None, clock: Clock) -> str:
    """What became of a rejection, as an inspector reads it: "to fix", or who corrected or
    dismissed it (and signed it off), when and why."""
    if fixer is None:
        return "to fix"
    what = "dismissed" if fixer.type == "rejection.dismissed" else "corrected"
    signed = f", signed off by {fixer.envelope('witness')}" if fixer.envelope("witness") else ""
    return (f"{what} by {fixer.envelope('user')}{signed} on {clock.iso(fixer.facility, fixer.at)}:"
            f" {fixer.text('reason')}")


async def held(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    clock = clock or Clock()
    rows = [(*r[:5], clock.iso(r[1], r[5]), clock.ms(r[1], int(r[6])), r[7])
            for r in await ledger.held(facility)]
    return Report("Records held for a person to confirm their time (canopy bridge confirm)",
                  ("event", "facility", "device", "seq", "type", "at", "received", "why"), rows)


def activity_keys(key: str, places: Sequence[str], workers: Sequence[str] = ()) -> tuple[str, ...]:
    """The index keys ``activity`` looks ``key`` up under: as a tag or name, and as a worker
    (``key`` and the ``workers`` ids) at each of ``places`` (the facility asked about, or
    every facility in the ledger)."""
    return (key, *(worker_key(place, w) for place in places for w in dict.fromkeys((key, *workers))))


ACTIVITY_COLUMNS = ("when", "facility", "device", "seq", "record", "worker", "witness", "weight",
                    "scale", "reason", "method", "where", "status", "state_said", "event")


async def activity(ledger: Ledger, key: str, facility: str | None = None,
                   clock: Clock | None = None, *, period: Period = ALL_TIME,
                   workers: Sequence[str] = ()) -> Report:
    """Everything recorded about a tag, a harvest or plant batch, a package, a worker (by
    id; ``workers``: the ids of the workers whose name ``key`` is) or a kiosk (by device
    id); the key is found literally (``%`` is just a character)."""
    clock = clock or Clock()
    rows = []
    # The facilities in the ledger, read once for both the worker keys and the kiosk's rows.
    places = [facility] if facility else await ledger.facilities()
    for event_id, fac, device, seq, type_, at, status, message, payload in await ledger.activity(
            activity_keys(key, places, workers), facility, *period.bounds(),
            device=key, places=places):
        f = Facts.of(bytes(payload))
        rows.append((clock.iso(fac, at), fac, device, seq, _record(type_), f.worker, f.witness,
                     f.weight, f.scale, f.reason, f.method, f.where, status, message, event_id))
    return Report(f"Everything recorded about {key}", ACTIVITY_COLUMNS, rows)


# --- the registers an inspector asks for ------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One event as a register reads it: the ledger's columns and the kiosk's bytes, parsed
    once and defensively (a register never fails on a malformed stored payload)."""

    id: str
    facility: str
    device: str
    seq: int
    type: str
    at: str
    status: str
    message: str
    payload: bytes

    @classmethod
    def of(cls, row: Sequence[Any]) -> Stored:
        return cls(str(row[0]), str(row[1]), str(row[2]), int(row[3]), str(row[4]), str(row[5]),
                   str(row[6]), str(row[7]), bytes(row[8]))

    @cached_property
    def body(self) -> dict[str, Any]:
        """The kiosk's record, parsed when first read (``{}`` if it is not a JSON object)."""
        return _body(self.payload)

    @property
    def data(self) -> dict[str, Any]:
        data = self.body.get("data")
        return data if isinstance(data, dict) else {}

    def text(self, key: str) -> str:
        """A field of the record's data as plain text ("" when absent or not a plain value)."""
        value = self.data.get(key)
        return "" if value is None or isinstance(value, (dict, list)) else str(value)

    def envelope(self, key: str) -> str:
        value = self.body.get(key)
        return "" if value is None or isinstance(value, (dict, list)) else str(value)

    @property
    def answer(self) -> str:
        """The state's answer as an inspector reads it: "accepted", "rejected: …", "waiting"."""
        shown = {"stored": "waiting for the state", "held": "held for a person to confirm its time"}
        said = shown.get(self.status, self.status)
        return f"{said}: {self.message}" if self.message else said


# Grams in one of each unit the scales report (canopy.events.MassUnit).
GRAMS: Mapping[str, Decimal] = {"g": Decimal(1), "kg": Decimal(1000), "lb": Decimal("453.59237"),
                                "oz": Decimal("28.349523125")}


PLAUSIBLE = Decimal(10) ** 9


def grams(weight: object) -> Decimal | None:
    """A stored weight (``{"value": "812.4", "unit": "g"}``) in grams; None if it is not one."""
    if not isinstance(weight, dict):
        return None
    factor = GRAMS.get(str(weight.get("unit")))
    value = weight.get("value")
    if factor is None or isinstance(value, (bool, dict, list)) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    # A weight no scale shows (not a number, or beyond a tonne-scale's range) is not summed.
    return amount * factor if amount.is_finite() and abs(amount) < PLAUSIBLE else None


def _g(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.1f}"


async def _rows(ledger: Ledger, types: Sequence[str], facility: str | None, period: Period) -> list[Stored]:
    return [Stored.of(r) for r in await ledger.of_types(types, facility, *period.bounds())]


# What each kind of waste record is about, and its reason (declared once).
WASTE_SUBJECT: Mapping[str, Callable[[Stored], tuple[str, str]]] = {
    "plant.destroyed": lambda e: (
        f"plant {e.text('tag')}" if e.text("tag") else f"plant batch {e.text('plant_batch')}"
        f" ({e.text('count')} plants)", e.text("reason")),
    "harvest.waste": lambda e: (f"harvest {e.text('harvest_name')}", e.text("waste_type")),
}
WASTE_COLUMNS = ("when", "facility", "record", "what", "reason", "method", "mixed_material", "weight",
                 "scale", "witness", "worker", "note", "hold", "status", "state_said", "device", "seq",
                 "event")


async def waste(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    """Waste and destruction: what, why, how, how much, mixed with what, who saw it, and the hold."""
    clock = clock or Clock()
    found = await _rows(ledger, (*WASTE_SUBJECT, "plant.destroy_completed"), facility, period)
    completed = {e.text("scheduled"): e for e in found if e.type == "plant.destroy_completed"}
    rows = []
    for e in found:
        subject = WASTE_SUBJECT.get(e.type)
        if subject is None:
            continue
        what, reason = subject(e)
        done = completed.get(e.id)
        hold = "" if done is None else (
            f"completed {clock.iso(done.facility, done.at)} by {done.envelope('user')}"
            + (f", witness {done.envelope('witness')}" if done.envelope("witness") else "")
            + f" ({done.answer})")
        weight = e.data.get("weight")
        rows.append((clock.iso(e.facility, e.at), e.facility, _record(e.type), what, reason,
                     e.text("method"), e.text("material_mixed"), _weight(weight),
                     str(weight.get("scale_id") or "") if isinstance(weight, dict) else "",
                     e.envelope("witness"), e.envelope("user"), e.text("note"), hold, e.status,
                     e.message, e.device, e.seq, e.id))
    return Report("Waste and destruction", WASTE_COLUMNS, rows)


CORRECTION_COLUMNS = ("when", "facility", "worker", "signed_off_by", "reason", "note", "corrected_record",
                      "corrected_when", "corrected_worker", "corrected_state_said", "corrected_event",
                      "device", "seq", "event")


async def corrections(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    """Every correction: what it corrects (as first recorded, and the state's answer), why,
    who recorded it and who signed it off (the supervisor signs as the witness)."""
    clock = clock or Clock()
    found = await _rows(ledger, ("record.corrected",), facility, period)
    originals = {k: Stored.of(v) for k, v in (await ledger.events(
        [e.envelope("corrects") for e in found if e.envelope("corrects")])).items()}
    rows = []
    for e in found:
        target = e.envelope("corrects")
        was = originals.get(target)
        rows.append((clock.iso(e.facility, e.at), e.facility, e.envelope("user"), e.envelope("witness"),
                     e.text("reason"), e.text("note"),
                     _record(was.type) if was else ("(not in the ledger)" if target else ""),
                     clock.iso(was.facility, was.at) if was else "", was.envelope("user") if was else "",
                     was.answer if was else "", target, e.device, e.seq, e.id))
    return Report("Corrections", CORRECTION_COLUMNS, rows)


@dataclass
class _Harvest:
    facility: str
    first: str
    last: str
    plants: dict[str, None]
    wet: Decimal
    waste: Decimal
    dry: Decimal
    answers: dict[str, int]


HARVEST_COLUMNS = ("harvest", "facility", "started", "last_weighed", "plants", "wet_weight_g", "waste_g",
                   "dry_weight_g", "moisture_loss_pct", "state_said")
# Wet weight is taken at harvest and at each manicure; dry weight when a plant is cured.
WET = ("plant.harvested", "plant.manicured")


async def harvests(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    """Each harvest batch: plants, wet weight, waste, dry weight and moisture loss."""
    clock = clock or Clock()
    found = await _rows(ledger, (*WET, "harvest.waste", "plant.cured"), facility, period)
    batches: dict[tuple[str, str], _Harvest] = {}
    plant_in: dict[tuple[str, str], tuple[str, str]] = {}  # (facility, tag) -> its harvest batch

    def batch(key: tuple[str, str], e: Stored) -> _Harvest:
        h = batches.get(key)
        if h is None:
            h = batches[key] = _Harvest(e.facility, e.at, e.at, {}, Decimal(0), Decimal(0), Decimal(0), {})
        h.first, h.last = min(h.first, e.at), max(h.last, e.at)
        h.answers[e.status] = h.answers.get(e.status, 0) + 1
        return h

    for e in found:
        weight = grams(e.data.get("weight")) or Decimal(0)
        if e.type in WET and e.text("harvest_name"):
            key = (e.facility, e.text("harvest_name"))
            h = batch(key, e)
            h.wet += weight
            if e.text("tag"):
                h.plants[e.text("tag")] = None
                plant_in[(e.facility, e.text("tag"))] = key
        elif e.type == "harvest.waste" and e.text("harvest_name"):
            batch((e.facility, e.text("harvest_name")), e).waste += weight
        elif e.type == "plant.cured" and (e.facility, e.text("tag")) in plant_in:
            batch(plant_in[(e.facility, e.text("tag"))], e).dry += weight
    rows = []
    for (fac, name), h in sorted(batches.items(), key=lambda kv: (kv[1].first, kv[0])):
        loss = "" if not (h.wet and h.dry) else _g((h.wet - h.dry) / h.wet * 100)
        said = ", ".join(f"{n} {s}" for s, n in sorted(h.answers.items()))
        rows.append((name, fac, clock.iso(fac, h.first), clock.iso(fac, h.last), len(h.plants),
                     _g(h.wet), _g(h.waste), _g(h.dry) if h.dry else "", loss, said))
    return Report("Harvest batches: wet and dry weight", HARVEST_COLUMNS, rows)


SCALE_COLUMNS = ("day", "when", "facility", "scale", "zero", "test_weight", "reading", "tolerance", "unit",
                 "result", "legal_for_trade", "worker", "device", "event")


async def scales(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    """Each scale's daily zero and test-weight check: readings, result and who checked."""
    clock = clock or Clock()
    lft = {"True": "on", "False": "OFF", "": "not reported"}
    rows = []
    for e in await _rows(ledger, ("scale.checked",), facility, period):
        instant = instant_of(e.at)
        rows.append((str(clock.day(e.facility, instant)) if instant else "", clock.iso(e.facility, e.at),
                     e.facility, e.text("scale_id"), e.text("zero"), e.text("reference"), e.text("reading"),
                     e.text("tolerance"), e.text("unit"),
                     {"True": "passed", "False": "FAILED"}.get(e.text("passed"), ""),
                     lft.get(e.text("legal_for_trade"), e.text("legal_for_trade")), e.envelope("user"),
                     e.device, e.id))
    return Report("Scale register: daily zero and test-weight checks", SCALE_COLUMNS, rows)


# California (CDFA §8400(d)(5)): tags of product retired from the state system are kept
# six months after retirement; the ledger keeps every record seven years (it never deletes).
RETIRED_TAGS_KEPT = timedelta(days=183)
# The records after which a tag is used up or retired, and what the register says of them.
RETIRES: Mapping[str, Callable[[Stored], tuple[str, str] | None]] = {
    "plant.destroyed": lambda e: (e.text("tag"), "retired: plant destroyed") if e.text("tag") else None,
    "plant.harvested": lambda e: (e.text("tag"), "used: plant harvested") if e.text("tag") else None,
    "plant.phase_changed": lambda e: (
        (e.text("tag"), f"retired: replaced by {e.text('new_tag')}")
        if e.text("tag") and e.text("new_tag") else None),
}
TAG_COLUMNS = ("when", "facility", "what", "kind", "first", "last", "count", "worker", "keep_until",
               "state_said", "device", "event")


async def tags(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    """Tag receipts (first and last tag of each roll, how many, who, when) and every tag
    used or retired, with the date until which it must at least be kept."""
    clock = clock or Clock()
    rows: list[tuple[Any, ...]] = []
    for e in await _rows(ledger, ("tags.received", *RETIRES), facility, period):
        if e.type == "tags.received":
            count = e.data.get("count")
            rows.append((clock.iso(e.facility, e.at), e.facility, "received", e.text("kind"), e.text("first"),
                         e.text("last"), count if type(count) is int else None, e.envelope("user"), "",
                         e.answer, e.device, e.id))
            continue
        retired = RETIRES[e.type](e)
        instant = instant_of(e.at)
        if retired is None:
            continue
        keep = str(clock.day(e.facility, instant + RETIRED_TAGS_KEPT)) if instant else ""
        rows.append((clock.iso(e.facility, e.at), e.facility, retired[1], "plant", retired[0], retired[0], 1,
                     e.envelope("user"), keep, e.answer, e.device, e.id))
    return Report("Tags received, used and retired", TAG_COLUMNS, rows)


OVERDUE_COLUMNS = ("facility", "record", "when", "due", "deadline", "overdue_hours", "status", "worker",
                   "device", "seq", "event")


async def overdue(ledger: Ledger, facility: str | None = None, clock: Clock | None = None, *,
        period: Period = ALL_TIME) -> Report:
    """Records still waiting for the state past the state's deadline (the profile's
    ``report_deadline``: 3 business days in California, 24 hours where a state says so)."""
    clock = clock or Clock()
    now = datetime.fromtimestamp(ledger.clock() / 1000, UTC)
    rows = []
    dues: dict[tuple[str, date], datetime] = {}  # business days: one deadline per local day
    for e in (Stored.of(r) for r in await ledger.waiting(facility)):
        instant = instant_of(e.at)
        if instant is None:
            continue
        deadline, zone = clock.deadline(e.facility), clock.zone(e.facility) or ZoneInfo("UTC")
        if deadline.hours is None:
            key = (e.facility, instant.astimezone(zone).date())
            due = dues.get(key) or dues.setdefault(key, deadline.due(instant, zone))
        else:
            due = deadline.due(instant, zone)
        if now > due:
            rows.append((e.facility, _record(e.type), clock.show(e.facility, instant),
                         clock.show(e.facility, due), deadline.describe(),
                         round((now - due).total_seconds() / 3600, 1), e.answer, e.envelope("user"), e.device,
                         e.seq, e.id))
    return Report("Records waiting past the state's deadline", OVERDUE_COLUMNS, rows)


class Build(Protocol):
    """How a register is built: ``build(ledger, facility, clock)``, optionally for a period."""

    def __call__(self, ledger: Ledger, facility: str | None, clock: Clock | None, /, *,
                 period: Period = ALL_TIME) -> Awaitable[Report]: ...


@dataclass(frozen=True)
class Register:
    """One report a facility keeps: its command and web name, and how it is built.

    The command line (``canopy bridge report NAME``) and the compliance console
    both list these, so a register added here appears in both.
    """

    name: str
    help: str
    build: Build
    dated: bool = True  # False: a register of now (held, overdue), which takes no period


REGISTERS: tuple[Register, ...] = (
    Register("outages", "loss of access to the state system: start, end, cause, alert", outages),
    Register("rejections", "records the state refused; whether corrected or dismissed, by whom and why",
             rejections),
    Register("held", "records held for a person to confirm their time", held, dated=False),
    Register("overdue", "records waiting for the state past its deadline (3 business days in CA)", overdue,
             dated=False),
    Register("waste", "waste and destruction: what, reason, method, weight, mixed material, witness, hold",
             waste),
    Register("corrections", "corrections: what was corrected, why, who recorded and who signed off",
             corrections),
    Register("harvests", "harvest batches: plants, wet and dry weight, waste, moisture loss", harvests),
    Register("scales", "scale register: each day's zero and test-weight check, result, who", scales),
    Register("tags", "tags received (rolls), used and retired, and how long to keep them", tags),
)
BY_NAME: Mapping[str, Register] = {r.name: r for r in REGISTERS}


def render(report: Report, fmt: str) -> str:
    return {"table": report.as_table, "json": report.as_json, "csv": report.as_csv}[fmt]()


__all__: Sequence[str] = (
    "ALL_TIME",
    "BY_NAME",
    "GRAMS",
    "REGISTERS",
    "REJECTION_COLUMNS",
    "RETIRED_TAGS_KEPT",
    "RETIRES",
    "Build",
    "Clock",
    "Facts",
    "Period",
    "Register",
    "Report",
    "Stored",
    "activity",
    "activity_keys",
    "corrections",
    "grams",
    "harvests",
    "held",
    "instant_of",
    "outages",
    "overdue",
    "rejections",
    "render",
    "resolution",
    "scales",
    "tags",
    "waste",
)
