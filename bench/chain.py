"""The tamper-evident chain: what it costs ingest, how fast `verify` walks it, how fast a backup runs.

    .venv/bin/python bench/chain.py [--events 100000] [--ledger sqlite|postgres|both]

Fills a ledger with bench/ledger.py's generator (through ``Ledger.store`` and
``settle``, so every event and verdict is chained as in production), then prints
one JSON object per ledger: ``fill`` (events/s through store, chain included),
``verify`` (seconds, chain entries walked, entries/s) and, on SQLite, ``backup``
(seconds for the online backup of the filled file, MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ledger import Shape, fill  # noqa: E402
from bridge.ledger import backup_sqlite, open_ledger, verify_and_record  # noqa: E402


async def run_one(url: str, shape: Shape, scratch: Path) -> dict[str, Any]:
    ledger = await open_ledger(url)
    try:
        filled = await fill(ledger, shape)
        began = time.perf_counter()
        reports = await verify_and_record(ledger)
        took = time.perf_counter() - began
    finally:
        await ledger.close()
    entries = sum(r.entries for r in reports)
    out: dict[str, Any] = {
        "ledger": url.split(":", 1)[0], "fill": filled,
        "verify": {"seconds": round(took, 2), "entries": entries, "entries_per_s": round(entries / took),
                   "ok": all(r.mismatch is None for r in reports)},
    }
    if url.startswith("sqlite:///"):
        source = Path(url.removeprefix("sqlite:///"))
        began = time.perf_counter()
        await backup_sqlite(source, scratch / "copy.db")
        out["backup"] = {"seconds": round(time.perf_counter() - began, 2),
                         "mb": round((scratch / "copy.db").stat().st_size / 1e6, 1)}
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--ledger", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--dsn", default=os.environ.get(
        "CANOPY_BENCH_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    shape = Shape(events=args.events)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.ledger in ("sqlite", "both"):
            out.append(await run_one(f"sqlite:///{Path(tmp) / 'ledger.db'}", shape, Path(tmp)))
        if args.ledger in ("postgres", "both"):
            import psycopg

            name = f"canopy_bench_chain_{int(time.time())}"
            async with await psycopg.AsyncConnection.connect(args.dsn, autocommit=True) as admin:
                await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                out.append(await run_one(f"{args.dsn.rsplit('/', 1)[0]}/{name}", shape, Path(tmp)))
            finally:
                async with await psycopg.AsyncConnection.connect(args.dsn, autocommit=True) as admin:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
