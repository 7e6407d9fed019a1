"""What the compliance console keeps in the ledger: its personal accounts and its own log.

Accounts (``console_users``) are people in the office (compliance manager, supervisor,
an inspector as auditor), not the kiosk workers: a name, a role and a scrypt hash
(``console/accounts.py`` makes and checks it; the ledger only stores the text).

Signed-in sessions (``console_sessions``) outlive a restart of the console: a row per
session, keyed by the sha256 of its token (never the token), removed at sign-out, when
idle too long, or when the account is disabled; a session counts only while its
account is active. They are not records: the log below keeps every sign-in and sign-out.

Every console action (a sign-in, a failed one, a register viewed or exported, an
account added or disabled) is appended to ``console_log``, which is chained like the
events: ``hash = sha256(prev + "console" + n + sha256(the row's canonical bytes))``,
its head kept in ``console_head``. Rows are never updated or deleted; ``canopy bridge
verify`` walks this chain beside the facilities' and names the first row that does
not match.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.ledger._chain import GENESIS, ChainReport, Mismatch, Tx, link

CONSOLE = "console"

# Both databases understand this DDL, like the chain's: written once.
CONSOLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS console_users (
    name     TEXT   PRIMARY KEY,
    role     TEXT   NOT NULL,
    secret   TEXT   NOT NULL,  -- scrypt$N$r$p$salt$hash, never the password
    created  BIGINT NOT NULL,  -- unix ms
    disabled BIGINT            -- unix ms it was disabled; NULL while it may sign in
);
CREATE TABLE IF NOT EXISTS console_log (
    n       BIGINT NOT NULL PRIMARY KEY,  -- from 1, no gaps
    at      BIGINT NOT NULL,              -- unix ms
    who     TEXT   NOT NULL,              -- the account ('' before anyone signed in)
    action  TEXT   NOT NULL,              -- sign-in, sign-in refused, view, export, ...
    what    TEXT   NOT NULL,              -- which register, facility, format, account
    address TEXT   NOT NULL,              -- the client's address
    prev    TEXT   NOT NULL,
    hash    TEXT   NOT NULL
);
-- Signed-in console sessions, so a restarted console keeps them. Only a hash of the
-- cookie's token is kept: a copy of the database gives no cookie that signs anyone in.
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT   PRIMARY KEY,  -- sha256 of the session token, hex
    name       TEXT   NOT NULL,     -- the account
    role       TEXT   NOT NULL,
    created    BIGINT NOT NULL,     -- unix ms
    seen       BIGINT NOT NULL      -- unix ms of the last request (to a minute): the idle clock
);
CREATE INDEX IF NOT EXISTS console_sessions_name ON console_sessions(name);
CREATE TABLE IF NOT EXISTS console_head (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    n    BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    name: str
    role: str
    secret: str
    created: int
    disabled: int | None

    @property
    def active(self) -> bool:
        return self.disabled is None


@dataclass(frozen=True, slots=True)
class ConsoleEntry:
    n: int
    at: int
    who: str
    action: str
    what: str
    address: str


def entry_digest(n: int, at: int, who: str, action: str, what: str, address: str) -> str:
    canonical = "\x1f".join([CONSOLE, str(n), str(at), who, action, what, address])
    return hashlib.sha256(canonical.encode()).hexdigest()


class UserExists(ValueError):
    """An account of that name is already in the ledger."""


class ConsoleRecords(ABC):
    """The console's queries, on whichever database holds the ledger."""

    clock: Callable[[], int]

    @abstractmethod
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    @abstractmethod
    async def _in_tx(self, work: Callable[[Tx], Awaitable[None]], fence: Any = None) -> None: ...

    # --- accounts -------------------------------------------------------------------

    async def add_console_user(self, name: str, role: str, secret: str) -> None:
        """A new account; ``UserExists`` if the name is taken (disabled accounts too:
        the log names people, so a name is never given to someone else)."""
        rows = await self._fetch(
            "INSERT INTO console_users (name, role, secret, created, disabled) VALUES (?, ?, ?, ?, NULL)"
            " ON CONFLICT (name) DO NOTHING RETURNING name", (name, role, secret, self.clock()))
        if not rows:
            raise UserExists(name)

    async def console_users(self) -> list[ConsoleUser]:
        rows = await self._fetch("SELECT name, role, secret, created, disabled FROM console_users"
                                 " ORDER BY name")
        return [ConsoleUser(str(r[0]), str(r[1]), str(r[2]), int(r[3]),
                            None if r[4] is None else int(r[4])) for r in rows]

    async def console_user(self, name: str) -> ConsoleUser | None:
        return next((u for u in await self.console_users() if u.name == name), None)

    async def disable_console_user(self, name: str) -> bool:
        """True if the account was active and is now disabled (and its sessions ended)."""
        done = await self._exec("UPDATE console_users SET disabled = ? WHERE name = ? AND disabled IS NULL",
                                (self.clock(), name)) > 0
        await self.end_console_sessions(name)
        return done

    # --- sessions ---------------------------------------------------------------------

    async def start_console_session(self, token_hash: str, name: str, role: str, now_ms: int) -> None:
        await self._exec("INSERT INTO console_sessions (token_hash, name, role, created, seen)"
                         " VALUES (?, ?, ?, ?, ?)", (token_hash, name, role, now_ms, now_ms))

    async def console_session(self, token_hash: str) -> tuple[str, str, int] | None:
        """(account, role, last seen ms) of a session whose account may still sign in."""
        rows = await self._fetch(
            "SELECT s.name, s.role, s.seen FROM console_sessions s JOIN console_users u ON u.name = s.name"
            " WHERE s.token_hash = ? AND u.disabled IS NULL", (token_hash,))
        return (str(rows[0][0]), str(rows[0][1]), int(rows[0][2])) if rows else None

    async def touch_console_session(self, token_hash: str, now_ms: int) -> None:
        await self._exec("UPDATE console_sessions SET seen = ? WHERE token_hash = ? AND seen < ?",
                         (now_ms, token_hash, now_ms))

    async def end_console_session(self, token_hash: str) -> None:
        await self._exec("DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))

    async def end_console_sessions(self, name: str) -> None:
        """Every session of an account (it was disabled)."""
        await self._exec("DELETE FROM console_sessions WHERE name = ?", (name,))

    async def end_idle_console_sessions(self, seen_before_ms: int) -> int:
        return await self._exec("DELETE FROM console_sessions WHERE seen < ?", (seen_before_ms,))

    # --- the console's own log, chained ----------------------------------------------

    async def console_record(self, who: str, action: str, what: str, address: str) -> int:
        """Append one action to the console log; its position."""
        at = self.clock()
        # Bounded as stored: a name typed at the sign-in page is anyone's text.
        who, action, what, address = who[:64], action[:64], what[:500], address[:64]
        done: list[int] = []

        async def work(tx: Tx) -> None:
            await tx.exec_many("INSERT INTO console_head (one, n, hash) VALUES (1, 0, ?)"
                               " ON CONFLICT (one) DO NOTHING", [(GENESIS,)])
            head = await tx.fetch(f"SELECT n, hash FROM console_head WHERE one = 1{tx.for_update}")
            n, prev = int(head[0][0]) + 1, str(head[0][1])
            hashed = link(prev, CONSOLE, str(n), entry_digest(n, at, who, action, what, address))
            await tx.exec_many("INSERT INTO console_log (n, at, who, action, what, address, prev, hash)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               [(n, at, who, action, what, address, prev, hashed)])
            await tx.exec_many("UPDATE console_head SET n = ?, hash = ? WHERE one = 1", [(n, hashed)])
            done.append(n)

        await self._in_tx(work)
        return done[0]

    async def console_log(self, limit: int = 500, who: str | None = None) -> list[ConsoleEntry]:
        """The latest entries first."""
        where, params = ("WHERE who = ?", [who, limit]) if who else ("", [limit])
        rows = await self._fetch(f"SELECT n, at, who, action, what, address FROM console_log {where}"
                                 " ORDER BY n DESC LIMIT ?", params)
        return [ConsoleEntry(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]))
                for r in rows]

    async def verify_console_log(self, chunk: int = 5000) -> ChainReport:
        """Walk the console log's chain; the first row that does not match, if any."""
        prev, n = GENESIS, 0
        found: Mismatch | None = None
        while found is None:
            rows = await self._fetch("SELECT n, at, who, action, what, address, prev, hash FROM console_log"
                                     " WHERE n > ? ORDER BY n LIMIT ?", (n, chunk))
            for r in rows:
                at = int(r[0])
                digest = entry_digest(at, int(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]))
                reason = None
                if at != n + 1:
                    reason = f"entries {n + 1} to {at - 1} are missing from the console log"
                elif str(r[6]) != prev:
                    reason = "does not follow the entry before it (an entry was removed or edited)"
                elif link(prev, CONSOLE, str(at), digest) != str(r[7]):
                    reason = "its hash does not match its contents (the row was edited)"
                if reason is not None:
                    found = Mismatch(CONSOLE, at, CONSOLE, str(at), reason)
                    break
                n, prev = at, str(r[7])
            if len(rows) < chunk:
                break
        heads = await self._fetch("SELECT n, hash FROM console_head WHERE one = 1")
        if found is None and heads and (int(heads[0][0]), str(heads[0][1])) != (n, prev):
            found = Mismatch(CONSOLE, n + 1, CONSOLE, "", f"the console log ends at entry {n} but had"
                             f" {heads[0][0]}: entries after it were removed")
        return ChainReport("console log", n, prev, found)
