"""A ledger filled the way a week on a grow floor fills it, for the console's tests.

Events go through the bridge's own ingest classification (``classify``), as the
kiosks' messages would; the state's verdicts, an outage that is over and one still
open, a held record and a chain verification follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bridge.ingest import classify
from bridge.ledger import Answer, IncomingEvent, Ledger, open_ledger, verify_and_record
from bridge.reports import Clock
from canopy import topics
from canopy.events import build_event
from canopy.ids import uuid7
from canopy.kiosk_status import KioskStatus
from canopy.mqtt import Message
from console.accounts import hash_password
from console.views import Context, Facility
from console.web import Console

LICENSE, OTHER = "CCL24-0000101", "CCL24-0000202"
NAME = "Green Valley Farms"
HARVEST = "2026-11-20-Dry Room-H"
PLANT = "1A4FF01000000220000010{:02d}"
WEIGHT = {"value": "812.4", "unit": "g", "scale_id": "SCALE-7", "raw": "S S     812.4 g"}
LONG_REFUSAL = ("Location Flower Room Z does not exist for this facility. Check the room's name in the"
                " state system's Locations list, correct the record on the kiosk, and send it again; the"
                " original stays in the ledger as rejected with this message.")
# The console's clock in these tests: the day after the floor's records (2026-11-22), so they
# fall in a page's default period (the last 30 days) whenever the tests run.
FLOOR_NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC).timestamp()
PASSWORD = "correct horse battery"  # every test account's
ACCOUNTS = {"casey": "compliance", "sam": "supervisor", "ines": "auditor"}


KIOSKS = [KioskStatus(LICENSE, "kiosk-01", "online", datetime(2026, 11, 22, 23, 0, tzinfo=UTC), 3, 12.0,
                      "0.1.0", None),
          KioskStatus(LICENSE, "kiosk-02", "offline", datetime(2026, 11, 22, 20, 15, tzinfo=UTC), None, None,
                      "0.1.0", "scanner unplugged")]


async def fleet() -> list[KioskStatus]:
    """The kiosks' status as the broker's retained messages would give it."""
    return KIOSKS


@dataclass
class Floor:
    events: dict[str, str]  # what -> event id
    moves: int


def _event(seq: int, device: str, type_: str, data: dict[str, Any], at: datetime, facility: str = LICENSE,
           **extra: Any) -> IncomingEvent:
    event = build_event(type_, data, id=uuid7(), facility=facility, device=device,
                        user=extra.pop("user", "w-dana"), at=at, seq=seq, **extra)
    [item] = classify(Message(topic=topics.events(facility, device), payload=event.to_json(), qos=1,
                              retain=False, mid=seq, generation=1))
    assert isinstance(item, IncomingEvent), item
    return item


async def fill(ledger: Ledger, moves: int = 60) -> Floor:
    start = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    seq = iter(range(1, 10_000))
    kiosk2 = iter(range(1, 10_000))
    named: dict[str, IncomingEvent] = {}
    batch = [
        _event(next(kiosk2), "kiosk-02", "tags.received",
               {"kind": "plant", "first": PLANT.format(1), "last": PLANT.format(99), "count": 99},
               start, user="w-lee"),
        _event(next(seq), "kiosk-01", "scale.checked",
               {"scale_id": "SCALE-7", "unit": "g", "zero": "0.0", "reference": "500.0", "reading": "500.1",
                "tolerance": "0.5", "passed": True, "legal_for_trade": True}, start + timedelta(minutes=1)),
    ]
    for i in range(moves):  # plant 01 is moved every third time: its history is long
        tag = PLANT.format(1 if i % 3 == 0 else i % 20 + 2)
        batch.append(_event(next(seq), "kiosk-01", "plant.moved",
                            {"tag": tag, "location": f"Flower Room {'AB'[i % 2]}"},
                            start + timedelta(minutes=5 + i)))
    named["moved_wrong"] = _event(next(seq), "kiosk-01", "plant.moved",
                                  {"tag": PLANT.format(21), "location": "Flower Room Z"},
                                  start + timedelta(hours=2))
    named["destroyed"] = _event(next(seq), "kiosk-01", "plant.destroyed",
                                {"tag": PLANT.format(22), "reason": "Pest infestation", "method": "Grinder",
                                 "material_mixed": "Soil", "weight": WEIGHT},
                                start + timedelta(hours=3), witness="w-sam")
    named["harvested"] = _event(next(seq), "kiosk-01", "plant.harvested",
                                {"tag": PLANT.format(23), "harvest_name": HARVEST,
                                 "drying_location": "Dry Room", "weight": WEIGHT}, start + timedelta(hours=4))
    named["waste"] = _event(next(seq), "kiosk-01", "harvest.waste",
                            {"harvest_name": HARVEST, "waste_type": "Plant Material", "weight": WEIGHT},
                            start + timedelta(hours=5), witness="w-sam")
    named["ahead"] = _event(next(seq), "kiosk-01", "plant.moved",
                            {"tag": PLANT.format(24), "location": "Flower Room A"},
                            start + timedelta(hours=6))
    batch += named.values()
    batch.append(_event(1, "kiosk-09", "plant.moved", {"tag": PLANT.format(30), "location": "Veg 1"},
                        start, facility=OTHER))
    await ledger.store(batch, [])
    correction = _event(next(seq), "kiosk-01", "record.corrected", {"reason": "Wrong room"},
                        start + timedelta(hours=7), corrects=named["moved_wrong"].id, witness="w-sam")
    await ledger.store([correction], [])
    await ledger.settle([Answer(e.id, "accepted", "") for e in batch[2:moves]]
                        + [Answer(named["moved_wrong"].id, "rejected", LONG_REFUSAL),
                           Answer(named["destroyed"].id, "accepted", ""),
                           Answer(named["ahead"].id, "held", "its time is 3 h ahead of the bridge")])
    # The outages on the floor's own days (the ledger stamps them with its clock), so the
    # console's default period (the last 30 days up to FLOOR_NOW) holds them.
    was, times = ledger.clock, iter([start + timedelta(hours=1), start + timedelta(hours=1, minutes=40),
                                     start + timedelta(hours=10)])
    ledger.clock = lambda: int(next(times).timestamp() * 1000)
    try:
        assert await ledger.outage_begins(LICENSE, "unavailable: Metrc answered 503 for 40 min")
        assert await ledger.outage_ends(LICENSE)
        assert await ledger.outage_begins(LICENSE, "timeout: api-ca.metrc.com did not answer in 30 s")
    finally:
        ledger.clock = was
    await verify_and_record(ledger)
    return Floor({k: v.id for k, v in named.items()} | {"correction": correction.id}, moves)


async def rejected_move(ledger: Ledger, seq: int = 500) -> str:
    """One more record of kiosk-01 the state refused, nothing correcting it: still to fix."""
    event = _event(seq, "kiosk-01", "plant.moved", {"tag": PLANT.format(40), "location": "Flower Room Q"},
                   datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    await ledger.store([event], [])
    await ledger.settle([Answer(event.id, "rejected", "Location Flower Room Q does not exist")])
    return event.id


async def add_accounts(ledger: Ledger) -> None:
    secret = hash_password(PASSWORD)  # one hash for all: scrypt is slow on purpose
    for name, role in ACCOUNTS.items():
        await ledger.add_console_user(name, role, secret)


def bridge_toml(path: Path, url: str) -> Path:
    path.write_text(
        f'[ledger]\nurl = "{url}"\n\n'
        f'[[facilities]]\nlicense = "{LICENSE}"\nname = "{NAME}"\nstate = "CA"\nsystem = "metrc"\n'
        'base_url = "http://127.0.0.1:9"\ntimezone = "America/Los_Angeles"\n'
        '[facilities.metrc]\nvendor_key = "v"\nuser_key = "u"\n\n'
        f'[[facilities]]\nlicense = "{OTHER}"\nstate = "CO"\nsystem = "metrc"\n'
        'base_url = "http://127.0.0.1:9"\ntimezone = "America/Denver"\n'
        '[facilities.metrc]\nvendor_key = "v"\nuser_key = "u"\n')
    return path


async def filled(url: str, moves: int = 60) -> Floor:
    ledger = await open_ledger(url)
    try:
        floor = await fill(ledger, moves)
        await add_accounts(ledger)
        return floor
    finally:
        await ledger.close()


def console_for(ledger: Ledger) -> Console:
    """The console ``canopy console serve -c`` the ``bridge_toml`` above would run, kiosks included."""
    return Console(Context(ledger, [Facility(LICENSE, NAME, "America/Los_Angeles", "CA"),
                                    Facility(OTHER, OTHER, "America/Denver", "CO")], fleet,
                           Clock({LICENSE: "America/Los_Angeles", OTHER: "America/Denver"})),
                   wall=lambda: FLOOR_NOW)
