"""The status bar and the Records screen follow the outbox's commits: pushed, not polled.

The kiosk's once-a-second status loop is stretched to an hour here, so whatever
reaches the page after start-up was pushed by the outbox's change listeners.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import agent.app
from agent.demo import DEMO_TAG
from agent.hub import Subscription
from agent.outbox import Settlement
from agent.testing import KioskRig

pytestmark = pytest.mark.timeout(90)


async def pushed(sub: Subscription, check: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    """The first screen state the page is sent that passes ``check``."""
    async def first() -> dict[str, Any]:
        async for kind, data in sub:
            state: dict[str, Any] = json.loads(data)
            if kind == "state" and check(state):
                return state
        raise AssertionError("the kiosk stopped pushing")

    try:
        return await asyncio.wait_for(first(), 10)
    except TimeoutError:
        raise AssertionError(f"never pushed: {what}") from None


async def test_status_and_records_are_pushed_when_the_outbox_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent.app, "STATUS_INTERVAL_S", 3600.0)
    async with KioskRig(tmp_path) as rig:  # offline: nothing is sent, every scan stays unsent
        await rig.sign_in()
        await rig.act("go", screen="records")
        sub = rig.kiosk.subscribe()
        try:
            saved = await rig.outbox.append("plant.scanned", {"tag": DEMO_TAG}, user="worker-1")
            state = await pushed(sub, lambda s: s["status"]["backlog"] == 1
                                 and [r["id"] for r in s["flow"]["rows"]] == [saved.id],
                                 "one unsent record, on the status bar and the Records screen")
            assert state["status"]["oldest_unsent_ms"] == rig.outbox.counts.oldest_pending_ms
            # The state's answer arrives: the counts and the Records line follow.
            await rig.outbox.settle([Settlement(saved.id, "rejected", "Plant is in a different room.")])
            state = await pushed(sub, lambda s: s["status"]["rejected"] == 1
                                 and s["flow"]["rows"][0]["state"] == "rejected", "the rejection")
            assert state["status"]["backlog"] == 0
            # A scan's own answer already carries the new count (one push per scan, not two).
            await rig.act("go", screen="move")
            await rig.scan("Flower Room 2")
            moved = await rig.scan(DEMO_TAG)
            assert moved["ok"], moved
            assert rig.state()["status"]["backlog"] == 1
        finally:
            sub.close()
