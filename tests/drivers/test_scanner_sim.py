"""The simulated scanner (the demo's and the agent tests' twin) and the factory."""

from __future__ import annotations

import asyncio
import threading

import pytest

from drivers.faults import DeviceFault
from drivers.scanner import (
    EvdevScanner,
    Scanner,
    ScannerConfig,
    SerialScanner,
    SimScanner,
    open_scanner,
)
from drivers.scanner.testing import UNPLUGGED

pytestmark = pytest.mark.timeout(30)


async def test_feed_comes_out_of_scans() -> None:
    sim = SimScanner(name="sim-1")
    sim.feed("1A4FF0300000000000000123")
    sim.feed("0109501101530003\x1d10ABC", symbology="]C1")
    first = await anext(sim.scans())
    second = await anext(sim.scans())  # the same iterator every time
    assert (first.text, first.symbology, first.device) == ("1A4FF0300000000000000123", None, "sim-1")
    assert first.raw == b"1A4FF0300000000000000123\r"
    assert (second.text, second.symbology) == ("0109501101530003\x1d10ABC", "]C1")
    assert second.raw == b"]C10109501101530003\x1d10ABC\r"
    assert first.monotonic_ns <= second.monotonic_ns
    assert sim.scans() is sim.scans()
    await sim.aclose()


async def test_aim_mode_applies_to_fed_text() -> None:
    expect = SimScanner(aim="expect")
    expect.feed("NOPREFIX")
    scan = await anext(expect.scans())
    assert scan.problem is not None and scan.symbology is None
    off = SimScanner(aim="off")
    off.feed("ABC", symbology="]C0")
    assert (await anext(off.scans())).text == "]C0ABC"
    with pytest.raises(ValueError, match="AIM"):
        off.feed("ABC", symbology="C0")
    await expect.aclose()
    await off.aclose()


async def test_feed_threadsafe_from_another_thread() -> None:
    sim = SimScanner()
    codes = [f"CODE{n:04d}" for n in range(200)]

    def worker() -> None:
        for code in codes:
            sim.feed_threadsafe(code)

    thread = threading.Thread(target=worker)
    thread.start()
    got = [(await anext(sim.scans())).text for _ in codes]
    thread.join()
    assert got == codes
    await sim.aclose()


def test_feed_threadsafe_needs_a_loop_first() -> None:
    with pytest.raises(RuntimeError, match="event loop"):
        SimScanner().feed_threadsafe("X")


async def test_unplug_and_replug() -> None:
    states: list[tuple[bool, DeviceFault | None]] = []
    sim = SimScanner(name="sim-1", on_state=lambda c, f: states.append((c, f)))
    assert sim.connected
    sim.unplug()
    assert not sim.connected
    sim.feed("LOST")  # nobody is scanning on an unplugged scanner
    sim.replug()
    sim.feed("KEPT")
    assert (await anext(sim.scans())).text == "KEPT"
    assert [c for c, _ in states] == [False, True]
    fault = states[0][1]
    assert fault is not None and fault.message == UNPLUGGED and fault.device == "sim-1"
    assert states[1][1] is None
    await sim.aclose()


async def test_a_failing_state_callback_does_not_break_the_scanner() -> None:
    def explode(connected: bool, fault: DeviceFault | None) -> None:
        raise RuntimeError("bug in the UI")

    sim = SimScanner(on_state=explode)
    sim.unplug()
    sim.replug()
    sim.feed("STILL")
    assert (await anext(sim.scans())).text == "STILL"
    await sim.aclose()


async def test_aclose_ends_a_waiting_consumer_and_keeps_queued_scans() -> None:
    sim = SimScanner()
    got: list[str] = []

    async def consume() -> None:
        async for scan in sim.scans():
            got.append(scan.text)

    consumer = asyncio.create_task(consume())
    sim.feed("ONE")
    sim.feed("TWO")
    await asyncio.sleep(0)
    await sim.aclose()
    async with asyncio.timeout(10):
        await consumer
    assert got == ["ONE", "TWO"]
    assert not sim.connected
    sim.feed("AFTER")  # ignored after close, no error
    with pytest.raises(StopAsyncIteration):
        await anext(sim.scans())


async def test_cancelled_consumer_loses_no_scan() -> None:
    sim = SimScanner()
    waiting = asyncio.ensure_future(anext(sim.scans()))
    await asyncio.sleep(0)
    waiting.cancel()
    sim.feed("SURVIVES")
    assert (await anext(sim.scans())).text == "SURVIVES"
    await sim.aclose()


async def test_factory_picks_the_implementation() -> None:
    sim = open_scanner(ScannerConfig(), name="bench")
    assert isinstance(sim, SimScanner) and sim.name == "bench"
    evdev = open_scanner(ScannerConfig(kind="evdev"), name="bench")
    assert isinstance(evdev, EvdevScanner)
    serial = open_scanner(
        ScannerConfig.model_validate({"kind": "serial", "serial": {"port": "/dev/serial/by-id/x"}})
    )
    assert isinstance(serial, SerialScanner)
    # Each class satisfies the Scanner protocol on its own (checked by mypy).
    direct: list[Scanner] = [
        SimScanner(),
        EvdevScanner(ScannerConfig().evdev),
        SerialScanner(ScannerConfig().serial),
    ]
    for scanner in (sim, evdev, serial, *direct):
        await scanner.aclose()  # never started: nothing to release
