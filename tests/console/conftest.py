"""A console on a filled ledger, served to an aiohttp test client, with clocks the tests move."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.ledger import Ledger, open_ledger
from console.web import Console
from tests.console.floor_records import FLOOR_NOW, LICENSE, PASSWORD, Floor, add_accounts, console_for, fill

Client = TestClient[web.Request, web.Application]


@dataclass
class Site:
    client: Client
    console: Console
    ledger: Ledger
    floor: Floor
    now: list[float]  # [wall seconds]; sessions and throttle read it too

    def later(self, seconds: float) -> None:
        self.now[0] += seconds


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, page
    return found.group(1)


async def sign_in(client: Client, name: str, password: str = PASSWORD) -> int:
    """Through the sign-in page, as a browser would; the response's status."""
    page = await (await client.get("/login")).text()
    response = await client.post("/login", data={"csrf": csrf_of(page), "name": name, "password": password},
                                 allow_redirects=False)
    return response.status


async def csrf_token(client: Client, path: str = f"/f/{LICENSE}/floor") -> str:
    return csrf_of(await (await client.get(path)).text())


@pytest.fixture
async def site(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Site]:
    url = getattr(request, "param", None) or f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = await open_ledger(url)
    floor = await fill(ledger)
    await add_accounts(ledger)
    now = [FLOOR_NOW]
    console = console_for(ledger)
    console.sessions.clock = console.throttle.clock = console.wall = lambda: now[0]
    client: Client = TestClient(TestServer(console.app()))
    await client.start_server()
    try:
        yield Site(client, console, ledger, floor, now)
    finally:
        await client.close()
        await ledger.close()
