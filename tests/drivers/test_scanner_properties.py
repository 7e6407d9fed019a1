"""Properties of the scanner parsers over any input (hypothesis): serial framing,
payload decoding, AIM prefixes and evdev key decoding. Any input ends in a scan
or a named problem, never an exception; typed text comes back byte for byte."""

from __future__ import annotations

from typing import Literal

from evdev import ecodes as e
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.scanner.testing import (
    BAD_BYTES_PROBLEM,
    DROPPED_PROBLEM,
    MAX_SCAN_CHARS,
    NO_AIM_PROBLEM,
    TERMINATOR_KEYS,
    TOO_LONG_PROBLEM,
    TYPABLE,
    UNMAPPED_PROBLEM,
    AimMode,
    ByteFrame,
    ByteFramer,
    KeyDecoder,
    KeyFrame,
    decode_payload,
    key_events,
    overflowed,
    split_aim,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
terminators = st.sampled_from([b"\r", b"\n", b"\r\n", b"\t", b"\x03"])
aim_modes = st.sampled_from(["auto", "expect", "off"])


def feed_all(framer: ByteFramer, chunks: list[bytes]) -> list[ByteFrame]:
    out: list[ByteFrame] = []
    for chunk in chunks:
        out += framer.feed(chunk)
    return out


# -- serial scanners: bytes + suffix ---------------------------------------------------
@PROPERTY
@given(terminators, st.lists(st.binary(max_size=64), max_size=10))
def test_byte_framer_never_raises_and_frames_are_bounded(term: bytes, chunks: list[bytes]) -> None:
    framer = ByteFramer(term)
    for frame in feed_all(framer, chunks):
        assert frame.payload  # a bare suffix is not a scan
        assert len(frame.payload) <= MAX_SCAN_CHARS
        assert (frame.terminator, frame.problem) in ((term, None), (b"", TOO_LONG_PROBLEM))
        if frame.problem is None:
            assert term not in frame.payload
    rest = framer.flush()
    assert rest is None or (rest.terminator == b"" and rest.payload)
    assert not framer.pending


@PROPERTY
@given(terminators, st.data())
def test_byte_framer_round_trip_under_any_split(term: bytes, data: st.DataObject) -> None:
    payload = st.binary(min_size=1, max_size=40).filter(lambda p: term not in p and term[:1] not in p)
    scans = data.draw(st.lists(payload, min_size=1, max_size=6))
    stream = b"".join(s + term for s in scans)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=12))) if len(stream) > 1 else []
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    frames = feed_all(ByteFramer(term), chunks)
    assert [f.payload for f in frames] == scans
    assert all(f.terminator == term and f.problem is None for f in frames)


@PROPERTY
@given(st.binary(max_size=64))
def test_payload_decoding_never_raises(payload: bytes) -> None:
    text, problem = decode_payload(payload)
    try:
        expected = payload.decode("utf-8")
    except UnicodeDecodeError:
        assert problem == BAD_BYTES_PROBLEM
        assert "\ufffd" in text
    else:
        assert (text, problem) == (expected, None)


@PROPERTY
@given(st.text(max_size=30), aim_modes)
def test_aim_split_keeps_every_character(payload: str, mode: AimMode) -> None:
    symbology, text, problem = split_aim(payload, mode)
    if symbology is None:
        assert text == payload
        assert problem in (None, NO_AIM_PROBLEM)
        assert problem is None or mode == "expect"
    else:
        assert symbology + text == payload
        assert len(symbology) == 3 and symbology.startswith("]")
        assert problem is None
    if mode == "off":
        assert (symbology, problem) == (None, None)


# -- evdev key presses --------------------------------------------------------------
# Modifiers, terminators, keypad digits (Alt codes) and letters often; any code sometimes.
_KEYS = [
    e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT, e.KEY_LEFTCTRL, e.KEY_LEFTALT, e.KEY_CAPSLOCK,
    e.KEY_ENTER, e.KEY_KPENTER, e.KEY_TAB, e.KEY_KP0, e.KEY_KP2, e.KEY_KP9, e.KEY_A,
    e.KEY_RIGHTBRACE, e.KEY_2, e.KEY_F1, e.KEY_NUMLOCK, e.KEY_LEFTMETA,
]  # fmt: skip
_CODES = st.one_of(st.sampled_from(_KEYS), st.integers(0, 0x2FF))
_TYPES = st.sampled_from([e.EV_KEY, e.EV_KEY, e.EV_MSC, e.EV_SYN, e.EV_LED])
events = st.tuples(_TYPES, _CODES, st.integers(-1, 3))
terminator_sets = st.sets(st.sampled_from(sorted(TERMINATOR_KEYS.values())), min_size=1)


@PROPERTY
@given(terminator_sets, st.lists(events, max_size=120))
def test_key_decoder_never_raises_on_any_events(terms: set[int], stream: list[tuple[int, int, int]]) -> None:
    decoder = KeyDecoder(terms)
    frames: list[KeyFrame] = []
    for ev in stream:
        frame = decoder.feed(*ev)
        if frame is not None:
            frames.append(frame)
    last = decoder.flush()
    if last is not None:
        frames.append(last)
    for frame in frames:
        assert frame.chars or frame.problem  # an empty scan is never reported as one
        assert len(frame.chars) <= MAX_SCAN_CHARS
        assert frame.terminator in ("", "\r", "\t")
        assert frame.problem in (None, UNMAPPED_PROBLEM, TOO_LONG_PROBLEM, DROPPED_PROBLEM)
    assert not decoder.pending


_SCAN_CHARS = sorted(TYPABLE - {"\r", "\t"})  # Enter and Tab end a scan


@PROPERTY
@given(
    st.text(alphabet=st.sampled_from(_SCAN_CHARS), min_size=1, max_size=40),
    st.sampled_from(["enter", "kp_enter", "tab"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["ctrl", "alt"]),
)
def test_typed_text_comes_back_exactly(
    text: str,
    terminator: Literal["enter", "kp_enter", "tab"],
    keypad_digits: bool,
    caps_lock: bool,
    control_chars: Literal["ctrl", "alt"],
) -> None:
    decoder = KeyDecoder({TERMINATOR_KEYS[terminator]})
    stream = key_events(
        text,
        terminator=terminator,
        keypad_digits=keypad_digits,
        caps_lock=caps_lock,
        control_chars=control_chars,
    )
    frames = [f for f in (decoder.feed(*ev) for ev in stream) if f is not None]
    assert frames == [KeyFrame(chars=text, terminator="\t" if terminator == "tab" else "\r")]


@PROPERTY
@given(
    st.text(alphabet=st.sampled_from(_SCAN_CHARS), min_size=1, max_size=40),
    st.text(alphabet=st.sampled_from(_SCAN_CHARS), min_size=1, max_size=40),
    st.data(),
)
def test_a_queue_overflow_mid_scan_asks_for_that_scan_again_and_spoils_no_other(
        cut: str, after: str, data: st.DataObject) -> None:
    # The kernel's queue overflowed somewhere in a scan: the events from there to the newest
    # are gone (``overflowed``). That scan is never read as a shorter code that could be a
    # real tag: it ends (by its Enter if that came through, else by the idle pause before
    # the next scan) with DROPPED_PROBLEM, unless it was whole before the overflow. The
    # next scan reads exactly.
    decoder = KeyDecoder({TERMINATOR_KEYS["enter"]})
    events = key_events(cut, caps_lock=data.draw(st.booleans()))
    lost_from = data.draw(st.integers(0, len(events) - 1), label="overflow from")
    newest = data.draw(st.integers(lost_from, len(events) - 1), label="newest event")
    stream = [*events[:lost_from], *overflowed(events[newest]), *events[newest + 1:]]
    frames = [f for f in (decoder.feed(*ev) for ev in stream) if f is not None]
    pause = decoder.flush()  # the idle pause between two scans (the driver's timer)
    frames += [pause] if pause is not None else []
    *whole, spoiled = frames
    assert spoiled.problem == DROPPED_PROBLEM
    assert whole in ([], [KeyFrame(chars=cut, terminator="\r")])
    after_frames = [f for f in (decoder.feed(*ev) for ev in key_events(after)) if f is not None]
    assert after_frames == [KeyFrame(chars=after, terminator="\r")]
    assert decoder.flush() is None and not decoder.pending
