"""sd_notify and the health-gated watchdog, against a fake systemd: a real AF_UNIX datagram socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.watchdog import Watchdog, sd_notify, watchdog_interval

pytestmark = pytest.mark.timeout(30)


class FakeSystemd:
    """The receiving end of $NOTIFY_SOCKET; keeps every datagram in arrival order."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        bind_to = "\0" + address[1:] if address.startswith("@") else address
        self.sock.bind(bind_to)
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def env(self, watchdog_usec: int | None = None, pid: int | None = None) -> dict[str, str]:
        env = {"NOTIFY_SOCKET": self.address}
        if watchdog_usec is not None:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
            env["WATCHDOG_PID"] = str(os.getpid() if pid is None else pid)
        return env

    def drain(self) -> list[str]:
        """Everything sent so far (sendto on a local datagram socket is synchronous)."""
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    async def wait_for(self, text: str, *, after: int = 0) -> int:
        """Index of the first message at or after ``after`` that contains ``text``."""
        while True:
            for i, message in enumerate(self.drain()[after:], start=after):
                if text in message:
                    return i
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(str(tmp_path / "notify.sock"))
    yield fake
    fake.close()


class Loop:
    """A loop that beats while it runs, and can be made to hang."""

    def __init__(self, watchdog: Watchdog, name: str) -> None:
        self.watchdog, self.name = watchdog, name
        self.running = asyncio.Event()
        self.running.set()

    async def run(self) -> None:
        while True:
            await self.running.wait()  # a hang: blocked on something that never comes
            self.watchdog.beat(self.name)
            await asyncio.sleep(0.005)


async def withheld(watchdog: Watchdog, rounds: int) -> None:
    """Until the watchdog has withheld ``rounds`` more feeds (it counts them)."""
    target = watchdog.withheld + rounds
    while watchdog.withheld < target:  # noqa: ASYNC110 - a counter, not an event
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(*coros: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_feed_stops_while_a_loop_hangs_and_resumes_after(systemd: FakeSystemd) -> None:
    watchdog = Watchdog(names=("uplink", "outbox"), stale_after=0.2, environ=systemd.env(100_000))
    assert watchdog.interval == pytest.approx(0.05)  # half of WatchdogSec, as systemd advises
    uplink, outbox = Loop(watchdog, "uplink"), Loop(watchdog, "outbox")
    async with running(watchdog.run(), uplink.run(), outbox.run()):
        fed = await systemd.wait_for("WATCHDOG=1")
        await systemd.wait_for("WATCHDOG=1", after=fed + 1)

        uplink.running.clear()  # the uplink loop hangs
        stalled = await systemd.wait_for("STATUS=stalled: uplink silent")
        await withheld(watchdog, 5)  # five more rounds without a beat
        during = systemd.drain()[stalled:]
        assert "WATCHDOG=1" not in during, during

        uplink.running.set()  # it recovers: the feed comes back
        recovered = await systemd.wait_for("STATUS=running", after=stalled)
        await systemd.wait_for("WATCHDOG=1", after=recovered)
        assert "WATCHDOG=1" not in systemd.messages[stalled:recovered]
    assert "outbox" not in systemd.messages[stalled]


async def test_probe_that_never_answers_stops_the_feed(systemd: FakeSystemd) -> None:
    """An idle loop is watched through a question that crosses the same machinery."""
    watchdog = Watchdog(names=("outbox",), interval=0.05, stale_after=0.2, environ=systemd.env(100_000))
    wedged = asyncio.Event()
    wedged.set()
    answers = 0

    async def backlog() -> int:
        nonlocal answers
        await wedged.wait()  # e.g. the SQLite thread stuck on a dying SD card
        answers += 1
        return 0

    async with running(watchdog.run(), watchdog.probe("outbox", backlog, every=0.01)):
        await systemd.wait_for("WATCHDOG=1")
        wedged.clear()
        stalled = await systemd.wait_for("STATUS=stalled: outbox silent")
        await withheld(watchdog, 5)
        assert "WATCHDOG=1" not in systemd.drain()[stalled:]
    assert answers > 0


async def test_probe_errors_are_not_beats(systemd: FakeSystemd) -> None:
    watchdog = Watchdog(names=("uplink",), interval=0.05, stale_after=0.2, environ=systemd.env(100_000))

    async def broken() -> None:
        raise RuntimeError("database is locked")

    async with running(watchdog.run(), watchdog.probe("uplink", broken, every=0.01)):
        stalled = await systemd.wait_for("STATUS=stalled: uplink silent")
        await withheld(watchdog, 3)
        assert "WATCHDOG=1" not in systemd.drain()[stalled:]
    assert "STATUS=running" not in systemd.messages  # it never recovered


def test_ready_status_stopping_on_an_abstract_socket() -> None:
    fake = FakeSystemd(f"@canopy-test-{uuid.uuid4().hex}")
    try:
        watchdog = Watchdog(names=("uplink",), interval=1.0, environ=fake.env())
        watchdog.ready("outbox open, 3 unsent")
        watchdog.status("mqtt down")
        watchdog.stopping()
        assert fake.drain() == ["READY=1\nSTATUS=outbox open, 3 unsent", "STATUS=mqtt down", "STOPPING=1"]
        assert not watchdog.enabled  # no WATCHDOG_USEC: systemd is not watching
    finally:
        fake.close()


def test_not_under_systemd_or_someone_elses_watchdog(systemd: FakeSystemd) -> None:
    assert sd_notify("READY=1", environ={}) is False
    assert watchdog_interval(systemd.env(30_000_000)) == 15.0
    # WATCHDOG_PID names another process (we inherited its environment): not ours to feed.
    assert watchdog_interval(systemd.env(30_000_000, pid=os.getpid() + 1)) is None
    # A socket nobody listens on: reported, never raised.
    gone = str(Path(systemd.address).with_name("gone"))
    assert sd_notify("READY=1", environ={"NOTIFY_SOCKET": gone}) is False
    with pytest.raises(KeyError):
        Watchdog(names=("uplink",), environ={}).beat("uplnk")
    with pytest.raises(ValueError):
        Watchdog(names=("uplink",), interval=1.0, stale_after=0.5, environ={})
