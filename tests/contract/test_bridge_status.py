"""The bridge status message: what the bridge writes, the kiosk reads; anything else is None."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from canopy import bridge_status, topics

TOPIC = topics.bridge_status("bridge-1")


def test_round_trip_and_topic() -> None:
    for state in ("online", "offline"):
        got = bridge_status.decode(TOPIC, bridge_status.encode("bridge-1", state))
        assert got is not None and got.bridge == "bridge-1" and got.state == state and got.at
    # Four levels: no kiosk filter (canopy/v1/+/+/...) matches a bridge's status.
    assert TOPIC == "canopy/v1/bridges/bridge-1" and topics.parse(TOPIC) is None


def test_what_is_not_a_bridge_status_is_none() -> None:
    online = bridge_status.encode("bridge-1", "online")
    assert bridge_status.decode(topics.status("LIC", "kiosk-1"), online) is None
    assert bridge_status.decode("canopy/v1/bridges/a/b", online) is None
    assert bridge_status.decode(TOPIC, b'{"v": 1, "state": "maybe"}') is None
    assert bridge_status.decode(TOPIC, b'{"v": 2, "state": "online"}') is None
    assert bridge_status.decode(TOPIC, b"[" * 100_000) is None
    assert bridge_status.decode(TOPIC, b"\xff\xfe") is None
    odd = bridge_status.decode(TOPIC, json.dumps({"v": 1, "state": "online", "at": 10**30}).encode())
    assert odd is not None and odd.at is None


@given(st.binary(max_size=2048))
def test_any_bytes_decode_or_none(payload: bytes) -> None:
    bridge_status.decode(TOPIC, payload)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4)))
def test_any_json_decodes_or_none(value: object) -> None:
    body = {"v": 1, "state": "online", "extra": value}
    for payload in (json.dumps(value).encode(), json.dumps(body).encode()):
        got = bridge_status.decode(TOPIC, payload)
        assert got is None or got.state in ("online", "offline")
