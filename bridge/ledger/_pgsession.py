"""The PostgreSQL ledger's one connection, which comes back after it drops.

PostgreSQL goes away in production: a restart for a minor upgrade, a failover to
a replica, an idle-connection killer, a network blip. Every ledger call is one
transaction through ``Session.run``:

- A connection found dropped, or that drops before the COMMIT was sent, committed
  nothing of the transaction (PostgreSQL rolls back the transaction of a session
  that ends), so the call runs once more on a new connection: an idle connection
  killed overnight costs one reconnect, not an error.
- A connection that drops during the COMMIT leaves the outcome unknown: the caller
  gets ``LedgerUnreachable`` and assumes neither (ingest stores the batch again, and
  the ledger keeps each id once; the submitter reads its intents back from the
  ledger before it sends anything).
- While the server cannot be reached, connecting is tried again after
  ``RETRY_FIRST_S``, doubling up to ``RETRY_MAX_S``; a call in between fails at once
  with ``LedgerUnreachable`` (no task piles up waiting on a dead server), and the
  callers wait ``retry_in_s`` before their next try.
- A new connection gets the session state the ledger needs before it is used:
  the staging table that COPY fills (``prepare``). Nothing else lives in the
  session: psycopg prepares frequent statements per connection by itself (again
  on a new one); the only advisory lock is transaction-scoped (the schema
  migration at open); the licence leases are rows with a fencing token, not
  advisory locks (``_postgres.py``), so a lease survives a dropped connection as
  long as it is renewed in time, and a lease that ran out meanwhile is refused at
  the next intent, however the connection came back.
- The log says ``ledger unreachable`` once when an outage begins and ``ledger
  reachable again`` once when it ends, naming the server, never the password.

TCP keepalives and ``tcp_user_timeout`` (unless the URL sets them) make a server
that vanished without closing the connection (a failover, a cable) an error within
about 20 s, not the kernel's 15 minutes of retransmissions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bridge.ledger._queries import LedgerUnreachable

log = logging.getLogger("bridge.ledger")

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
T = TypeVar("T")

RETRY_FIRST_S = 0.5  # the first reconnect after a failed one
RETRY_MAX_S = 5.0  # reconnects while the server is away: at least this often
# libpq settings a URL may set itself; these are the defaults the bridge adds.
CONNECT_DEFAULTS: dict[str, Any] = {
    "application_name": "canopy-bridge",  # what IT sees in pg_stat_activity
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,  # ms a sent packet may stay unacknowledged
}


def where(dsn: str) -> str:
    """``host:port/database`` of a PostgreSQL URL, for the log (no user, no password)."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "the configured PostgreSQL server"
    host, port, database = parts.get("host", "localhost"), parts.get("port", 5432), parts.get("dbname", "")
    return f"PostgreSQL at {host}:{port}/{database}"


async def connect(dsn: str) -> Conn:
    """A connection with the bridge's defaults under whatever the URL says."""
    given = conninfo_to_dict(dsn)
    extra = {k: v for k, v in CONNECT_DEFAULTS.items() if k not in given}
    return await psycopg.AsyncConnection.connect(dsn, autocommit=False, **extra)


class Session:
    def __init__(self, dsn: str, conn: Conn, prepare: Callable[[Conn], Awaitable[None]]) -> None:
        self.dsn = dsn
        self._conn: Conn | None = conn
        self._prepare = prepare  # the session state a new connection needs, in a transaction
        # One connection, one transaction at a time, however many tasks use the ledger.
        self._lock = asyncio.Lock()
        self._retry_at = 0.0  # monotonic: no connecting before this
        self._retry_s = 0.0  # the wait after the next failed connect (0: none failed yet)
        self._down_since: float | None = None  # monotonic start of the outage, once logged
        self.reconnects = 0  # connections made after the first one

    @property
    def reachable(self) -> bool:
        """False from a failed reconnect until a connection is made again."""
        return self._down_since is None

    async def run(self, work: Callable[[Conn], Awaitable[T]]) -> T:
        """``work`` in one transaction, on a connection made again if it dropped."""
        async with self._lock:
            retried = False
            while True:
                conn = await self._connected()
                committing = False
                try:
                    async with conn.transaction():
                        result = await work(conn)
                        committing = True  # the block's end sends the COMMIT
                    return result
                except psycopg.Error as exc:
                    if not (conn.closed or conn.broken):
                        raise  # the database answered: this call's own error
                    self._dropped(conn, exc)
                    if committing or retried:
                        raise LedgerUnreachable(
                            f"ledger unreachable: {where(self.dsn)} dropped the connection"
                            f"{' during a commit' if committing else ''} ({_reason(exc)})",
                            self._retry_in()) from exc
                    retried = True  # nothing of it committed: once more, on a new connection

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _connected(self) -> Conn:
        conn = self._conn
        if conn is not None and not (conn.closed or conn.broken):
            return conn
        if conn is not None:
            self._dropped(conn, None)
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise LedgerUnreachable(f"ledger unreachable: {where(self.dsn)}, next try in {wait:.1f} s",
                                    wait)
        conn = None
        try:
            conn = await connect(self.dsn)
            async with conn.transaction():
                await self._prepare(conn)
        except (psycopg.Error, OSError) as exc:
            if conn is not None:
                await conn.close()
            self._retry_s = min(RETRY_MAX_S, self._retry_s * 2 or RETRY_FIRST_S)
            self._retry_at = time.monotonic() + self._retry_s
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.error("ledger unreachable: cannot connect to %s (%s). Kiosk events are not"
                          " acknowledged (the broker and the kiosks keep them) and nothing is sent"
                          " to the state until it answers; trying again every %.1f to %.0f s",
                          where(self.dsn), _reason(exc), RETRY_FIRST_S, RETRY_MAX_S)
            raise LedgerUnreachable(f"ledger unreachable: cannot connect to {where(self.dsn)}"
                                    f" ({_reason(exc)})", self._retry_s) from exc
        self._conn = conn
        self.reconnects += 1
        if self._down_since is not None:
            log.warning("ledger reachable again: %s answered after %.1f s; storing and sending resume",
                        where(self.dsn), time.monotonic() - self._down_since)
        else:
            log.info("ledger connection to %s made again", where(self.dsn))
        self._down_since = None
        self._retry_s = 0.0
        return conn

    def _dropped(self, conn: Conn, exc: BaseException | None) -> None:
        if self._conn is conn:
            self._conn = None
            log.warning("ledger connection to %s lost%s; connecting again", where(self.dsn),
                        f" ({_reason(exc)})" if exc is not None else "")

    def _retry_in(self) -> float:
        return max(0.0, self._retry_at - time.monotonic())


def _reason(exc: BaseException) -> str:
    """The driver's first line: ``terminating connection due to administrator command``."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
