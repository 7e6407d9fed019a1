"""The ledger's tamper-evident chain: each stored event and each verdict recorded for
it is an entry in its facility's chain, ``hash = sha256(previous hash + kind + ref +
sha256(entry's canonical bytes))``, appended in the same transaction as the write.

The canonical bytes are recomputed from the rows when the chain is verified, so an
event's payload, time, tags or kiosk, or its verdict's status or message, edited
by hand no longer matches its entry; a deleted event no longer has the row its
entry names; a deleted or edited chain entry breaks the link of the next one; and
``chain_heads`` (one row per facility: the last position and hash) shows a
removed tail. Appending locks the facility's head row (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so bridges
storing one facility's events together still make one unbroken chain.

Someone who rewrites rows *and* recomputes every later hash is caught by
comparing the head hash with one noted earlier: ``canopy bridge verify`` prints
it and keeps it in ``verifications``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Protocol

EVENT, ANSWER = "event", "answer"
GENESIS = "0" * 64

# Both databases understand this DDL (TEXT/BIGINT/BLOB-less): written once.
CHAIN_SCHEMA = """
CREATE TABLE IF NOT EXISTS chain (
    facility TEXT   NOT NULL,
    n        BIGINT NOT NULL,  -- position in the facility's chain, from 1
    kind     TEXT   NOT NULL,  -- event | answer
    ref      TEXT   NOT NULL,  -- the event's id
    digest   TEXT   NOT NULL,  -- sha256 of the entry's canonical bytes
    prev     TEXT   NOT NULL,  -- the previous entry's hash (64 zeros for the first)
    hash     TEXT   NOT NULL,
    PRIMARY KEY (facility, n)
);
CREATE INDEX IF NOT EXISTS chain_ref ON chain(ref);
CREATE TABLE IF NOT EXISTS chain_heads (
    facility TEXT   PRIMARY KEY,
    n        BIGINT NOT NULL,
    hash     TEXT   NOT NULL
);
-- Every run of `canopy bridge verify` (and the one-time chaining of an older ledger).
CREATE TABLE IF NOT EXISTS verifications (
    at       BIGINT NOT NULL,  -- unix ms
    facility TEXT   NOT NULL,  -- '' when all were verified
    ok       INTEGER NOT NULL,
    detail   TEXT   NOT NULL
);
"""


class Tx(Protocol):
    """One open transaction of either backend, ``?`` placeholders."""

    for_update: str  # " FOR UPDATE" on PostgreSQL, "" on SQLite (the write lock is held)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    async def exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Plain INSERTs of many rows, by the backend's fastest way (COPY on PostgreSQL)."""
        ...


def _canonical(values: list[Any]) -> bytes:
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()


def event_digest(id_: str, facility: str, device: str, seq: int, type_: str, at: str,
                 received: int, payload_sha: str, tags: str) -> str:
    """sha256 of ``_canonical([EVENT, id_, …, tags])``, spelt out: the same bytes (a test
    holds them equal) at a third of json.dumps' cost, paid for every event stored."""
    q = encode_basestring
    return hashlib.sha256(f'["{EVENT}",{q(id_)},{q(facility)},{q(device)},{int(seq)},{q(type_)},'
                          f'{q(at)},{int(received)},{q(payload_sha)},{q(tags)}]'.encode()).hexdigest()


def answer_digest(id_: str, status: str, message: str | None, settled: int | None) -> str:
    """A verdict as the event row holds it (``stored`` with nothing: released from a hold)."""
    return hashlib.sha256(_canonical([ANSWER, id_, status, message or "",
                                      None if settled is None else int(settled)])).hexdigest()


def link(prev: str, kind: str, ref: str, digest: str) -> str:
    return hashlib.sha256(f"{prev}:{kind}:{ref}:{digest}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    facility: str
    kind: str
    ref: str
    digest: str


CHAIN_COLUMNS = ("facility", "n", "kind", "ref", "digest", "prev", "hash")


@dataclass(slots=True)
class ChainHead:
    """Where a facility's chain ends (``chain_heads``' row); ``extend`` links entries after
    it and returns their ``chain`` rows (``CHAIN_COLUMNS``). The one place entries are linked:
    ``append`` below, and a bulk loader that writes years of rows at once (bench/bulk.py)."""

    facility: str
    n: int = 0
    hash: str = GENESIS

    def extend(self, entries: Iterable[Entry]) -> list[tuple[str, int, str, str, str, str, str]]:
        rows = []
        for entry in entries:
            self.n += 1
            hashed = link(self.hash, entry.kind, entry.ref, entry.digest)
            rows.append((self.facility, self.n, entry.kind, entry.ref, entry.digest, self.hash, hashed))
            self.hash = hashed
        return rows


async def locked_head(tx: Tx, facility: str) -> ChainHead:
    """The facility's chain head, locked until the caller's transaction ends: whoever
    writes to the facility's chain waits for it (made if the facility has none yet)."""
    head_sql = f"SELECT n, hash FROM chain_heads WHERE facility = ?{tx.for_update}"
    rows = await tx.fetch(head_sql, (facility,))
    if not rows:  # the facility's first entry (another bridge may be adding it too)
        await tx.exec_many("INSERT INTO chain_heads (facility, n, hash) VALUES (?, 0, ?)"
                           " ON CONFLICT (facility) DO NOTHING", [(facility, GENESIS)])
        rows = await tx.fetch(head_sql, (facility,))
    return ChainHead(facility, int(rows[0][0]), str(rows[0][1]))


async def append(tx: Tx, entries: Sequence[Entry]) -> None:
    """Add ``entries`` to their facilities' chains inside the caller's transaction.
    Heads are locked in facility order, so two bridges never wait on each other in a circle."""
    by_facility: dict[str, list[Entry]] = {}
    for entry in entries:
        by_facility.setdefault(entry.facility, []).append(entry)
    for facility in sorted(by_facility):
        head = await locked_head(tx, facility)
        await tx.insert_rows("chain", CHAIN_COLUMNS, head.extend(by_facility[facility]))
        await tx.exec_many("UPDATE chain_heads SET n = ?, hash = ? WHERE facility = ?",
                           [(head.n, head.hash, facility)])


_EVENT_COLUMNS = "id, facility, device, seq, type, at, received, payload, tags, status, message, settled"


def _event_digest_of(row: Sequence[Any]) -> str:
    return event_digest(str(row[0]), str(row[1]), str(row[2]), int(row[3]), str(row[4]), str(row[5]),
                        int(row[6]), hashlib.sha256(bytes(row[7])).hexdigest(), str(row[8]))


async def adopt_unchained(tx: Tx, now: int) -> int:
    """A ledger written before the chain existed: chain its rows once, as found now (in
    the order received), each event then its current verdict. Noted in ``verifications``
    so nobody takes the chain as proof of those rows' history before this moment."""
    if (await tx.fetch("SELECT EXISTS (SELECT 1 FROM chain_heads)"
                       " OR NOT EXISTS (SELECT 1 FROM events)"))[0][0]:
        return 0
    count, after = 0, (-1, "")
    while True:  # in chunks, by (received, id): payloads of years of events never all in memory
        rows = await tx.fetch(f"SELECT {_EVENT_COLUMNS} FROM events WHERE received > ? OR (received = ?"
                              " AND id > ?) ORDER BY received, id LIMIT 5000", (after[0], *after))
        if not rows:
            break
        entries: list[Entry] = []
        for row in rows:
            entries.append(Entry(str(row[1]), EVENT, str(row[0]), _event_digest_of(row)))
            if str(row[9]) != "stored" or row[10] is not None or row[11] is not None:
                entries.append(Entry(str(row[1]), ANSWER, str(row[0]),
                                     answer_digest(str(row[0]), str(row[9]), row[10], row[11])))
        await append(tx, entries)
        count, after = count + len(rows), (int(rows[-1][6]), str(rows[-1][0]))
    await tx.exec_many("INSERT INTO verifications (at, facility, ok, detail) VALUES (?, '', 1, ?)",
                       [(now, f"chained {count} events stored before the ledger had a chain,"
                               " as they were found at this time")])
    return count


@dataclass(frozen=True, slots=True)
class Mismatch:
    facility: str
    n: int  # position in the chain (0: not in the chain at all)
    kind: str
    ref: str
    reason: str

    def __str__(self) -> str:
        where = f"entry {self.n} ({self.kind} {self.ref})" if self.n else f"{self.kind} {self.ref}"
        return f"{self.facility}: {where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ChainReport:
    facility: str
    entries: int
    head: str
    mismatch: Mismatch | None


class Reader(Protocol):
    async def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def _current_answer_ok(row: Sequence[Any], digest: str | None) -> bool:
    """The event row's verdict columns match its latest answer entry (none: untouched)."""
    if digest is None:
        return str(row[9]) == "stored" and row[10] is None and row[11] is None
    return answer_digest(str(row[0]), str(row[9]), row[10], row[11]) == digest


async def verify_facility(ledger: Reader, facility: str, chunk: int = 5000) -> ChainReport:
    """Walk one facility's chain from the first entry; the first entry that does not match."""
    found: list[Mismatch] = []
    # Per event: the position of its latest entry, and whether its row's verdict agrees.
    latest: dict[str, tuple[int, str, bool]] = {}
    prev, n = GENESIS, 0
    columns = ", ".join("e." + c for c in _EVENT_COLUMNS.split(", "))
    while True:
        rows = await ledger._fetch(
            f"SELECT c.n, c.kind, c.ref, c.digest, c.prev, c.hash, {columns}"
            " FROM chain c LEFT JOIN events e ON e.id = c.ref WHERE c.facility = ? AND c.n > ?"
            " ORDER BY c.n LIMIT ?", (facility, n, chunk))
        for r in rows:
            at, kind, ref, digest, event = int(r[0]), str(r[1]), str(r[2]), str(r[3]), r[6:]
            n += 1

            def miss(reason: str, at: int = at, kind: str = kind, ref: str = ref) -> None:
                found.append(Mismatch(facility, at, kind, ref, reason))

            if at != n:
                miss(f"entries {n} to {at - 1} are missing from the chain")
                n = at
            if str(r[4]) != prev:
                miss("does not follow the entry before it (an entry was removed or edited)")
            if link(str(r[4]), kind, ref, digest) != str(r[5]):
                miss("its hash does not match its contents (the chain row was edited)")
            prev = str(r[5])
            if event[0] is None:
                miss("the event's row is missing from the ledger (deleted)")
            elif kind == EVENT:
                if _event_digest_of(event) != digest:
                    miss("the event's row differs from what was stored (payload, time, kiosk or tags edited)")
                latest[ref] = (at, EVENT, _current_answer_ok(event, None))
            elif kind == ANSWER:
                latest[ref] = (at, ANSWER, _current_answer_ok(event, digest))
            else:
                miss(f"unknown kind of entry {kind!r}")
            if found:
                break
        if found or len(rows) < chunk:
            break
    heads = await ledger._fetch("SELECT n, hash FROM chain_heads WHERE facility = ?", (facility,))
    if not found and heads and (int(heads[0][0]), str(heads[0][1])) != (n, prev):
        found.append(Mismatch(facility, n + 1, "head", "",
                              f"the chain ends at entry {n} but had {heads[0][0]}: entries after it"
                              " were removed"))
    # Verdicts only on a whole chain: a verdict's entry cut off would be named instead of the cut.
    for ref, (at, kind, ok) in latest.items() if not found else ():
        if not ok:
            found.append(Mismatch(facility, at, kind, ref,
                                  "the event's status or message differs from the verdict recorded"))
    loose = await ledger._fetch(
        "SELECT id FROM events e WHERE facility = ? AND NOT EXISTS"
        " (SELECT 1 FROM chain c WHERE c.ref = e.id AND c.kind = 'event') ORDER BY received LIMIT 1",
        (facility,))
    if loose:
        found.append(Mismatch(facility, 0, EVENT, str(loose[0][0]),
                              "stored in the ledger but not in the chain (inserted by hand)"))
    first = min(found, key=lambda m: (m.n == 0, m.n)) if found else None
    return ChainReport(facility, n, prev, first)


async def verify(ledger: Reader, facility: str | None = None) -> list[ChainReport]:
    if facility is not None:
        return [await verify_facility(ledger, facility)]
    rows = await ledger._fetch("SELECT facility FROM chain_heads UNION SELECT DISTINCT facility"
                               " FROM events ORDER BY 1")
    return [await verify_facility(ledger, str(r[0])) for r in rows]
