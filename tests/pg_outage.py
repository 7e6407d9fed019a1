"""PostgreSQL going away under a running bridge, as a restart or a failover does it.

``kill`` terminates every backend of the test's scratch database (what a restart,
an idle-connection killer or ``pg_terminate_backend`` by a DBA does to the bridge's
connection); ``down`` also refuses new connections to it until ``up``, so the
bridge finds its ledger unreachable for as long as the test says. ``login`` gives a
bridge its own PostgreSQL login, and ``lock_out`` cuts that one bridge off (a network
partition between it and the database) while the others carry on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

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

    async def kill(self, user: str | None = None) -> int:
        """Terminate every connection to the database (``user``'s only, if given); how
        many there were."""
        rows = await self._admin(sql.SQL(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid() AND (%s::text IS NULL OR usename = %s)"),
            (self.database, user, user))
        return sum(1 for (ok,) in rows if ok)

    @asynccontextmanager
    async def login(self, dsn: str, name: str) -> AsyncIterator[str]:
        """A login of its own (a superuser, as the tests' own), as a URL like ``dsn``;
        dropped afterwards. Roles are the server's, not the database's: the name is made
        unique with the database's."""
        role = f"{name}_{self.database}"[:63]
        await self._admin(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD 'canopy'").format(
            sql.Identifier(role)))
        parts = urlsplit(dsn)
        netloc = f"{role}:canopy@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        try:
            yield urlunsplit(parts._replace(netloc=netloc))
        finally:
            await self._admin(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))
            await self.kill(role)
            await self._admin(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

    @staticmethod
    def user(url: str) -> str:
        return urlsplit(url).username or ""

    async def lock_out(self, user: str) -> int:
        """Refuse ``user`` new connections and end its open ones (one bridge cut off)."""
        await self._admin(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(user)))
        return await self.kill(user)

    async def let_in(self, user: str) -> None:
        await self._admin(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(user)))

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
