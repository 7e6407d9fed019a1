"""The bridge's ledger: every event id stored exactly once, on SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from bridge.ledger._backup import backup_sqlite, has_chain, verify_and_record
from bridge.ledger._base import (
    STORED_COLUMNS,
    TAG_COLUMNS,
    IncomingEvent,
    Ledger,
    LedgerCounts,
    QuarantineBound,
    Rejected,
    StoreResult,
    event_tag_rows,
    stored_entry,
    stored_row,
)
from bridge.ledger._chain import CHAIN_COLUMNS, ChainHead, ChainReport, Mismatch
from bridge.ledger._console import ConsoleEntry, ConsoleUser, UserExists
from bridge.ledger._migrate import CannotOpen, Migrated, migrate
from bridge.ledger._pgsession import where
from bridge.ledger._postgres import PostgresLedger
from bridge.ledger._queries import (
    AMBIGUOUS,
    GAP_WAIT_MS,
    REGISTER_TYPES,
    SENDING,
    WORKER_KEY,
    Answer,
    Attempt,
    Backfilled,
    Fence,
    LeaseLost,
    LedgerUnreachable,
    Outage,
    Timing,
    ToSubmit,
    Unanswered,
    verdict_entry,
)
from bridge.ledger._sqlite import SqliteLedger

__all__ = [
    "AMBIGUOUS",
    "CHAIN_COLUMNS",
    "GAP_WAIT_MS",
    "REGISTER_TYPES",
    "SENDING",
    "STORED_COLUMNS",
    "TAG_COLUMNS",
    "WORKER_KEY",
    "Answer",
    "Attempt",
    "Backfilled",
    "CannotOpen",
    "ChainHead",
    "ChainReport",
    "ConsoleEntry",
    "ConsoleUser",
    "Fence",
    "IncomingEvent",
    "LeaseLost",
    "Ledger",
    "LedgerCounts",
    "LedgerUnreachable",
    "Migrated",
    "Mismatch",
    "Outage",
    "PostgresLedger",
    "QuarantineBound",
    "Rejected",
    "SqliteLedger",
    "StoreResult",
    "Timing",
    "ToSubmit",
    "Unanswered",
    "UserExists",
    "backup_sqlite",
    "describe",
    "event_tag_rows",
    "has_chain",
    "migrate",
    "open_ledger",
    "stored_entry",
    "stored_row",
    "verdict_entry",
    "verify_and_record",
]


def describe(url: str) -> str:
    """The ledger's URL for a log line or a message: a PostgreSQL URL without its
    user and password (``PostgreSQL at host:port/database``)."""
    return where(url) if url.startswith(("postgresql://", "postgres://")) else url


async def open_ledger(url: str) -> Ledger:
    """``sqlite:///path/to/ledger.db`` (relative paths allowed) or ``postgresql://…``."""
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresLedger.open(url)
    if url.startswith("sqlite:///"):
        return await SqliteLedger.open(Path(url.removeprefix("sqlite:///")))
    raise ValueError(f"ledger url must start with sqlite:/// or postgresql://, not {url!r}")
