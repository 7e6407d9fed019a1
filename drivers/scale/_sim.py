"""SimScale: the simulated twin, running the real protocol path.

A ``FakeScale`` speaks the configured protocol on the master side of a pty;
the real ``SerialScale`` reads the slave side. So ``canopy sim weight 12.34 g``
goes through framing, parsing, stability rules and reconnects exactly as a
real scale's frames would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from drivers.scale._api import ScaleStatus, StateCallback
from drivers.scale._config import ScaleConfig, ScaleIdentity
from drivers.scale._fake import FakeScale, StatusLog
from drivers.scale._reading import Reading
from drivers.scale._serial import ReadingStream, SerialScale


class SimScale:
    """A ``Scale`` whose hardware is a ``FakeScale``; create inside a running loop."""

    def __init__(
        self,
        config: ScaleConfig | None = None,
        *,
        on_state: StateCallback | None = None,
        stream_interval: float = 0.1,
    ) -> None:
        config = config or ScaleConfig()
        self._fake = FakeScale(config.protocol, unit=config.unit or "g", stream_interval=stream_interval)
        self._fake.plug()
        # A pty carries bytes, not bits: there is no parity or data-bits framing to
        # simulate, and some kernels (Linux 6.18 here) refuse CS7/PARENB on a pty
        # with EINVAL. So the simulated line is always 8N1; the protocol is real.
        self._scale = SerialScale(
            config.model_copy(
                update={"kind": "serial", "port": self._fake.port, "bytesize": 8, "parity": "none"}
            ),
            on_state=on_state,
        )

    # -- the simulated hardware ---------------------------------------------
    @property
    def fake(self) -> FakeScale:
        return self._fake

    def set_weight(self, value: Decimal | str, unit: str = "g", *, stable: bool = True) -> None:
        """Put ``value`` on the platter. Strings are read as decimals; floats are refused."""
        if isinstance(value, float):
            raise TypeError("weights are Decimal or str, never float")
        if self._scale.config.protocol == "toledo-8217" and unit != self._scale.config.unit:
            raise ValueError(
                f"toledo-8217 frames carry no unit; this scale is configured for {self._scale.config.unit}"
            )
        self._fake.set_weight(Decimal(value), unit, stable=stable)

    def set_unstable(self) -> None:
        self._fake.set_unstable()

    def set_overload(self) -> None:
        self._fake.set_overload()

    def set_underload(self) -> None:
        self._fake.set_underload()

    def set_legal_for_trade(self, on: bool | None) -> None:
        """What an Ohaus scale's ``PV`` answer says: ``LFT ON``, ``LFT OFF``, or no LFT line."""
        self._fake.legal_for_trade = on

    def unplug(self) -> None:
        self._fake.unplug()

    def replug(self) -> None:
        self._fake.plug()

    # -- Scale ------------------------------------------------------------------
    @property
    def on_state(self) -> StateCallback | None:
        return self._scale.on_state

    @on_state.setter
    def on_state(self, callback: StateCallback | None) -> None:
        self._scale.on_state = callback

    @property
    def identity(self) -> ScaleIdentity:
        return self._scale.identity

    @property
    def connected(self) -> bool:
        return self._scale.connected

    @property
    def status(self) -> ScaleStatus:
        return self._scale.status

    def readings(self) -> ReadingStream:
        return self._scale.readings()

    async def weigh(self, *, immediate: bool = False) -> Reading:
        return await self._scale.weigh(immediate=immediate)

    async def next_stable(self, timeout: float) -> Reading:
        return await self._scale.next_stable(timeout)

    async def legal_for_trade(self) -> bool | None:
        return await self._scale.legal_for_trade()

    async def tare(self) -> None:
        await self._scale.tare()

    async def zero(self) -> None:
        await self._scale.zero()

    async def wait_connected(self, timeout: float) -> None:
        await self._scale.wait_connected(timeout)

    async def aclose(self) -> None:
        await self._scale.aclose()
        await self._fake.aclose()

    async def __aenter__(self) -> SimScale:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@dataclass(frozen=True)
class Replay:
    readings: list[Reading]
    statuses: list[ScaleStatus]
    commands: list[bytes]


async def replay(config: ScaleConfig, chunks: Iterable[bytes], *, within: float = 5.0) -> Replay:
    """Send ``chunks`` (captured or manual frames, garbage, half frames) from a silent
    fake scale through the real driver in continuous mode; return what came out.

    Chunks are written one by one with a short gap, so a frame split over two
    chunks reaches the driver in two reads. A sentinel frame closes the run, so
    a reading that should not exist cannot go unnoticed.
    """
    statuses = StatusLog()
    async with SimScale(config.model_copy(update={"mode": "continuous"}), on_state=statuses) as sim:
        sim.fake.respond = False
        await sim.wait_connected(within)
        stream = sim.readings()
        sim.fake.set_weight(Decimal("987.65"), config.unit or "g")
        sentinel = sim.fake.display_frame()
        for chunk in [*chunks, sentinel]:
            sim.fake.write(chunk)
            await asyncio.sleep(0.005)
        readings: list[Reading] = []
        async with asyncio.timeout(within):
            async for reading in stream:
                if reading.raw == sentinel:
                    break
                readings.append(reading)
        return Replay(readings, statuses.events, list(sim.fake.received))
