"""Reference data v2 (manifest + parts, tag ranges): what is encoded decodes to the same
rows, and whatever arrives on a ref topic ends in the documented error.

Documented: ``canopy.refdata`` decoders raise ``ValueError``; the kiosk's
``RefCache.take`` raises ``RefRejected`` (a ``ValueError``) or takes the message,
and never replaces the copy in force with something it refused.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agent.floor import Floor
from agent.refcache import RefRejected
from canopy import refdata
from tests.contract.test_wire_properties import fuzz, json_values, wire_bytes

FAC = "CA-LIC-0001"
AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
VERSION = "0123456789abcdef"

metrc_tags = st.integers(min_value=0, max_value=10**6).map(lambda n: f"1A4FF0100000022{n:09d}")
odd_tags = st.text(alphabet="0123456789AZ-", min_size=1, max_size=30)
plant_rows = st.lists(st.fixed_dictionaries({
    "tag": metrc_tags, "location": st.text(max_size=20),
    "phase": st.sampled_from(["Vegetative", "Flowering", "Other"]), "strain": st.text(max_size=20),
}), max_size=60, unique_by=lambda r: r["tag"])
PART_FIELDS = ("facility", "version", "items", "at", "count", "parts")
near_parts = st.fixed_dictionaries(
    {"v": st.just(2), "name": st.sampled_from(["plants", "plant_tags", "rooms", "profile"])},
    optional={f: json_values for f in PART_FIELDS},
).map(lambda d: json.dumps(d).encode())
# Well-formed envelopes around odd rows and ranges: the rows' own checks must hold.
ranges = st.fixed_dictionaries({"first": metrc_tags | odd_tags, "count": st.integers(-2, 10**10)})
shaped_parts = st.fixed_dictionaries({
    "v": st.just(2), "name": st.sampled_from(["plants", "plant_tags", "package_tags", "rooms"]),
    "facility": st.just(FAC), "items": st.lists(ranges | json_values, max_size=4),
}).map(lambda d: json.dumps(d).encode())
near_parts = near_parts | shaped_parts
suffixes = st.one_of(
    st.text(max_size=40),
    st.tuples(st.sampled_from(refdata.REF_NAMES), st.text(alphabet="0123456789abcdefg", max_size=17),
              ).map("/".join),
)


@fuzz
@given(st.lists(metrc_tags | odd_tags, max_size=80))
def test_tag_ranges_hold_exactly_the_tags(tags: list[str]) -> None:
    ranges = refdata.tag_ranges(tags)
    expanded = [t for r in ranges for t in r.tags()]
    assert sorted(expanded) == sorted(set(tags))
    assert len(expanded) == len(set(expanded))


@fuzz
@given(plant_rows, st.integers(min_value=1024, max_value=6000))
def test_parts_decode_to_the_rows_encoded(rows: list[dict[str, Any]], max_bytes: int) -> None:
    parts = refdata.encode_parts("plants", FAC, AT, rows, max_bytes=max_bytes)
    manifest = refdata.decode_head(parts.manifest)
    assert isinstance(manifest, refdata.RefManifest)
    assert (manifest.count, manifest.parts, manifest.version) == (len(rows), list(parts.parts), parts.version)
    assert all(len(p) <= max_bytes for p in parts.parts.values())
    decoded = [refdata.decode_part(parts.parts[p], p) for p in manifest.parts]
    assert [r.model_dump(exclude={"plant_batch"}) for p in decoded for r in p.rows()] == sorted(
        rows, key=lambda r: r["tag"])
    # The same content is the same version (and so the same part topics), whenever read.
    assert refdata.encode_parts("plants", FAC, datetime.now(UTC), rows, max_bytes=max_bytes).version \
        == parts.version


@fuzz
@given(wire_bytes | near_parts)
def test_any_bytes_on_a_list_topic_are_a_list_a_manifest_or_a_value_error(payload: bytes) -> None:
    try:
        head = refdata.decode_head(payload)
    except ValueError:
        return
    assert isinstance(head, refdata.RefMessage | refdata.RefManifest)


@fuzz
@given(wire_bytes | near_parts, st.booleans())
def test_any_bytes_on_a_part_topic_are_a_part_or_a_value_error(payload: bytes, on_its_topic: bool) -> None:
    try:
        part = refdata.decode_part(payload, refdata.part_id(payload) if on_its_topic else VERSION)
    except ValueError:
        return
    assert part.name in refdata.PART_NAMES or part.name in refdata.REF_NAMES
    part.row_count()


@fuzz
@given(suffixes)
def test_any_topic_under_ref_is_a_place_or_a_value_error(suffix: str) -> None:
    try:
        where = refdata.parse_ref_topic(suffix)
    except ValueError:
        return
    assert where.name in refdata.REF_NAMES
    assert where.part is None or where.name in refdata.PART_NAMES


_DB = Path(tempfile.mkdtemp(prefix="refcache-fuzz-")) / "floor.db"


async def _offer(suffix: str, payload: bytes) -> None:
    floor = await Floor.open(_DB, facility=FAC)
    try:
        before = {name: floor.ref.copy(name) for name in refdata.REF_NAMES}
        try:
            copy = await floor.apply_ref(suffix, payload)
        except RefRejected:
            assert {name: floor.ref.copy(name) for name in refdata.REF_NAMES} == before
            return
        if copy is not None:
            assert floor.ref.copy(copy.name) is copy
    finally:
        await floor.close()


@fuzz
@given(suffixes | st.sampled_from(["plants", "plant_tags", "part"]), wire_bytes | near_parts)
def test_any_message_on_a_ref_topic_is_taken_or_refused_at_the_kiosk(suffix: str, payload: bytes) -> None:
    if suffix == "part":  # on the topic its id names, so the kiosk reads it
        suffix = f"plant_tags/{refdata.part_id(payload)}"
    asyncio.run(_offer(suffix, payload))
