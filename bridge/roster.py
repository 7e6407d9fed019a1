"""A facility's workers, managed centrally: its workers file, published to every kiosk.

IT keeps one workers file per facility (``workers_file`` under ``[[facilities]]``,
written by ``canopy bridge add-worker`` / ``remove-worker``; the same JSON as a
kiosk's own file, see ``canopy.workerfile``). The bridge publishes it as the
retained ``workers`` reference list through the facility's ``RefSync``, so a new
hire can sign in, and a leaver is refused and signed out, at every kiosk at once
(NM: keep a list of users and remove people who leave).

The file is checked every ``poll_s`` (a ``stat``; read only when it changed), so
a change needs no restart. A file that turns malformed or goes missing is
reported and the last good list stays published: a typo must not lock the whole
facility out. An empty list in a valid file is published as it is (everyone
removed).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from bridge.refsync import RefSync
from canopy.refdata import Roster
from canopy.workerfile import BRIDGE_HINT, WorkerFileError, read_file, to_roster

log = logging.getLogger(__name__)

POLL_S = 2.0

# What tells a changed file: an atomic replace makes a new inode, an edit in place
# a new mtime or size.
Signature = tuple[int, int, int] | None


def signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_roster(path: Path) -> tuple[Roster | None, Signature]:
    """The file as a roster (None while it does not exist) and its signature.

    Raises ``WorkerFileError`` naming the file and key for a malformed file.
    """
    sig = signature(path)
    if sig is None:
        return None, None
    try:
        return to_roster(read_file(path, hint=BRIDGE_HINT)), sig
    except WorkerFileError:
        if signature(path) is None:  # removed between the stat and the read
            return None, None
        raise


class RosterFeed:
    """Publishes ``path`` as ``facility``'s ``workers`` list whenever the file changes.

    ``started_with`` is the signature of the file the bridge started with (its roster
    is among the sync's static names). It is offered once more on the first check,
    so it goes out even while the state API is down (the sync's own publish waits
    for a good read of the state).
    """

    def __init__(self, facility: str, path: Path, sync: RefSync, *, started_with: Signature = None,
                 poll_s: float = POLL_S) -> None:
        self.facility = facility
        self.path = path
        self.poll_s = poll_s
        self._sync = sync
        self._seen = started_with
        self._pending = started_with is not None  # read fine, not known to be published: try
        #: What is wrong with the file now (None when its last version was published).
        self.error: str | None = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            await self.check()

    async def check(self) -> bool:
        """Publish the file if it changed since last time; True when a message went out."""
        sig = signature(self.path)
        if sig == self._seen and not self._pending:
            return False
        self._seen = sig
        try:
            roster, _ = read_roster(self.path)
        except WorkerFileError as exc:
            self._pending = False
            self._report(f"{exc}; the kiosks keep the last list")
            return False
        if roster is None:
            self._pending = False
            self._report(f"workers file {self.path} is gone; the kiosks keep the last list")
            return False
        try:
            sent = await self._sync.set_static("workers", roster)
        except Exception as exc:  # a broker away (NotConnected), a list over the size limit
            self._pending = True
            self._report(f"workers file {self.path}: not published yet ({exc}); trying again")
            return False
        self._pending = False
        self.error = None
        if sent:
            log.info("%s: worker list published from %s (%d worker%s)", self.facility, self.path,
                     len(roster.workers), "" if len(roster.workers) == 1 else "s")
        return sent

    def _report(self, problem: str) -> None:
        if problem != self.error:  # once per problem, not every poll
            log.error("%s: %s", self.facility, problem)
        self.error = problem
