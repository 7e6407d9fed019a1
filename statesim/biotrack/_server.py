"""Start and stop the simulator on a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Self

from aiohttp import web

from statesim.biotrack._app import ENDPOINT, BioTrackSimulator
from statesim.biotrack._config import FaultPlan, SimConfig


class BioTrackServer:
    """The BioTrack simulator on ``host:port``; ``url`` is what a client is given.

    The verbs every state simulator shares (``statesim.StateSimulator``): ``start``,
    ``stop``, ``url``, ``state()``, ``set_faults()``, ``clear_faults()``.
    ``simulator`` is the in-process core (sessions, clock, world).
    """

    system = "biotrack"

    def __init__(self, config: SimConfig | None = None, *, seed: int = 0) -> None:
        self.simulator = BioTrackSimulator(config, seed=seed)
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """Root of the server; the admin routes live under ``/_sim/``."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The ``serverjson.asp`` endpoint, as in OpenTHC's cre.yaml."""
        return f"{self.base_url}{ENDPOINT}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 picks a free port); returns ``url``."""
        if self._runner is not None:
            raise RuntimeError("simulator already started")
        # A short shutdown timeout: hanging fault handlers are woken on shutdown anyway.
        runner = web.AppRunner(self.simulator.app(), shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host, self.port = host, int(runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def state(self) -> dict[str, Any]:
        """What ``GET /_sim/state`` returns: worlds, sessions, faults, calls."""
        return self.simulator.state()

    async def set_faults(self, plan: FaultPlan | Mapping[str, Any]) -> None:
        """Install a fault plan (BioTrack's rule vocabulary, ``FaultPlan``)."""
        self.simulator.install_faults(plan if isinstance(plan, FaultPlan) else FaultPlan.model_validate(plan))

    async def clear_faults(self) -> None:
        self.simulator.install_faults(FaultPlan())

    async def __aenter__(self) -> Self:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def start(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    seed: int = 0,
    config: SimConfig | None = None,
) -> BioTrackServer:
    """A started ``BioTrackServer`` (0 picks a free port)."""
    server = BioTrackServer(config, seed=seed)
    await server.start(host, port)
    return server


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    seed: int = 0,
    config: SimConfig | None = None,
    ready: Callable[[BioTrackServer], None] | None = None,
) -> None:
    """Run until cancelled (``canopy sim biotrack``)."""
    server = await start(host, port, seed=seed, config=config)
    try:
        if ready is not None:
            ready(server)
        await asyncio.Event().wait()
    finally:
        await server.stop()
