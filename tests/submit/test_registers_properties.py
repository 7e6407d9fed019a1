"""Registers read the bytes kiosks sent, kept as they came: whatever a stored payload holds
(not JSON, not an object, fields of the wrong type, absurd weights), every register builds
and every value it shows is plain."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.ingest import worker_key
from bridge.ledger import Answer, IncomingEvent, open_ledger
from bridge.reports import REGISTERS, Clock, activity
from canopy.ids import uuid7

LICENSE = "CCL24-0000101"
TYPES = ("plant.destroyed", "harvest.waste", "plant.destroy_completed", "record.corrected",
         "plant.harvested", "plant.manicured", "plant.cured", "scale.checked", "tags.received",
         "plant.phase_changed", "plant.moved")
FIELDS = ("tag", "new_tag", "plant_batch", "count", "reason", "method", "material_mixed", "weight", "note",
          "harvest_name", "waste_type", "scheduled", "scale_id", "unit", "zero", "reference", "reading",
          "tolerance", "passed", "legal_for_trade", "kind", "first", "last")
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.sampled_from(
    ["1e999999", "NaN", "-Infinity", "812.4", "kg", "g", "lb", "9" * 40])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["value", "unit", "scale_id"]), inner, max_size=3),
                      max_leaves=6)
bodies = st.fixed_dictionaries({}, optional={
    "user": values, "witness": values, "corrects": values,
    "data": st.dictionaries(st.sampled_from(FIELDS), values, max_size=8) | values,
})
payloads = st.binary(max_size=64) | bodies.map(lambda b: json.dumps(b).encode()) | values.map(
    lambda v: json.dumps(v).encode())


async def build_all(stored: list[tuple[str, bytes]], at: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = await open_ledger(f"sqlite:///{Path(tmp) / 'ledger.db'}")
        try:
            events = [IncomingEvent(uuid7(), LICENSE, "kiosk-01", n, type_, at, payload, " T1 ",
                                    (worker_key(LICENSE, "w-1"),))
                      for n, (type_, payload) in enumerate(stored, start=1)]
            await ledger.store(events, [])
            await ledger.settle([Answer(e.id, "rejected", "no") for e in events[::2]])
            clock = Clock({LICENSE: "America/Los_Angeles"})
            reports = [await r.build(ledger, None, clock) for r in REGISTERS]
            reports.append(await activity(ledger, "w-1", None, clock))
            for report in reports:
                for row in report.rows:
                    assert len(row) == len(report.columns)
                    assert all(v is None or type(v) in (str, int, float) for v in row), row
                report.as_csv()
                report.as_json()
                report.as_table()
        finally:
            await ledger.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(TYPES), payloads), min_size=1, max_size=6),
       st.sampled_from(["2026-11-22T18:30:00.000Z", "9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z",
                        "not a time"]))
def test_every_register_builds_whatever_the_stored_bytes_hold(stored: list[tuple[str, bytes]],
                                                              at: str) -> None:
    asyncio.run(build_all(stored, at))


def test_the_strategy_reaches_registers_with_fields_of_the_wrong_type() -> None:
    # Not only garbage: a record every register parses, with each field wrong.
    wrong: dict[str, Any] = {f: {"value": [1], "unit": None} for f in FIELDS}
    asyncio.run(build_all([(t, json.dumps({"user": [], "data": wrong}).encode()) for t in TYPES],
                          "2026-11-22T18:30:00.000Z"))
