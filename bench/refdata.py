"""Reference data at a real farm's size: 50,000 plants and 20,000 tags, bridge to kiosk.

    .venv/bin/python bench/refdata.py [--plants 50000] [--tags 20000] [--lookups 20000]

A private Mosquitto; the bridge's ``RefSync`` publishing (contract v2: manifest and
parts, tags as ranges) on a real MQTT connection; a kiosk in its own process (so its
memory is its own): the real ``Floor`` on a floor database file, fed by the real
``Uplink`` subscription. The kiosk reports (wall clock, same machine) when each new
version is in force.

Prints one JSON object:

- ``full_list_s``: from the bridge starting to publish both lists to both being usable
  at the kiosk; target <= 30 s;
- ``one_plant_change_s``: from the bridge publishing a list with one plant moved to the
  kiosk answering with the new room; target <= 5 s;
- ``kiosk_rss_growth_mb``: the kiosk's RSS with the lists in force minus before they
  came (``peak`` is VmHWM's growth, while a version was being applied); target <= 30 MB;
- ``room_ms``: a room's scan counting its plants (``Floor.count_in``), and listing them
  (``Floor.plants_in``, for a count or a move): each a query over the whole list, O(n);
- ``lookup_us``: a scan's ``Floor.resolve`` of a random plant / fresh tag / unknown tag,
  at this size and with a 1,000-plant list, both in parts on disk (O(log n): the two
  are close).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.floor import Floor  # noqa: E402
from agent.outbox import Outbox  # noqa: E402
from agent.uplink import Uplink, UplinkSettings  # noqa: E402
from bridge.refsync import RefSync, mqtt_publisher  # noqa: E402
from canopy.mqtt import MqttConnection, MqttSettings  # noqa: E402
from cli.broker import Mosquitto  # noqa: E402

FAC = "CA-BENCH-0001"
PLANT_BASE = "1A4FF0100000022"
TAG_BASE = "1A4FF0100000023"
ROOMS = ("Flower 1", "Flower 2", "Flower 3", "Veg 1", "Veg 2")
STRAINS = ("Blue Dream", "OG Kush", "Gelato", "Sour Diesel", "Wedding Cake")


def plants(n: int) -> list[dict[str, Any]]:
    return [{"tag": f"{PLANT_BASE}{i:09d}", "location": ROOMS[i % len(ROOMS)],
             "phase": "Flowering" if i % 3 else "Vegetative", "strain": STRAINS[i % len(STRAINS)],
             "plant_batch": f"{STRAINS[i % len(STRAINS)][:2].upper()}-{i // 100:05d}"} for i in range(n)]


def tags(n: int) -> list[str]:
    return [f"{TAG_BASE}{i:09d}" for i in range(n)]


def status_kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return 0.0


def mqtt(port: int) -> MqttSettings:
    return MqttSettings(host="127.0.0.1", port=port, backoff_min_s=0.05, backoff_max_s=0.5)


# --- the kiosk process -------------------------------------------------------------------

def say(**what: Any) -> None:
    print(json.dumps(what), flush=True)


async def kiosk(folder: Path, port: int) -> None:
    floor = await Floor.open(folder / "floor.db", facility=FAC)
    outbox = await Outbox.open(folder / "outbox.db", facility=FAC, device="kiosk-01")
    uplink = Uplink(mqtt(port), UplinkSettings(), outbox, on_ref=floor.apply_ref)

    def changed(name: str) -> None:
        copy = floor.ref.copy(name)
        say(event="in_force", name=name, version=copy.version if copy else None, t=time.time(),
            rss_kb=status_kb("VmRSS"), hwm_kb=status_kb("VmHWM"))

    floor.on_change.append(changed)
    task = asyncio.create_task(uplink.run())
    await uplink.conn.wait_connected()
    say(event="ready", rss_kb=status_kb("VmRSS"), hwm_kb=status_kb("VmHWM"))
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if command["do"] == "where":
            plant = floor.plant(command["tag"])
            say(event="where", tag=command["tag"], location=plant.location if plant else None)
        elif command["do"] == "lookups":
            say(event="lookups", **lookups(floor, command["plants"], command["tags"], command["n"]))
        elif command["do"] == "quit":
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await outbox.close()
    await floor.close()


def lookups(floor: Floor, n_plants: int, n_tags: int, n: int) -> dict[str, Any]:
    rng = random.Random(7)
    out: dict[str, Any] = {}
    cases: dict[str, Callable[[], str]] = {
        "plant": lambda: f"{PLANT_BASE}{rng.randrange(n_plants):09d}",
        "fresh_tag": lambda: f"{TAG_BASE}{rng.randrange(n_tags):09d}",
        "unknown_tag": lambda: f"1A4FF0100000024{rng.randrange(10**9):09d}",
    }
    for kind, make in cases.items():
        codes = [make() for _ in range(n)]
        times: list[float] = []
        for code in codes:
            start = time.perf_counter_ns()
            resolved = floor.resolve(code)
            times.append((time.perf_counter_ns() - start) / 1000)
            assert resolved.kind == kind, (code, resolved)
        times.sort()
        out[kind] = {"p50": round(times[n // 2], 1), "p99": round(times[int(n * 0.99)], 1)}
    # Scanning a room shows how many plants it holds (agent/workflows/scan.py); a count
    # or move of a room lists them.
    began = time.perf_counter()
    in_room = floor.count_in(ROOMS[0])
    counted = time.perf_counter()
    listed = len(floor.plants_in(ROOMS[0]))
    assert listed == in_room, (listed, in_room)
    out["room"] = {"plants": in_room, "count_ms": round((counted - began) * 1000, 1),
                   "list_ms": round((time.perf_counter() - counted) * 1000, 1)}
    return out


# --- the bench (bridge side) -------------------------------------------------------------

class KioskProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._new = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.events.append(json.loads(line))
            self._new.set()

    async def wait(self, match: Any, timeout: float = 300.0, since: int = 0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events[since:]:
                    if match(event):
                        return event
                self._new.clear()
                await self._new.wait()

    async def ask(self, **command: Any) -> dict[str, Any]:
        seen = len(self.events)
        await self.tell(**command)
        return await self.wait(lambda e: e["event"] == command["do"], since=seen)

    async def tell(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()


class NoState:
    provides: frozenset[str] = frozenset()

    async def fetch(self) -> dict[str, list[Any]]:
        return {}


async def one_run(folder: Path, n_plants: int, n_tags: int, n_lookups: int) -> dict[str, Any]:
    broker = Mosquitto(folder / "broker")
    broker.start()
    proc = None
    try:
        acked = sent = 0

        def on_publish(mid: int, accepted: bool, reason: str) -> None:
            nonlocal acked
            acked += 1

        connection = MqttConnection(mqtt(broker.port), client_id="bench-bridge", max_inflight=1000,
                                    on_publish=on_publish)
        conn_task = asyncio.create_task(connection.run())
        await connection.wait_connected()
        publish = mqtt_publisher(connection)

        def counted(topic: str, payload: bytes) -> None:
            nonlocal sent
            publish(topic, payload)
            sent += 1

        (folder / "kiosk").mkdir()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--kiosk", str(folder / "kiosk"), "--port", str(broker.port),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT)
        kiosk_proc = KioskProcess(proc)
        ready = await kiosk_proc.wait(lambda e: e["event"] == "ready", 60)

        lists = {"plants": plants(n_plants), "plant_tags": tags(n_tags)}
        sync = RefSync(FAC, NoState(), counted, interval_s=3600, static=lists)
        t0 = time.time()
        await sync.sync_once()
        published = time.time()

        def in_force(name: str, after: float) -> Any:
            return lambda e: e["event"] == "in_force" and e["name"] == name and e["t"] >= after

        got = [await kiosk_proc.wait(in_force(name, t0)) for name in lists]
        full_s = max(e["t"] for e in got) - t0
        settled = max(got, key=lambda e: e["t"])
        while acked < sent:  # noqa: ASYNC110 - paho's callbacks count the PUBACKs
            await asyncio.sleep(0.01)

        changed = plants(n_plants)
        moved = changed[n_plants // 2]
        moved["location"] = "Dry 9"
        t1 = time.time()
        await sync.set_static("plants", changed)
        change = await kiosk_proc.wait(in_force("plants", t1))
        change_s = change["t"] - t1
        where = await kiosk_proc.ask(do="where", tag=moved["tag"])
        assert where["location"] == "Dry 9", where
        at_size = await kiosk_proc.ask(do="lookups", plants=n_plants, tags=n_tags, n=n_lookups)

        # The same lookups over 1,000 plants, also kept on disk in parts (a small part size
        # keeps them out of one whole message): O(log n) means these are close to the above.
        small = {"plants": plants(1_000), "plant_tags": tags(1_000)}
        small_sync = RefSync(FAC, NoState(), counted, interval_s=3600, static=small,
                             max_payload_bytes=16 * 1024)
        t2 = time.time()
        await small_sync.sync_once()
        for name in small:
            await kiosk_proc.wait(in_force(name, t2))
        at_1000 = await kiosk_proc.ask(do="lookups", plants=1_000, tags=1_000, n=n_lookups)
        await kiosk_proc.tell(do="quit")
        await asyncio.wait_for(proc.wait(), 30)
        conn_task.cancel()
        await asyncio.gather(conn_task, return_exceptions=True)
        return {
            "plants": n_plants,
            "tags": n_tags,
            "messages_published": sent,
            "bridge_publish_s": round(published - t0, 2),
            "full_list_s": {"value": round(full_s, 2), "target": 30},
            "one_plant_change_s": {"value": round(change_s, 2), "target": 5},
            "kiosk_rss_growth_mb": {
                "value": round((settled["rss_kb"] - ready["rss_kb"]) / 1024, 1),
                "after_change": round((change["rss_kb"] - ready["rss_kb"]) / 1024, 1),
                "peak": round((change["hwm_kb"] - ready["hwm_kb"]) / 1024, 1),
                "baseline_mb": round(ready["rss_kb"] / 1024, 1),
                "target": 30,
            },
            "lookup_us": {"at_size": at_size["plant"] | {"n": n_lookups},
                          "fresh_tag_at_size": at_size["fresh_tag"],
                          "unknown_tag_at_size": at_size["unknown_tag"],
                          "plant_at_1000": at_1000["plant"],
                          "fresh_tag_at_1000": at_1000["fresh_tag"]},
            # Floor.plants_in over the list on disk: O(n) (a query over the list's rows).
            "room_ms": at_size["room"],
        }
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plants", type=int, default=50_000)
    parser.add_argument("--tags", type=int, default=20_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--kiosk", type=Path, help=argparse.SUPPRESS)  # the kiosk process
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.kiosk is not None:
        asyncio.run(kiosk(args.kiosk, args.port))
        return
    with tempfile.TemporaryDirectory(prefix="canopy-bench-refdata-") as tmp:
        result = asyncio.run(one_run(Path(tmp), args.plants, args.tags, args.lookups))
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
