"""What each mapper does with each event type, checked against the one declaration:
the records the payloads call facility-only are exactly the ones both mappers keep
at the facility, and every state call is a bound client method named in the ledger.

The clients point at a port nothing listens on: mapping a facility record never
talks to the state, and a mapping that reads the state first fails as a real
refused connection does."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from bridge.ledger import Answer
from bridge.state import StateApiError
from bridge.state.biotrack import BioTrackClient, BioTrackMapper, BioTrackWrite
from bridge.state.metrc import MetrcClient, MetrcMapper
from bridge.submit import Mapper, Op
from canopy.events import EVENT_TYPES, FACILITY_ONLY, PAYLOADS, Event
from tests.contract.test_events import make

BIOTRACK_ID = "1234567890123456"  # BioTrack ids are 16 digits


@dataclass
class Mapped:
    mapper: Mapper
    system: str
    client: object


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(params=["metrc", "biotrack"])
async def mapped(request: pytest.FixtureRequest) -> AsyncIterator[Mapped]:
    url = closed_port()
    if request.param == "metrc":
        metrc = MetrcClient(url, "vendor", "user", "CCL24-0000101", timeout=2)
        yield Mapped(MetrcMapper(metrc, "America/Los_Angeles"), "metrc", metrc)
        await metrc.aclose()
    else:
        biotrack = BioTrackClient(url, "990010", "grower@north.example", "pw", training=True, timeout=2)
        yield Mapped(BioTrackMapper(biotrack), "biotrack", biotrack)
        await biotrack.aclose()


def example(type_: str, system: str) -> Event:
    event: Event = make(type_)
    if system == "biotrack":  # tags as BioTrack ids, so the client builds the request
        raw = event.model_dump(mode="json")
        for key in ("tag", "new_tag"):
            if raw["data"].get(key) is not None:
                raw["data"][key] = BIOTRACK_ID
        event = make(type_, raw["data"])
    return event


async def mapped_or_error(mapper: Mapper, event: Event) -> Op | Answer | StateApiError:
    try:
        return await mapper.map(event)
    except StateApiError as exc:  # the mapping read the state first
        return exc


@pytest.mark.parametrize("type_", EVENT_TYPES)
async def test_facility_records_are_exactly_the_declared_ones(mapped: Mapped, type_: str) -> None:
    event = example(type_, mapped.system)
    result = await mapped_or_error(mapped.mapper, event)
    kept_here = isinstance(result, Answer) and result.message in FACILITY_ONLY.values()
    if type_ in FACILITY_ONLY:
        assert result == Answer(event.id, "accepted", FACILITY_ONLY[type_])
    else:
        assert not kept_here, result


@pytest.mark.parametrize("type_", [t for t in EVENT_TYPES if t not in FACILITY_ONLY])
async def test_records_a_system_has_no_call_for_are_exactly_the_declared_ones(mapped: Mapped,
                                                                               type_: str) -> None:
    """The kiosk shows these as kept at the facility (``Payload.not_reported_by``)."""
    event = example(type_, mapped.system)
    result = await mapped_or_error(mapped.mapper, event)
    answered_here = isinstance(result, Answer) and result.status == "accepted"
    assert answered_here == (mapped.system in PAYLOADS[type_].not_reported_by), result


def steps_actions(op: Op) -> set[str]:
    row = op.row
    writes: list[BioTrackWrite] = list(row.steps) if hasattr(row, "steps") else [row[1]]
    return {w.action for w in writes}


@pytest.mark.parametrize("type_", [t for t in EVENT_TYPES if t not in FACILITY_ONLY])
async def test_state_calls_are_bound_methods_named_in_the_ledger(mapped: Mapped, type_: str) -> None:
    result = await mapped_or_error(mapped.mapper, example(type_, mapped.system))
    if not isinstance(result, Op):
        return  # answered without a call (the state cannot take it) or read the state first
    call: Callable[..., object] = result.call
    assert result.endpoint.split(":")[0] == call.__name__
    if mapped.system == "metrc":
        assert getattr(call, "__self__", None) is mapped.client
    else:  # BioTrack's action names, as the ledger always recorded them
        assert call.__name__ in steps_actions(result)
