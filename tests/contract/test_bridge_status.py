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


# --- the state system per facility (issue 13: the state's status on the floor) ---------

_licences = st.from_regex(r"[A-Z]{2}-[A-Z0-9]{1,10}", fullmatch=True)
_systems = st.one_of(
    st.builds(bridge_status.StateSystem, st.just(True)),
    st.builds(bridge_status.StateSystem, st.just(False), st.integers(0, 2**53 - 1) | st.none(),
              st.booleans(), st.floats(0.5, 1000)),
)


@given(st.dictionaries(_licences, _systems, max_size=20))
def test_facility_states_round_trip(facilities: dict[str, bridge_status.StateSystem]) -> None:
    got = bridge_status.decode(TOPIC, bridge_status.encode("bridge-1", "online", facilities))
    assert got is not None and got.facilities == facilities


def test_a_reachable_state_system_carries_no_outage() -> None:
    body = {"v": 1, "state": "online", "facilities": {
        "CA-1": {"reachable": True, "since": 5, "notify": True},
        "CA-2": {"reachable": False, "since": 1_765_000_000_000, "notify": True, "after_h": 72},
        "CA-3": {"reachable": "no"}, "CA-4": {"reachable": False, "since": -1},
        "CA-5": {"reachable": False, "since": True}, "bad/topic": {"reachable": True},
        "CA-6": {"reachable": False, "after_h": 0}, "CA-7": [1]}}
    got = bridge_status.decode(TOPIC, json.dumps(body).encode())
    assert got is not None
    assert got.facilities == {
        "CA-1": bridge_status.StateSystem(True),
        "CA-2": bridge_status.StateSystem(False, 1_765_000_000_000, True, 72.0)}


def test_facilities_that_are_not_a_map_are_none_of_them() -> None:
    raw: object
    for raw in ([], "CA-1", 3, None, {str(n): {"reachable": True} for n in range(300)}):
        got = bridge_status.decode(TOPIC, json.dumps({"v": 1, "state": "online", "facilities": raw}).encode())
        assert got is not None and got.facilities == {}


@given(st.dictionaries(st.text(max_size=12), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["reachable", "since", "notify", "after_h", "x"]), inner, max_size=5)),
    max_size=6))
def test_any_facilities_decode_to_valid_entries(raw: dict[str, object]) -> None:
    got = bridge_status.decode(TOPIC, json.dumps({"v": 1, "state": "online", "facilities": raw}).encode())
    assert got is not None
    for licence, system in got.facilities.items():
        assert topics.valid_name(licence)
        assert system.reachable or system.since_ms is None or 0 <= system.since_ms < 2**53
        assert not (system.reachable and (system.notify or system.since_ms is not None))
