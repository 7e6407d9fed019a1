"""Reference data the bridge publishes (retained) and kiosks cache to validate offline.

A kiosk keeps the last complete copy of each list on disk, so it can answer
"does this tag exist, which room is it in, is this waste reason allowed" with
the Wi-Fi down, and says how old its copy is. Two shapes travel, both retained
at QoS 1:

* **v1, whole list** on ``canopy/v1/<facility>/ref/<name>``: one message holds
  the list (``encode``/``decode``). Used whenever the list fits in one message,
  so a small facility and an older kiosk see exactly what they always saw.
* **v2, manifest + parts**, for a list too big for one message: each part
  (``encode_parts``/``decode_part``) holds some rows on
  ``canopy/v1/<facility>/ref/<name>/<part id>``, the id being the hash of the
  part's payload (so a part can only ever hold what its topic says). The
  manifest (``decode_head`` gives a ``RefManifest``) on the name's own topic
  lists the ``parts`` of the version in force, in order, and the row ``count``;
  its ``version`` is the hash of the part ids. Part boundaries follow the rows'
  content, so a one-plant change is one new part: the bridge publishes only the
  parts the kiosks do not have, then the manifest, then clears the parts no
  longer used (empty retained payloads); a kiosk switches only when it holds
  every part of the manifest and their rows add up to ``count``. Tag pools
  travel as ranges (first tag + count), Metrc's tags being ordered in
  consecutive runs. A kiosk that reads only v1 refuses a manifest (a log line)
  and keeps the copy it has, as it did when a list was too big to publish.

Every decoder raises ``ValueError`` (pydantic's ValidationError is one) on
anything malformed.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    TypeAdapter,
    model_validator,
)

REF_VERSION = 1  # a whole list in one message
PARTS_VERSION = 2  # a manifest and its parts


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # newer bridges may add fields


# What a new immature lot must name as where its plants came from.
#   none: nothing (the kiosk names the lot; Metrc plantings from nothing)
#   mother_or_package: a mother plant (clones taken from it) or a clone/seed package (Metrc, CA)
#   package: the clone or seed package (BioTrack plant_new's source)
LotSource = Literal["none", "mother_or_package", "package"]
# By (system, state); a state not listed takes its system's row (state None). One table.
LOT_SOURCES: dict[tuple[str, str | None], LotSource] = {
    ("metrc", "CA"): "mother_or_package",
    ("metrc", None): "none",
    ("biotrack", None): "package",
}


def lot_source(system: str, state: str) -> LotSource:
    """What a new immature lot names as its source in ``state`` on ``system``."""
    return LOT_SOURCES.get((system, state), LOT_SOURCES.get((system, None), "none"))


class Profile(_Row):
    """The facility's rules as the kiosk must apply them."""

    system: Literal["metrc", "biotrack"]
    state: str
    timezone: str
    tag_format: Literal["metrc", "biotrack", "any"]
    witness_required_for_waste: bool = False
    max_plants_per_lot: int = 100
    # NM: destroyed plant waste is held (secured, labelled, not moved) this long
    # before it may be made unusable and the destruction completed; 0 = no hold.
    destroy_hold_hours: int = 0
    # Prompt each registered scale's zero and check-weight test once a day
    # before it may weigh (domain.md §2.6 "Scale legality").
    daily_scale_check: bool = True
    # None: the state's rule (``lot_source``), which older bridges leave for the kiosk to apply.
    lot_source: LotSource | None = None


# What a room is for: from the state's data where it tells, else the facility profile.
RoomKind = Literal["vegetative", "flowering", "drying", "storage", "other"]


class Room(_Row):
    name: str
    kind: RoomKind = "other"
    for_plants: bool = True
    for_packages: bool = True


class Strain(_Row):
    name: str


class Item(_Row):
    name: str
    category: str = ""
    unit: str = ""


class WasteMethod(_Row):
    name: str


class WasteReason(_Row):
    name: str
    requires_note: bool = False
    requires_weight: bool = True


class HarvestWasteType(_Row):
    name: str


class AdjustReason(_Row):
    """A reason the state accepts for changing a package's quantity."""

    name: str
    requires_note: bool = False


class Worker(_Row):
    """A person who may sign in at the facility's kiosks. Secrets only as hashes.

    ``pin`` and ``badge``: ``scrypt$N$r$p$salt$hash``, each with its own salt;
    ``badge_index``: one byte of the badge hashed with the roster's ``badge_salt``
    (older rosters: ``badge`` is that hash in full). See ``canopy/workerfile.py``.
    """

    id: str
    name: str
    roles: tuple[Literal["worker", "supervisor"], ...] = ("worker",)
    pin: str
    badge: str | None = None
    badge_index: str | None = None


class Roster(_Row):
    """The facility's workers, managed centrally, so a new hire or a leaver
    reaches every kiosk at once (NM: remove people who leave)."""

    badge_salt: str
    workers: list[Worker]


class Plant(_Row):
    tag: str
    location: str
    phase: Literal["Vegetative", "Flowering", "Harvested", "Destroyed", "Other"] = "Other"
    strain: str = ""
    plant_batch: str = ""


class PlantBatch(_Row):
    name: str
    strain: str
    count: int
    location: str = ""


class Harvest(_Row):
    name: str
    location: str = ""
    strain: str = ""


class Scale(_Row):
    """A registered legal-for-trade scale; weights from any other scale are refused."""

    id: str
    model: str = ""
    serial: str = ""
    ntep_coc: str = ""
    seal: str = ""
    registration: str = ""
    expires: str | None = None  # ISO date; an expired registration blocks weighing


# name -> the row type its "items" list holds; "plant_tags" and "package_tags"
# are plain lists of available (unused) tags.
ROW_TYPES: dict[str, Any] = {
    "profile": Profile,
    "rooms": list[Room],
    "strains": list[Strain],
    "items": list[Item],
    "waste_methods": list[WasteMethod],
    "waste_reasons": list[WasteReason],
    "harvest_waste_types": list[HarvestWasteType],
    "adjust_reasons": list[AdjustReason],
    "workers": Roster,
    "plants": list[Plant],
    "plant_batches": list[PlantBatch],
    "harvests": list[Harvest],
    "scales": list[Scale],
    "plant_tags": list[str],
    "package_tags": list[str],
}
REF_NAMES = tuple(ROW_TYPES)
RefName = Literal[
    "profile", "rooms", "strains", "items", "waste_methods", "waste_reasons",
    "harvest_waste_types", "adjust_reasons", "workers", "plants", "plant_batches", "harvests",
    "scales", "plant_tags", "package_tags",
]


class RefMessage(BaseModel):
    """The envelope of one retained reference message."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = 1
    name: RefName
    facility: str
    at: Annotated[datetime, Field(description="when the bridge read it from the state system")]
    items: Any

    def rows(self) -> Any:
        """``items`` validated as the rows this name holds."""
        return TypeAdapter(ROW_TYPES[self.name]).validate_python(self.items)


def row_count(name: str, items: Any) -> int:
    """How many rows a list holds, for logs and sync counts (a profile is one)."""
    if name == "profile":
        return 1
    if name == "workers":
        workers = items.workers if isinstance(items, Roster) else items["workers"]
        return len(workers)
    return len(items)


def encode(name: str, facility: str, at: datetime, items: Any) -> bytes:
    if name not in ROW_TYPES:
        raise ValueError(f"unknown reference data {name!r}")
    adapter: TypeAdapter[Any] = TypeAdapter(ROW_TYPES[name])
    rows = adapter.dump_python(adapter.validate_python(items), mode="json")
    body = {"v": REF_VERSION, "name": name, "facility": facility, "at": at.isoformat(), "items": rows}
    return json.dumps(body, separators=(",", ":")).encode()


def decode(payload: bytes) -> RefMessage:
    """Raise ``ValueError`` (pydantic's ValidationError is one) on anything malformed."""
    message = RefMessage.model_validate_json(payload)
    message.rows()
    return message


# --- v2: big lists as a manifest and parts ------------------------------------------------

#: Tag pools: sent as ``TagRange`` rows; the kiosk checks a tag against the ranges.
TAG_POOLS = frozenset({"plant_tags", "package_tags"})
#: The names that may travel in parts (a profile or a roster is one object, not rows).
PART_NAMES = frozenset(n for n in ROW_TYPES if n not in ("profile", "workers"))
_ID = r"^[0-9a-f]{16}$"
_ID_RE = re.compile(_ID)
# 2.5 GB of rows: far beyond any facility; bounds what a kiosk stages, and keeps the
# manifest's list of part ids under one message.
MAX_PARTS = 10_000
# A part ends after a row whose CRC is 0 modulo this (or when it is full): boundaries
# follow the content, so one changed row changes one part and the others keep their ids.
_CUT_EVERY = 512
# Room left in a part for its envelope (name, facility, version, index) around the rows.
_ENVELOPE_BYTES = 512
# A tag's serial is its trailing digits; at most 15 of them, so it fits an SQLite INTEGER.
_SERIAL_RE = re.compile(r"^(.*?)(\d{1,15})$")


class TagRange(BaseModel):
    """``count`` consecutive tags from ``first`` (the trailing decimal serial steps by one,
    as Metrc's runs do; see ``bridge.state.metrc.consecutive_tags``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    first: Annotated[str, Field(min_length=1, max_length=64)]
    count: Annotated[int, Field(ge=1, le=10**9)]

    @model_validator(mode="after")
    def _serial_fits(self) -> TagRange:
        if self.count > 1:
            parts = split_tag(self.first)
            if parts is None:
                raise ValueError(f"a range of {self.count} tags needs a numeric serial: {self.first!r}")
            if len(str(parts[1] + self.count - 1)) > parts[2]:
                raise ValueError(f"{self.count} tags from {self.first} overflow the serial")
        return self

    def tags(self) -> Iterator[str]:
        if self.count == 1:
            yield self.first
            return
        parts = split_tag(self.first)
        assert parts is not None  # checked on construction
        prefix, serial, width = parts
        for n in range(serial, serial + self.count):
            yield f"{prefix}{n:0{width}d}"


def split_tag(tag: str) -> tuple[str, int, int] | None:
    """``(prefix, serial, width)`` of a tag ending in digits (None: no serial)."""
    match = _SERIAL_RE.match(tag)
    if match is None:
        return None
    return match.group(1), int(match.group(2)), len(match.group(2))


def tag_ranges(tags: Iterable[str]) -> list[TagRange]:
    """The tags as ranges of consecutive serials (sorted; a lone tag is a range of 1)."""
    out: list[TagRange] = []
    run: tuple[str, int, int, int] | None = None  # prefix, first serial, width, count
    first_tag = ""

    def flush() -> None:
        if run is not None:
            out.append(TagRange(first=first_tag, count=run[3]))

    for tag in sorted(set(tags), key=_tag_order):
        parts = split_tag(tag)
        if (run is not None and parts is not None and parts[0] == run[0] and parts[2] == run[2]
                and parts[1] == run[1] + run[3]):
            run = (run[0], run[1], run[2], run[3] + 1)
            continue
        flush()
        first_tag = tag
        run = (parts[0], parts[1], parts[2], 1) if parts is not None else ("", -2, -1, 1)
    flush()
    return out


def _tag_order(tag: str) -> tuple[str, int, int, str]:
    parts = split_tag(tag)
    return (parts[0], parts[2], parts[1], tag) if parts is not None else (tag, 0, 0, tag)


class RefManifest(BaseModel):
    """Which version of a big list is in force, and which parts make it up."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[2]
    name: RefName
    facility: str
    at: Annotated[datetime, Field(description="when the bridge read it from the state system")]
    version: Annotated[str, Field(pattern=_ID, description="manifest_version(parts)")]
    count: Annotated[int, Field(ge=0, description="rows; for a tag pool, tags")]
    parts: Annotated[list[Annotated[str, Field(pattern=_ID)]],
                     Field(min_length=1, max_length=MAX_PARTS, description="part ids, in order")]

    @model_validator(mode="after")
    def _version_is_the_parts(self) -> RefManifest:
        if self.version != manifest_version(self.parts):
            raise ValueError("version does not match the parts")
        return self


class RefPart(BaseModel):
    """Some rows of a big list (for a tag pool: ``TagRange`` rows); its id is ``part_id``
    of the payload, so the topic it arrives on says exactly what it must hold."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[2]
    name: RefName
    facility: str
    items: list[Any]
    _rows: list[Any] | None = PrivateAttr(default=None)

    def rows(self) -> list[Any]:
        """``items`` validated as this name's rows (``TagRange`` for a tag pool)."""
        if self._rows is None:
            self._rows = part_rows(self.name, self.items)
        return self._rows

    def row_count(self) -> int:
        """Rows this part adds to the manifest's ``count`` (tags, for a tag pool)."""
        rows = self.rows()
        return sum(r.count for r in rows) if self.name in TAG_POOLS else len(rows)


def part_rows(name: str, items: Any) -> list[Any]:
    row_type: Any = list[TagRange] if name in TAG_POOLS else ROW_TYPES[name]
    return list(TypeAdapter(row_type).validate_python(items))


def part_id(payload: bytes) -> str:
    """A part's id (and the last level of its topic): its content's hash."""
    return hashlib.sha256(payload).hexdigest()[:16]


def manifest_version(parts: Iterable[str]) -> str:
    """A version is its parts: the same rows always make the same version."""
    return hashlib.sha256(",".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Parts:
    """One version of a big list ready to publish: parts first, then the manifest."""

    name: str
    version: str
    manifest: bytes
    parts: dict[str, bytes]  # id -> payload, in the manifest's order


def encode_parts(name: str, facility: str, at: datetime, items: Any, *, max_bytes: int) -> Parts:
    """``items`` as a manifest and parts of at most ``max_bytes`` each.

    Plants are sorted by tag and tag pools by serial, so the same list read in
    another order is the same version; part boundaries follow the rows' content.
    """
    if name not in PART_NAMES:
        raise ValueError(f"{name!r} is one object; it cannot travel in parts")
    if max_bytes < 2 * _ENVELOPE_BYTES:
        raise ValueError("max_bytes is too small for a part")
    adapter: TypeAdapter[Any] = TypeAdapter(ROW_TYPES[name])
    rows = adapter.validate_python(items)
    if name in TAG_POOLS:
        count = len(set(rows))
        dumped = [r.model_dump(mode="json") for r in tag_ranges(rows)]
    else:
        count = len(rows)
        if name == "plants":
            rows = sorted(rows, key=lambda row: row.tag)
        dumped = adapter.dump_python(rows, mode="json")
    budget = max_bytes - _ENVELOPE_BYTES
    slices: list[list[str]] = [[]]
    size = 0
    for row in dumped:
        text = json.dumps(row, separators=(",", ":"))
        if len(text) + 1 > budget:
            raise ValueError(f"{name}: one row is {len(text)} bytes, over the part limit")
        if slices[-1] and size + len(text) + 1 > budget:
            slices.append([])
            size = 0
        slices[-1].append(text)
        size += len(text) + 1
        if zlib.crc32(text.encode()) % _CUT_EVERY == 0:
            slices.append([])
            size = 0
    if len(slices) > 1 and not slices[-1]:
        slices.pop()
    if len(slices) > MAX_PARTS:
        raise ValueError(f"{name}: {len(slices)} parts is over the {MAX_PARTS}-part limit")
    prefix = json.dumps({"v": PARTS_VERSION, "name": name, "facility": facility},
                        separators=(",", ":"))[:-1]
    parts: dict[str, bytes] = {}
    for texts in slices:
        payload = f'{prefix},"items":[{",".join(texts)}]}}'.encode()
        parts[part_id(payload)] = payload
    ids = list(parts)
    if len(ids) != len(slices):  # two parts alike (repeated rows): unreadable as a set
        raise ValueError(f"{name}: two parts hold the same rows")
    version = manifest_version(ids)
    manifest = {"v": PARTS_VERSION, "name": name, "facility": facility, "at": at.isoformat(),
                "version": version, "count": count, "parts": ids}
    return Parts(name, version, json.dumps(manifest, separators=(",", ":")).encode(), parts)


def _head_kind(value: Any) -> int | None:
    v = value.get("v", REF_VERSION) if isinstance(value, dict) else getattr(value, "v", None)
    return v if v in (REF_VERSION, PARTS_VERSION) else None


_HEAD: TypeAdapter[RefMessage | RefManifest] = TypeAdapter(
    Annotated[Annotated[RefMessage, Tag(REF_VERSION)] | Annotated[RefManifest, Tag(PARTS_VERSION)],
              Discriminator(_head_kind)])


def decode_head(payload: bytes) -> RefMessage | RefManifest:
    """What the name's own topic holds: a whole list (v1) or a manifest (v2)."""
    message = _HEAD.validate_json(payload)
    if isinstance(message, RefMessage):
        message.rows()
    return message


def decode_part(payload: bytes, expected_id: str | None = None) -> RefPart:
    """A part; with ``expected_id`` (its topic's last level), only the part with that id."""
    if expected_id is not None and part_id(payload) != expected_id:
        raise ValueError(f"the part on .../{expected_id} holds other rows")
    part = RefPart.model_validate_json(payload)
    part.rows()
    return part


@dataclass(frozen=True, slots=True)
class RefTopic:
    """Where a message under ``canopy/v1/<facility>/ref/`` belongs."""

    name: str
    part: str | None = None  # None: the name's own topic (v1 list or manifest)


def parse_ref_topic(suffix: str) -> RefTopic:
    """Split what follows ``.../ref/``: ``<name>`` or ``<name>/<part id>``."""
    levels = suffix.split("/")
    if levels[0] not in ROW_TYPES:
        raise ValueError(f"unknown reference data {levels[0]!r}")
    if len(levels) == 1:
        return RefTopic(levels[0])
    if len(levels) != 2 or levels[0] not in PART_NAMES or not _ID_RE.match(levels[1]):
        raise ValueError(f"not a reference data topic: ref/{suffix}")
    return RefTopic(levels[0], levels[1])


def part_topic_suffix(name: str, part: str) -> str:
    """The levels after ``ref/`` for ``part`` of list ``name`` (see ``canopy.topics.ref``)."""
    return f"{name}/{part}"
