"""Two people dismiss one rejection at the same moment (two tabs, two users, two console
processes on one ledger): exactly one dismissal is recorded, chained and told to the
kiosk; the other is told who dismissed it and when, as an answer, not an error page."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.ledger import Answer, Ledger, open_ledger, verify_and_record
from bridge.office import CannotDismiss, Dismissal, dismiss
from canopy import topics
from tests.console.floor_records import FLOOR_NOW, LICENSE, fill, rejected_move

REASON = "Entered in Metrc by the office"
ROOT = Path(__file__).parents[2]


def meet_before(ledgers: list[Ledger], method: str) -> None:
    """Make each ledger's first call of ``method`` wait until every caller has made it: the
    callers have all read the rejection before any of them goes on to check and record."""
    barrier = asyncio.Barrier(len(ledgers))
    for ledger in ledgers:
        original: Callable[..., Awaitable[Any]] = getattr(ledger, method)

        async def met(*args: Any, _original: Callable[..., Awaitable[Any]] = original,
                      _ledger: Ledger = ledger) -> Any:
            setattr(_ledger, method, _original)  # the first call only
            found = await _original(*args)
            await barrier.wait()
            return found
        setattr(ledger, method, met)


Outcome = Dismissal | BaseException


async def dismissals_at_once(url: str, names: list[str]) -> tuple[Ledger, str, list[Outcome]]:
    """``names`` each dismiss the same rejection through their own ledger connection at once."""
    first = await open_ledger(url)
    await fill(first, moves=3)
    rejected = await rejected_move(first)
    ledgers = [first, *[await open_ledger(url) for _ in names[1:]]]
    meet_before(ledgers, "events")
    try:
        done = await asyncio.gather(
            *[dismiss(ledger, LICENSE, rejected, name, REASON, clock=lambda: FLOOR_NOW)
              for ledger, name in zip(ledgers, names, strict=True)], return_exceptions=True)
    finally:
        for other in ledgers[1:]:
            await other.close()
    return first, rejected, list(done)


async def test_two_dismissals_at_once_record_one(ledger_url: str) -> None:
    ledger, rejected, done = await dismissals_at_once(ledger_url, ["sam", "casey"])
    try:
        made = [d for d in done if isinstance(d, Dismissal)]
        refused = [d for d in done if not isinstance(d, Dismissal)]
        records = await ledger._fetch("SELECT id, seq FROM events WHERE device = ?", (topics.CONSOLE_DEVICE,))
        assert len(records) == 1, records
        [made_one] = made
        assert records == [(made_one.event, 1)]
        [refusal] = refused
        assert isinstance(refusal, CannotDismiss)
        winner = "sam" if done[0] is made_one else "casey"
        assert str(refusal) == (f"that rejection is already dismissed by console:{winner}"
                                f" on 2026-11-23 18:00:00 UTC: {REASON} (record {made_one.event})")
        chained = await ledger._fetch("SELECT kind FROM chain WHERE ref = ?", (made_one.event,))
        assert chained == [("event",)]
        assert all(r.mismatch is None for r in await verify_and_record(ledger))
        # Once the bridge has answered it, one notice for the kiosk: one console record unanswered.
        await ledger.settle([Answer(made_one.event, "accepted")])
        office = [u for u in await ledger.unanswered() if u.device == topics.CONSOLE_DEVICE]
        assert [u.id for u in office] == [made_one.event]
        assert (await ledger.keyed([f"corrects:{rejected}"])) == {f"corrects:{rejected}": made_one.event}
    finally:
        await ledger.close()


@pytest.mark.parametrize("count", [4])
async def test_many_dismissals_at_once_on_sqlite_record_one(tmp_path: Any, count: int) -> None:
    ledger, _, done = await dismissals_at_once(f"sqlite:///{tmp_path / 'ledger.db'}",
                                               [f"user{i}" for i in range(count)])
    try:
        assert sum(isinstance(d, Dismissal) for d in done) == 1
        assert all(isinstance(d, CannotDismiss) for d in done if not isinstance(d, Dismissal))
        records = await ledger._fetch("SELECT seq FROM events WHERE device = ?", (topics.CONSOLE_DEVICE,))
        assert records == [(1,)]
    finally:
        await ledger.close()


# One console process: opens the ledger, waits for the moment given, dismisses, says how it went.
PROCESS = """
import asyncio, json, sys, time
from bridge.ledger import open_ledger
from bridge.office import CannotDismiss, dismiss

async def main(url, facility, rejected, name, go):
    ledger = await open_ledger(url)
    try:
        await ledger.events([rejected])  # connected and warm before the moment
        await asyncio.sleep(max(float(go) - time.time(), 0))
        try:
            done = await dismiss(ledger, facility, rejected, name, "two processes")
            print(json.dumps({"made": done.event}))
        except CannotDismiss as exc:
            print(json.dumps({"refused": str(exc)}))
    finally:
        await ledger.close()

asyncio.run(main(*sys.argv[1:]))
"""


async def test_two_console_processes_dismissing_at_once_record_one(ledger_url: str) -> None:
    ledger = await open_ledger(ledger_url)
    try:
        await fill(ledger, moves=3)
        rejected = await rejected_move(ledger)
        go = str(time.time() + 3)  # both started and connected by then, even on a busy machine
        processes = [await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROCESS, ledger_url, LICENSE, rejected, name, go, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE) for name in ("sam", "casey")]
        said = [json.loads((await p.communicate())[0]) for p in processes]
        assert sorted(next(iter(s)) for s in said) == ["made", "refused"], said
        [made] = [s["made"] for s in said if "made" in s]
        [refused] = [s["refused"] for s in said if "refused" in s]
        assert refused.startswith("that rejection is already dismissed by console:") and made in refused
        records = await ledger._fetch("SELECT id FROM events WHERE device = ?", (topics.CONSOLE_DEVICE,))
        assert records == [(made,)]
        assert all(r.mismatch is None for r in await verify_and_record(ledger))
    finally:
        await ledger.close()
