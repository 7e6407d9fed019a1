"""Ingest's classification of any message on any topic: events or quarantine, never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.ingest import classify
from bridge.ledger import IncomingEvent, Rejected
from canopy.mqtt import Message
from tests.contract.test_wire_properties import wire_bytes

topics_ = st.sampled_from(["canopy/v1/CA-LIC-0001/kiosk-01/events", "canopy/v1/CA-LIC-0001/ref/events",
                           "canopy/v1/+/#/events", "canopy/v1/a/b/c/events", "x"]) | st.text(max_size=80)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=topics_, payload=wire_bytes | wire_bytes.map(lambda b: b + b"\n" + b))
def test_any_message_is_classified_event_by_event(topic: str, payload: bytes) -> None:
    items = classify(Message(topic=topic, payload=payload, qos=1, retain=False, mid=1, generation=1))
    assert items
    for item in items:
        assert isinstance(item, IncomingEvent | Rejected)
        if isinstance(item, Rejected):
            assert item.reason
