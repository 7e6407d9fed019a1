"""Whatever arrives over MQTT, each contract parser gives its documented answer.

Any client with a login can publish on its own topics, so every decoder of a
wire message (events, acks, kiosk status, reference data) is fed arbitrary bytes,
arbitrary JSON and near-miss messages: deep nesting, huge numbers, wrong JSON
types, invalid UTF-8, oversized payloads. Each must end in its documented error
(or, for the status view, a row saying "unknown"), never another exception.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from canopy import acks, kiosk_status, refdata
from canopy.events import MAX_SEQ, InvalidEvent, parse_event

# JSON-ish values of every type, nested, with the numbers JSON allows (huge ones too).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
FIELDS = ("id", "type", "v", "facility", "device", "user", "witness", "at", "seq", "corrects", "data")
near_events = st.fixed_dictionaries({}, optional={f: json_values for f in FIELDS}).map(
    lambda d: json.dumps(d).encode())
hostile = st.sampled_from([
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"v":1,"type":[]}',
    b'{"v":1,"type":{"x":1}}',
    b'{"v":1,"type":"plant.scanned","seq":' + b"9" * 5000 + b"}",
    b"\xff\xfe\x00garbage",
    b'{"v":1e400}',
    b"x" * 300_000,
])
wire_bytes = st.binary(max_size=2000) | near_events | hostile

fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD = {
    "id": "0190f5a8-3c2b-7d4e-8f10-123456789abc", "type": "plant.scanned", "v": 1,
    "facility": "CA-LIC-0001", "device": "kiosk-01", "user": "w-dana",
    "at": "2026-12-07T10:00:00.000Z", "seq": 1, "data": {"tag": "1A4FF0100000022000000123"},
}


@fuzz
@given(wire_bytes)
def test_any_bytes_on_an_events_topic_are_an_event_or_a_stated_reason(payload: bytes) -> None:
    try:
        parse_event(payload)
    except InvalidEvent as exc:
        said = str(exc)
        assert said


@given(st.integers(min_value=MAX_SEQ + 1))
def test_a_seq_beyond_64_bits_is_refused_by_the_contract(seq: int) -> None:
    with pytest.raises(InvalidEvent, match="seq"):
        parse_event(json.dumps({**GOOD, "seq": seq}).encode())


def test_the_largest_64_bit_seq_is_an_event() -> None:
    assert parse_event(json.dumps({**GOOD, "seq": MAX_SEQ}).encode()).seq == MAX_SEQ


@fuzz
@given(wire_bytes)
def test_any_bytes_on_an_acks_topic_are_acks_or_invalid_ack(payload: bytes) -> None:
    try:
        for ack in acks.decode(payload):
            assert ack.status in acks.ACK_STATES
            assert ack.id is None or isinstance(ack.id, str)
    except acks.InvalidAck as exc:
        said = str(exc)
        assert said


@given(wire_bytes)
def test_any_bytes_on_an_acks_topic_are_fixed_notices_or_invalid_ack(payload: bytes) -> None:
    try:
        for rejected, by in acks.fixed(payload):
            assert isinstance(rejected, str) and isinstance(by, str)
    except acks.InvalidAck as exc:
        said = str(exc)
        assert said


@given(st.lists(st.fixed_dictionaries({"id": st.text(min_size=1, max_size=40),
                                       "status": st.sampled_from((*acks.ACK_STATES, acks.FIXED)),
                                       "by": st.text(max_size=40)}), min_size=1, max_size=50))
def test_a_fixed_notice_is_read_by_fixed_and_skipped_as_a_verdict(items: list[dict[str, Any]]) -> None:
    [payload] = acks.encode(items)
    assert acks.fixed(payload) == [(i["id"], i["by"]) for i in items if i["status"] == acks.FIXED]
    assert [a.id for a in acks.decode(payload)] == [i["id"] for i in items if i["status"] != acks.FIXED]


@given(st.lists(st.fixed_dictionaries({"id": st.text(min_size=1, max_size=40),
                                       "status": st.sampled_from(acks.ACK_STATES),
                                       "message": st.text(max_size=40)}), max_size=1200))
def test_acks_decode_what_they_encode(items: list[dict[str, Any]]) -> None:
    decoded = [a for payload in acks.encode(items) for a in acks.decode(payload)]
    assert [(a.id, a.status, a.message) for a in decoded] == [
        (i["id"], i["status"], i["message"]) for i in items]


@fuzz
@given(wire_bytes)
def test_any_bytes_on_a_status_topic_are_a_row(payload: bytes) -> None:
    row = kiosk_status.decode("canopy/v1/CA-LIC-0001/kiosk-01/status", payload, now=time.time())
    if payload:
        assert row is not None
        assert row.state in ("online", "offline", "stale", "unknown")


@given(backlog=st.integers(min_value=0, max_value=10**9),
       oldest=st.none() | st.floats(min_value=0, max_value=10**7),
       fault=st.none() | st.text(min_size=1, max_size=80))
def test_kiosk_status_decodes_what_it_encodes(backlog: int, oldest: float | None, fault: str | None) -> None:
    payload = kiosk_status.encode("CA-LIC-0001", "kiosk-01", "online", backlog=backlog,
                                  oldest_unsent_age_s=oldest, fault=fault)
    row = kiosk_status.decode("canopy/v1/CA-LIC-0001/kiosk-01/status", payload, now=time.time())
    assert row is not None and row.state == "online"
    assert (row.backlog, row.fault) == (backlog, fault)
    assert row.oldest_unsent_age_s == (round(oldest, 1) if oldest is not None else None)


@fuzz
@given(wire_bytes)
def test_any_bytes_on_a_reference_topic_are_a_list_or_a_value_error(payload: bytes) -> None:
    try:
        refdata.decode(payload)
    except (ValueError, ValidationError):
        pass  # the documented error (pydantic's ValidationError is a ValueError)
