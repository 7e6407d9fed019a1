"""Start and stop the simulator on a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiohttp import web

from statesim.biotrack._app import ENDPOINT, BioTrackSimulator
from statesim.biotrack._config import SimConfig


class RunningSimulator:
    """A simulator listening on ``host:port``; ``url`` is what a client is given."""

    def __init__(self, simulator: BioTrackSimulator, runner: web.AppRunner, host: str,
                 port: int) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self._runner = runner

    @property
    def base_url(self) -> str:
        """Root of the server; the admin routes live under ``/_sim/``."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The ``serverjson.asp`` endpoint, as in OpenTHC's cre.yaml."""
        return f"{self.base_url}{ENDPOINT}"

    async def close(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    seed: int = 0,
    config: SimConfig | None = None,
) -> RunningSimulator:
    """Listen on ``host:port`` (0 picks a free port) and return at once."""
    simulator = BioTrackSimulator(config, seed=seed)
    # A short shutdown timeout: hanging fault handlers are woken on shutdown anyway.
    runner = web.AppRunner(simulator.app(), shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = int(runner.addresses[0][1])
    return RunningSimulator(simulator, runner, host, bound_port)


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    seed: int = 0,
    config: SimConfig | None = None,
    ready: Callable[[RunningSimulator], None] | None = None,
) -> None:
    """Run until cancelled (``canopy sim biotrack``, ``python -m statesim.biotrack``)."""
    running = await start(host, port, seed=seed, config=config)
    try:
        if ready is not None:
            ready(running)
        await asyncio.Event().wait()
    finally:
        await running.close()
