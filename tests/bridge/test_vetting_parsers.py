"""What people and files hand the clock checks: a time typed for `canopy bridge confirm`,
the kiosk's kept clock comparison. Any input gives a value or a plain message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.bridgeclock import read_clock_offset, write_clock_offset
from canopy.errors import UserError
from cli.commands.bridge_confirm import parse_when


def test_a_time_without_a_zone_is_the_facility_s_local_time() -> None:
    assert parse_when("2026-07-01T09:30", "America/Los_Angeles") == datetime(2026, 7, 1, 16, 30, tzinfo=UTC)
    assert parse_when("2026-07-01T09:30Z", "America/Los_Angeles") == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    with pytest.raises(UserError, match="in the future"):
        parse_when("2999-01-01T00:00", "UTC")
    with pytest.raises(UserError, match=r"use e\.g\."):
        parse_when("yesterday at nine", "UTC")
    with pytest.raises(UserError, match="not a time"):
        parse_when("0001-01-01T00:00", "Europe/Berlin")


@given(st.text(max_size=40))
def test_any_typed_time_is_a_utc_time_or_a_plain_message(text: str) -> None:
    value: datetime | None = None
    problem = ""
    try:
        value = parse_when(text, "Europe/Berlin")
    except UserError as exc:
        problem = str(exc)
    if value is None:
        assert problem.startswith("--at")
    else:
        assert value.tzinfo is not None and value <= datetime.now(UTC)


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=200))
def test_a_damaged_clock_file_reads_as_not_compared(tmp_path_factory: pytest.TempPathFactory,
                                                    content: bytes) -> None:
    path = tmp_path_factory.mktemp("clock") / "bridge-clock.json"
    path.write_bytes(content)
    kept = read_clock_offset(path)
    assert kept is None or all(isinstance(v, float) for v in kept)


def test_the_clock_file_round_trips(tmp_path: Path) -> None:
    write_clock_offset(tmp_path / "c.json", -12.3456, 1_800_000_000.0)
    assert read_clock_offset(tmp_path / "c.json") == (-12.346, 1_800_000_000.0)
    assert read_clock_offset(tmp_path / "missing.json") is None
