"""Fill a ledger fast: bench/ledger.py's events, written in bulk as ingest would have written them.

    .venv/bin/python bench/bulk.py --url postgresql://…/canopy_10m [--events 10000000]
    .venv/bin/python bench/bulk.py --url sqlite:////var/tmp/ledger-10m.db [--events 10000000]

Through ``Ledger.store`` a ledger fills at about 1,300 events/s, hours for the issue's
10,000,000. Here the same events (``draw``: the mix, facilities, years, verdicts and
outages of ``fill``; each a real contract event, bench/registers.py's ``Maker``, unless
``make`` says otherwise) go straight into the ledger's own tables: PostgreSQL by ``COPY``,
SQLite by ``executemany``, a large transaction at a time. The rows are the ledger's
own: each event's row (``stored_row``) with its verdict, its index keys
(``event_tag_rows``), and its facility's chain entries linked by the ledger's
``ChainHead`` from the ledger's digests (``stored_entry``, ``verdict_entry``), so the
result passes ``canopy bridge verify`` and answers every report as a ledger filled
through ``store`` does (tests/bench/test_bulk.py). The schema is made by opening the
ledger first. Each event reaches the bridge ``RECEIVED_AFTER_MS`` after it was recorded
and is settled ``SETTLED_AFTER_MS`` after its batch, and its kiosk is told
(``answered``), as a bridge keeping up would have; PostgreSQL is then vacuumed and
analysed, as autovacuum keeps a ledger that grew over years.

Prints the fill as JSON (events, seconds, events/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ledger import Batch, OutageSpan, Shape, draw, outage_spans  # noqa: E402
from bridge.ledger import (  # noqa: E402
    CHAIN_COLUMNS,
    STORED_COLUMNS,
    TAG_COLUMNS,
    ChainHead,
    event_tag_rows,
    open_ledger,
    stored_entry,
    stored_row,
    verdict_entry,
)

RECEIVED_AFTER_MS = 1_500
SETTLED_AFTER_MS = 300_000
EVENT_COLUMNS = (*STORED_COLUMNS, "status", "message", "settled", "answered")
OUTAGE_COLUMNS = ("facility", "started", "ended", "cause", "alerted")
CHUNK = 50  # batches (of 2,000 events) per transaction


@dataclass
class Rows:
    """One transaction's rows, per table."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[str, str, str]] = field(default_factory=list)
    chain: list[tuple[Any, ...]] = field(default_factory=list)


def rows_of(batches: Iterable[Batch], heads: dict[str, ChainHead]) -> Rows:
    """The rows ``store`` then ``settle`` (and ``mark_answered``) write for ``batches``,
    their chain entries linked after ``heads`` (moved on)."""
    out = Rows()
    for batch in batches:
        received = [at + RECEIVED_AFTER_MS for at in batch.at_ms]
        settled = max(received) + SETTLED_AFTER_MS
        verdicts = {a.id: a for a in batch.answers}
        for e, when in zip(batch.events, received, strict=True):
            answer = verdicts.get(e.id)
            verdict = ((answer.status, answer.message, settled, 1) if answer is not None
                       else ("stored", None, None, 0))
            out.events.append((*stored_row(e, when), *verdict))
        out.tags += event_tag_rows(batch.events)
        # As ingest chains them: the batch's events when stored, then their verdicts.
        facility = {e.id: e.facility for e in batch.events}
        entries = [stored_entry(e, when) for e, when in zip(batch.events, received, strict=True)]
        entries += [verdict_entry(facility[a.id], a, settled) for a in batch.answers]
        for entry in entries:
            head = heads.setdefault(entry.facility, ChainHead(entry.facility))
            out.chain += head.extend([entry])
    return out


def chunks(batches: Iterable[Batch], size: int = CHUNK) -> Iterable[list[Batch]]:
    group: list[Batch] = []
    for batch in batches:
        group.append(batch)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _marks(columns: Sequence[str]) -> str:
    return f"({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _outage_row(span: OutageSpan) -> tuple[str, int, int, str, int]:
    return (span.facility, span.started, span.ended, span.cause, 0)


def _sqlite(path: Path, batches: Iterable[Batch], outages: list[OutageSpan],
            progress: Callable[[int], None]) -> None:
    db = sqlite3.connect(path, isolation_level=None, timeout=600)  # other parts' writers take turns
    try:
        # A scratch fill: durability per commit is not needed, memory for the indexes is.
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -1000000")
        heads = {str(f): ChainHead(str(f), int(n), str(h))
                 for f, n, h in db.execute("SELECT facility, n, hash FROM chain_heads")}
        done = 0
        for group in chunks(batches):
            rows = rows_of(group, heads)
            db.execute("BEGIN IMMEDIATE")
            db.executemany(f"INSERT INTO events {_marks(EVENT_COLUMNS)}", rows.events)
            db.executemany(f"INSERT INTO event_tags {_marks(TAG_COLUMNS)}", rows.tags)
            db.executemany(f"INSERT INTO chain {_marks(CHAIN_COLUMNS)}", rows.chain)
            db.executemany(_HEADS, _head_rows(heads))  # with their rows, as on PostgreSQL
            db.execute("COMMIT")
            done += len(rows.events)
            progress(done)
        db.execute("BEGIN IMMEDIATE")
        db.executemany(f"INSERT INTO outages {_marks(OUTAGE_COLUMNS)}", [_outage_row(s) for s in outages])
        db.execute("COMMIT")
    finally:
        db.close()


_HEADS = ("INSERT INTO chain_heads (facility, n, hash) VALUES (?, ?, ?) ON CONFLICT (facility)"
          " DO UPDATE SET n = excluded.n, hash = excluded.hash")


def _head_rows(heads: dict[str, ChainHead]) -> list[tuple[str, int, str]]:
    return [(h.facility, h.n, h.hash) for h in heads.values() if h.n]


def _postgres(dsn: str, batches: Iterable[Batch], outages: list[OutageSpan],
              progress: Callable[[int], None]) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute("SET synchronous_commit = off")
        heads = {str(f): ChainHead(str(f), int(n), str(h))
                 for f, n, h in conn.execute("SELECT facility, n, hash FROM chain_heads").fetchall()}
        done = 0
        with conn.cursor() as cur:
            for group in chunks(batches):
                rows = rows_of(group, heads)
                for table, columns, table_rows in (("events", EVENT_COLUMNS, rows.events),
                                                   ("event_tags", TAG_COLUMNS, rows.tags),
                                                   ("chain", CHAIN_COLUMNS, rows.chain)):
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in table_rows:
                            copy.write_row(row)
                # The heads with their rows: a fill stopped part way is a whole ledger.
                cur.executemany(_HEADS.replace("?", "%s"), _head_rows(heads))
                conn.commit()
                done += len(rows.events)
                progress(done)
            cur.executemany(f"INSERT INTO outages ({', '.join(OUTAGE_COLUMNS)}) VALUES (%s, %s, %s, %s, %s)",
                            [_outage_row(s) for s in outages])
        conn.commit()


def _write(url: str, batches: Iterable[Batch], outages: list[OutageSpan],
           progress: Callable[[int], None]) -> None:
    if url.startswith("sqlite:///"):
        _sqlite(Path(url.removeprefix("sqlite:///")), batches, outages, progress)
    else:
        _postgres(url, batches, outages, progress)


def _part(url: str, shape: Shape, seed: int, facilities: list[int]) -> tuple[int, int]:
    """One process's share: these facilities' events, drawn and written (events, rejected)."""
    from bench.registers import Maker

    counted = _Counter(draw(shape, seed=seed, make=Maker(), facilities=facilities))
    _write(url, counted, [], every(60, f"part {facilities[0]}: "))
    return counted.events, counted.rejected


async def bulk_fill(url: str, shape: Shape, *, seed: int = 7, batches: Iterable[Batch] | None = None,
                    processes: int = 1, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Fill the ledger at ``url`` with ``batches`` (default: ``draw(shape)`` of real contract
    events; with ``processes`` > 1, each process draws and writes the events of every
    ``processes``-th facility, with its own seed) and ``shape``'s outages, then vacuum
    and analyse PostgreSQL; returns the fill's figures."""
    started = time.perf_counter()
    ledger = await open_ledger(url)  # the ledger's own schema (and upgrades)
    await ledger.close()
    outages = outage_spans(shape, seed=seed)
    if batches is None and processes > 1:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            loop = asyncio.get_running_loop()
            parts = await asyncio.gather(*(
                loop.run_in_executor(pool, _part, url, shape, seed * 1000 + p,
                                     list(range(p, shape.facilities, processes)))
                for p in range(processes)))
        events, rejected = sum(p[0] for p in parts), sum(p[1] for p in parts)
        await asyncio.to_thread(_write, url, [], outages, progress or (lambda done: None))
    else:
        if batches is None:
            from bench.registers import Maker

            batches = draw(shape, seed=seed, make=Maker())
        counted = _Counter(batches)
        await asyncio.to_thread(_write, url, counted, outages, progress or (lambda done: None))
        events, rejected = counted.events, counted.rejected
    if not url.startswith("sqlite:///"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    return {"events": events, "facilities": shape.facilities, "years": shape.years,
            "rejected": rejected, "outages": len(outages), "seconds": round(seconds, 1),
            "events_per_s": round(events / seconds), "processes": processes,
            "how": "bulk (bench/bulk.py)"}


class _Counter:
    """Passes batches through, counting what went by."""

    def __init__(self, batches: Iterable[Batch]) -> None:
        self._batches = batches
        self.events = 0
        self.rejected = 0

    def __iter__(self) -> Iterator[Batch]:
        for batch in self._batches:
            self.events += len(batch.events)
            self.rejected += sum(a.status == "rejected" for a in batch.answers)
            yield batch


def every(seconds: float, prefix: str = "") -> Callable[[int], None]:
    """A progress callback printing to stderr at most every ``seconds``."""
    last = [time.monotonic()]

    def progress(done: int) -> None:
        if time.monotonic() - last[0] > seconds:
            last[0] = time.monotonic()
            print(f"  {prefix}{done:,} events written", file=sys.stderr, flush=True)
    return progress


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--url", required=True, help="sqlite:///PATH or postgresql://… (an empty ledger)")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--processes", type=int, default=1,
                        help="draw and write with this many processes (facilities shared out)")
    args = parser.parse_args()
    filled = asyncio.run(bulk_fill(args.url, Shape(events=args.events), processes=args.processes,
                                   progress=every(30)))
    print(json.dumps(filled, indent=2))


if __name__ == "__main__":
    main()
