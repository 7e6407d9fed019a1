"""Properties of every scale parser and framer, over any input (hypothesis).

- Any bytes in: a ``Reading`` / ``Reply`` / ``None`` or ``UnreadableFrame``, never
  another exception, and never a value where the state forbids one.
- Any split of a valid stream: the framer gives the same frames.
- A generated valid frame parses back to the value, unit, state and basis it was made from.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.scale import Reading, ReadingState, WeightBasis
from drivers.scale.testing import (
    MANUAL_FRAMES,
    PARITY_HINT,
    PROTOCOLS,
    FrameContext,
    Junk,
    ProtocolName,
    Reply,
    UnreadableFrame,
    and_mt_weight,
    and_weight,
    as_8n1,
    framer,
    nci_status,
    nci_status_frame,
    nci_weight,
    ohaus_weight,
    parse,
    sics_weight,
    sma_frame,
    toledo_weight,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CTX = FrameContext(scale_id="prop", unit="lb")

# Pieces of real frames, so generated inputs reach deep into each parser, not only
# its first check.
_PIECES = [
    *sorted({m.frame for m in MANUAL_FRAMES}),
    b"\x02", b"\x03", b"\r", b"\n", b"\r\n", b"?", b" ", b"-", b"+", b".", b"N", b"S", b"I",
    b"0", b"9", b"^", b"_", b"E+19", b",", b"ST,", b"OL,", b"lb", b"kg", b" g", b"PC", b"\x06",
    b"\x80", b"\x8d", b"\xff", b"p", b"t", b"8",
]  # fmt: skip
frames_like = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.binary(max_size=6)), max_size=8
).map(b"".join)
protocols = st.sampled_from(PROTOCOLS)
units = st.sampled_from(["g", "kg", "lb", "oz", None])


def _check_parsed(protocol: ProtocolName, frame: bytes, unit: str | None) -> None:
    refused: UnreadableFrame | None = None
    try:
        parsed = parse(protocol, frame, FrameContext(scale_id="prop", unit=unit))
    except UnreadableFrame as exc:
        refused, parsed = exc, None
    if refused is not None:
        assert refused.reason
        assert refused.reason == PARITY_HINT or not any(b >= 0x80 for b in frame)
        return
    assert parsed is None or isinstance(parsed, Reading | Reply)
    if isinstance(parsed, Reading):
        assert parsed.raw == frame
        if parsed.state in (ReadingState.OVERLOAD, ReadingState.UNDERLOAD, ReadingState.ERROR):
            assert parsed.value is None
        if parsed.state is ReadingState.STABLE:
            assert parsed.value is not None
            assert parsed.value.is_finite()
    if isinstance(parsed, Reply) and not parsed.ok:
        assert parsed.message  # a refusal always has floor wording


@PROPERTY
@given(protocols, st.binary(max_size=40), units)
def test_any_bytes_parse_to_an_outcome_or_unreadable(
    protocol: ProtocolName, frame: bytes, unit: str | None
) -> None:
    _check_parsed(protocol, frame, unit)


@PROPERTY
@given(protocols, frames_like, units)
def test_frame_like_bytes_parse_to_an_outcome_or_unreadable(
    protocol: ProtocolName, frame: bytes, unit: str | None
) -> None:
    _check_parsed(protocol, frame, unit)


@PROPERTY
@given(protocols, st.lists(st.one_of(frames_like, st.binary(max_size=80)), max_size=6))
def test_framers_never_raise_and_everything_they_give_parses_or_is_junk(
    protocol: ProtocolName, chunks: list[bytes]
) -> None:
    cutter = framer(protocol)
    for chunk in chunks:
        for item in cutter.feed(chunk):
            if isinstance(item, Junk):
                assert item.data and item.reason
                if any(b >= 0x80 for b in item.data):
                    assert item.reason == PARITY_HINT
            else:
                assert len(item) <= cutter.max_len
                _check_parsed(protocol, item, "lb")
    leftover = cutter.discard_partial()
    assert leftover is None or isinstance(leftover, Junk)


@PROPERTY
@given(protocols, st.data())
def test_manual_frames_survive_any_split(protocol: ProtocolName, data: st.DataObject) -> None:
    frames = [m.frame for m in MANUAL_FRAMES if m.protocol == protocol and m.expect.kind != "unreadable"]
    picked = data.draw(st.lists(st.sampled_from(frames), min_size=1, max_size=6))
    stream = b"".join(picked)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=10)))
    cutter = framer(protocol)
    out: list[bytes | Junk] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        out += cutter.feed(stream[start:cut])
        start = cut
    assert out == picked


@PROPERTY
@given(protocols, st.sampled_from([m.frame for m in MANUAL_FRAMES]))
def test_any_manual_frame_read_with_parity_as_data_is_never_a_weight(
    protocol: ProtocolName, frame: bytes
) -> None:
    wire = as_8n1(frame)
    if wire == frame:  # every byte had even parity already (e.g. a bare ACK)
        return
    cutter = framer(protocol)
    for item in [*cutter.feed(wire), cutter.discard_partial()]:
        if isinstance(item, bytes) and any(b >= 0x80 for b in item):
            with pytest.raises(UnreadableFrame, match="parity"):
                parse(protocol, item, CTX)


# -- round trips: generated frame -> parsed value equals the generated one -----------
def weights(places: int, max_int: int = 9999, signed: bool = True) -> st.SearchStrategy[Decimal]:
    lo = -max_int if signed else 0
    return st.integers(lo * 10**places, max_int * 10**places).map(
        lambda n: Decimal(n).scaleb(-places)
    )


decimals = st.integers(0, 4).flatmap(lambda p: weights(p))
unsigned = st.integers(0, 3).flatmap(lambda p: weights(p, 999, signed=False))
mass_units = st.sampled_from(["g", "kg", "lb", "oz", "mg"])


def _reading(protocol: ProtocolName, frame: bytes, unit: str | None = None) -> Reading:
    cutter = framer(protocol)
    assert cutter.feed(frame) == [frame]  # the framer passes it whole
    parsed = parse(protocol, frame, FrameContext(unit=unit))
    assert isinstance(parsed, Reading)
    return parsed


@PROPERTY
@given(decimals, mass_units, st.booleans(), st.sampled_from(["S", "SI", "SIR"]))
def test_mt_sics_round_trip(value: Decimal, unit: str, stable: bool, command: str) -> None:
    r = _reading("mt-sics", sics_weight(value, unit, stable=stable, command=command))  # type: ignore[arg-type]
    assert (r.value, r.unit, r.state) == (
        value, unit, ReadingState.STABLE if stable else ReadingState.UNSTABLE,
    )  # fmt: skip


@PROPERTY
@given(unsigned, st.booleans(), st.sampled_from(["g", "kg", "lb", "oz"]))
def test_toledo_8217_round_trip(value: Decimal, net: bool, unit: str) -> None:
    r = _reading("toledo-8217", toledo_weight(value, net=net), unit)
    assert (r.value, r.unit, r.state, r.basis) == (
        value, unit, ReadingState.STABLE, WeightBasis.NET if net else WeightBasis.GROSS,
    )  # fmt: skip


@PROPERTY
@given(
    st.integers(0, 3).flatmap(lambda p: weights(p, 99999)),
    mass_units,
    st.booleans(),
    st.sampled_from([None, "NET", "G", "B/G", "T"]),
    st.booleans(),
)
def test_ohaus_round_trip(
    value: Decimal, unit: str, stable: bool, legend: str | None, polarity_first: bool
) -> None:
    frame = ohaus_weight(value, unit, stable=stable, legend=legend, polarity_first=polarity_first)
    r = _reading("ohaus", frame)
    basis = {None: None, "NET": WeightBasis.NET, "G": WeightBasis.GROSS, "B/G": WeightBasis.GROSS,
             "T": WeightBasis.TARE}[legend]  # fmt: skip
    assert (r.value, r.unit, r.state, r.basis) == (
        value, unit, ReadingState.STABLE if stable else ReadingState.UNSTABLE, basis,
    )  # fmt: skip


@PROPERTY
@given(
    st.integers(0, 4).flatmap(lambda p: weights(p, 999)),
    mass_units,
    st.sampled_from(["ST", "US", "WT"]),
    st.sampled_from(["", "GS", "NT"]),
    st.booleans(),
)
def test_a_and_d_round_trip(value: Decimal, unit: str, header: str, second: str, csv: bool) -> None:
    r = _reading("and", and_weight(value, unit, header=header, second=second, csv=csv))  # type: ignore[arg-type]
    basis = {"": None, "GS": WeightBasis.GROSS, "NT": WeightBasis.NET}[second]
    state = ReadingState.UNSTABLE if header == "US" else ReadingState.STABLE
    assert (r.value, r.unit, r.state, r.basis) == (value, unit, state, basis)


@PROPERTY
@given(st.integers(0, 3).flatmap(lambda p: weights(p, 9999)), mass_units, st.booleans())
def test_a_and_d_mt_format_round_trip(value: Decimal, unit: str, stable: bool) -> None:
    r = _reading("and", and_mt_weight(value, unit, stable=stable))
    assert (r.value, r.unit, r.state) == (
        value, unit, ReadingState.STABLE if stable else ReadingState.UNSTABLE,
    )  # fmt: skip


@PROPERTY
@given(
    st.integers(0, 3).flatmap(lambda p: weights(p, 99999)),
    st.sampled_from(["lb", "kg", "g", "oz"]),
    st.sampled_from(["G", "N", "T"]),
    st.booleans(),
    st.sampled_from([" ", "Z"]),
)
def test_sma_round_trip(value: Decimal, unit: str, basis: str, motion: bool, status: str) -> None:
    r = _reading("sma", sma_frame(value, unit, status=status, basis=basis, motion=motion))
    want = {"G": WeightBasis.GROSS, "N": WeightBasis.NET, "T": WeightBasis.TARE}[basis]
    assert (r.value, r.unit, r.state, r.basis) == (
        value, unit, ReadingState.UNSTABLE if motion else ReadingState.STABLE, want,
    )  # fmt: skip


@PROPERTY
@given(
    st.integers(0, 2).flatmap(lambda p: weights(p, 999)),
    st.sampled_from(["lb", "kg", "g", "oz"]),
    st.booleans(),
    st.sampled_from([None, True, False]),
    st.booleans(),
    st.booleans(),
)
def test_nci_round_trip(
    value: Decimal, unit: str, motion: bool, net: bool | None, fourth: bool, scp02: bool
) -> None:
    status = nci_status(motion=motion, at_zero=value == 0, net=net, fourth=fourth, scp02=scp02)
    r = _reading("nci", nci_weight(value, unit, status))
    has_third = net is not None or fourth
    basis = (WeightBasis.NET if net else WeightBasis.GROSS) if has_third else None
    assert (r.value, r.unit, r.state, r.basis) == (
        value, unit, ReadingState.UNSTABLE if motion else ReadingState.STABLE, basis,
    )  # fmt: skip


@PROPERTY
@given(
    st.fixed_dictionaries(
        {
            "motion": st.booleans(),
            "under": st.booleans(),
            "over": st.booleans(),
            "ram_error": st.booleans(),
            "initial_zero_error": st.booleans(),
            "fourth": st.booleans(),
        }
    )
)
def test_nci_status_only_answers_say_why_at_once(flags: dict[str, bool]) -> None:
    parsed = parse("nci", nci_status_frame(nci_status(**flags)))
    if flags["over"]:
        want: ReadingState | None = ReadingState.OVERLOAD
    elif flags["under"]:
        want = ReadingState.UNDERLOAD
    elif flags["ram_error"] or flags["initial_zero_error"]:
        want = ReadingState.ERROR
    elif flags["motion"]:
        want = ReadingState.UNSTABLE
    else:
        want = None
    if want is None:
        assert isinstance(parsed, Reply) and parsed.ok
    else:
        assert isinstance(parsed, Reading)
        assert (parsed.state, parsed.value) == (want, None)
