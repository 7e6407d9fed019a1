"""Demo data: two grow licenses with rooms, plants, clone/seed stock and some flower.

Both the live and the training world get the same layout (but their own ids),
so a demo in training mode looks like production without touching it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from statesim.biotrack._state import (
    Registry,
    SimCompany,
    SimEmployee,
    SimInventory,
    SimLocation,
    SimPlant,
    SimRoom,
    SimUser,
)

DEMO_PASSWORD = "canopy-demo"


@dataclass(frozen=True)
class DemoAccount:
    """A login the demo data creates."""

    ubi: str
    location: str
    name: str
    username: str
    password: str
    read_only: bool = False


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("999000100", "990010", "Canopy Demo North", "grower@north.example", DEMO_PASSWORD),
    DemoAccount(
        "999000100", "990010", "Canopy Demo North", "viewer@north.example", DEMO_PASSWORD,
        read_only=True,
    ),
    DemoAccount("999000200", "990020", "Canopy Demo South", "grower@south.example", DEMO_PASSWORD),
)

_PLANT_ROOMS = ("Clone Room", "Veg Room", "Flower Room A", "Flower Room B")
_INVENTORY_ROOMS = (("Vault", False), ("Drying Room", False), ("Quarantine", True))
_STRAINS = {
    "990010": ("Blue Dream", "Sour Diesel", "OG Kush"),
    "990020": ("Northern Lights", "Gelato", "Durban Poison"),
}
_EMPLOYEES = {
    "990010": ("Ana Ortiz", "Ben Cole"),
    "990020": ("Cara Diaz", "Dev Patel"),
}


def seed(registry: Registry, rng: random.Random, *, demo_data: bool) -> None:
    """Create the demo companies (always) and, with ``demo_data``, their contents."""
    for account in DEMO_ACCOUNTS:
        company = registry.companies.setdefault(
            account.ubi, SimCompany(account.ubi, account.name, [account.location], {})
        )
        company.users[account.username] = SimUser(
            account.username, account.password, read_only=account.read_only
        )
        # A random serial start per location keeps ids from looking sequential
        # across runs with different seeds, yet reproducible for one seed.
        registry.add_location(account.location, serial_start=rng.randrange(10**6, 10**9))
    for training in (False, True):
        world = registry.world(training)
        for company in registry.companies.values():
            for license in company.locations:
                loc = SimLocation(license, company.name, company.ubi, locationtype=1)
                world.locations[license] = loc
                if demo_data:
                    _fill(registry, loc, int(registry.clock.now()))


def _fill(registry: Registry, loc: SimLocation, now: int) -> None:
    txn = registry.next_transaction()
    for name in _PLANT_ROOMS:
        room = SimRoom(registry.next_room_id(), name, loc.license, False, False, txn, txn)
        loc.plant_rooms[room.id] = room
    for name, quarantine in _INVENTORY_ROOMS:
        room = SimRoom(registry.next_room_id(), name, loc.license, quarantine, False, txn, txn)
        loc.inventory_rooms[room.id] = room
    for i, person in enumerate(_EMPLOYEES[loc.license], start=1):
        loc.employees.append(SimEmployee(f"{loc.license}{i:03d}", person, loc.license,
                                         transactionid=txn))

    clone_room, veg_room, flower_room, _ = loc.plant_rooms
    vault = next(iter(loc.inventory_rooms))
    first, second, third = _STRAINS[loc.license]

    def stock(invtype: int, strain: str, qty: str, uom: str, product: str) -> SimInventory:
        item = SimInventory(
            registry.new_id(loc.license), loc.license, invtype, strain, Decimal(qty), uom,
            vault, productname=product, sessiontime=now, transactionid=txn,
            transactionid_original=txn,
        )
        loc.inventory[item.id] = item
        return item

    clones = stock(7, first, "48", "each", f"{first} Clones")
    stock(7, second, "24", "each", f"{second} Clones")
    stock(10, third, "100", "each", f"{third} Seeds")
    stock(6, second, "453.6", "g", f"{second} Flower")
    stock(9, second, "220", "g", f"{second} Trim")

    def plants(count: int, strain: str, room: int, parent: str | None) -> None:
        for _ in range(count):
            plant = SimPlant(
                registry.new_id(loc.license), loc.license, room, strain, parentid=parent,
                sessiontime=now, transactionid=txn, transactionid_original=txn,
            )
            loc.plants[plant.id] = plant

    plants(4, first, veg_room, clones.id)
    plants(4, second, flower_room, None)
    plants(2, first, clone_room, clones.id)
