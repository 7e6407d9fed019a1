"""The evdev scanner end to end over evdev's REAL async_read_loop (hardware.md 1.8).

Each fake device is an ``evdev.eventio_async.EventIO`` over ``os.pipe()`` carrying
real ``struct input_event`` records; the by-id directory is a temporary one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from evdev import ecodes

from drivers.faults import DeviceFault
from drivers.scanner import EvdevOptions, EvdevScanner, Scan
from drivers.scanner.testing import (
    DROPPED_PROBLEM,
    IN_USE,
    NO_AIM_PROBLEM,
    NO_PERMISSION,
    NONE_PLUGGED,
    NOT_WORKING,
    UNPLUGGED,
    AimMode,
    FakeInputBus,
    PluggedDevice,
    key_events,
    overflowed,
)
from tests.waiting import until

pytestmark = pytest.mark.timeout(30)

SCANNER_ID = "usb-Honeywell_Imaging___Mobility_1900_1234-event-kbd"
States = list[tuple[bool, DeviceFault | None]]


class Rig:
    """A scanner over a fake by-id directory, its scan iterator and its state log."""

    def __init__(self, tmp_path: Path, aim: AimMode = "auto", **options: object) -> None:
        self.bus = FakeInputBus(tmp_path)
        self.states: States = []
        opts = EvdevOptions.model_validate(
            {"device_glob": str(tmp_path / "*-event-kbd"), "poll_ms": 10, **options}
        )
        self.scanner = EvdevScanner(
            opts,
            name="bench",
            aim=aim,
            opener=self.bus.open,
            on_state=lambda c, f: self.states.append((c, f)),
        )
        self.stream = self.scanner.scans()
        self._pending: asyncio.Task[Scan] | None = None

    def start(self) -> None:
        """Start reading (the first __anext__ starts the watcher)."""
        self._pending = asyncio.ensure_future(anext(self.stream))

    async def next(self) -> Scan:
        if self._pending is None:
            self.start()
        assert self._pending is not None
        pending, self._pending = self._pending, None
        async with asyncio.timeout(10):
            return await pending

    async def aclose(self) -> None:
        await self.scanner.aclose()
        if self._pending is not None:  # a started read that never got a scan
            with contextlib.suppress(StopAsyncIteration):
                await self._pending

    async def plug(self, by_id: str = SCANNER_ID, **kw: object) -> PluggedDevice:
        device = self.bus.plug(by_id, **kw)  # type: ignore[arg-type]
        if self._pending is None:
            self.start()
        await until(lambda: device.device is not None and device.device.grabbed)
        return device


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path)
    yield r
    await r.aclose()


async def texts(rig: Rig, n: int) -> list[str]:
    return [(await rig.next()).text for _ in range(n)]


async def test_every_character_class(rig: Rig) -> None:
    dev = await rig.plug()
    printable = "".join(chr(c) for c in range(0x20, 0x7F))
    dev.send(key_events("abcxyz"))
    dev.send(key_events("ABCXYZ"))
    dev.send(key_events("0123456789"))
    dev.send(key_events('!@#$%^&*()_+{}|:"<>?~'))
    dev.send(key_events("0123456789.-+*/", keypad_digits=True, terminator="kp_enter"))
    dev.send(key_events("1A4FF03000000C7000001234", caps_lock=True))
    dev.send(key_events(printable))
    got = await texts(rig, 7)
    assert got == [
        "abcxyz",
        "ABCXYZ",
        "0123456789",
        '!@#$%^&*()_+{}|:"<>?~',
        "0123456789.-+*/",
        "1A4FF03000000C7000001234",
        printable,
    ]


async def test_scan_record_fields(rig: Rig) -> None:
    dev = await rig.plug()
    dev.send(key_events("]C01A4FF03000000C7000001234"))
    scan = await rig.next()
    assert scan.text == "1A4FF03000000C7000001234"
    assert scan.symbology == "]C0"
    assert scan.raw == b"]C01A4FF03000000C7000001234\r"
    assert scan.device == dev.path
    assert scan.problem is None
    assert scan.at.tzinfo is not None and scan.at.utcoffset() is not None
    assert scan.monotonic_ns > 0


async def test_gs1_group_separators_kept_exactly(rig: Rig) -> None:
    dev = await rig.plug()
    gs1 = "0109501101530003\x1d10ABC-12\x1d21XYZ"
    dev.send(key_events("]d2" + gs1))
    dev.send(key_events("]C1" + gs1, control_chars="alt"))  # Alt+0029 "ALT mode"
    first, second = await rig.next(), await rig.next()
    assert (first.symbology, first.text) == ("]d2", gs1)
    assert (second.symbology, second.text) == ("]C1", gs1)
    assert first.raw == ("]d2" + gs1 + "\r").encode()


async def test_back_to_back_scans_in_one_read_are_not_truncated(rig: Rig) -> None:
    # hardware.md 1.4: a fresh iterator per scan lost the rest of the batch ("22").
    dev = await rig.plug()
    codes = ["AAA111", "BBB222", "CCC333", "]Q3DDD444", "EEE555"]
    dev.send([ev for code in codes for ev in key_events(code)])
    assert await texts(rig, 5) == ["AAA111", "BBB222", "CCC333", "DDD444", "EEE555"]


async def test_scan_without_terminator_is_flushed_when_idle(tmp_path: Path) -> None:
    rig = Rig(tmp_path, idle_flush_ms=50)
    try:
        dev = await rig.plug()
        dev.send(key_events("NOSUFFIX42", terminator=None))
        scan = await rig.next()
        assert (scan.text, scan.raw) == ("NOSUFFIX42", b"NOSUFFIX42")
        dev.send(key_events("WITHSUFFIX"))
        assert (await rig.next()).text == "WITHSUFFIX"
    finally:
        await rig.aclose()


async def test_tab_terminator_when_configured(tmp_path: Path) -> None:
    rig = Rig(tmp_path, terminators=["enter", "tab"])
    try:
        dev = await rig.plug()
        dev.send(key_events("TABBED", terminator="tab") + key_events("ENTERED"))
        first, second = await rig.next(), await rig.next()
        assert (first.text, first.raw) == ("TABBED", b"TABBED\t")
        assert second.text == "ENTERED"
    finally:
        await rig.aclose()


@pytest.mark.parametrize(
    ("mode", "sent", "symbology", "text", "problem"),
    [
        ("auto", "]C0ABC123", "]C0", "ABC123", None),
        ("auto", "]Q1https://x.example/p?id=1", "]Q1", "https://x.example/p?id=1", None),
        ("auto", "ABC123", None, "ABC123", None),
        ("expect", "]e0ABC", "]e0", "ABC", None),
        ("expect", "ABC123", None, "ABC123", NO_AIM_PROBLEM),
        ("off", "]C0ABC123", None, "]C0ABC123", None),
    ],
)
async def test_aim_prefix_modes(
    tmp_path: Path,
    mode: AimMode,
    sent: str,
    symbology: str | None,
    text: str,
    problem: str | None,
) -> None:
    rig = Rig(tmp_path, aim=mode)
    try:
        dev = await rig.plug()
        dev.send(key_events(sent))
        scan = await rig.next()
        assert (scan.symbology, scan.text, scan.problem) == (symbology, text, problem)
        assert scan.raw == (sent + "\r").encode()
    finally:
        await rig.aclose()


async def test_a_kernel_queue_overflow_mid_scan_asks_for_it_again(rig: Rig) -> None:
    # The loop was held up while a scan came in and the kernel's queue for us overflowed:
    # the scan's middle is gone (SYN_DROPPED, then the newest event). Never a shorter code.
    dev = await rig.plug()
    tag = "1A4FF03000000C7000001234"
    events = key_events(tag, caps_lock=True)
    dev.send(events[:40] + overflowed(events[150]) + events[151:])
    spoiled = await rig.next()
    assert spoiled.problem == DROPPED_PROBLEM
    assert len(spoiled.text) < len(tag)
    # Its Enter was lost too: the idle pause ends it all the same, and the next scan
    # reads exactly (Caps Lock not left on by the lost taps).
    dev.send(events[:60] + overflowed(events[-3]) + events[-2:])
    assert (await rig.next()).problem == DROPPED_PROBLEM
    await asyncio.sleep(0.2)
    dev.send(key_events(tag, caps_lock=True))
    again = await rig.next()
    assert (again.text, again.problem) == (tag, None)


async def test_unplug_mid_scan_discards_partial_then_replug(rig: Rig) -> None:
    dev = await rig.plug()
    dev.send(key_events("BEFORE"))
    assert (await rig.next()).text == "BEFORE"

    # Half a barcode, then the cable comes out.
    dev.send(key_events("HALFABARC", terminator=None))
    handle = dev.device
    assert handle is not None
    dev.unplug()
    await until(lambda: not rig.scanner.connected)
    assert handle.closed
    connected, fault = rig.states[-1]
    assert not connected and fault is not None
    assert fault.message == UNPLUGGED
    assert fault.device == dev.path
    assert "unfinished scan of 9 characters discarded" in fault.detail

    # Plug it back in: same by-id name, new device node; no restart of anything.
    again = await rig.plug()
    assert again.device is not handle
    again.send(key_events("AFTER"))
    scan = await rig.next()
    assert scan.text == "AFTER"  # never "HALFABARCAFTER"
    assert rig.states[-1] == (True, None)


async def test_unplug_while_idle_and_without_pending_read(rig: Rig) -> None:
    dev = await rig.plug()
    dev.unplug()
    await until(lambda: not rig.scanner.connected)
    assert rig.scanner.fault is not None and rig.scanner.fault.message == UNPLUGGED
    assert "discarded" not in rig.scanner.fault.detail
    again = await rig.plug()
    again.send(key_events("X1"))
    assert (await rig.next()).text == "X1"


async def test_a_keyboard_is_never_grabbed(rig: Rig) -> None:
    keyboard = rig.bus.plug(
        "usb-Logitech_USB_Keyboard-event-kbd", name="Logitech USB Keyboard", vendor=0x046D, product=0xC31C
    )
    rig.start()
    await until(lambda: keyboard.device is not None and keyboard.device.closed)
    assert not rig.scanner.connected
    assert rig.scanner.fault is not None and rig.scanner.fault.message == NONE_PLUGGED

    scanner = await rig.plug(
        "usb-13ba_Barcode_Reader-event-kbd", name="Barcode Reader ", vendor=0x13BA, product=0x0018
    )
    scanner.send(key_events("FROMSCANNER"))
    scan = await rig.next()
    assert (scan.text, scan.device) == ("FROMSCANNER", scanner.path)

    kbd_handle = keyboard.device
    assert kbd_handle is not None
    assert kbd_handle.grab_calls == 0 and not kbd_handle.grabbed
    assert len(keyboard.opened) == 1  # judged once, not reopened on every poll


async def test_device_held_by_another_program_is_reported_and_retried(rig: Rig) -> None:
    dev = rig.bus.plug(SCANNER_ID, busy=True)
    rig.start()
    await until(lambda: rig.scanner.fault is not None and rig.scanner.fault.message == IN_USE)
    assert not rig.scanner.connected
    assert all(h.closed for h in dev.opened)  # the failed attempts left nothing open
    dev.busy = False  # the other program let go
    await until(lambda: rig.scanner.connected)
    dev.send(key_events("GOTIT"))
    assert (await rig.next()).text == "GOTIT"
    assert rig.states[-1] == (True, None)


async def test_permissions_not_ready_right_after_plug_is_not_reported(rig: Rig) -> None:
    rig.start()
    await until(lambda: rig.scanner.fault is not None)  # "no scanner plugged in"
    dev = rig.bus.plug(SCANNER_ID)
    dev.open_errors.append(PermissionError(13, "Permission denied"))  # udev not done yet
    await until(lambda: rig.scanner.connected)
    assert [c for c, _ in rig.states] == [False, True]  # no permission fault flashed
    dev.send(key_events("OK"))
    assert (await rig.next()).text == "OK"


async def test_lasting_permission_problem_is_reported(rig: Rig) -> None:
    dev = rig.bus.plug(SCANNER_ID)
    dev.open_errors += [PermissionError(13, "Permission denied")] * 3
    rig.start()
    await until(lambda: rig.scanner.fault is not None and rig.scanner.fault.message == NO_PERMISSION)
    await until(lambda: rig.scanner.connected)  # fixed (e.g. user added to "input")
    assert rig.states[-1] == (True, None)


async def test_real_opener_on_something_that_is_no_input_device(tmp_path: Path) -> None:
    # evdev.InputDevice itself (no fake): its ioctls fail on a plain file (ENOTTY).
    (tmp_path / SCANNER_ID).write_bytes(b"not a device")
    states: States = []
    scanner = EvdevScanner(
        EvdevOptions(device_glob=str(tmp_path / "*-event-kbd"), poll_ms=10),
        on_state=lambda c, f: states.append((c, f)),
    )
    pending = asyncio.ensure_future(anext(scanner.scans()))
    try:
        await until(lambda: scanner.fault is not None and scanner.fault.message == NOT_WORKING)
        assert not scanner.connected
        assert scanner.fault is not None and "Errno" in scanner.fault.detail
    finally:
        await scanner.aclose()
        with contextlib.suppress(StopAsyncIteration):
            await pending


async def test_caps_lock_led_is_switched_off_on_grab(rig: Rig) -> None:
    dev = await rig.plug(leds=(ecodes.LED_CAPSL, ecodes.LED_NUML))
    assert dev.device is not None
    assert dev.device.led_state == {ecodes.LED_NUML}


async def test_two_scanners_share_one_stream(rig: Rig) -> None:
    left = await rig.plug("usb-Honeywell_1900_A-event-kbd")
    right = await rig.plug("usb-Honeywell_1900_B-event-kbd")
    left.send(key_events("LEFT1"))
    first = await rig.next()
    right.send(key_events("RIGHT1"))
    second = await rig.next()
    assert (first.text, first.device) == ("LEFT1", left.path)
    assert (second.text, second.device) == ("RIGHT1", right.path)
    left.unplug()
    await until(lambda: rig.states[-1][1] is not None)
    assert rig.scanner.connected  # the other one still works
    right.send(key_events("RIGHT2"))
    assert (await rig.next()).text == "RIGHT2"


# A hang guard only: 1,000 scans take seconds on a PC and minutes on a slow arm64
# (or emulated) CPU; each scan still has rig.next()'s own 10 s guard.
@pytest.mark.timeout(900)
async def test_thousand_scan_burst_loses_no_character(tmp_path: Path) -> None:
    rig = Rig(tmp_path, idle_flush_ms=0)  # terminator framing only: the writer thread may pause
    try:
        dev = await rig.plug()
        codes = [f"1A4FF0300000{n:06d}CANOPY"[:24] + "]x\x1d" + "aZ9!" for n in range(1000)]
        events = [
            ev
            for i, code in enumerate(codes)
            for ev in key_events(code, keypad_digits=i % 3 == 0, caps_lock=i % 5 == 0)
        ]
        writer = asyncio.ensure_future(asyncio.to_thread(dev.send, events))
        got = [(await rig.next()).text for _ in range(len(codes))]
        await writer
        assert got == codes
    finally:
        await rig.aclose()


async def test_aclose_releases_device_and_ends_iterator(rig: Rig) -> None:
    dev = await rig.plug()
    handle = dev.device
    assert handle is not None
    dev.send(key_events("LAST"))
    assert (await rig.next()).text == "LAST"
    await rig.scanner.aclose()
    assert handle.closed and not handle.grabbed
    assert not rig.scanner.connected
    with pytest.raises(StopAsyncIteration):
        await anext(rig.stream)
    await rig.scanner.aclose()  # idempotent
