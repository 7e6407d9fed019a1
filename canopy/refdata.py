"""Reference data the bridge publishes (retained) and kiosks cache to validate offline.

Topic ``canopy/v1/<facility>/ref/<name>``, retained, QoS 1; one message per
name holds the whole current list (the lists are small: hundreds to a few
thousand rows). A kiosk keeps the last one it saw on disk, so it can answer
"does this tag exist, which room is it in, is this waste reason allowed" with
the Wi-Fi down, and says how old its copy is.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

REF_VERSION = 1


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # newer bridges may add fields


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

    ``pin``: ``scrypt$N$r$p$salt$hash``; ``badge``: scrypt of the badge code
    with the roster's ``badge_salt`` (see ``agent/users.py``).
    """

    id: str
    name: str
    roles: tuple[Literal["worker", "supervisor"], ...] = ("worker",)
    pin: str
    badge: str | None = None


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
