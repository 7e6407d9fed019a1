"""The simulator's in-memory world: companies, locations, and what lives in them.

BioTrack's vocabulary (state-apis.md §3.2): the login's ``license_number`` is
the *company* (UBI); each company holds one or more *locations* (the 6-digit
location license). Plants, inventory, rooms and records belong to a location.
Training mode (``training: 1``) is a separate world on the same host, so the
simulator keeps two worlds with the same companies.

Ids are ``<6-digit location><10-digit serial>`` [I §3.4]; the serial counter
is per location and shared by both worlds, so every id is unique statewide.
The ``transactionid`` sequence is global, like BioTrack's.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

LOCATION_DIGITS = 6
SERIAL_DIGITS = 10
NONCE_MEMORY = 100_000


class SimClock:
    """Wall time plus an offset the admin API can advance (no sleeping in tests)."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        self._offset += seconds
        return self.now()


@dataclass
class SimUser:
    username: str
    password: str
    read_only: bool = False


@dataclass
class SimCompany:
    ubi: str
    name: str
    locations: list[str]
    users: dict[str, SimUser]


@dataclass
class SimRoom:
    id: int
    name: str
    location: str
    quarantine: bool = False
    deleted: bool = False
    transactionid: int = 0
    transactionid_original: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "roomid": self.id,
            "name": self.name,
            "location": self.location,
            "quarantine": int(self.quarantine),
            "deleted": int(self.deleted),
            "transactionid": self.transactionid,
            "transactionid_original": self.transactionid_original,
        }


@dataclass
class SimPlant:
    id: str
    location: str
    room: int
    strain: str
    mother: bool = False
    parentid: str | None = None
    state: int = 0  # 0 growing, 1 drying, 2 cured
    harvestscheduled: bool = False
    harvestcollect: bool = False
    curecollect: bool = False
    removescheduled: bool = False
    removescheduletime: int = 0
    removereason: str = ""
    removereason_extended: int | None = None
    converted: bool = False
    deleted: bool = False
    sessiontime: int = 0
    transactionid: int = 0
    transactionid_original: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "location": self.location,
            "room": self.room,
            "strain": self.strain,
            "mother": int(self.mother),
            "parentid": self.parentid,
            "state": self.state,
            "harvestscheduled": int(self.harvestscheduled),
            "harvestcollect": int(self.harvestcollect),
            "curecollect": int(self.curecollect),
            "removescheduled": int(self.removescheduled),
            "removescheduletime": self.removescheduletime,
            "removereason": self.removereason,
            "converted": int(self.converted),
            "deleted": int(self.deleted),
            "sessiontime": self.sessiontime,
            "transactionid": self.transactionid,
            "transactionid_original": self.transactionid_original,
        }


@dataclass
class SimInventory:
    id: str
    location: str
    inventorytype: int
    strain: str
    remaining_quantity: Decimal
    uom: str
    currentroom: int | None
    productname: str = ""
    parentid: list[str] = field(default_factory=list)
    plantid: list[str] = field(default_factory=list)
    deleted: bool = False
    sessiontime: int = 0
    transactionid: int = 0
    transactionid_original: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "location": self.location,
            "inventorytype": self.inventorytype,
            "strain": self.strain,
            "productname": self.productname,
            # BioTrack sends quantities as strings ("8.00") in sync rows [O BUNK].
            "remaining_quantity": str(self.remaining_quantity),
            "uom": self.uom,
            "currentroom": self.currentroom,
            "parentid": list(self.parentid),
            "plantid": list(self.plantid),
            "deleted": int(self.deleted),
            "sessiontime": self.sessiontime,
            "transactionid": self.transactionid,
            "transactionid_original": self.transactionid_original,
        }


@dataclass
class SimDerivative:
    """One bucket of a harvest or cure, as recorded against one plant (BUNK's meta)."""

    plantid: str
    inventoryid: str | None
    inventorytype: int
    weight: Decimal
    wholeweight: Decimal
    uom: str
    harvestcollect: bool
    curecollect: bool
    collectadditional: bool
    collectiontime: int
    location: str
    room: int | None
    sessiontime: int
    transactionid: int

    def row(self) -> dict[str, Any]:
        return {
            "plantid": self.plantid,
            "inventoryid": self.inventoryid,
            "inventorytype": self.inventorytype,
            "weight": str(self.weight),
            "wholeweight": str(self.wholeweight),
            "uom": self.uom,
            "harvestcollect": int(self.harvestcollect),
            "curecollect": int(self.curecollect),
            "collectadditional": int(self.collectadditional),
            "collectiontime": self.collectiontime,
            "location": self.location,
            "room": self.room,
            "deleted": 0,
            "sessiontime": self.sessiontime,
            "transactionid": self.transactionid,
            "transactionid_original": self.transactionid,
        }


@dataclass
class SimWaste:
    """Every waste weight recorded: weighed waste and the waste bucket of collections."""

    inventoryid: str
    weight: Decimal
    uom: str
    collectiontime: int
    source: Literal["plant_waste_weigh", "plant_harvest", "plant_cure"]
    plantids: list[str]
    transactionid: int


@dataclass
class SimAdjustment:
    inventoryid: str
    location: str
    atype: int
    previous_quantity: Decimal
    new_quantity: Decimal
    reason: str
    sessiontime: int
    transactionid: int

    def row(self) -> dict[str, Any]:
        return {
            "inventoryid": self.inventoryid,
            "location": self.location,
            "atype": self.atype,
            "previous_quantity": str(self.previous_quantity),
            "new_quantity": str(self.new_quantity),
            "reason": self.reason,
            "sessiontime": self.sessiontime,
            "transactionid": self.transactionid,
            "transactionid_original": self.transactionid,
        }


@dataclass
class SimEmployee:
    employee_id: str
    employee_name: str
    location: str
    deleted: bool = False
    transactionid: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "employee_id": self.employee_id,
            "employee_name": self.employee_name,
            "location": self.location,
            "deleted": int(self.deleted),
            "transactionid": self.transactionid,
            "transactionid_original": self.transactionid,
        }


@dataclass
class SimLocation:
    license: str
    name: str
    ubi: str
    locationtype: int
    plant_rooms: dict[int, SimRoom] = field(default_factory=dict)
    inventory_rooms: dict[int, SimRoom] = field(default_factory=dict)
    plants: dict[str, SimPlant] = field(default_factory=dict)
    inventory: dict[str, SimInventory] = field(default_factory=dict)
    derivatives: list[SimDerivative] = field(default_factory=list)
    waste: list[SimWaste] = field(default_factory=list)
    adjustments: list[SimAdjustment] = field(default_factory=list)
    employees: list[SimEmployee] = field(default_factory=list)

    def vendor_row(self, transactionid: int) -> dict[str, Any]:
        return {
            "ubi": self.ubi,
            "location": self.license,
            "name": self.name,
            "locationtype": self.locationtype,
            "producer": 1,
            "processor": 0,
            "retail": 0,
            "deleted": 0,
            "medical": 0,
            "transactionid": transactionid,
            "transactionid_original": transactionid,
        }

    def default_inventory_room(self) -> int | None:
        rooms = [r for r in self.inventory_rooms.values() if not r.deleted and not r.quarantine]
        return rooms[0].id if rooms else None


@dataclass
class World:
    """Live or training: the same companies, separate contents."""

    name: Literal["live", "training"]
    locations: dict[str, SimLocation] = field(default_factory=dict)
    # (company ubi, nonce) -> the answer payload, for nonce_replay.
    nonces: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def remember(self, key: tuple[str, str], payload: dict[str, Any]) -> None:
        """Keep the answer for ``nonce_replay``; the oldest go first so a demo that
        runs for weeks doesn't grow without bound."""
        self.nonces.pop(key, None)
        self.nonces[key] = payload
        while len(self.nonces) > NONCE_MEMORY:
            del self.nonces[next(iter(self.nonces))]


class Registry:
    """Everything the simulator knows, plus the statewide id and transaction counters."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.companies: dict[str, SimCompany] = {}
        self.worlds: dict[bool, World] = {False: World("live"), True: World("training")}
        self._serials: dict[str, int] = {}
        self._transactionid = 0
        self._room_id = 0

    def world(self, training: bool) -> World:
        return self.worlds[training]

    def add_location(self, license: str, *, serial_start: int) -> None:
        if len(license) != LOCATION_DIGITS or not license.isdigit():
            raise ValueError(f"location license must be {LOCATION_DIGITS} digits: {license!r}")
        self._serials.setdefault(license, serial_start)

    def new_id(self, location: str) -> str:
        serial = self._serials[location] + 1
        if serial >= 10**SERIAL_DIGITS:
            raise RuntimeError(f"id space of location {location} is exhausted")
        self._serials[location] = serial
        return f"{location}{serial:0{SERIAL_DIGITS}d}"

    def next_transaction(self) -> int:
        self._transactionid += 1
        return self._transactionid

    @property
    def last_transaction(self) -> int:
        return self._transactionid

    def next_room_id(self) -> int:
        self._room_id += 1
        return self._room_id

    def dump(self) -> dict[str, Any]:
        """Everything, JSON-ready, for ``GET /_sim/state``."""
        return {
            "transactionid": self._transactionid,
            "companies": {
                ubi: {
                    "name": c.name,
                    "locations": list(c.locations),
                    "users": sorted(c.users),
                }
                for ubi, c in self.companies.items()
            },
            "worlds": {
                w.name: {lic: _dump_location(loc) for lic, loc in w.locations.items()}
                for w in self.worlds.values()
            },
        }


def _dump_location(loc: SimLocation) -> dict[str, Any]:
    dumped: dict[str, Any] = _jsonable(
        {
            "license": loc.license,
            "name": loc.name,
            "ubi": loc.ubi,
            "plant_rooms": [r.row() for r in loc.plant_rooms.values()],
            "inventory_rooms": [r.row() for r in loc.inventory_rooms.values()],
            "plants": {pid: p.row() | {"removereason_extended": p.removereason_extended}
                       for pid, p in loc.plants.items()},
            "inventory": {iid: i.row() for iid, i in loc.inventory.items()},
            "derivatives": [d.row() for d in loc.derivatives],
            "waste": [dataclasses.asdict(w) for w in loc.waste],
            "adjustments": [a.row() for a in loc.adjustments],
            "employees": [e.row() for e in loc.employees],
        }
    )
    return dumped


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
