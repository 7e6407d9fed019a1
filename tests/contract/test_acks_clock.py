"""The bridge's clock on ack messages (``t``): read by the kiosk, never a crash."""

from __future__ import annotations

import json
import time

from hypothesis import given
from hypothesis import strategies as st

from canopy import acks

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                               max_size=4), max_leaves=20)


def test_the_bridge_time_rides_on_every_ack_message() -> None:
    now_ms = time.time_ns() // 1_000_000
    messages = acks.encode([{"id": f"e{i}", "status": "stored"} for i in range(1200)], sent_ms=now_ms)
    assert len(messages) == 3
    assert all(acks.sent_at(m) == now_ms / 1000 for m in messages)
    assert [a.id for a in acks.decode(messages[0])][:2] == ["e0", "e1"]  # acks read as before
    assert acks.sent_at(acks.encode([{"id": "e", "status": "stored"}])[0]) is None  # an older bridge


@given(st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode())
       | JSON.map(lambda v: json.dumps({"v": 1, "t": v, "acks": []}).encode()))
def test_any_payload_gives_a_bridge_time_or_none(payload: bytes) -> None:
    value = acks.sent_at(payload)
    assert value is None or 1_577_836_800 <= value <= 4_102_444_800
