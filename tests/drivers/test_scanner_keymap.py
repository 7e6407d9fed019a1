"""The pure parts of the scanner drivers: US keymap decoder, AIM prefixes, config, the
"is this a scanner or somebody's keyboard" check."""

from __future__ import annotations

import tomllib

import pytest
from evdev import ecodes as e
from pydantic import ValidationError

from drivers.scanner import EvdevOptions, ScannerConfig
from drivers.scanner.testing import (
    NO_AIM_PROBLEM,
    TERMINATOR_KEYS,
    UNMAPPED_PROBLEM,
    KeyDecoder,
    KeyEvent,
    KeyFrame,
    key_events,
    looks_like_scanner,
    split_aim,
)

# The US layout written out by hand, row by row, independent of the driver's table:
# (key names, unshifted characters, shifted characters).
US_ROWS = [
    (
        ["GRAVE", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "MINUS", "EQUAL"],
        "`1234567890-=",
        "~!@#$%^&*()_+",
    ),
    (
        ["Q", "W", "E", "R", "T", "Y", "U", "I", "O", "P", "LEFTBRACE", "RIGHTBRACE", "BACKSLASH"],
        "qwertyuiop[]\\",
        "QWERTYUIOP{}|",
    ),
    (["A", "S", "D", "F", "G", "H", "J", "K", "L", "SEMICOLON", "APOSTROPHE"], "asdfghjkl;'", 'ASDFGHJKL:"'),
    (["Z", "X", "C", "V", "B", "N", "M", "COMMA", "DOT", "SLASH"], "zxcvbnm,./", "ZXCVBNM<>?"),
    (["SPACE"], " ", " "),
]
ENTER = frozenset({e.KEY_ENTER, e.KEY_KPENTER})


def key(name: str) -> int:
    code = getattr(e, f"KEY_{name}")
    assert isinstance(code, int)
    return code


def press(code: int) -> list[KeyEvent]:
    return [(e.EV_KEY, code, 1), (e.EV_KEY, code, 0)]


def hold(modifier: int, events: list[KeyEvent]) -> list[KeyEvent]:
    return [(e.EV_KEY, modifier, 1), *events, (e.EV_KEY, modifier, 0)]


def decode(events: list[KeyEvent], terminators: frozenset[int] = ENTER) -> list[KeyFrame]:
    decoder = KeyDecoder(terminators)
    frames = [decoder.feed(*ev) for ev in events]
    last = decoder.flush()
    return [f for f in [*frames, last] if f is not None]


def text_of(events: list[KeyEvent]) -> str:
    frames = decode(events)
    assert len(frames) == 1, frames
    return frames[0].chars


@pytest.mark.parametrize(("names", "plain", "shifted"), US_ROWS)
def test_every_key_of_the_us_layout_plain_and_shifted(names: list[str], plain: str, shifted: str) -> None:
    for name, low, high in zip(names, plain, shifted, strict=True):
        assert text_of(press(key(name))) == low, name
        assert text_of(hold(e.KEY_LEFTSHIFT, press(key(name)))) == high, name
        assert text_of(hold(e.KEY_RIGHTSHIFT, press(key(name)))) == high, name


def test_the_layout_covers_all_printable_ascii() -> None:
    covered = set("".join(plain + shifted for _, plain, shifted in US_ROWS))
    assert covered == {chr(c) for c in range(0x20, 0x7F)}


def test_right_brace_is_not_left_brace() -> None:
    # barcode-server's table maps "]" to "{" (hardware.md 1.5); ours must not.
    assert text_of(hold(e.KEY_LEFTSHIFT, press(e.KEY_RIGHTBRACE))) == "}"


def test_caps_lock_inverts_shift_for_letters_only() -> None:
    caps = press(e.KEY_CAPSLOCK)
    events = [
        *caps,
        *press(e.KEY_A),  # A
        *hold(e.KEY_LEFTSHIFT, press(e.KEY_B)),  # b
        *press(e.KEY_1),  # 1 (caps does not touch digits)
        *hold(e.KEY_LEFTSHIFT, press(e.KEY_1)),  # !
        *press(e.KEY_LEFTBRACE),  # [
        *caps,
        *press(e.KEY_C),  # c again after caps off
    ]
    assert text_of(events) == "Ab1![c"


def test_keypad_keys_ignore_shift_and_caps() -> None:
    kp = [
        e.KEY_KP0,
        e.KEY_KP1,
        e.KEY_KP2,
        e.KEY_KP3,
        e.KEY_KP4,
        e.KEY_KP5,
        e.KEY_KP6,
        e.KEY_KP7,
        e.KEY_KP8,
        e.KEY_KP9,
        e.KEY_KPDOT,
        e.KEY_KPMINUS,
        e.KEY_KPPLUS,
        e.KEY_KPASTERISK,
        e.KEY_KPSLASH,
    ]
    plain = [ev for code in kp for ev in press(code)]
    assert text_of(plain) == "0123456789.-+*/"
    shifted = [*press(e.KEY_CAPSLOCK), *hold(e.KEY_LEFTSHIFT, plain)]
    assert text_of(shifted) == "0123456789.-+*/"


@pytest.mark.parametrize(
    ("events", "char"),
    [
        (hold(e.KEY_LEFTCTRL, press(e.KEY_RIGHTBRACE)), "\x1d"),  # GS, GS1 separator
        (hold(e.KEY_RIGHTCTRL, press(e.KEY_RIGHTBRACE)), "\x1d"),
        (hold(e.KEY_LEFTCTRL, press(e.KEY_BACKSLASH)), "\x1c"),  # FS
        (hold(e.KEY_LEFTCTRL, hold(e.KEY_LEFTSHIFT, press(e.KEY_6))), "\x1e"),  # RS
        (hold(e.KEY_LEFTCTRL, press(e.KEY_6)), "\x1e"),
        (hold(e.KEY_LEFTCTRL, hold(e.KEY_LEFTSHIFT, press(e.KEY_MINUS))), "\x1f"),  # US
        (hold(e.KEY_LEFTCTRL, press(e.KEY_LEFTBRACE)), "\x1b"),  # ESC
        (hold(e.KEY_LEFTCTRL, press(e.KEY_D)), "\x04"),  # EOT
        (hold(e.KEY_LEFTCTRL, hold(e.KEY_LEFTSHIFT, press(e.KEY_2))), "\x00"),  # NUL
    ],
)
def test_ctrl_keys_type_ascii_control_characters(events: list[KeyEvent], char: str) -> None:
    assert text_of([*press(e.KEY_A), *events, *press(e.KEY_B)]) == f"a{char}b"


def test_alt_keypad_codes() -> None:
    alt_gs = hold(e.KEY_LEFTALT, [*press(e.KEY_KP0), *press(e.KEY_KP0), *press(e.KEY_KP2), *press(e.KEY_KP9)])
    alt_a = hold(e.KEY_LEFTALT, [*press(e.KEY_KP6), *press(e.KEY_KP5)])
    assert text_of([*press(e.KEY_1), *alt_gs, *press(e.KEY_2), *alt_a]) == "1\x1d2A"


def test_gs1_element_string() -> None:
    frames = decode(key_events("0100012345678905\x1d10ABC"))
    assert frames == [KeyFrame("0100012345678905\x1d10ABC", "\r")]


def test_terminators_and_what_is_data() -> None:
    events = [
        *press(e.KEY_A),
        *press(e.KEY_ENTER),
        *press(e.KEY_B),
        *press(e.KEY_KPENTER),
        *press(e.KEY_C),
        *press(e.KEY_TAB),
        *press(e.KEY_D),
        *press(e.KEY_ENTER),
    ]
    assert decode(events) == [KeyFrame("a", "\r"), KeyFrame("b", "\r"), KeyFrame("c\td", "\r")]
    with_tab = ENTER | {TERMINATOR_KEYS["tab"]}
    assert decode(events, with_tab) == [
        KeyFrame("a", "\r"),
        KeyFrame("b", "\r"),
        KeyFrame("c", "\t"),
        KeyFrame("d", "\r"),
    ]
    only_tab = frozenset({e.KEY_TAB})
    assert decode(events, only_tab) == [KeyFrame("a\rb\rc", "\t"), KeyFrame("d\r", "")]


def test_noise_is_ignored_and_lone_enter_is_no_scan() -> None:
    events: list[KeyEvent] = [
        (e.EV_MSC, e.MSC_SCAN, 0x70004),
        (e.EV_SYN, e.SYN_REPORT, 0),
        (e.EV_KEY, e.KEY_A, 1),
        (e.EV_KEY, e.KEY_A, 2),
        (e.EV_KEY, e.KEY_A, 2),  # autorepeat
        (e.EV_KEY, e.KEY_A, 0),
        (e.EV_LED, e.LED_NUML, 1),
        *press(e.KEY_NUMLOCK),
        *press(e.KEY_ENTER),
        *press(e.KEY_ENTER),
    ]
    assert decode(events) == [KeyFrame("a", "\r")]


def test_unmapped_keys_are_reported_not_dropped_silently() -> None:
    frames = decode([*press(e.KEY_A), *press(e.KEY_F5), *press(e.KEY_ENTER)])
    assert frames == [KeyFrame("a", "\r", UNMAPPED_PROBLEM)]


def test_discard_forgets_partial_scan_and_held_modifiers() -> None:
    decoder = KeyDecoder(ENTER)
    for ev in [(e.EV_KEY, e.KEY_LEFTSHIFT, 1), *press(e.KEY_X)]:
        decoder.feed(*ev)
    assert decoder.pending
    assert decoder.discard() == "X"
    assert not decoder.pending
    frames = [decoder.feed(*ev) for ev in [*press(e.KEY_Y), *press(e.KEY_ENTER)]]
    assert [f for f in frames if f] == [KeyFrame("y", "\r")]  # shift did not leak


def test_key_events_helper_round_trips_everything_it_can_type() -> None:
    text = "".join(chr(c) for c in range(0x20, 0x7F)) + "\x1d\x1c\x1e\x04"
    assert decode(key_events(text)) == [KeyFrame(text, "\r")]
    assert decode(key_events(text, caps_lock=True)) == [KeyFrame(text, "\r")]
    assert decode(key_events(text, keypad_digits=True, control_chars="alt", terminator="kp_enter")) == [
        KeyFrame(text, "\r")
    ]


@pytest.mark.parametrize(
    ("payload", "mode", "expected"),
    [
        ("]C0ABC", "auto", ("]C0", "ABC", None)),
        ("]d2010950\x1d10X", "auto", ("]d2", "010950\x1d10X", None)),
        ("]Q3ABC", "auto", ("]Q3", "ABC", None)),
        ("]XYABC", "auto", (None, "]XYABC", None)),  # modifier not a digit: data
        ("]]ABC", "auto", (None, "]]ABC", None)),
        ("ABC", "auto", (None, "ABC", None)),
        ("]C0ABC", "off", (None, "]C0ABC", None)),
        ("]XYABC", "expect", ("]XY", "ABC", None)),
        ("ABC", "expect", (None, "ABC", NO_AIM_PROBLEM)),
        ("]C", "auto", (None, "]C", None)),
    ],
)
def test_aim_prefix(payload: str, mode: str, expected: tuple[str | None, str, str | None]) -> None:
    assert split_aim(payload, mode) == expected  # type: ignore[arg-type]


def test_only_configured_devices_look_like_scanners() -> None:
    opts = EvdevOptions()
    kbd = "/dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd"
    assert not looks_like_scanner(opts, path=kbd, name="Logitech USB Keyboard", vendor=0x046D, product=0xC31C)
    assert not looks_like_scanner(
        opts,
        path="/x/usb-Dell_KB216-event-kbd",
        name="Dell KB216 Wired Keyboard",
        vendor=0x413C,
        product=0x2113,
    )
    assert looks_like_scanner(
        opts, path="/x/usb-HHP_4600-event-kbd", name="HHP 4600", vendor=0x0C2E, product=0x0B61
    )  # Honeywell vendor id
    assert looks_like_scanner(
        opts,
        path="/x/usb-13ba_Barcode_Reader-event-kbd",
        name="Barcode Reader ",
        vendor=0x13BA,
        product=0x0018,
    )
    assert looks_like_scanner(
        opts,
        path="/x/usb-SM_SM-2D_PRODUCT_HID_KBW_APP-event-kbd",
        name="SM SM-2D PRODUCT HID KBW",
        vendor=0x1EAB,
        product=0x0D22,
    )
    custom = EvdevOptions(usb_ids=("046d:c31c",))
    assert looks_like_scanner(custom, path=kbd, name="Logitech USB Keyboard", vendor=0x046D, product=0xC31C)
    assert not looks_like_scanner(
        custom, path=kbd, name="Logitech USB Keyboard", vendor=0x046D, product=0xC077
    )
    trusted = EvdevOptions(device_glob="/dev/scanner*", trust_glob=True)
    assert looks_like_scanner(
        trusted, path="/dev/scanner0", name="USB Keyboard", vendor=0x1234, product=0x5678
    )


def test_config_from_toml_and_its_errors() -> None:
    raw = tomllib.loads(
        """
        kind = "evdev"
        aim = "expect"
        [evdev]
        device_glob = "/dev/input/by-id/usb-Honeywell*-event-kbd"
        usb_ids = ["0C2E:0B61"]
        terminators = ["enter", "tab"]
        idle_flush_ms = 60
        [serial]
        port = "/dev/serial/by-id/usb-x-if00"
        terminator = "\\r\\n"
        """
    )
    config = ScannerConfig.model_validate(raw)
    assert config.evdev.usb_ids == ("0c2e:0b61",)
    assert config.evdev.terminators == ("enter", "tab")
    assert config.serial.terminator == "\r\n"
    with pytest.raises(ValidationError):
        config.kind = "sim"  # frozen
    with pytest.raises(ValidationError, match="extra"):
        ScannerConfig.model_validate({"evdev": {"device_gob": "x"}})
    with pytest.raises(ValidationError, match="port is required"):
        ScannerConfig(kind="serial")
    with pytest.raises(ValidationError, match="USB ids"):
        EvdevOptions(usb_ids=("honeywell",))
    with pytest.raises(ValidationError, match="regular expression"):
        EvdevOptions(name_pattern="(")
    with pytest.raises(ValidationError):
        EvdevOptions(terminators=("escape",))  # type: ignore[arg-type]
    assert ScannerConfig().kind == "sim"
