"""``MetrcSimulator``: the simulated Metrc on a real socket, and ``serve`` to run it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from statesim.metrc._app import SimCore, build_app
from statesim.metrc._config import SimConfig
from statesim.metrc._faults import FaultPlan
from statesim.metrc._journal import Journal
from statesim.metrc._seed import SimSeed, demo_seed, load_seed
from statesim.metrc._state import utc_now

DEFAULT_PORT = 8090


class MetrcSimulator(SimCore):
    """A Metrc v2 simulator serving over HTTP.

    async with MetrcSimulator() as sim:          # demo seed, 127.0.0.1, free port
        client = MetrcClient(sim.url, "canopy-demo-vendor", "demo-user-key", ...)
        await sim.set_faults(FaultPlan(outage_seconds=5))
        sim.state()                               # what GET /_sim/state returns

    The verbs every state simulator shares (``statesim.StateSimulator``): ``start``,
    ``stop``, ``url``, ``state()``, ``set_faults()``, ``clear_faults()``.
    """

    system = "metrc"

    def __init__(
        self,
        seed: SimSeed | None = None,
        *,
        config: SimConfig | None = None,
        faults: FaultPlan | None = None,
        journal: Path | None = None,
    ) -> None:
        super().__init__(seed or demo_seed(), config or SimConfig(), faults or FaultPlan(),
                         Journal(journal) if journal is not None else None)
        self.app = build_app(self)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._reopen: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 picks a free port); returns the base URL."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        self._stopping.clear()
        # A short shutdown timeout: hung requests are woken by ``pause`` anyway.
        self._runner = web.AppRunner(self.app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        self._host, self._port = host, port
        await self._listen()
        await self._faults_changed()  # a plan given at start may open with a refusal
        return self.url

    async def stop(self) -> None:
        self._stopping.set()
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner, self._site = None, None

    def state(self) -> dict[str, Any]:
        """Every licence's records in Metrc's shapes (``snapshot()`` of all licences)."""
        return self.snapshot()

    async def __aenter__(self) -> MetrcSimulator:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _listen(self) -> None:
        assert self._runner is not None
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        await site.start()
        self._site, self._port = site, site.port

    async def _faults_changed(self) -> None:
        """Close the listening socket for a "refuse" outage and reopen it after."""
        if self._runner is None:
            return
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        remaining = self.injector.outage_remaining(utc_now())
        if self.injector.plan.outage_mode == "refuse" and remaining > 0:
            if self._site is not None:
                await self._site.stop()
                self._site = None
            server = self._runner.server
            # Idle keep-alive connections too, or a pooled client would never notice;
            # requests in flight (this admin call, a hang) finish on their own.
            for connection in server.connections if server is not None else []:
                if connection.transport is not None and connection.transport not in self.busy:
                    connection.force_close()
            self._reopen = asyncio.create_task(self._reopen_after(remaining))
        elif self._site is None:
            await self._listen()

    async def _reopen_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._reopen = None
        if self._site is None and self._runner is not None:
            await self._listen()


def _as_seed(seed: SimSeed | str | Path | None) -> SimSeed:
    if seed is None:
        return demo_seed()
    if isinstance(seed, SimSeed):
        return seed
    return load_seed(seed)


async def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    seed: SimSeed | str | Path | None = None,
    config: SimConfig | None = None,
    faults: FaultPlan | None = None,
    ready: Callable[[MetrcSimulator], None] | None = None,
    journal: Path | None = None,
) -> None:
    """Run a simulator until cancelled. ``seed`` is a ``SimSeed`` or a JSON file path
    (default: the demo seed); ``ready`` is called once it listens."""
    simulator = MetrcSimulator(_as_seed(seed), config=config, faults=faults, journal=journal)
    await simulator.start(host, port)
    try:
        if ready is not None:
            ready(simulator)
        await asyncio.Event().wait()
    finally:
        await simulator.stop()
