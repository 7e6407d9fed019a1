"""A fake scale on the master side of a pty, for SimScale, the demo and the tests.

The frames it writes come from the generators next to each parser (in the
protocol modules, public through ``drivers.scale.testing``), e.g.
``sics_weight(Decimal("100.00"), "g")`` is ``b"S S     100.00 g\\r\\n"``.

- ``FakeScale``: a pty pair whose slave is reachable through a stable symlink
  (like ``/dev/serial/by-id/...``), answering each protocol's commands from a
  simulated panel (load, tare, zero, unit, stable / motion / over / under).
  ``unplug()`` closes the master and removes the link, like pulling the USB
  adapter; ``plug()`` makes a new pty behind the same link.

It runs on the event loop (``add_reader`` on the master fd), no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import tty
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from drivers.scale._a_and_d import AND_ACK, and_error, and_out_of_range, and_weight
from drivers.scale._api import ScaleStatus
from drivers.scale._frames import ProtocolName
from drivers.scale._mt_sics import (
    sics_error,
    sics_reply,
    sics_serial_number,
    sics_status,
    sics_tare,
    sics_weight,
)
from drivers.scale._nci import NCI_UNKNOWN, nci_status, nci_status_frame, nci_weight
from drivers.scale._ohaus import ohaus_weight
from drivers.scale._sma import SMA_UNKNOWN, sma_frame
from drivers.scale._toledo_8217 import MOTION, NEGATIVE, NET, OVER_CAPACITY, toledo_status, toledo_weight

Condition = Literal["stable", "motion", "over", "under"]

# No Ohaus manual at hand documents an overload output line; the fake sends
# the display text. The parser must (and does) refuse it as unreadable.
OHAUS_OVERLOAD_ASSUMED = b"      -OL-\r\n"
OHAUS_UNDERLOAD_ASSUMED = b"      -UL-\r\n"


def as_8n1(data: bytes) -> bytes:
    """What an 8N1 port reads from a 7E1 scale: each byte's even-parity bit lands in
    bit 7 (CR 0x0D arrives as 0x8D, STX 0x02 as 0x82, LF 0x0A stays 0x0A)."""
    return bytes(b | (0x80 if bin(b).count("1") % 2 else 0) for b in data)


# ---------------------------------------------------------------- the fake scale
@dataclass
class Panel:
    """What is on the platter and what the display shows."""

    load: Decimal = Decimal("0.00")
    zero_offset: Decimal = Decimal("0")
    tare: Decimal = Decimal("0")
    unit: str = "g"
    condition: Condition = "stable"

    @property
    def shown(self) -> Decimal:
        return self.load - self.zero_offset - self.tare

    @property
    def net(self) -> bool:
        return self.tare != 0

    @property
    def stable(self) -> bool:
        return self.condition == "stable"


class FakeScale:
    """A scale speaking ``protocol`` on a pty; ``port`` is the path to open."""

    def __init__(
        self,
        protocol: ProtocolName = "mt-sics",
        *,
        unit: str = "g",
        respond: bool = True,
        stream_interval: float = 0.05,
        stability_timeout: float = 1.0,
        acknowledge: bool = True,
        serial: str = "SIM0001",
    ) -> None:
        self.protocol = protocol
        self.panel = Panel(unit=unit)
        self.respond = respond  # False: record commands, answer nothing (tests inject frames)
        self.stream_interval = stream_interval
        self.stability_timeout = stability_timeout
        self.acknowledge = acknowledge  # A&D "AK,ER" function
        self.serial = serial
        self.legal_for_trade: bool | None = True  # Ohaus PV: LFT ON / LFT OFF / no LFT line
        # Full duplex / echo mode: every command comes back before its answer.
        self.echo = False
        # NCI: answer W with the status alone while moving / over / under (the
        # manuals' behaviour); False sends the weight line with the status instead.
        self.nci_status_only = True
        # A 7E1 scale on an 8N1 port: every byte written gets its parity bit in bit 7.
        self.parity_as_data = False
        self.streaming = False
        self.received: list[bytes] = []
        self.commands: asyncio.Queue[bytes] = asyncio.Queue()
        self._dir = tempfile.mkdtemp(prefix="canopy-scale-")
        self.port = os.path.join(self._dir, "tty")
        self._master: int | None = None
        self._slave: int | None = None
        self._inbox = bytearray()
        self._waiting_stable: list[str] = []
        self._stability_timer: asyncio.TimerHandle | None = None
        self._streamer: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()

    # -- cable -------------------------------------------------------------
    @property
    def plugged(self) -> bool:
        return self._master is not None

    def plug(self) -> None:
        """Create a fresh pty behind ``port`` (first plug, or replug after ``unplug``)."""
        if self._master is not None:
            return
        master, slave = os.openpty()
        # Raw at once: a cooked pty would echo our frames back to us as "commands".
        tty.setraw(slave)
        os.set_blocking(master, False)
        # We keep a slave fd open for the pty's lifetime so the master never sees
        # EIO/HUP while the driver is between reconnects.
        self._master, self._slave = master, slave
        tmp = self.port + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.port)
        self._inbox.clear()
        self._loop.add_reader(master, self._on_readable)
        if self._streamer is None:
            self._streamer = self._loop.create_task(self._stream_loop(), name="fake scale stream")

    def unplug(self) -> None:
        """Pull the cable: the port path disappears and the driver's reads fail."""
        if self._master is None:
            return
        self._loop.remove_reader(self._master)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._waiting_stable.clear()

    def replug(self) -> None:
        self.plug()

    async def aclose(self) -> None:
        self.unplug()
        if self._stability_timer is not None:
            self._stability_timer.cancel()
        shutil.rmtree(self._dir, ignore_errors=True)
        if self._streamer is not None:
            self._streamer.cancel()
            await asyncio.wait({self._streamer})  # unlike awaiting it, never eats our own cancel
            self._streamer = None

    def write(self, data: bytes) -> None:
        """Send raw bytes to the driver (manual frames, garbage, half frames)."""
        if self._master is None:
            return
        if self.parity_as_data:
            data = as_8n1(data)
        with contextlib.suppress(OSError):  # a full or dead line drops data, like a real one
            os.write(self._master, data)

    # -- the panel -----------------------------------------------------------
    def set_weight(self, value: Decimal, unit: str | None = None, *, stable: bool = True) -> None:
        self.panel.load = value
        if unit is not None:
            self.panel.unit = unit
        self.panel.condition = "stable" if stable else "motion"
        self._panel_changed()

    def set_unstable(self) -> None:
        self.panel.condition = "motion"

    def set_overload(self) -> None:
        self.panel.condition = "over"
        self._panel_changed()

    def set_underload(self) -> None:
        self.panel.condition = "under"
        self._panel_changed()

    def _panel_changed(self) -> None:
        if self.panel.stable and self._waiting_stable:
            waiting, self._waiting_stable = self._waiting_stable, []
            for command in waiting:
                self._answer(command)

    # -- commands in -----------------------------------------------------------
    def _on_readable(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # nothing on the other side any more
            self._loop.remove_reader(self._master)
            return
        # XON/XOFF from the tty's own flow control are not commands.
        data = data.replace(b"\x11", b"").replace(b"\x13", b"")
        if self.echo:
            self.write(data)
        self._inbox += data
        for command in self._split():
            self.received.append(command)
            self.commands.put_nowait(command)
            if self.respond:
                self._answer(command.decode("ascii", "replace"))

    def _split(self) -> list[bytes]:
        if self.protocol == "toledo-8217":  # single letters, no terminator
            out = [bytes([b]) for b in self._inbox if b not in b"\r\n"]
            self._inbox.clear()
            return out
        out = []
        while (idx := self._inbox.find(b"\r")) >= 0:
            command = bytes(self._inbox[:idx]).strip(b"\n ")
            del self._inbox[: idx + 1]
            if command:
                out.append(command)
        return out

    # -- answers out -------------------------------------------------------------
    def display_frame(self) -> bytes:
        """What the scale sends for "weight now" (and streams in continuous mode)."""
        p = self.panel
        match self.protocol:
            case "mt-sics":
                if p.condition == "over":
                    return sics_status("+")
                if p.condition == "under":
                    return sics_status("-")
                return sics_weight(p.shown, p.unit, stable=p.stable)
            case "toledo-8217":
                net = NET if p.net else 0
                if p.condition == "over":
                    return toledo_status(OVER_CAPACITY | net)
                if p.condition == "under" or p.shown < 0:
                    return toledo_status(NEGATIVE | net)
                if not p.stable:
                    return toledo_status(MOTION | net)
                return toledo_weight(p.shown, net=p.net)
            case "ohaus":
                if p.condition == "over":
                    return OHAUS_OVERLOAD_ASSUMED
                if p.condition == "under":
                    return OHAUS_UNDERLOAD_ASSUMED
                return ohaus_weight(p.shown, p.unit, stable=p.stable, legend="NET" if p.net else None)
            case "and":
                if p.condition in ("over", "under"):
                    return and_out_of_range(under=p.condition == "under")
                second = "NT" if p.net else ""
                header: Literal["ST", "US", "QT"] = "ST" if p.stable else "US"
                if p.unit == "pcs" and p.stable:
                    header = "QT"
                return and_weight(p.shown, p.unit, header=header, second=second)
            case "sma":
                basis = "N" if p.net else "G"
                if p.condition in ("over", "under"):
                    flag = "O" if p.condition == "over" else "U"
                    return sma_frame(p.shown, p.unit, status=flag, basis=basis)
                flag = "Z" if p.shown == 0 and p.stable else " "
                return sma_frame(p.shown, p.unit, status=flag, basis=basis, motion=not p.stable)
            case "nci":
                bits = nci_status(
                    motion=not p.stable,
                    at_zero=p.shown == 0,
                    under=p.condition == "under",
                    over=p.condition == "over",
                    net=p.net,
                )
                if self.nci_status_only and (not p.stable or p.condition in ("over", "under")):
                    # What AWT 7821 p.25 shows for W while the scale cannot weigh.
                    return nci_status_frame(bits)
                if p.condition == "over":
                    return nci_weight("^^^^^^", p.unit, bits)
                if p.condition == "under":
                    return nci_weight("______", p.unit, bits)
                return nci_weight(p.shown, p.unit, bits)
        raise AssertionError(self.protocol)  # pragma: no cover

    def _answer(self, command: str) -> None:
        handler = {
            "mt-sics": self._answer_sics,
            "toledo-8217": self._answer_toledo,
            "ohaus": self._answer_ohaus,
            "and": self._answer_and,
            "sma": self._answer_sma,
            "nci": self._answer_nci,
        }[self.protocol]
        handler(command)

    def _wait_stable(self, command: str, on_timeout: bytes | None) -> None:
        """Answer ``command`` once the panel is stable (a "send when stable" command)."""
        self._waiting_stable.append(command)
        if on_timeout is not None:

            def give_up() -> None:
                if command in self._waiting_stable:
                    self._waiting_stable.remove(command)
                    self.write(on_timeout)

            self._stability_timer = self._loop.call_later(self.stability_timeout, give_up)

    def _do_tare(self) -> bool:
        if not self.panel.stable:
            return False
        self.panel.tare = self.panel.load - self.panel.zero_offset
        return True

    def _do_zero(self) -> bool:
        if not self.panel.stable:
            return False
        self.panel.zero_offset, self.panel.tare = self.panel.load, Decimal("0")
        return True

    def _answer_sics(self, command: str) -> None:
        p = self.panel
        match command:
            case "S":
                if p.condition == "motion":
                    self._wait_stable("S", on_timeout=sics_status("I"))
                else:
                    self.write(self.display_frame())
            case "SI":
                self.write(self.display_frame())
            case "SIR":
                self.streaming = True
            case "@":
                self.streaming = False
                self.write(sics_serial_number(self.serial))
            case "I4":
                self.write(sics_serial_number(self.serial))
            case "T":
                if p.condition == "over":
                    self.write(sics_reply("T", "+"))
                elif not self._do_tare():
                    self.write(sics_reply("T", "I"))
                else:
                    self.write(sics_tare(p.tare, p.unit))
            case "Z":
                if p.condition == "over":
                    self.write(sics_reply("Z", "+"))
                elif not self._do_zero():
                    self.write(sics_reply("Z", "I"))
                else:
                    self.write(sics_reply("Z", "A"))
            case _:
                self.write(sics_error("ES"))

    def _answer_toledo(self, command: str) -> None:
        match command:
            case "W":
                self.write(self.display_frame())
            case "T":
                self._do_tare()
            case "Z":
                self._do_zero()
            case "C":
                self.panel.tare = Decimal("0")

    def _answer_ohaus(self, command: str) -> None:
        match command:
            case "IP" | "P":
                self.write(self.display_frame())
            case "SP":
                if self.panel.condition == "motion":
                    self._wait_stable("SP", on_timeout=None)
                else:
                    self.write(self.display_frame())
            case "CP":
                self.streaming = True
            case "0P":
                self.streaming = False
            case "T":
                self._do_tare()
            case "Z":
                self._do_zero()
            case "PV":
                lft = {True: b"LFT ON\r\n", False: b"LFT OFF\r\n", None: b""}[self.legal_for_trade]
                self.write(b"OHAUS SIM 1.00\r\n" + lft)
            case _:
                self.write(b"ES\r\n")

    def _answer_and(self, command: str) -> None:
        ack = AND_ACK if self.acknowledge else b""
        match command:
            case "Q" | "SI":
                self.write(ack + self.display_frame())
            case "S":
                self.write(ack)
                if self.panel.condition == "motion":
                    self._wait_stable("S-data", on_timeout=None)
                else:
                    self.write(self.display_frame())
            case "S-data":  # deferred part of S
                self.write(self.display_frame())
            case "SIR":
                self.write(ack)
                self.streaming = True
            case "C":
                self.write(ack)
                self.streaming = False
            case "T":
                self.write(ack if self._do_tare() else and_error("E11"))
            case "R":
                self.write(ack if self._do_zero() else and_error("E11"))
            case _:
                self.write(and_error("E01"))

    def _answer_sma(self, command: str) -> None:
        self.streaming = False  # any command ends R
        p = self.panel
        basis = "N" if p.net else "G"
        match command:
            case "W":
                self.write(self.display_frame())
            case "R":
                self.streaming = True
            case "Z":
                if self._do_zero():
                    self.write(sma_frame(p.shown, p.unit, status="Z", basis="G"))
                else:
                    self.write(sma_frame(None, p.unit, status="E", basis=basis))
            case "T":
                if self._do_tare():
                    self.write(sma_frame(p.shown, p.unit, status="Z", basis="N"))
                else:
                    self.write(sma_frame(None, p.unit, status="T", basis=basis))
            case "A":
                self.write(b"\nSMA:1/1.0\r")
            case _:
                self.write(SMA_UNKNOWN)

    def _answer_nci(self, command: str) -> None:
        match command:
            case "W":
                self.write(self.display_frame())
            case "S":
                self.write(nci_status_frame(self._nci_status()))
            case "Z":
                self._do_zero()
                self.write(nci_status_frame(self._nci_status()))
            case "T":
                self._do_tare()
                self.write(nci_status_frame(self._nci_status()))
            case _:
                self.write(NCI_UNKNOWN)

    def _nci_status(self) -> bytes:
        p = self.panel
        return nci_status(
            motion=not p.stable,
            at_zero=p.shown == 0,
            under=p.condition == "under",
            over=p.condition == "over",
        )

    async def _stream_loop(self) -> None:
        while True:
            await asyncio.sleep(self.stream_interval)
            if self.streaming and self.respond and self._master is not None:
                self.write(self.display_frame())


class StatusLog:
    """An ``on_state`` callback that records every status and lets a caller wait
    for one: ``mark = len(log.events)`` before an action, then
    ``await log.wait_for(lambda s: not s.connected, after=mark)``."""

    def __init__(self) -> None:
        self.events: list[ScaleStatus] = []
        self._changed = asyncio.Event()

    def __call__(self, status: ScaleStatus) -> None:
        self.events.append(status)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[ScaleStatus], bool], *, after: int = 0, within: float = 5.0
    ) -> ScaleStatus:
        async with asyncio.timeout(within):
            while True:
                for status in self.events[after:]:
                    if predicate(status):
                        return status
                self._changed.clear()
                await self._changed.wait()
