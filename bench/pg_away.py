"""How long the PostgreSQL ledger takes to come back after its connection drops.

    .venv/bin/python bench/pg_away.py [--samples 5] [--away-s 3]

On a scratch database, a ledger stores one event every ``--every-ms`` (as ingest
would), and PostgreSQL goes away under it, two ways:

- ``killed``: its backend is terminated (a DBA, an idle-connection killer, a
  restart's first step); the next store reconnects by itself. Figure: the
  store that met the dead connection, in ms (reconnect and staging table included).
- ``refused``: connections are refused for ``--away-s`` seconds (a restart or a
  failover), then allowed again. Figure: from the moment the database accepts
  connections again to the first event stored, in seconds (the reconnect backoff:
  0.5 s doubling to 5 s), and the stores refused meanwhile (each fails at once).

Prints one JSON object with p50/max of each figure over ``--samples`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

import psycopg

from bridge.ledger import IncomingEvent, LedgerUnreachable, open_ledger
from canopy.ids import uuid7


def _event(seq: int) -> IncomingEvent:
    event_id = uuid7()
    return IncomingEvent(event_id, "CA-BENCH-0001", "kiosk-01", seq, "plant.moved",
                         "2026-12-01T10:00:00.000Z", f'{{"id":"{event_id}"}}'.encode())


async def _admin(dsn: str, sql: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
        await admin.execute(sql)


async def run(admin_dsn: str, samples: int, away_s: float, every_ms: float) -> dict[str, Any]:
    name = f"canopy_bench_away_{int(time.time())}"
    await _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    url = f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
    kill = (f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            " AND pid <> pg_backend_pid()")
    killed_ms: list[float] = []
    back_s: list[float] = []
    refused: list[int] = []
    seq = iter(range(1, 10**9))
    ledger = await open_ledger(url)
    try:
        for _ in range(samples):
            await ledger.store([_event(next(seq))], [])
            await _admin(admin_dsn, kill)
            began = time.perf_counter()
            await ledger.store([_event(next(seq))], [])
            killed_ms.append((time.perf_counter() - began) * 1000)

            await _admin(admin_dsn, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            await _admin(admin_dsn, kill)
            deadline = time.perf_counter() + away_s
            failed = 0
            while time.perf_counter() < deadline:
                try:
                    await ledger.store([_event(next(seq))], [])
                except LedgerUnreachable:
                    failed += 1
                await asyncio.sleep(every_ms / 1000)
            await _admin(admin_dsn, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            allowed = time.perf_counter()
            while True:
                try:
                    await ledger.store([_event(next(seq))], [])
                    break
                except LedgerUnreachable:
                    failed += 1
                    await asyncio.sleep(every_ms / 1000)
            back_s.append(time.perf_counter() - allowed)
            refused.append(failed)
    finally:
        await ledger.close()
        await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "samples": samples, "away_s": away_s, "store_every_ms": every_ms,
        "killed_store_ms": {"p50": round(statistics.median(killed_ms), 1), "max": round(max(killed_ms), 1)},
        "refused_back_after_s": {"p50": round(statistics.median(back_s), 2), "max": round(max(back_s), 2)},
        "stores_refused_while_away": {"p50": statistics.median(refused), "max": max(refused)},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--away-s", type=float, default=3.0)
    parser.add_argument("--every-ms", type=float, default=50.0)
    parser.add_argument("--dsn", default=os.environ.get(
        "CANOPY_BENCH_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    print(json.dumps(await run(args.dsn, args.samples, args.away_s, args.every_ms), indent=2))


if __name__ == "__main__":
    asyncio.run(main())
