"""A small facility for the demo, the kiosk tests and the benchmark.

``reference(facility)`` is what a bridge would publish for it: rooms, strains,
plants in three rooms, two immature lots, a harvest batch, unused tags and one
registered scale (the simulated one). ``publish_reference`` puts it on a broker
as retained messages, exactly as the bridge does, so a kiosk learns it the
production way. ``WORKERS`` are the demo's people (PINs and badges are printed
by ``canopy demo``; they are demo values, never use them on a real kiosk).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from agent.users import add_worker, hash_badge, hash_pin
from canopy import refdata, topics

SCALE_ID = "SIM-SCALE-1"
DEMO_TAG = "1A4FF0100000022000000123"  # a flowering plant in Flower Room 1


def tag(block: int, n: int) -> str:
    """A 24-character Metrc-style tag; ``block`` keeps plants, unused tags and packages apart."""
    return f"1A4FF01000000220000{block:01d}{n:04d}"


@dataclass(frozen=True)
class DemoWorker:
    id: str
    name: str
    pin: str
    badge: str
    supervisor: bool = False


WORKERS = (
    DemoWorker("w-dana", "Dana Ortiz", "123456", "BADGE-0001", supervisor=True),
    DemoWorker("w-sam", "Sam Lee", "246813", "BADGE-0002"),
    DemoWorker("w-alex", "Alex Kim", "135792", "BADGE-0003"),
)


# Packages the demo farm's state system holds (the kiosk has no package list: it learns of a
# package when one is scanned), so the package flows have something to move and re-weigh.
DEMO_PACKAGES: tuple[dict[str, str], ...] = tuple(
    {"tag": tag(8, n), "item": "Buds", "grams": grams, "location": "Vault", "harvest": "HB-20250520-1"}
    for n, grams in ((1, "453.6"), (2, "226.8"), (3, "113.4"))
)


def flower_room_1() -> list[str]:
    return [tag(0, n) for n in range(101, 125)]


@functools.cache
def demo_roster() -> dict[str, Any]:
    """``WORKERS`` as the bridge publishes a roster: PINs and badges hashed (once per process)."""
    salt = "d3" * 16
    workers = [{"id": w.id, "name": w.name, "pin": hash_pin(w.pin),
                **dict(zip(("badge", "badge_index"), hash_badge(w.badge, salt), strict=True)),
                "roles": ["worker", "supervisor"] if w.supervisor else ["worker"]} for w in WORKERS]
    return {"badge_salt": salt, "workers": workers}


def reference(*, witness: bool = True, scale_expires: date | None = None) -> dict[str, Any]:
    """The demo facility's reference lists, by name (``canopy.refdata.ROW_TYPES``)."""
    expires = (scale_expires or date.today() + timedelta(days=365)).isoformat()
    plants = (
        [{"tag": t, "location": "Flower Room 1", "phase": "Flowering", "strain": "Blue Dream"}
         for t in flower_room_1()]
        + [{"tag": tag(0, n), "location": "Flower Room 2", "phase": "Flowering", "strain": "OG Kush"}
           for n in range(201, 211)]
        + [{"tag": tag(0, n), "location": "Veg Room", "phase": "Vegetative", "strain": "Gelato"}
           for n in range(301, 313)]
    )
    return {
        "profile": {"system": "metrc", "state": "CA", "timezone": "America/Los_Angeles",
                    "tag_format": "metrc", "witness_required_for_waste": witness,
                    "max_plants_per_lot": 100},
        "rooms": [
            {"name": "Clone Room", "kind": "vegetative", "for_packages": False},
            {"name": "Veg Room", "kind": "vegetative", "for_packages": False},
            {"name": "Flower Room 1", "kind": "flowering", "for_packages": False},
            {"name": "Flower Room 2", "kind": "flowering", "for_packages": False},
            {"name": "Dry Room", "kind": "drying", "for_plants": False},
            {"name": "Vault", "kind": "storage", "for_plants": False},
        ],
        "strains": [{"name": n} for n in ("Blue Dream", "OG Kush", "Sour Diesel", "Gelato")],
        "items": [{"name": "Buds", "category": "Buds", "unit": "Grams"},
                  {"name": "Shake/Trim", "category": "Shake/Trim", "unit": "Grams"}],
        "waste_methods": [{"name": n} for n in ("Grinder", "Compost", "Landfill")],
        "waste_reasons": [
            {"name": "Contamination"}, {"name": "Male Plants"}, {"name": "Pest Infestation"},
            {"name": "Trim"}, {"name": "Other", "requires_note": True},
        ],
        "harvest_waste_types": [{"name": n} for n in ("Plant Material", "Fibrous", "Root Ball", "Stems")],
        "adjust_reasons": [{"name": "Drying"}, {"name": "Entry Error", "requires_note": True},
                           {"name": "Scale Variance"}],
        "workers": demo_roster(),
        "plants": plants,
        "plant_batches": [
            {"name": "BD-CLONES-0601", "strain": "Blue Dream", "count": 12, "location": "Clone Room"},
            {"name": "GEL-SEEDS-0602", "strain": "Gelato", "count": 40, "location": "Veg Room"},
        ],
        "harvests": [{"name": "HB-20250520-1", "location": "Dry Room", "strain": "OG Kush"}],
        "scales": [{"id": SCALE_ID, "model": "Simulated MT-SICS", "serial": "SIM0001",
                    "ntep_coc": "13-123A", "seal": "S-0001", "registration": "CA-SIM-1",
                    "expires": expires}],
        "plant_tags": [tag(1, n) for n in range(1, 61)],
        "package_tags": [tag(9, n) for n in range(1, 11)],
    }


def biotrack_reference() -> dict[str, Any]:
    """The demo facility as a BioTrack one, as the bridge publishes it (bridge/refsync/_biotrack.py):
    16-digit ids, no strain, harvest or tag lists, clone and seed packages as ``plant_batches``."""
    ref = reference()
    for name in ("strains", "plant_tags", "package_tags", "harvests"):
        del ref[name]
    ref["profile"] = {**ref["profile"], "system": "biotrack", "state": "NM", "tag_format": "biotrack"}
    ref["plants"] = [{"tag": "6647000000000101", "location": "Veg Room", "phase": "Other"}]
    ref["plant_batches"] = [
        {"name": "6647000000000901", "strain": "Gelato", "count": 30, "location": "Vault"},
        {"name": "6647000000000902", "strain": "OG Kush", "count": 0, "location": "Vault"},
    ]
    return ref

def messages(facility: str, lists: dict[str, Any], at: datetime | None = None) -> dict[str, bytes]:
    """Topic -> retained payload, as the bridge publishes them."""
    when = at or datetime.now(UTC)
    return {topics.ref(facility, name): refdata.encode(name, facility, when, items)
            for name, items in lists.items()}


def publish_reference(host: str, port: int, facility: str, lists: dict[str, Any],
                      at: datetime | None = None, *, protocol: str = "5", timeout: float = 10.0) -> None:
    """Publish ``lists`` retained (QoS 1) and wait until the broker has each one."""
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"canopy-ref-{facility}"[:23],
                         protocol=paho.MQTTv5 if protocol == "5" else paho.MQTTv311)
    client.connect(host, port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1, retain=True)
                 for topic, payload in messages(facility, lists, at).items()]
        for info in infos:
            info.wait_for_publish(timeout)
            if not info.is_published():
                raise TimeoutError(f"the broker at {host}:{port} did not take reference data")
    finally:
        client.disconnect()
        client.loop_stop()


def write_workers(path: Path, workers: tuple[DemoWorker, ...] = WORKERS) -> None:
    for w in workers:
        add_worker(path, worker_id=w.id, name=w.name, pin=w.pin, badge=w.badge, supervisor=w.supervisor)
