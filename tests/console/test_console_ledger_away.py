"""The console on a PostgreSQL ledger that goes away (restart, failover): a page asked for
meanwhile says "ledger unreachable" (503, not a server error), and the console serves
again once the database is back, without being restarted."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bridge.ledger import open_ledger
from tests.console.conftest import Client, sign_in
from tests.console.floor_records import LICENSE, add_accounts, console_for, fill
from tests.pg_outage import PgOutage
from tests.waiting import until


async def test_a_page_while_the_ledger_is_away_says_so_and_the_next_one_is_served(pg_dsn: str) -> None:
    ledger = await open_ledger(pg_dsn)
    await fill(ledger, moves=5)
    await add_accounts(ledger)
    client: Client = TestClient(TestServer(console_for(ledger).app()))
    await client.start_server()
    outage = PgOutage(pg_dsn)
    page = f"/f/{LICENSE}/floor"
    try:
        assert await sign_in(client, "casey") == 302
        assert (await client.get(page)).status == 200
        async with outage.away():
            away = await client.get(page)
            assert away.status == 503
            assert away.headers["Retry-After"] == "5"
            assert "Ledger unreachable" in await away.text()

        async def served() -> bool:
            return (await client.get(page)).status == 200

        await until(served, "the console serving again", 15, interval=0.2)
    finally:
        await outage.up()
        await client.close()
        await ledger.close()
