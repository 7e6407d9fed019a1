"""One declaration per event type: the payload class names its type and label,
and the union, the envelopes and every table are read from it."""

from __future__ import annotations

import re
from typing import get_args

import pytest

import canopy.events as events
from canopy.events import (
    ENVELOPES,
    EVENT_CLASSES,
    EVENT_TYPES,
    FACILITY_ONLY,
    LABELS,
    PAYLOADS,
    Envelope,
    Event,
    Payload,
)


def declared(base: type) -> set[type]:
    """Every class of the events module built on ``base`` (what a developer wrote)."""
    return {v for v in vars(events).values()
            if isinstance(v, type) and issubclass(v, base) and v is not base}


def test_the_union_lists_every_declared_event_type() -> None:
    union, discriminator = get_args(Event)
    assert discriminator.discriminator == "type"
    assert get_args(union) == ENVELOPES
    assert set(ENVELOPES) == declared(Envelope)
    assert set(PAYLOADS.values()) == declared(Payload)
    assert len(ENVELOPES) == len(EVENT_TYPES) == len(set(EVENT_TYPES))


@pytest.mark.parametrize("envelope", ENVELOPES, ids=lambda cls: cls.__name__)
def test_each_envelope_takes_its_type_from_its_payload(envelope: type[Envelope]) -> None:
    payload = envelope.model_fields["data"].annotation
    assert isinstance(payload, type)
    assert issubclass(payload, Payload)
    assert get_args(envelope.model_fields["type"].annotation) == (payload.type_name,)
    assert EVENT_CLASSES[payload.type_name] is envelope
    assert PAYLOADS[payload.type_name] is payload
    assert envelope.__name__ == f"{payload.__name__}Event"
    # On the wire ``type`` comes before ``data``, as it always has.
    fields = list(envelope.model_fields)
    assert fields.index("type") == fields.index("data") - 1


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_every_type_has_a_wire_name_and_a_label(type_: str) -> None:
    assert re.fullmatch(r"[a-z_]+\.[a-z_]+", type_)
    assert LABELS[type_].strip() == LABELS[type_]
    assert LABELS[type_][0].isupper()


def test_labels_tell_every_type_apart() -> None:
    assert len(set(LABELS.values())) == len(LABELS) == len(EVENT_TYPES)


def test_facility_only_records_say_why() -> None:
    assert set(FACILITY_ONLY) < set(EVENT_TYPES)
    for type_, reason in FACILITY_ONLY.items():
        assert PAYLOADS[type_].facility_only == reason
        assert "recorded" in reason  # the worker reads: kept here, not sent to the state
    assert all(PAYLOADS[t].facility_only is None for t in EVENT_TYPES if t not in FACILITY_ONLY)
