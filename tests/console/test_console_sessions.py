"""Console sessions kept in the ledger: they outlive a restart of the console, on SQLite and
PostgreSQL; the ledger holds only a hash of each token; sign-out, idleness and disabling
the account end them, whichever console process (or the command line) does it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.ledger import Ledger, open_ledger
from console import auth
from console.web import Console
from tests.console.conftest import Client, csrf_of, sign_in
from tests.console.floor_records import FLOOR_NOW, LICENSE, add_accounts, console_for, fill

FLOOR = f"/f/{LICENSE}/floor"


@dataclass
class Running:
    """One console process: its own ledger connection, server and browser."""

    ledger: Ledger
    console: Console
    client: Client


@asynccontextmanager
async def console_on(url: str, now: list[float]) -> AsyncIterator[Running]:
    ledger = await open_ledger(url)
    console = console_for(ledger)
    console.sessions.clock = console.throttle.clock = console.wall = lambda: now[0]
    client: Client = TestClient(TestServer(console.app()))
    await client.start_server()
    try:
        yield Running(ledger, console, client)
    finally:
        await client.close()
        await ledger.close()


def cookie_of(client: Client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[auth.COOKIE].value


async def status(client: Client, token: str, path: str = FLOOR) -> int:
    """A page's status for a browser holding the session cookie ``token``."""
    return (await client.get(path, cookies={auth.COOKIE: token}, allow_redirects=False)).status


@pytest.fixture
async def url(ledger_url: str) -> str:
    """A filled ledger with the test accounts, on SQLite and on PostgreSQL."""
    ledger = await open_ledger(ledger_url)
    try:
        await fill(ledger, moves=3)
        await add_accounts(ledger)
    finally:
        await ledger.close()
    return ledger_url


async def signed_in(running: Running, name: str) -> str:
    """Sign ``name`` in at this console; the session cookie's token."""
    assert await sign_in(running.client, name) == 302
    return cookie_of(running.client)


async def test_a_session_survives_a_restart_of_the_console(url: str) -> None:
    now = [FLOOR_NOW]
    async with console_on(url, now) as first:
        token = await signed_in(first, "sam")
        form = csrf_of(await (await first.client.get(f"/f/{LICENSE}/chain")).text())
    now[0] += 5 * 60
    async with console_on(url, now) as second:  # a new process: nothing in memory
        assert await status(second.client, token) == 200
        # The page's forms made before the restart still carry a token this console accepts.
        verified = await second.client.post(f"/f/{LICENSE}/chain/verify", data={"csrf": form},
                                            cookies={auth.COOKIE: token}, allow_redirects=False)
        assert verified.status == 303
        log = [(e.who, e.action) for e in await second.ledger.console_log(3)]
        assert ("sam", "verify") in log
        # Signing out ends it for every console on the ledger.
        out = await second.client.post("/logout", data={"csrf": form}, cookies={auth.COOKIE: token},
                                       allow_redirects=False)
        assert out.status == 302
    async with console_on(url, now) as third:
        assert await status(third.client, token) == 302


async def test_the_ledger_keeps_only_a_hash_of_each_session_token(url: str) -> None:
    now = [FLOOR_NOW]
    async with console_on(url, now) as running:
        token = await signed_in(running, "casey")
        rows = await running.ledger._fetch("SELECT token_hash, name, role, created, seen"
                                           " FROM console_sessions")
        at = int(FLOOR_NOW * 1000)
        assert [r[1:] for r in rows] == [("casey", "compliance", at, at)]
        stored = str(rows[0][0])
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        dump = repr(rows)
        assert token not in dump and auth.csrf_of(token) not in dump
        # What a stolen database gives, put in a cookie, signs nobody in.
        assert await status(running.client, stored) == 302
        assert await status(running.client, token) == 200


async def test_an_idle_session_ends_after_a_restart_too(url: str) -> None:
    now = [FLOOR_NOW]
    async with console_on(url, now) as first:
        token = await signed_in(first, "ines")
        now[0] += 20 * 60
        assert await status(first.client, token) == 200  # the idle time starts again
    now[0] += 29 * 60
    async with console_on(url, now) as second:
        assert await status(second.client, token) == 200
        now[0] += 31 * 60
        assert await status(second.client, token) == 302
        rows = await second.ledger._fetch("SELECT name FROM console_sessions")
        assert rows == []


async def test_disabling_an_account_anywhere_ends_its_sessions(url: str) -> None:
    now = [FLOOR_NOW]
    async with console_on(url, now) as running:
        token = await signed_in(running, "sam")
        other = await open_ledger(url)  # `canopy console user disable`, another process
        try:
            assert await other.disable_console_user("sam")
            assert await other._fetch("SELECT name FROM console_sessions") == []
        finally:
            await other.close()
        assert await status(running.client, token) == 302


async def test_a_session_of_a_disabled_account_left_in_the_ledger_is_not_honoured(url: str) -> None:
    now = [FLOOR_NOW]
    async with console_on(url, now) as running:
        token = await signed_in(running, "sam")
        # Disabled by hand, the session row left behind: the account's state still counts.
        await running.ledger._exec("UPDATE console_users SET disabled = 1 WHERE name = 'sam'")
        assert await status(running.client, token) == 302
