"""Several bridges on one PostgreSQL ledger: submit throughput with 1, 2 and 3 bridge
processes over 10 licences, and how long a killed bridge's licences take to move.

    .venv/bin/python bench/failover.py [--moves 300] [--licences 10] [--lease 10]

Prints one JSON object:

- ``throughput``: for 1, 2, 3 bridges, events per second from a filled ledger
  to "accepted" (first call to last verdict, from the ledger's own record), the
  licences each bridge held, and the rows the state received beyond one per
  event (target 0);
- ``failover``: three bridges under load, the one holding the most licences is
  killed with SIGKILL; seconds until every one of its licences is held by
  another bridge (target <= 15 s), until the first call of a newcomer, and
  whether every event still reached the state exactly once.

Real processes (``python -m cli bridge``), real Mosquitto, real PostgreSQL
(``CANOPY_TEST_PG``, default postgres@127.0.0.1:5432; a scratch database is
created and dropped), the Metrc simulator in this process over loopback HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.ingest import mentioned_tags  # noqa: E402
from bridge.ledger import IncomingEvent, open_ledger  # noqa: E402
from canopy.events import build_event  # noqa: E402
from canopy.ids import uuid7  # noqa: E402
from cli.broker import Mosquitto  # noqa: E402
from statesim.metrc import (  # noqa: E402
    DEMO_USER_KEY,
    DEMO_VENDOR_KEY,
    MetrcSimulator,
    RateLimit,
    SimConfig,
    demo_seed_for,
)

PG_ADMIN = os.environ.get("CANOPY_TEST_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
ROOMS = ("Flower Room A", "Flower Room B")


@asynccontextmanager
async def scratch_db() -> AsyncIterator[str]:
    name = f"canopy_bench_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(PG_ADMIN, autocommit=True) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        async with await psycopg.AsyncConnection.connect(PG_ADMIN, autocommit=True) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def config(tmp: Path, bridge_id: str, port: int, sim_url: str, dsn: str, licences: list[str],
           lease_s: float) -> Path:
    blocks = "".join(f"""
[[facilities]]
license = "{licence}"
state = "CA"
system = "metrc"
base_url = "{sim_url}"
timezone = "America/Los_Angeles"
flush_interval_s = 0.2
requests_per_s = 1000
timeout_s = 2.0
[facilities.metrc]
vendor_key = "{DEMO_VENDOR_KEY}"
user_key = "{DEMO_USER_KEY}"
""" for licence in licences)
    path = tmp / f"{bridge_id}.toml"
    path.write_text(f'[bridge]\nid = "{bridge_id}"\n[mqtt]\nport = {port}\n'
                    f'[ledger]\nurl = "{dsn}"\nlease_s = {lease_s}\n{blocks}')
    return path


def start_bridge(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cli", "bridge", "-c", str(conf)],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


async def fill(dsn: str, seed: Any, moves: int, first_seq: int) -> int:
    """``moves`` plant moves per licence straight into the ledger (as ingest stores them)."""
    ledger = await open_ledger(dsn)
    now = datetime.now(UTC)
    total = 0
    try:
        for licence in seed.licenses:
            plants = [p.label for p in licence.plants]
            batch = []
            for i in range(moves):
                seq = first_seq + i
                room = ROOMS[((seq - 1) // len(plants)) % 2]
                event = build_event("plant.moved", {"tag": plants[(seq - 1) % len(plants)], "location": room},
                                    id=uuid7(), facility=licence.number, device="kiosk-01", user="worker-1",
                                    at=now, seq=seq)
                batch.append(IncomingEvent(event.id, licence.number, "kiosk-01", seq, event.type,
                                           "2026-11-22T10:00:00.000Z", event.to_json(),
                                           mentioned_tags(event)))
            await ledger.store(batch, [])
            total += len(batch)
    finally:
        await ledger.close()
    return total


async def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows, or none while the first bridge has not created the tables yet."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        try:
            return list(await (await conn.execute(sql)).fetchall())
        except psycopg.errors.UndefinedTable:
            return []


async def wait_settled(dsn: str, total: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        ((settled,),) = await query(dsn, "SELECT count(*) FROM events WHERE status != 'stored'")
        if settled >= total:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"not settled in {limit_s:.0f} s")


def rows_sent(sim: MetrcSimulator) -> int:
    return sum(int(e["rows"] or 0) for e in sim.log
               if e["method"] != "GET" and (e["status"] == 200 or str(e["fault"]).startswith("commit")))


async def shared_out(dsn: str, licences: list[str], bridges: int, limit_s: float = 120) -> dict[str, str]:
    """Wait until every licence is held and the bridges hold as many each as they can."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        holders = {str(f): str(h) for f, h in await query(
            dsn, "SELECT facility, holder FROM leases WHERE expires > clock_timestamp()")}
        counts = Counter(holders.values())
        if (len(holders) == len(licences) and len(counts) == bridges
                and max(counts.values()) - min(counts.values()) <= 1):
            return holders
        await asyncio.sleep(0.2)
    raise TimeoutError("the leases were not shared out")


async def throughput(tmp: Path, port: int, seed: Any, config_sim: SimConfig, bridges: int, moves: int,
                     lease_s: float) -> dict[str, Any]:
    """The bridges start and share the licences out; then the ledger is filled at once."""
    licences = [lic.number for lic in seed.licenses]
    async with scratch_db() as dsn, MetrcSimulator(seed, config=config_sim) as sim:
        procs = [start_bridge(config(tmp, f"b{bridges}-{n}", port, sim.url, dsn, licences, lease_s),
                              tmp / f"b{bridges}-{n}.log") for n in range(bridges)]
        try:
            holders = await shared_out(dsn, licences, bridges)
            total = await fill(dsn, seed, moves, 1)
            await wait_settled(dsn, total, 600)
            ((first, last),) = await query(
                dsn, "SELECT min(a.at), (SELECT max(settled) FROM events) FROM attempts a")
            seconds = (int(last) - int(first)) / 1000
            return {"bridges": bridges, "events": total, "seconds": round(seconds, 2),
                    "events_per_s": round(total / seconds, 1),
                    "licences_by_bridge": dict(sorted(Counter(holders.values()).items())),
                    "rows_beyond_one_per_event": rows_sent(sim) - total}
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()


async def failover(tmp: Path, port: int, seed: Any, config_sim: SimConfig, moves: int,
                   lease_s: float) -> dict[str, Any]:
    licences = [lic.number for lic in seed.licenses]
    async with scratch_db() as dsn, MetrcSimulator(seed, config=config_sim) as sim:
        ids = [f"f-{n}" for n in range(3)]
        procs = {b: start_bridge(config(tmp, b, port, sim.url, dsn, licences, lease_s), tmp / f"{b}.log")
                 for b in ids}
        try:
            holders = await shared_out(dsn, licences, 3)
            total = await fill(dsn, seed, moves, 1)
            await asyncio.sleep(1.0)  # under load
            victim = Counter(holders.values()).most_common(1)[0][0]
            orphans = sorted(f for f, h in holders.items() if h == victim)
            os.kill(procs[victim].pid, signal.SIGKILL)
            killed = time.monotonic()
            killed_ms = int(time.time() * 1000)
            moved: float | None = None
            while moved is None and time.monotonic() - killed < 120:
                now_held = dict(await query(dsn, "SELECT facility, holder FROM leases"
                                                 " WHERE expires > clock_timestamp()"))
                if all(now_held.get(f) not in (None, victim) for f in orphans):
                    moved = time.monotonic() - killed
                await asyncio.sleep(0.1)
            await wait_settled(dsn, total, 600)
            marks = ",".join(f"'{f}'" for f in orphans)
            ((first_call,),) = await query(
                dsn, f"SELECT min(at) FROM attempts WHERE facility IN ({marks}) AND bridge != '{victim}'"
                     f" AND at >= {killed_ms}")
            statuses = Counter(str(s) for (s,) in await query(dsn, "SELECT status FROM events"))
            return {"lease_s": lease_s, "licences_moved": len(orphans),
                    "failover_s": None if moved is None else round(moved, 2),
                    "first_call_by_newcomer_s": None if first_call is None
                    else round((int(first_call) - killed_ms) / 1000, 2),
                    "events": total, "statuses": dict(statuses),
                    "rows_beyond_one_per_event": rows_sent(sim) - total}
        finally:
            for proc in procs.values():
                proc.kill()
                proc.wait()


async def main(moves: int, licences: int, lease_s: float) -> dict[str, Any]:
    seed = demo_seed_for(licences)
    config_sim = SimConfig(facility_limit=RateLimit(per_second=10_000, concurrent=100),
                           vendor_limit=RateLimit(per_second=10_000, concurrent=300))
    with tempfile.TemporaryDirectory(prefix="canopy-failover-") as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker")
        broker.start()
        try:
            runs = []
            for n in (1, 2, 3):
                runs.append(await throughput(tmp, broker.port, seed, config_sim, n, moves, lease_s))
                print(json.dumps(runs[-1]), file=sys.stderr)
            over = await failover(tmp, broker.port, seed, config_sim, moves, lease_s)
        finally:
            broker.kill()
    return {"licences": licences, "moves_per_licence": moves, "throughput": runs, "failover": over}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--moves", type=int, default=300, help="plant moves per licence")
    parser.add_argument("--licences", type=int, default=10)
    parser.add_argument("--lease", type=float, default=10.0, help="[ledger] lease_s")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.moves, args.licences, args.lease)), indent=2))
