"""Fixtures shared by the agent's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.outbox import Outbox


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    """An empty outbox of the test kiosk, in a file of its own."""
    box = await Outbox.open(tmp_path / "outbox.db", facility="CA-TEST-0001", device="kiosk-01")
    yield box
    await box.close()
