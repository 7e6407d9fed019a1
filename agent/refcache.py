"""The kiosk's copy of the reference data the bridge publishes (retained, per name).

A list arrives whole in one message (v1) or, when it is too big for one, as a
manifest and parts (v2; see ``canopy.refdata``). Either way the kiosk switches
to a new copy all at once, and keeps serving the previous one until then:

* every v2 row is stored under its part's id (tables ``ref_row`` and, for tag
  pools, ``ref_range``); lookups see only the parts listed in ``ref_live``, the
  parts of the manifest in force (in ``ref``), so a half-received version is
  never seen, and switching is one transaction once the last part is in and the
  rows add up to the manifest's count; a part both versions share is kept, so a
  one-plant change stores one part;
* a part's id is the hash of its payload, checked against its topic, so nothing
  but that part's rows can ever fill that place in a manifest;
* a manifest whose parts do not all come leaves the old copy in force, and says
  so in the log after ``complete_within_s``;
* what was received survives a restart (it is all in the floor database), and
  the retained parts the broker sends again complete the version.

Big lists stay on disk: plants and tag pools of a v2 copy are answered by an
indexed query (``plant``, ``in_pool``), never loaded into memory. The small
lists, and any v1 list, are kept in memory as before. A malformed or foreign
message never replaces a good copy.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from pydantic import ValidationError

from agent.reflookup import SCHEMA, RefCopy, RefLookups, range_key
from canopy import refdata
from canopy.refdata import RefManifest, RefMessage, RefPart

log = logging.getLogger(__name__)


_STAGED = ("ref_part", "ref_row", "ref_range")
# v2 copies of these are looked up on disk; every other list is loaded into memory.
ON_DISK = frozenset({"plants", *refdata.TAG_POOLS})


class RefRejected(ValueError):
    """A reference message that was not taken; the text says why (for the log)."""


#: ``check(rows)`` raises ``ValueError`` for rows the kiosk cannot use although the
#: contract's types accept them (e.g. a worker roster whose hashes cannot be checked).
RowCheck = Callable[[Any], None]


class RefCache(RefLookups):
    """The copy of each reference list in force, in memory (small ones) and in SQLite.

    ``reader`` is a second, synchronous connection to the same database file, for
    lookups on the event loop (one indexed read each, ``agent.reflookup``); writes
    go through ``db``.
    """

    def __init__(self, db: aiosqlite.Connection, facility: str,
                 checks: Mapping[str, RowCheck] | None = None, *,
                 reader: sqlite3.Connection | None = None, complete_within_s: float = 120.0) -> None:
        super().__init__(reader)
        self._db = db
        self.facility = facility
        self.complete_within_s = complete_within_s
        self._checks = dict(checks or {})

    async def load(self) -> None:
        await self._db.executescript(SCHEMA)
        cursor = await self._db.execute("SELECT name, received, payload FROM ref")
        for name, received, payload in await cursor.fetchall():
            try:
                copy = await self._decode_head(bytes(payload), received)
            except RefRejected as exc:
                log.warning("cached reference list %s ignored: %s", name, exc)
                continue
            self._copies[copy.name] = copy
        cursor = await self._db.execute("SELECT name, payload FROM ref_pending")
        for name, payload in await cursor.fetchall():
            head = _decode_or_none(bytes(payload))
            if isinstance(head, RefManifest) and head.name == name:
                self._pending[name] = head
                self._watch(head)

    # --- messages in --------------------------------------------------------------

    async def take(self, suffix: str, payload: bytes) -> RefCopy | None:
        """Take the message on ``canopy/v1/<facility>/ref/<suffix>``.

        The new copy in force, or None when nothing changed yet (a part stored, the
        same list again, a cleared part). Raises ``RefRejected`` for a message that
        must not be used.
        """
        try:
            where = refdata.parse_ref_topic(suffix)
        except ValueError as exc:
            raise RefRejected(str(exc)) from None
        if where.part is None:
            return await self.apply(where.name, payload)
        if not payload:
            return None  # the bridge clearing a part no version uses any more
        return await self._take_part(where.name, where.part, payload)

    async def apply(self, name: str, payload: bytes) -> RefCopy | None:
        """Take what the name's own topic holds: a whole list or a manifest."""
        if not payload:
            return None  # an emptied retained topic: keep what we have
        current = self._copies.get(name)
        if current is not None and current.payload == payload:
            return None  # the retained copy again, after a reconnect
        received_ms = int(time.time() * 1000)
        head = self._decode(payload)
        if head.name != name:
            raise RefRejected(f"message on the {name!r} topic holds {head.name!r}")
        at = _aware(head.at)
        if current is not None and at < current.at:
            raise RefRejected(f"{name}: older than the cached copy ({at} < {current.at})")
        if isinstance(head, RefManifest):
            return await self._take_manifest(head, payload, received_ms)
        copy = self._whole(head, payload, received_ms)
        self._pending.pop(name, None)
        await self._db.execute(
            "INSERT INTO ref (name, at, received, payload) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET at = excluded.at, received = excluded.received,"
            " payload = excluded.payload",
            (name, at.isoformat(), received_ms, payload),
        )
        for table in (*_STAGED, "ref_live", "ref_pending"):
            await self._db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
        await self._db.commit()
        self._copies[name] = copy
        return copy

    async def _take_manifest(self, manifest: RefManifest, payload: bytes, received_ms: int) -> RefCopy | None:
        name, at = manifest.name, _aware(manifest.at)
        current = self._copies.get(name)
        if current is not None and current.version == manifest.version:
            # The same content read again: only ``at`` moves; nothing to fetch.
            await self._forget_pending(name, superseded_by=f"version {manifest.version}")
            await self._db.execute("UPDATE ref SET at = ?, received = ?, payload = ? WHERE name = ?",
                                   (at.isoformat(), received_ms, payload, name))
            await self._db.commit()
            copy = RefCopy(name, at, received_ms, current.rows, payload, current.version, current.index)
            self._copies[name] = copy
            return copy
        pending = self._pending.get(name)
        if pending is not None and pending.version != manifest.version:
            if at < _aware(pending.at):
                raise RefRejected(f"{name}: older than version {pending.version} being received")
            log.warning("reference list %s version %s superseded by version %s before all its"
                        " parts came", name, pending.version, manifest.version)
        self._pending[name] = manifest
        await self._db.execute("INSERT OR REPLACE INTO ref_pending (name, payload) VALUES (?, ?)",
                               (name, payload))
        await self._collect(name)
        await self._db.commit()
        self._watch(manifest)
        return await self._complete(name)

    async def _take_part(self, name: str, part_id: str, payload: bytes) -> RefCopy | None:
        cursor = await self._db.execute("SELECT 1 FROM ref_part WHERE name = ? AND part = ?",
                                        (name, part_id))
        if await cursor.fetchone() is not None:
            return None  # already stored (the broker sends retained parts again on reconnect)
        try:
            part = refdata.decode_part(payload, part_id)
        except ValueError as exc:
            raise RefRejected(f"reference part ref/{name}/{part_id} refused: {str(exc)[:200]}") from None
        if part.name != name:
            raise RefRejected(f"part of {part.name!r} arrived on ref/{name}/{part_id}")
        if part.facility != self.facility:
            raise RefRejected(f"reference data for facility {part.facility!r}, this kiosk is"
                              f" {self.facility!r}")
        await self._stage(part, part_id)
        pending = self._pending.get(name)
        if pending is None or part_id not in pending.parts:
            return None  # its manifest has not arrived yet (retained messages come in any order)
        return await self._complete(name)

    async def _stage(self, part: RefPart, part_id: str) -> None:
        rows = part.rows()
        if part.name in refdata.TAG_POOLS:
            ranges = [(part.name, *range_key(r), part_id, r.count) for r in rows]
            await self._db.executemany(
                "INSERT OR REPLACE INTO ref_range (name, prefix, width, start, part, count)"
                " VALUES (?, ?, ?, ?, ?, ?)", ranges)
        else:
            plants = part.name == "plants"
            bodies: list[tuple[str, str, str, str, str | None, str | None]] = [
                (part.name, row.tag if plants else f"{i:07d}", part_id, row.model_dump_json(),
                 row.location if plants else None, row.phase if plants else None)
                for i, row in enumerate(rows)]
            await self._db.executemany(
                "INSERT OR REPLACE INTO ref_row (name, key, part, body, loc, phase)"
                " VALUES (?, ?, ?, ?, ?, ?)", bodies)
        await self._db.execute("INSERT OR REPLACE INTO ref_part (name, part, rows) VALUES (?, ?, ?)",
                               (part.name, part_id, part.row_count()))
        await self._db.commit()

    async def _complete(self, name: str) -> RefCopy | None:
        """Put the pending version in force if all its parts are in and add up to its count."""
        manifest = self._pending[name]
        cursor = await self._db.execute("SELECT part, rows FROM ref_part WHERE name = ?", (name,))
        staged: dict[str, int] = {part: rows for part, rows in await cursor.fetchall()}
        if any(part not in staged for part in manifest.parts):
            return None
        count = sum(staged[part] for part in manifest.parts)
        if count != manifest.count or len(set(manifest.parts)) != len(manifest.parts):
            del self._pending[name]
            await self._db.execute("DELETE FROM ref_pending WHERE name = ?", (name,))
            await self._collect(name)
            await self._db.commit()
            raise RefRejected(f"{name} version {manifest.version}: its parts hold {count} rows, the"
                              f" manifest says {manifest.count}; the copy in force stays")
        cursor = await self._db.execute("SELECT payload FROM ref_pending WHERE name = ?", (name,))
        row = await cursor.fetchone()
        payload = bytes(row[0]) if row is not None else manifest.model_dump_json().encode()
        received_ms = int(time.time() * 1000)
        at = _aware(manifest.at)
        await self._db.execute(
            "INSERT INTO ref (name, at, received, payload) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET at = excluded.at, received = excluded.received,"
            " payload = excluded.payload",
            (name, at.isoformat(), received_ms, payload))
        await self._db.execute("DELETE FROM ref_pending WHERE name = ?", (name,))
        await self._db.execute("DELETE FROM ref_live WHERE name = ?", (name,))
        await self._db.executemany("INSERT INTO ref_live (name, part) VALUES (?, ?)",
                                   [(name, part) for part in manifest.parts])
        del self._pending[name]
        await self._collect(name)  # the parts only the superseded version used
        rows = await self._rows_of(manifest)  # read before the commit: nothing else writes meanwhile
        await self._db.commit()
        # Lookups switch here, with the commit (the reader sees the committed tables).
        copy = RefCopy(name, at, received_ms, rows, payload, manifest.version)
        self._copies[name] = copy
        log.info("reference list %s version %s in force: %d rows in %d part(s)",
                 name, manifest.version, manifest.count, len(manifest.parts))
        return copy

    async def _forget_pending(self, name: str, *, superseded_by: str) -> None:
        """Drop an incomplete version (caller commits), saying it never completed."""
        pending = self._pending.pop(name, None)
        if pending is None:
            return
        log.warning("reference list %s version %s superseded by %s before all its parts came",
                    name, pending.version, superseded_by)
        await self._db.execute("DELETE FROM ref_pending WHERE name = ?", (name,))
        await self._collect(name)

    async def _collect(self, name: str) -> None:
        """Delete the staged parts neither the copy in force nor the pending one uses
        (caller commits). Parts that came before their manifest go too: the broker
        sends them again, retained, if a manifest still wants them."""
        pending = self._pending.get(name)
        keep = set(pending.parts) if pending is not None else set()
        cursor = await self._db.execute(
            "SELECT p.part, l.part IS NOT NULL FROM ref_part p LEFT JOIN ref_live l"
            " ON l.name = p.name AND l.part = p.part WHERE p.name = ?", (name,))
        garbage = [(name, part) for part, live in await cursor.fetchall() if not live and part not in keep]
        for table in _STAGED:
            await self._db.executemany(f"DELETE FROM {table} WHERE name = ? AND part = ?", garbage)

    def _watch(self, manifest: RefManifest) -> None:
        """Log once when ``manifest``'s parts have not all come in ``complete_within_s``."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - load() runs in the loop
            return
        loop.call_later(self.complete_within_s, self._check_complete, manifest)

    def _check_complete(self, manifest: RefManifest) -> None:
        if self._pending.get(manifest.name) is not manifest:
            return
        staged = {part for part, in self._read("SELECT part FROM ref_part WHERE name = ?",
                                                (manifest.name,))}
        current = self._copies.get(manifest.name)
        kept = ("none yet" if current is None
                else f"version {current.version}" if current.version else "the whole list")
        log.warning("reference list %s version %s incomplete after %.0f s: %d of %d parts; "
                    "the copy in force stays (%s)", manifest.name, manifest.version,
                    self.complete_within_s, len(staged & set(manifest.parts)), len(manifest.parts), kept)

    # --- decoding -----------------------------------------------------------------------

    def _decode(self, payload: bytes) -> RefMessage | RefManifest:
        try:
            head = refdata.decode_head(payload)
        except (ValidationError, ValueError) as exc:
            raise RefRejected(f"malformed reference message: {str(exc)[:200]}") from None
        if head.facility != self.facility:
            raise RefRejected(f"reference data for facility {head.facility!r}, this kiosk is"
                              f" {self.facility!r}")
        return head

    async def _decode_head(self, payload: bytes, received_ms: int) -> RefCopy:
        head = self._decode(payload)
        if isinstance(head, RefMessage):
            return self._whole(head, payload, received_ms)
        return RefCopy(head.name, _aware(head.at), received_ms, await self._rows_of(head), payload,
                       head.version)

    def _whole(self, message: RefMessage, payload: bytes, received_ms: int) -> RefCopy:
        rows = message.rows()
        self._check(message.name, rows)
        index: Mapping[str, Any] | frozenset[str] = frozenset()
        if message.name == "plants":
            index = {row.tag: row for row in rows}
        elif message.name in refdata.TAG_POOLS:
            index = frozenset(rows)
        return RefCopy(message.name, _aware(message.at), received_ms, rows, payload, None, index)

    def _check(self, name: str, rows: Any) -> None:
        check = self._checks.get(name)
        if check is not None:
            try:
                check(rows)
            except ValueError as exc:
                raise RefRejected(f"{name}: {exc}") from None

    async def _rows_of(self, manifest: RefManifest) -> Any:
        """A v2 list's rows for memory, in the manifest's order; None for those on disk."""
        if manifest.name in ON_DISK:
            return None
        items: list[Any] = []
        for part in manifest.parts:
            cursor = await self._db.execute(
                "SELECT body FROM ref_row WHERE name = ? AND part = ? ORDER BY key", (manifest.name, part))
            items += [json.loads(body) for body, in await cursor.fetchall()]
        rows = refdata.part_rows(manifest.name, items)
        self._check(manifest.name, rows)
        return rows


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _decode_or_none(payload: bytes) -> RefMessage | RefManifest | None:
    try:
        return refdata.decode_head(payload)
    except ValueError:
        return None


def _json(body: str) -> Any:
    return json.loads(body)
