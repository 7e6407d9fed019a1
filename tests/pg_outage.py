"""PostgreSQL going away under a running bridge, as a restart or a failover does it.

``kill`` terminates every backend of the test's scratch database (what a restart,
an idle-connection killer or ``pg_terminate_backend`` by a DBA does to the bridge's
connection); ``down`` also refuses new connections to it until ``up``, so the
bridge finds its ledger unreachable for as long as the test says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql

from tests.conftest import PG_ADMIN_DSN


class PgOutage:
    def __init__(self, dsn: str) -> None:
        self.database = dsn.rsplit("/", 1)[1].split("?", 1)[0]

    async def _admin(self, statement: sql.SQL | sql.Composed, params: tuple[object, ...] = ()
                     ) -> list[tuple[object, ...]]:
        async with await psycopg.AsyncConnection.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            cursor = await admin.execute(statement, params)
            return list(await cursor.fetchall()) if cursor.description else []

    async def clients(self) -> list[str]:
        """The ``application_name`` of each connection to the database."""
        rows = await self._admin(sql.SQL(
            "SELECT application_name FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " ORDER BY 1"), (self.database,))
        return [str(name) for (name,) in rows]

    async def kill(self) -> int:
        """Terminate every connection to the database; how many there were."""
        rows = await self._admin(sql.SQL(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()"), (self.database,))
        return sum(1 for (ok,) in rows if ok)

    async def down(self) -> int:
        """Refuse new connections, then terminate the open ones; how many there were."""
        await self._allow(False)
        return await self.kill()

    async def up(self) -> None:
        await self._allow(True)

    async def _allow(self, allowed: bool) -> None:
        await self._admin(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
            sql.Identifier(self.database), sql.SQL("true" if allowed else "false")))

    @asynccontextmanager
    async def away(self) -> AsyncIterator[int]:
        """``down`` for the block (yielding how many connections were cut), then ``up``."""
        cut = await self.down()
        try:
            yield cut
        finally:
            await self.up()
