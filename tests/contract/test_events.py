"""The event contract: typed payloads, decimal weights, UUIDv7 ids, and no schema drift."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from canopy.events import (
    EVENT_TYPES,
    PAYLOADS,
    SCHEMA_PATH,
    InvalidEvent,
    build_event,
    parse_event,
    schema_text,
)
from canopy.ids import is_uuid7, uuid7

TAG = "1A4FF0100000022000000123"
TAG2 = "1A4FF0100000022000000124"
SCALE = {"value": "812.40", "unit": "g", "scale_id": "bench-1", "raw": "S S     812.40 g"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "plant.scanned": {"tag": TAG, "symbology": "]C0"},
    "plant.moved": {"tag": TAG, "location": "Flower Room 2"},
    "plant.phase_changed": {"plant_batch": "Lot 7", "new_tag": TAG, "phase": "Flowering",
                            "location": "Flower Room 2"},
    "plant_batch.created": {"name": "Lot 7", "type": "Clone", "count": 100, "strain": "Blue Dream",
                            "location": "Veg 1"},
    "plant.harvested": {"tag": TAG, "harvest_name": "BD-2026-11-22", "drying_location": "Dry 1",
                        "weight": SCALE},
    "harvest.waste": {"harvest_name": "BD-2026-11-22", "waste_type": "Plant Material", "weight": SCALE},
    "plant.destroyed": {"tag": TAG, "reason": "Male plants", "method": "Grinder",
                        "material_mixed": "Soil", "weight": SCALE},
    "package.created": {"tag": TAG2, "item": "Flower - Blue Dream",
                        "sources": [{"harvest_name": "BD-2026-11-22", "weight": SCALE}]},
    "label.printed": {"uid": TAG, "kind": "plant", "printer": "ql-820nwb"},
    "room.counted": {"location": "Flower Room 2", "scanned": [TAG], "expected_count": 2,
                     "missing": [TAG2]},
    "record.corrected": {"reason": "Entry error"},
    "plant.manicured": {"tag": TAG, "harvest_name": "BD-2026-11-22-M", "drying_location": "Dry 1",
                        "weight": SCALE},
    "plant.cured": {"tag": TAG, "location": "Vault", "weight": SCALE,
                    "waste": {**SCALE, "value": "12.5"}},
    "plant.destroy_completed": {"tag": TAG, "scheduled": "018f2b9e-7c4a-7d3e-9a1b-2c3d4e5f6a7b"},
    "package.moved": {"tag": TAG2, "location": "Vault"},
    "package.adjusted": {"tag": TAG2, "quantity": SCALE, "reason": "Drying", "note": "re-weighed"},
    "tags.received": {"kind": "plant", "first": TAG, "last": TAG2, "count": 2},
    "scale.checked": {"scale_id": "bench-1", "unit": "g", "zero": "0.00", "reference": "500.00",
                      "reading": "500.02", "tolerance": "0.05", "passed": True,
                      "legal_for_trade": True, "raw": "PV LFT ON"},
    "rejection.dismissed": {"reason": "Entered by the office", "note": "Metrc shows it"},
    "signin.alerted": {"kind": "wrong_pin", "tries": 5, "worker": "w-sam",
                       "message": "10:42: 5 wrong PINs for Sam (w-sam); PIN sign-in locked 5 min."},
}


def make(type_: str, data: dict[str, Any] | None = None, **envelope: Any) -> Any:
    fields: dict[str, Any] = {"id": uuid7(), "facility": "CA-TEST-0001", "device": "kiosk-01",
                              "user": "worker-1", "at": datetime.now(UTC), "seq": 1}
    if type_ in ("record.corrected", "rejection.dismissed"):
        fields["corrects"] = uuid7()
    fields.update(envelope)
    return build_event(type_, EXAMPLES[type_] if data is None else data, **fields)


def test_every_event_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(EVENT_TYPES) == set(PAYLOADS)


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_round_trip(type_: str) -> None:
    event = make(type_)
    wire = event.to_json()
    assert parse_event(wire) == event
    body = json.loads(wire)
    assert body["type"] == type_
    assert body["v"] == 1
    assert body["at"].endswith("Z")


def test_committed_schema_matches_the_model() -> None:
    assert SCHEMA_PATH.read_text() == schema_text(), (
        "schema/events.schema.json is stale: run `make schema` and commit it"
    )


def test_weights_are_decimal_strings_never_floats() -> None:
    event = make("plant.harvested")
    assert event.data.weight.value == Decimal("812.40")
    assert json.loads(event.to_json())["data"]["weight"]["value"] == "812.40"
    for bad in (812.4, 812, "8,12", "1e3", "NaN"):
        with pytest.raises(InvalidEvent, match=r"weight\.value"):
            make("plant.harvested", {**EXAMPLES["plant.harvested"], "weight": {**SCALE, "value": bad}})


@pytest.mark.parametrize(
    ("weight", "reason"),
    [
        ({**SCALE, "stable": False}, "unstable reading is never logged"),
        ({**SCALE, "value": "0"}, "more than zero"),
        ({"value": "1.0", "unit": "g", "scale_id": "bench-1"}, "raw frame"),
        ({**SCALE, "unit": "pcs"}, "unit"),
    ],
)
def test_weight_rules(weight: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        make("harvest.waste", {**EXAMPLES["harvest.waste"], "weight": weight})


def test_ids_are_uuid7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(2000)]
    assert all(is_uuid7(i) and uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    with pytest.raises(InvalidEvent, match="id"):
        make("plant.scanned", id=str(uuid.uuid4()))


def test_times_are_utc_milliseconds() -> None:
    local = datetime(2026, 11, 22, 9, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-8)))
    event = make("plant.scanned", at=local)
    assert json.loads(event.to_json())["at"] == "2026-11-22T17:30:00.123Z"
    with pytest.raises(InvalidEvent, match="time zone"):
        make("plant.scanned", at=datetime(2026, 1, 1))


def test_rules_carried_by_payloads() -> None:
    with pytest.raises(InvalidEvent, match=r"less than or equal to 100"):
        make("plant_batch.created", {**EXAMPLES["plant_batch.created"], "count": 101})
    with pytest.raises(InvalidEvent, match="needs the new tag"):
        make("plant.phase_changed", {"plant_batch": "Lot 7", "phase": "Flowering", "location": "F"})
    with pytest.raises(InvalidEvent, match="not both"):
        make("plant.destroyed", {**EXAMPLES["plant.destroyed"], "plant_batch": "Lot 7"})
    with pytest.raises(InvalidEvent, match="must name the event it corrects"):
        make("record.corrected", corrects=None)
    with pytest.raises(InvalidEvent, match="second person"):
        make("plant.destroyed", witness="worker-1")
    with pytest.raises(InvalidEvent, match=r"Extra inputs are not permitted"):
        make("plant.scanned", {"tag": TAG, "note": "surprise"})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"null", "expected a JSON object"),
        (b'{"v": 2, "type": "plant.scanned"}', "unsupported schema version 2"),
        (b'{"type": "plant.scanned"}', "unsupported schema version None"),
        (b'{"v": 1, "type": "x"}', "unknown event type 'x'"),
        (b" " * 70_000, "too large"),
    ],
)
def test_parse_errors_say_what_is_wrong(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        parse_event(payload)


def test_a_scale_check_says_truthfully_whether_it_passed() -> None:
    failing = {**EXAMPLES["scale.checked"], "reading": "499.80"}
    with pytest.raises(InvalidEvent, match="within the tolerance"):
        make("scale.checked", failing)
    assert make("scale.checked", {**failing, "passed": False}).data.passed is False
    with pytest.raises(InvalidEvent, match="within the tolerance"):
        make("scale.checked", {**EXAMPLES["scale.checked"], "zero": "0.10"})
    lft_off = {**EXAMPLES["scale.checked"], "legal_for_trade": False}
    with pytest.raises(InvalidEvent, match="legal-for-trade"):
        make("scale.checked", lft_off)
    assert make("scale.checked", {**lft_off, "passed": False}).data.legal_for_trade is False
    assert make("scale.checked", {**EXAMPLES["scale.checked"], "legal_for_trade": None}).data.passed


def test_a_tag_receipt_scans_first_then_last() -> None:
    with pytest.raises(InvalidEvent, match="scan them in order"):
        make("tags.received", {**EXAMPLES["tags.received"], "first": TAG2, "last": TAG})


def test_a_package_adjustment_is_the_new_total_from_a_stable_reading() -> None:
    with pytest.raises(InvalidEvent, match="unstable"):
        make("package.adjusted", {**EXAMPLES["package.adjusted"], "quantity": {**SCALE, "stable": False}})


def test_a_completed_destroy_names_the_event_that_started_the_hold() -> None:
    with pytest.raises(InvalidEvent, match="scheduled"):
        make("plant.destroy_completed", {"tag": TAG, "scheduled": "not-an-id"})
