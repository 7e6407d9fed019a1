"""Framers: frames survive any split, garbage and cut-off frames come out as junk."""

from __future__ import annotations

import random

import pytest

from drivers.scale.testing import (
    PARITY_HINT,
    FrameContext,
    Junk,
    LineFramer,
    NciFramer,
    ProtocolName,
    StartEndFramer,
    ToledoFramer,
    UnreadableFrame,
    framer,
    parse,
)

# Frames as the manuals print them (see the protocol test files for sources).
SAMPLES: dict[ProtocolName, list[bytes]] = {
    "mt-sics": [b"S S     100.00 g\r\n", b"S D      99.98 g\r\n", b"S +\r\n", b"ES\r\n"],
    "toledo-8217": [b"\x02  12.34\r", b"\x02?\x21\r", b"\x02?\x02\r", b"\x02?\x0d\r"],
    "ohaus": [b"     192.21 g\r\n", b"       0.01 g ?\r\n", b"     176.30 g ? 00:00:15\r\n"],
    "and": [b"ST,+00123.45  g\r\n", b"\x06", b"US,-00001.20 kg\r\n", b"OL,+9999999E+19\r\n"],
    "sma": [b"\n 1G       5.025lb \r", b"\n 1G M     7.650kg \r", b"\n?\r"],
    "nci": [b"\n  12.34lb\r\n00\r\x03", b"\n01\r\x03", b"\n?\r\x03", b"\n^^^^^^lb\r\n02\r\x03"],
}


def feed_in_pieces(protocol: ProtocolName, stream: bytes, cuts: list[int]) -> list[bytes | Junk]:
    cutter = framer(protocol)
    out: list[bytes | Junk] = []
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        out += cutter.feed(stream[start:cut])
        start = cut
    return out


@pytest.mark.parametrize("protocol", list(SAMPLES))
def test_frames_survive_every_split(protocol: ProtocolName) -> None:
    stream = b"".join(SAMPLES[protocol])
    rng = random.Random(protocol)
    # one byte at a time, then 50 random splittings
    assert feed_in_pieces(protocol, stream, list(range(1, len(stream)))) == SAMPLES[protocol]
    for _ in range(50):
        cuts = rng.sample(range(1, len(stream)), k=rng.randint(1, min(8, len(stream) - 1)))
        assert feed_in_pieces(protocol, stream, cuts) == SAMPLES[protocol]


@pytest.mark.parametrize("protocol", list(SAMPLES))
def test_garbage_between_frames_never_reaches_the_parser_as_a_frame(protocol: ProtocolName) -> None:
    good = SAMPLES[protocol][0]
    out = framer(protocol).feed(good + b"#\xfe@garbage!" + good + good)
    assert out[0] == good
    assert out[-1] == good
    # Line framers cannot tell garbage from the start of the next line, so the
    # polluted line comes out as one frame: the parser must refuse it.
    # Framers with a start marker cut the garbage out as junk.
    for item in out[1:-1]:
        if item == good:
            continue
        if isinstance(item, bytes):
            with pytest.raises(UnreadableFrame):
                parse(protocol, item, FrameContext(unit="lb"))
        else:
            assert isinstance(item, Junk)
    assert out.count(good) >= 2


def test_line_framer_keeps_a_cr_waiting_for_its_lf() -> None:
    framer = LineFramer(b"\r\n", max_len=16)
    assert framer.feed(b"S S 1 g\r") == []
    assert framer.feed(b"\n") == [b"S S 1 g\r\n"]


def test_line_framer_drops_overlong_noise_and_resyncs() -> None:
    framer = LineFramer(b"\r\n", max_len=16)
    out = framer.feed(b"x" * 40)
    assert out == [Junk(b"x" * 40, "no line end within 16 bytes")]
    assert framer.feed(b"S S 1 g\r\n") == [b"S S 1 g\r\n"]


def test_line_framer_solo_ack() -> None:
    framer = LineFramer(b"\r\n", solo=b"\x06")
    assert framer.feed(b"\x06ST,+00001.00  g\r\n") == [b"\x06", b"ST,+00001.00  g\r\n"]


def test_start_end_framer_drops_cut_off_frame() -> None:
    framer = StartEndFramer(0x0A, 0x0D, max_len=32)
    out = framer.feed(b"\n 1G    5.0" + b"\n 1G       5.025lb \r")
    assert out == [Junk(b"\n 1G    5.0", "incomplete frame"), b"\n 1G       5.025lb \r"]


def test_start_end_framer_ignores_blank_noise() -> None:
    # An SMA scale that adds LF after CR must not raise a fault on every frame.
    framer = StartEndFramer(0x0A, 0x0D, max_len=32)
    frame = b"\n 1G       5.025lb \r"
    assert framer.feed(frame + b"\n" + frame + b"\n") == [frame, frame]


def test_toledo_status_byte_that_looks_like_stx_or_cr() -> None:
    framer = ToledoFramer()
    assert framer.feed(b"\x02?\x02\r\x02?\x0d\r") == [b"\x02?\x02\r", b"\x02?\x0d\r"]


def test_toledo_cut_off_frame_then_good_frame() -> None:
    framer = ToledoFramer()
    out = framer.feed(b"\x02  1" + b"\x02  12.34\r")
    assert out == [Junk(b"\x02  1", "incomplete frame"), b"\x02  12.34\r"]
    out = framer.feed(b"\x02?" + b"\x02  12.34\r")
    assert out[-1] == b"\x02  12.34\r"
    assert isinstance(out[0], Junk)


def test_nci_cut_off_weight_then_good_frame() -> None:
    framer = NciFramer()
    out = framer.feed(b"\n  12." + b"\n  12.34lb\r\n00\r\x03")
    assert out == [Junk(b"\n  12.", "bytes outside a frame"), b"\n  12.34lb\r\n00\r\x03"]


def test_nci_noise_before_status_frame() -> None:
    framer = NciFramer()
    assert framer.feed(b"zz\n01\r\x03") == [Junk(b"zz", "bytes outside a frame"), b"\n01\r\x03"]


def test_discard_partial_reports_only_real_leftovers() -> None:
    framer = LineFramer()
    framer.feed(b"S S    1")
    assert framer.discard_partial() == Junk(b"S S    1", "incomplete frame")
    framer.feed(b"\r")
    assert framer.discard_partial() is None


@pytest.mark.parametrize(
    ("protocol", "frame"),
    [
        ("sma", b"\n" + b"x" * 40 + b"\r"),  # found by the property tests: arrived whole, too long
        ("toledo-8217", b"\x02" + b"1" * 20 + b"\r"),
    ],
)
def test_a_frame_longer_than_any_real_one_is_junk_even_when_it_arrives_whole(
    protocol: ProtocolName, frame: bytes
) -> None:
    out = framer(protocol).feed(frame)
    assert len(out) == 1 and isinstance(out[0], Junk)
    assert out[0].reason.startswith("frame longer than")


@pytest.mark.parametrize(
    ("protocol", "frame"),
    [
        ("mt-sics", b"S S     100.00 g\r\n"),
        ("sma", b"\n 1G       5.025lb \r"),
    ],
)
def test_a_7e1_frame_end_on_an_8n1_port_is_cut_at_once_with_the_parity_hint(
    protocol: ProtocolName, frame: bytes
) -> None:
    # CR arrives as 0x8D: without the 7-bit look the framer would wait for max_len.
    wire = bytes(b | 0x80 if b == 0x0D else b for b in frame)
    out = framer(protocol).feed(wire)
    assert out == [Junk(wire, PARITY_HINT)]
