"""PDFs laid out in a process of their own, beside the console's event loop.

Laying out years of a register is seconds to minutes of pure Python (all seven years of
one facility's waste at 10,000,000 events: about 100 s). In the console's process, even
in a thread, it holds the GIL most of that time and every other user's page waits its
turn in slices (the floor page took 270 ms p50 instead of 5 ms while one rendered). A
separate process takes its own core: the rows go over as a pickle, the PDF comes back as
bytes. One process, started at the first PDF and kept: exports queue for it, the pages
keep the other core. "spawn", not fork: the console's process has threads (the ledger's
driver) that a forked child would inherit mid-lock.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bridge.reports import Report
from console.export import Heading, as_pdf


class PdfRenderer:
    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def pdf(self, sections: Sequence[Report], heading: Heading, notes: Sequence[str] = ()) -> bytes:
        """``console.export.as_pdf`` of the same arguments, made in the renderer's process. A
        process that died (killed, out of memory) is replaced and the PDF made again, once."""
        try:
            return await self._made(list(sections), heading, list(notes))
        except BrokenProcessPool:
            return await self._made(list(sections), heading, list(notes))

    async def _made(self, sections: list[Report], heading: Heading, notes: list[str]) -> bytes:
        pool = self._started()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, as_pdf, sections, heading, notes)
        except BrokenProcessPool:  # its process died: the next PDF starts a new one
            if self._pool is pool:
                self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        """Stop the process once it is idle (a PDF being made is finished, nothing queued is)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
