"""Is the kiosk's storage full? One answer for the whole agent.

A kiosk that starts on a full disk must still come up: show the problem on the
screen, refuse new records with a message that says so, and keep sending what
its outbox already holds (reading needs no space). What counts as full, and what
the worker and IT are told, is declared here once.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

# Below this, SQLite cannot be trusted to commit a record (a WAL frame, a checkpoint):
# the kiosk says storage is full before a worker finds out by a refused scan.
LOW_BYTES = 1024 * 1024
STORAGE_FULL_PREFIX = "Kiosk storage"  # every storage fault's first words (agent.outbox_db too)
# A record refused because no outbox file could be made: the words of a full disk's refusal.
STORAGE_FULL_REFUSAL = "Kiosk storage is full: this record was NOT saved. Free space or call IT."


def free_bytes(path: Path) -> int | None:
    """Bytes free to this process on the filesystem holding ``path`` (None: cannot tell)."""
    here = path
    while not here.exists() and here != here.parent:
        here = here.parent
    try:
        return shutil.disk_usage(here).free
    except OSError:
        return None


def storage_full(path: Path) -> bool:
    free = free_bytes(path)
    return free is not None and free < LOW_BYTES


def storage_fault(path: Path) -> str | None:
    """What the status bar says while storage at ``path`` is full, or None."""
    free = free_bytes(path)
    if free is None or free >= LOW_BYTES:
        return None
    return (f"Kiosk storage is full ({free // 1024} KB free): new records cannot be saved. "
            "Records already saved are still being sent. Free space or call IT.")


def full_error(exc: BaseException, path: Path) -> bool:
    """``exc`` is what a full disk raises: SQLite's SQLITE_FULL, ENOSPC, or a disk I/O error
    while the disk has no room (SQLite reports a failed WAL or -shm write as I/O)."""
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith("SQLITE_FULL") or "database or disk is full" in str(exc):
            return True
        if name.startswith("SQLITE_IOERR") or "disk I/O error" in str(exc):
            return storage_full(path)
        return False
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
