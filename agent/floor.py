"""The floor as this kiosk knows it: cached reference data with its own recent facts on top.

Every flow asks the floor the same questions (what is this scan, where is this
plant, is this tag still free, may this scale weigh) and gets answers that work
offline. Where an answer needs a list the kiosk never received, the answer says
so (``unchecked``) instead of guessing. The answers are plain values
(``agent.floorinfo``); what a saved event changes here is ``remember``'s
(``agent.projection``), never a flow's.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite

from agent.cachedb import Cache, memory_copy, open_floor_cache
from agent.facts import REF_FOR_KIND, LocalFacts
from agent.floorinfo import LIVE_PHASES as LIVE_PHASES
from agent.floorinfo import HarvestInfo as HarvestInfo
from agent.floorinfo import Hold, ScaleCheck
from agent.floorinfo import LotInfo as LotInfo
from agent.floorinfo import PlantInfo as PlantInfo
from agent.floorinfo import Resolved as Resolved
from agent.floorinfo import ScanKind as ScanKind
from agent.journal import Journal
from agent.projection import project
from agent.refcache import RefCache
from agent.reflookup import RefCopy
from agent.storage import full_error
from agent.users import check_roster
from agent.workflows.tags import NotATag, TagFormat, check_tag
from canopy.events import Event
from canopy.refdata import (
    AdjustReason,
    Harvest,
    HarvestWasteType,
    Item,
    LotSource,
    Plant,
    PlantBatch,
    Profile,
    Room,
    Roster,
    Scale,
    WasteMethod,
    WasteReason,
    lot_source,
)

log = logging.getLogger(__name__)


def _index(rows: Any, key: str) -> dict[str, Any]:
    return {getattr(row, key): row for row in rows or ()}


@dataclass
class _Indexes:
    rooms: dict[str, Room] = field(default_factory=dict)
    batches: dict[str, PlantBatch] = field(default_factory=dict)
    harvests: dict[str, Harvest] = field(default_factory=dict)
    scales: dict[str, Scale] = field(default_factory=dict)
    # Plants and tag pools are not indexed here: ``RefCache`` answers them (on disk
    # for a big list), so 50,000 plants cost the kiosk no memory.


_NOT_SYNCED = "this kiosk has not received the {} list yet"


class Floor:
    """Lookups over the reference copy and local facts. Open with ``Floor.open``."""

    def __init__(self, db: aiosqlite.Connection, ref: RefCache, facts: LocalFacts, journal: Journal,
                 default_tag_format: TagFormat,
                 settled: Callable[[], Awaitable[set[str]]] | None = None) -> None:
        self._db = db
        self.ref = ref
        self.facts = facts  # written only by ``remember``; read through the queries below
        self.journal = journal
        self.default_tag_format = default_tag_format
        self._settled = settled
        self._ix = _Indexes()
        self.on_change: list[Callable[[str], None]] = []
        # The one clock for floor rules that run over hours or days (daily scale check,
        # waste holds); tests replace it instead of sleeping.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.in_memory = False  # the disk was full at start: this cache lives in memory only
        self._reindex()

    @classmethod
    async def open(cls, path: Path, *, facility: str, default_tag_format: TagFormat = "any",
                   settled: Callable[[], Awaitable[set[str]]] | None = None) -> Floor:
        cache = await open_floor_cache(path)
        try:
            floor = await cls._load(cache, facility, default_tag_format, settled)
        except (sqlite3.Error, OSError) as exc:
            if cache.in_memory or not full_error(exc, path):
                raise
            cache.reader.close()
            await cache.db.close()
            log.error("floor cache %s cannot be written (%s): working on a copy in memory", path, exc)
            cache = await memory_copy(path)
            floor = await cls._load(cache, facility, default_tag_format, settled)
        floor.in_memory = cache.in_memory
        return floor

    @classmethod
    async def _load(cls, cache: Cache, facility: str, default_tag_format: TagFormat,
                    settled: Callable[[], Awaitable[set[str]]] | None) -> Floor:
        db = cache.db
        ref = RefCache(db, facility, checks={"workers": check_roster}, reader=cache.reader)
        facts, journal = LocalFacts(db), Journal(db)
        await ref.load()
        await facts.load()
        await journal.load()
        return cls(db, ref, facts, journal, default_tag_format, settled)

    async def close(self) -> None:
        self.ref.close()
        await self._db.close()

    # --- reference data in ------------------------------------------------------

    async def apply_ref(self, suffix: str, payload: bytes) -> RefCopy | None:
        """Take the message on ``.../ref/<suffix>`` (raises ``RefRejected``); the list's new
        copy in force, or None when none is yet (unchanged, or a part of one still arriving)."""
        copy = await self.ref.take(suffix, payload)
        if copy is None:
            return None
        name = copy.name
        if name in REF_FOR_KIND.values() and self._settled is not None:
            settled = await self._settled()
            dropped = await self.facts.drop_settled(name, self.ref.at_ms(name) or 0, settled)
            if dropped:
                log.info("%s: %d local fact(s) now covered by the bridge's list", name, dropped)
        self._reindex()
        for callback in self.on_change:
            callback(name)
        return copy

    def _reindex(self) -> None:
        r = self.ref.rows
        self._ix = _Indexes(
            rooms=_index(r("rooms"), "name"),
            batches=_index(r("plant_batches"), "name"),
            harvests=_index(r("harvests"), "name"),
            scales=_index(r("scales"), "id"),
        )

    def has(self, name: str) -> bool:
        return self.ref.copy(name) is not None

    # --- simple lists -------------------------------------------------------------

    @property
    def profile(self) -> Profile | None:
        rows = self.ref.rows("profile")
        return rows if isinstance(rows, Profile) else None

    @property
    def roster(self) -> Roster | None:
        """The facility's workers as the bridge last published them (None: never received)."""
        rows = self.ref.rows("workers")
        return rows if isinstance(rows, Roster) else None

    @property
    def tag_format(self) -> TagFormat:
        profile = self.profile
        return profile.tag_format if profile is not None else self.default_tag_format

    @property
    def witness_required_for_waste(self) -> bool:
        profile = self.profile
        return bool(profile and profile.witness_required_for_waste)

    @property
    def system(self) -> str | None:
        """"metrc" or "biotrack" once the profile arrived; flows differ where the states do."""
        profile = self.profile
        return profile.system if profile is not None else None

    @property
    def max_plants_per_lot(self) -> int:
        profile = self.profile
        return min(100, profile.max_plants_per_lot) if profile is not None else 100

    @property
    def lot_source(self) -> LotSource:
        """What a new immature lot names as its source (the profile's, else its state's rule)."""
        profile = self.profile
        if profile is None:
            return "none"
        return profile.lot_source or lot_source(profile.system, profile.state)

    @property
    def hold_hours(self) -> int:
        """How long destroyed plants' waste stays on hold (NM), 0 where it does not."""
        profile = self.profile
        return profile.destroy_hold_hours if profile is not None else 0

    def rooms(self, *, for_plants: bool = True) -> list[Room]:
        return [room for room in self._ix.rooms.values() if room.for_plants or not for_plants]

    def room(self, name: str) -> Room | None:
        return self._ix.rooms.get(name)

    def strains(self) -> list[str]:
        return [s.name for s in self.ref.rows("strains") or ()]

    def waste_reasons(self) -> list[WasteReason]:
        return list(self.ref.rows("waste_reasons") or ())

    def waste_methods(self) -> list[WasteMethod]:
        return list(self.ref.rows("waste_methods") or ())

    def harvest_waste_types(self) -> list[HarvestWasteType]:
        return list(self.ref.rows("harvest_waste_types") or ())

    def adjust_reasons(self) -> list[AdjustReason]:
        return list(self.ref.rows("adjust_reasons") or ())

    def items(self) -> list[Item]:
        """The state's items (products) a package may be made as."""
        return list(self.ref.rows("items") or ())

    def package_rooms(self) -> list[Room]:
        return [room for room in self._ix.rooms.values() if room.for_packages]

    # --- plants, lots, harvests ---------------------------------------------------

    def plant(self, tag: str) -> PlantInfo | None:
        return self._plant(tag, self.ref.plant(tag))

    def _plant(self, tag: str, row: Plant | None) -> PlantInfo | None:
        """The list's ``row`` for ``tag`` with what this kiosk recorded since on top."""
        fact = self.facts.get("plant", tag)
        if row is None and fact is None:
            return None
        base: dict[str, Any] = (
            {"location": row.location, "phase": row.phase, "strain": row.strain,
             "plant_batch": row.plant_batch} if row is not None else {"location": "", "phase": "Other"}
        )
        return PlantInfo(tag=tag, **{**base, **(fact or {})})

    def known_plant_tags(self) -> list[str]:
        return sorted(set(self.ref.plant_tags()) | {key for key, _ in self.facts.items("plant")})

    def fresh_plant_tags(self, limit: int | None = None) -> list[str]:
        """Unused plant tags, as far as this kiosk knows (the demo panel offers a few)."""
        fresh = (t for t in self.ref.pool("plant_tags") if self.plant(t) is None and self.lot(t) is None)
        return list(islice(fresh, limit))

    def package_tags(self, limit: int | None = None) -> list[str]:
        """Unused package tags, as far as this kiosk knows."""
        return list(islice((t for t in self.ref.pool("package_tags") if not self.package_made(t)), limit))

    def packages_made(self) -> list[str]:
        """The tags this kiosk put on new packages, as far as its lists do not say yet."""
        return sorted(key for key, _ in self.facts.items("package"))

    def package_made(self, tag: str) -> bool:
        """This kiosk put ``tag`` on a new package (the state's list of unused tags may lag)."""
        return self.facts.get("package", tag) is not None

    def plants_in(self, room: str) -> list[PlantInfo]:
        # The list's plants there (one query, not a lookup per plant), and those this kiosk
        # moved (or recorded) since.
        rows: dict[str, Plant | None] = {row.tag: row for row in self.ref.plants_at(room)}
        for tag, _ in self.facts.items("plant"):
            if tag not in rows:
                rows[tag] = self.ref.plant(tag)
        found = [p for p in (self._plant(tag, rows[tag]) for tag in sorted(rows)) if p is not None]
        return [p for p in found if p.location == room and p.alive]

    def count_in(self, room: str) -> int:
        """``len(plants_in(room))`` without building them: a room's scan shows it, and a
        room may hold thousands. The list's count (one query), corrected by what this
        kiosk recorded since."""
        count = self.ref.count_at(room, LIVE_PHASES)
        for tag, _ in self.facts.items("plant"):
            row = self.ref.plant(tag)
            info = self._plant(tag, row)
            was = row is not None and row.location == room and row.phase in LIVE_PHASES
            count += int(info is not None and info.location == room and info.alive) - int(was)
        return count

    def lot(self, name: str) -> LotInfo | None:
        row = self._ix.batches.get(name)
        fact = self.facts.get("batch", name)
        if row is None and fact is None:
            return None
        if row is not None:
            info = LotInfo(row.name, row.strain, row.count, row.location)
        else:
            assert fact is not None
            info = LotInfo(name, fact.get("strain", ""), int(fact.get("count", 0)),
                           fact.get("location", ""))
        if fact is not None:
            used = int(fact.get("tagged", 0)) + int(fact.get("destroyed", 0))
            info = LotInfo(info.name, info.strain, max(0, info.count - used), info.location,
                           str(fact.get("created", "")))
        return info

    def lots(self) -> list[LotInfo]:
        names = set(self._ix.batches) | {key for key, _ in self.facts.items("batch")}
        found = [lot for lot in (self.lot(n) for n in sorted(names)) if lot is not None]
        return [lot for lot in found if lot.count > 0]

    def harvest(self, name: str) -> HarvestInfo | None:
        row = self._ix.harvests.get(name)
        if row is not None:
            return HarvestInfo(row.name, row.location, row.strain)
        fact = self.facts.get("harvest", name)
        if fact is not None:
            return HarvestInfo(name, fact.get("location", ""), fact.get("strain", ""))
        return None

    def harvests(self) -> list[HarvestInfo]:
        names = set(self._ix.harvests) | {key for key, _ in self.facts.items("harvest")}
        return [h for h in (self.harvest(n) for n in sorted(names)) if h is not None]

    # --- the facility's clock -----------------------------------------------------

    def local_time(self, at: datetime | None = None) -> datetime:
        """``at`` (default now) on the facility's wall clock: its profile's time zone, the
        kiosk's own until the profile arrives."""
        when = at or self.clock()
        profile = self.profile
        try:
            return when.astimezone(ZoneInfo(profile.timezone) if profile else None)
        except (ZoneInfoNotFoundError, ValueError):
            return when.astimezone()

    def local_day(self, at: datetime | None = None) -> date:
        """The facility's calendar day."""
        return self.local_time(at).date()

    # --- what this kiosk recorded (written only by ``remember``) ---------------------

    async def remember(self, event: Event) -> None:
        """After ``event`` is saved: write down what it means here (``agent.projection``)."""
        await self.facts.apply(event.id, project(event, self))

    def scale(self, scale_id: str) -> Scale | None:
        """The registered scale ``scale_id`` (see ``agent.scalerules``)."""
        return self._ix.scales.get(scale_id)

    def last_scale_check(self, scale_id: str) -> ScaleCheck | None:
        fact = self.facts.get("scale_check", scale_id)
        if fact is None:
            return None
        return ScaleCheck(bool(fact.get("passed")), str(fact.get("why", "")), fact.get("day"))

    def printed_before(self, kind: str, uid: str) -> bool:
        """This kiosk printed the ``kind`` label ``uid`` before (the next one is a reprint)."""
        return self.facts.get("label", f"{kind}:{uid}") is not None

    def hold(self, tag: str) -> Hold | None:
        """The waste hold of plant ``tag``, completed or not."""
        fact = self.facts.get("hold", tag)
        return _hold(tag, fact) if fact is not None else None

    def holds(self) -> list[Hold]:
        """Every hold this kiosk knows, the first to end first."""
        return sorted((_hold(tag, fact) for tag, fact in self.facts.items("hold")),
                      key=lambda hold: hold.until)

    # --- what is this scan? ------------------------------------------------------------

    def resolve(self, text: str) -> Resolved:
        text = text.strip()
        if (room := self._ix.rooms.get(text)) is not None:
            return Resolved("room", text, room=room)
        if (lot := self.lot(text)) is not None:
            return Resolved("lot", text, lot=lot)
        if (harvest := self.harvest(text)) is not None:
            return Resolved("harvest", text, harvest=harvest)
        try:
            tag = check_tag(text, self.tag_format)
        except NotATag as exc:
            return Resolved("not_a_tag", text, message=str(exc))
        if (plant := self.plant(tag)) is not None:
            return Resolved("plant", tag, tag=tag, plant=plant)
        if self.ref.in_pool("plant_tags", tag):
            return Resolved("fresh_tag", tag, tag=tag)
        if self.ref.in_pool("package_tags", tag) and not self.package_made(tag):
            return Resolved("package_tag", tag, tag=tag)
        labels = {"plants": "plant", "plant_tags": "available plant tag",
                  "package_tags": "available package tag"}
        missing = [label for name, label in labels.items() if not self.has(name)]
        unchecked = _NOT_SYNCED.format(", ".join(missing)) if missing else ""
        return Resolved("unknown_tag", tag, tag=tag, unchecked=unchecked)


def _hold(tag: str, fact: dict[str, Any]) -> Hold:
    return Hold(tag, int(fact.get("since", 0)), int(fact.get("until", 0)), str(fact.get("weight", "")),
                str(fact.get("reason", "")), str(fact.get("scheduled", "")), fact.get("completed"))
