"""Device and bridge ids: names the topic scheme uses cannot be enrolled."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from canopy import topics


def test_scheme_names_are_refused_with_a_reason() -> None:
    for name in ("ref", "Ref", "+", "#", "$share", "$SYS", "", "a/b", "kiosk-01-fleet", "bridge-1-FLEET"):
        assert topics.reserved_name(name), name
    assert "topic scheme" in (topics.reserved_name("ref") or "")
    assert "fleet view" in (topics.reserved_name("x-fleet") or "")
    assert "compliance console" in (topics.reserved_name("Console") or "")
    for name in ("kiosk-01", "bridge-1", "refill-station", "fleetwood"):
        assert topics.reserved_name(name) is None, name


@given(st.text(max_size=80))
def test_an_accepted_name_is_one_plain_level_of_no_special_meaning(name: str) -> None:
    if topics.reserved_name(name) is None:
        assert topics.valid_name(name)
        assert not set(name) & {"/", "+", "#", "$"}
        assert name.lower() != "ref" and not name.lower().endswith(topics.FLEET_SUFFIX)
        assert name.lower() != topics.CONSOLE_DEVICE
        assert topics.parse(topics.events("LIC-1", name)) is not None
