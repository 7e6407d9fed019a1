"""Outbox writers in processes of their own, to be killed mid-write, and the checks after."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from agent.outbox import Outbox

ROOT = Path(__file__).resolve().parents[2]


async def start_writer(script: str, *args: str) -> asyncio.subprocess.Process:
    """``script`` run by this Python from the repository, its output piped back."""
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert writer.stdout is not None and writer.stderr is not None
    return writer


async def assert_nothing_acknowledged_lost(path: Path, acknowledged: set[str]) -> None:
    """After the kill, as the next kiosk start sees the file: every append the writer heard
    "saved" is there, the kept counts equal a recount, and the seqs have no gap."""
    box = await Outbox.open(path, facility="F-1", device="k-1")  # recovers the WAL
    try:
        assert acknowledged <= set(await box.states())
        assert box.counts == await box.recount()
    finally:
        await box.close()
    with sqlite3.connect(path) as db:
        seqs = [seq for (seq,) in db.execute("SELECT seq FROM outbox ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, whatever was cut short
