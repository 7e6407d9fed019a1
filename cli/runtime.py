"""Running a daemon from the CLI: logging, signals, a clean exit code."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per HTTP request to the state API drowns what matters; attempts are in the ledger.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose else logging.WARNING)


def run_until_signal(main: Coroutine[Any, Any, None]) -> int:
    """Run ``main`` until it returns or SIGTERM/SIGINT arrives; 0 on a clean stop."""

    async def runner() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            logging.getLogger("canopy").info("stopped")

    asyncio.run(runner())
    return 0
