"""The floor as this kiosk knows it: cached reference data with its own recent facts on top.

Every flow asks the floor the same questions (what is this scan, where is this
plant, is this tag still free, may this scale weigh) and gets answers that work
offline. Where an answer needs a list the kiosk never received, the answer says
so (``unchecked``) instead of guessing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite

from agent.facts import REF_FOR_KIND, LocalFacts
from agent.refcache import RefCache, RefCopy
from agent.users import check_roster
from agent.workflows.tags import NotATag, TagFormat, check_tag
from canopy.refdata import (
    AdjustReason,
    Harvest,
    HarvestWasteType,
    Plant,
    PlantBatch,
    Profile,
    Room,
    Roster,
    Scale,
    WasteMethod,
    WasteReason,
)

log = logging.getLogger(__name__)

ScanKind = Literal["room", "plant", "lot", "harvest", "fresh_tag", "package_tag", "unknown_tag", "not_a_tag"]
LIVE_PHASES = ("Vegetative", "Flowering", "Other")


@dataclass(frozen=True, slots=True)
class PlantInfo:
    tag: str
    location: str
    phase: str
    strain: str = ""
    plant_batch: str = ""
    harvest: str = ""  # set once weighed into a harvest batch
    weight: str = ""  # e.g. "812.4 g", for "weighed twice" messages
    cured: str = ""  # the dry weight once cured, for "cured twice" messages

    @property
    def alive(self) -> bool:
        return self.phase in LIVE_PHASES


@dataclass(frozen=True, slots=True)
class LotInfo:
    name: str
    strain: str
    count: int  # plants still in the lot
    location: str = ""


@dataclass(frozen=True, slots=True)
class HarvestInfo:
    name: str
    location: str = ""
    strain: str = ""


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a scan is, as far as this kiosk can tell."""

    kind: ScanKind
    text: str
    tag: str | None = None
    room: Room | None = None
    plant: PlantInfo | None = None
    lot: LotInfo | None = None
    harvest: HarvestInfo | None = None
    message: str = ""  # for not_a_tag: what was expected
    unchecked: str = ""  # what could not be checked offline, in plain words

    def describe(self) -> str:
        return {
            "room": f"room {self.text}",
            "plant": f"plant {self.text}",
            "lot": f"immature lot {self.text}",
            "harvest": f"harvest batch {self.text}",
            "fresh_tag": f"unused plant tag {self.text}",
            "package_tag": f"package tag {self.text}",
            "unknown_tag": f"tag {self.text}",
            "not_a_tag": repr(self.text),
        }[self.kind]


def _index(rows: Any, key: str) -> dict[str, Any]:
    return {getattr(row, key): row for row in rows or ()}


@dataclass
class _Indexes:
    rooms: dict[str, Room] = field(default_factory=dict)
    plants: dict[str, Plant] = field(default_factory=dict)
    batches: dict[str, PlantBatch] = field(default_factory=dict)
    harvests: dict[str, Harvest] = field(default_factory=dict)
    scales: dict[str, Scale] = field(default_factory=dict)
    plant_tags: frozenset[str] = frozenset()
    package_tags: frozenset[str] = frozenset()


_NOT_SYNCED = "this kiosk has not received the {} list yet"


class Floor:
    """Lookups over the reference copy and local facts. Open with ``Floor.open``."""

    def __init__(self, db: aiosqlite.Connection, ref: RefCache, facts: LocalFacts,
                 default_tag_format: TagFormat,
                 settled: Callable[[], Awaitable[set[str]]] | None = None) -> None:
        self._db = db
        self.ref = ref
        self.facts = facts
        self.default_tag_format = default_tag_format
        self._settled = settled
        self._ix = _Indexes()
        self.on_change: list[Callable[[str], None]] = []
        # The one clock for floor rules that run over hours or days (daily scale check,
        # waste holds); tests replace it instead of sleeping.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._reindex()

    @classmethod
    async def open(cls, path: Path, *, facility: str, default_tag_format: TagFormat = "any",
                   settled: Callable[[], Awaitable[set[str]]] | None = None) -> Floor:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await cls._connect(path)
        except sqlite3.DatabaseError as exc:
            # Only a cache: move it aside and start empty rather than stop the kiosk.
            aside = path.with_suffix(".damaged")
            log.error("floor cache %s unreadable (%s); moved to %s, waiting for the next sync",
                      path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{path}{suffix}", f"{aside}{suffix}")
            db = await cls._connect(path)
        ref, facts = RefCache(db, facility, checks={"workers": check_roster}), LocalFacts(db)
        await ref.load()
        await facts.load()
        return cls(db, ref, facts, default_tag_format, settled)

    @staticmethod
    async def _connect(path: Path) -> aiosqlite.Connection:
        db = await aiosqlite.connect(path)
        try:
            check = await (await db.execute("PRAGMA quick_check")).fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check[0] if check else '?'}")
            await db.execute("PRAGMA journal_mode = WAL")
            # A cache: a lost last commit costs a hint, never a record.
            await db.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        await self._db.close()

    # --- reference data in ------------------------------------------------------

    async def apply_ref(self, name: str, payload: bytes) -> RefCopy | None:
        """Take one reference message (raises ``RefRejected``); None when unchanged."""
        copy = await self.ref.apply(name, payload)
        if copy is None:
            return None
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
            plants=_index(r("plants"), "tag"),
            batches=_index(r("plant_batches"), "name"),
            harvests=_index(r("harvests"), "name"),
            scales=_index(r("scales"), "id"),
            plant_tags=frozenset(r("plant_tags") or ()),
            package_tags=frozenset(r("package_tags") or ()),
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

    def package_rooms(self) -> list[Room]:
        return [room for room in self._ix.rooms.values() if room.for_packages]

    # --- plants, lots, harvests ---------------------------------------------------

    def plant(self, tag: str) -> PlantInfo | None:
        row = self._ix.plants.get(tag)
        fact = self.facts.get("plant", tag)
        if row is None and fact is None:
            return None
        base: dict[str, Any] = (
            {"location": row.location, "phase": row.phase, "strain": row.strain,
             "plant_batch": row.plant_batch} if row is not None else {"location": "", "phase": "Other"}
        )
        return PlantInfo(tag=tag, **{**base, **(fact or {})})

    def known_plant_tags(self) -> list[str]:
        return sorted(set(self._ix.plants) | {key for key, _ in self.facts.items("plant")})

    def fresh_plant_tags(self) -> list[str]:
        """Unused plant tags, as far as this kiosk knows (the demo panel offers a few)."""
        return sorted(t for t in self._ix.plant_tags if self.plant(t) is None and self.lot(t) is None)

    def package_tags(self) -> list[str]:
        return sorted(self._ix.package_tags)

    def plants_in(self, room: str) -> list[PlantInfo]:
        found = [p for p in (self.plant(t) for t in self.known_plant_tags()) if p is not None]
        return [p for p in found if p.location == room and p.alive]

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
            info = LotInfo(info.name, info.strain, max(0, info.count - used), info.location)
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

    # --- scales ---------------------------------------------------------------------

    def scale_refusal(self, scale_id: str, today: date) -> str | None:
        """Why weights from ``scale_id`` must not be logged, or None when they may."""
        return self.scale_registration_refusal(scale_id, today) or self.scale_check_refusal(scale_id)

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

    def scale_check_refusal(self, scale_id: str) -> str | None:
        """The daily zero and check-weight test (``Profile.daily_scale_check``): why the scale
        may not weigh yet, or None. The last check is a local fact, kept across restarts."""
        profile = self.profile
        if profile is None or not profile.daily_scale_check:
            return None
        last = self.facts.get("scale_check", scale_id)
        if last is not None and not last.get("passed"):
            return f"Scale {scale_id} failed its check: call a supervisor. {last.get('why', '')}".strip()
        if last is None or last.get("day") != self.local_day().isoformat():
            return (f"Scale {scale_id} needs today's zero and test-weight check before it weighs:"
                    " tap Scale check.")
        return None

    def scale_registration_refusal(self, scale_id: str, today: date) -> str | None:
        """The registered/sealed scale list: unlisted or expired scales never weigh."""
        if not self.has("scales"):
            return ("This kiosk has no list of registered scales yet (never synced), so weights "
                    "cannot be checked and are not logged. Connect the kiosk to get the list.")
        scale = self._ix.scales.get(scale_id)
        if scale is None:
            return f"Scale {scale_id} is not a registered scale: its weights cannot be logged."
        if scale.expires:
            try:
                expires = date.fromisoformat(scale.expires)
            except ValueError:
                return f"Scale {scale_id} has an unreadable registration expiry ({scale.expires!r})."
            if today > expires:
                return f"Scale {scale_id}'s registration expired on {expires.isoformat()}: not logged."
        return None

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
        if tag in self._ix.plant_tags:
            return Resolved("fresh_tag", tag, tag=tag)
        if tag in self._ix.package_tags:
            return Resolved("package_tag", tag, tag=tag)
        labels = {"plants": "plant", "plant_tags": "available plant tag",
                  "package_tags": "available package tag"}
        missing = [label for name, label in labels.items() if not self.has(name)]
        unchecked = _NOT_SYNCED.format(", ".join(missing)) if missing else ""
        return Resolved("unknown_tag", tag, tag=tag, unchecked=unchecked)
