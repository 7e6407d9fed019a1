"""Pipeline benchmark: prints one JSON object with the figures README.md records.

    .venv/bin/python bench/pipeline.py [--events 100000] [--appends 2000]

- outbox durable append latency p50/p99 (ms), one event per transaction, as a scan is;
- the raw SQLite commit rate with the same settings (WAL, synchronous=FULL, one
  INSERT per commit, same payloads) in the same run, and our append rate as a
  ratio of it (target >= 0.8);
- drain throughput of a backlog of N events (default 100,000) from a real agent
  process through a real Mosquitto into a real bridge process's SQLite ledger
  (events/s, target >= 2,500), and the raw paho QoS 1 publish rate to the same
  broker (same payloads, same in-flight window) as a ratio (target >= 0.5);
- agent idle RSS (MB, target <= 60).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.outbox import Outbox  # noqa: E402
from agent.testing import prefill_outbox  # noqa: E402
from agent.uplink import UplinkSettings  # noqa: E402
from cli.broker import Mosquitto  # noqa: E402

FACILITY, DEVICE = "CA-BENCH-0001", "kiosk-01"
TAG = "1A4FF0100000022000000123"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def outbox_appends(folder: Path, count: int) -> tuple[list[float], float, bytes]:
    box = await Outbox.open(folder / "outbox.db", facility=FACILITY, device=DEVICE)
    latencies = []
    start = time.perf_counter()
    payload = b""
    for _ in range(count):
        t0 = time.perf_counter()
        event = await box.append("plant.scanned", {"tag": TAG, "location": "Flower Room 1"},
                                 user="worker-1")
        latencies.append((time.perf_counter() - t0) * 1000)
        payload = event.to_json()
    rate = count / (time.perf_counter() - start)
    await box.close()
    return latencies, rate, payload


async def raw_aiosqlite_rate(folder: Path, count: int, payload: bytes) -> float:
    """The same INSERTs through aiosqlite alone: what its thread hand-off costs."""
    import aiosqlite

    db = await aiosqlite.connect(folder / "raw-aio.db", isolation_level=None)
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = FULL")
    await db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
                     " payload BLOB NOT NULL) STRICT")
    start = time.perf_counter()
    for i in range(count):
        await db.execute("INSERT INTO t (id, payload) VALUES (?, ?)", (str(i), payload))
    rate = count / (time.perf_counter() - start)
    await db.close()
    return rate


def raw_sqlite_rate(folder: Path, count: int, payload: bytes) -> float:
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
               " payload BLOB NOT NULL) STRICT")
    start = time.perf_counter()
    for i in range(count):
        db.execute("INSERT INTO t (id, payload) VALUES (?, ?)", (str(i), payload))
    rate = count / (time.perf_counter() - start)
    db.close()
    return rate


def count_rows(path: Path, query: str) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute(query).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=ROOT,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)


def drain(folder: Path, count: int) -> dict[str, float]:
    broker = Mosquitto(folder / "broker")
    broker.start()
    agent_dir = folder / "kiosk"
    agent_dir.mkdir()
    payload_size = prefill_outbox(agent_dir / "outbox.db", count, facility=FACILITY, device=DEVICE)
    (folder / "agent.toml").write_text(
        f'[kiosk]\nfacility = "{FACILITY}"\ndevice = "{DEVICE}"\nstate_dir = "{agent_dir}"\n'
        f"[mqtt]\nport = {broker.port}\n[ui]\nenabled = false\n"
    )
    ledger = folder / "ledger.db"
    (folder / "bridge.toml").write_text(
        f'[bridge]\nid = "bridge-bench"\n[mqtt]\nport = {broker.port}\n'
        f'[ledger]\nurl = "sqlite:///{ledger}"\n'
    )
    bridge = start(["bridge", "-c", str(folder / "bridge.toml")], folder / "bridge.log")
    agent: subprocess.Popen[bytes] | None = None
    try:
        time.sleep(1.5)  # bridge connected and subscribed
        t0 = time.perf_counter()
        agent = start(["agent", "-c", str(folder / "agent.toml")], folder / "agent.log")
        outbox = agent_dir / "outbox.db"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            stored = count_rows(outbox, "SELECT count(*) FROM outbox WHERE state = 'stored'")
            if stored >= count:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        in_ledger = count_rows(ledger, "SELECT count(*) FROM events")
        time.sleep(3)
        idle_rss = rss_mb(agent.pid)
    finally:
        for proc in (agent, bridge):
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    broker.stop()
    # The reference rate on a fresh broker of the same config: the drained one
    # rewrites its persistence file every second and would slow paho down.
    fresh = Mosquitto(folder / "raw-broker")
    fresh.start()
    try:
        raw_rate = raw_paho_rate(fresh, min(count, 20_000), payload_size)
    finally:
        fresh.stop()
    return {
        "drain_events": count,
        "drain_ledger_rows": in_ledger,
        "drain_seconds": round(elapsed, 2),
        "drain_events_per_s": round(count / elapsed, 1),
        "raw_paho_qos1_per_s": round(raw_rate, 1),
        "drain_vs_raw_paho": round(count / elapsed / raw_rate, 3),
        "agent_rss_after_drain_mb": round(idle_rss, 1),
    }


def raw_paho_rate(broker: Mosquitto, count: int, payload_size: int) -> float:
    """paho alone: publish QoS 1 to the same broker, same in-flight window, wait for all PUBACKs."""
    done = threading.Event()
    acked = 0

    def on_publish(client: paho.Client, userdata: object, mid: int, rc: object, props: object) -> None:
        nonlocal acked
        acked += 1
        if acked >= count:
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="raw-bench", protocol=paho.MQTTv5)
    client.max_inflight_messages_set(UplinkSettings().window)
    client.on_publish = on_publish
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    payload = b"x" * payload_size
    t0 = time.perf_counter()
    for _ in range(count):
        # A topic nobody subscribes to: the bridge's persistent session (still
        # queued at the broker) must not make the broker do extra work here.
        client.publish("bench/raw-paho", payload, qos=1)
    done.wait(120)
    rate = acked / (time.perf_counter() - t0)
    client.loop_stop()
    client.disconnect()
    return rate


def idle_agent_rss(folder: Path, *, screen: bool = True) -> float:
    """RSS of an idle agent with the default kiosk (simulated devices, touch-screen page)."""
    broker = Mosquitto(folder / f"idle-broker-{screen}")
    broker.start()
    (folder / "idle.toml").write_text(
        f'[kiosk]\nstate_dir = "{folder / f"idle-{screen}"}"\n[mqtt]\nport = {broker.port}\n'
        f"[ui]\nenabled = {'true' if screen else 'false'}\nport = 0\n"
    )
    agent = start(["agent", "-c", str(folder / "idle.toml")], folder / "idle.log")
    try:
        time.sleep(8)
        return rss_mb(agent.pid)
    finally:
        agent.terminate()
        agent.wait(10)
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="canopy-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        latencies, our_rate, payload = asyncio.run(outbox_appends(folder, args.appends))
        raw_rate = raw_sqlite_rate(folder, args.appends, payload)
        aio_rate = asyncio.run(raw_aiosqlite_rate(folder, args.appends, payload))
        figures: dict[str, object] = {
            "outbox_append_p50_ms": round(statistics.median(latencies), 3),
            "outbox_append_p99_ms": round(percentile(latencies, 99), 3),
            "outbox_appends_per_s": round(our_rate, 1),
            "raw_sqlite_commits_per_s": round(raw_rate, 1),
            "append_vs_raw_sqlite": round(our_rate / raw_rate, 3),
            "raw_aiosqlite_commits_per_s": round(aio_rate, 1),
            "append_vs_raw_aiosqlite": round(our_rate / aio_rate, 3),
        }
        figures.update(drain(folder, args.events))
        figures["agent_idle_rss_mb"] = round(idle_agent_rss(folder), 1)
        figures["agent_idle_rss_without_screen_mb"] = round(idle_agent_rss(folder, screen=False), 1)
        figures["targets"] = {
            "append_vs_raw_sqlite": ">= 0.8",
            "drain_events_per_s": ">= 2500",
            "drain_vs_raw_paho": ">= 0.5",
            "agent_idle_rss_mb": "<= 60",
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
