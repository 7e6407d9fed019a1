"""A fleet of kiosks against one central service: 500 provisioned MQTT clients, one and three bridges.

    .venv/bin/python bench/fleet_load.py load [--kiosks 500] [--bridges 1,3] [--per-minute 12] [--seconds 60]
    .venv/bin/python bench/fleet_load.py ingest [--kiosks 50] [--events 400]

Every kiosk is its own identity, enrolled with `canopy provision`'s own
``enroll_kiosk`` (its own client certificate, CN = device id), all in one loop
on one open ``FacilityCA``; the broker config is written and Mosquitto started
once afterwards (the access list is read at start), exactly the config
`canopy provision broker` writes (TLS, login = certificate, dynamic-security
access list). The kiosks are plain paho clients (MQTT v5, TLS, client id =
login), a few hundred per process in a handful of processes, not agent
processes: what is measured is the central side. Each publishes real
``plant.scanned`` events (``canopy.events.build_event``) on its own events topic
and reads its acks topic with ``canopy.acks.decode``. The bridges are real
`canopy bridge` processes on a scratch PostgreSQL database (created and dropped
here; 127.0.0.1:5432 or CANOPY_TEST_PG) sharing the events through their
shared subscription. Loopback only.

``load``: each kiosk publishes one event at a time at ``--per-minute`` (random
phase), for ``--seconds``, then waits up to 30 s for the last acks. Rate
chosen: 12 events a minute per kiosk, i.e. a plant every 10 s with its scan and
its weight (two events), the pace of a worker at a harvest scale on a busy
harvest day (reference/domain.md gives no figure; Metrc's harvest entry is per
plant with its wet weight, so two events per plant). 500 kiosks -> 100 events/s.
Figures per bridge count: scan -> stored p50/p99 (kiosk side: publish to the
"stored" ack), events stored/s, each bridge's RSS (peak of 1 s samples, and
VmHWM) and CPU % over the publishing window (/proc), and the broker's
connection count (server-side ESTABLISHED sockets on its port from
/proc/net/tcp: the bridges' connections are included).

``ingest``: 50 kiosks each hold a backlog of ``--events`` events and publish it
as a reconnecting kiosk drains its outbox (100 events per message, at most
``--window`` unconfirmed events each); one bridge stores them. Then the very
event rows the bridge stored (the ten columns it writes, same bytes) are written
again, in the same database, into tables of the events table's shape and indexes
(``LIKE events INCLUDING ALL``): by one raw ``COPY`` in one transaction, by
``COPY`` in transactions of 1,000 rows (the bridge's batch; each commit durable, as
the bridge's must be before its acks), and by ``INSERT … SELECT unnest`` in
transactions of 1,000. Those raw writers write only the event rows; the ledger also
writes each event's tag index rows and its chain entry (``ledger_holds`` counts them),
so the very rows the ledger holds, all three tables', are also written again by
``COPY`` (``all_rows_copy*``): the issue's "the same rows". The ratio bridge rate /
raw rate, per event, is the figure (target >= 0.5). Beside it, the same
events through ``Ledger.store`` alone (no MQTT, acks or validation) into a fresh
ledger, and CPU per row on each side (the writer's process and its PostgreSQL
server process): on a shared machine the rates follow its load, the CPU less so.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.ingest import classify  # noqa: E402
from bridge.ledger import IncomingEvent, open_ledger  # noqa: E402
from canopy import acks as ack_messages  # noqa: E402
from canopy import topics  # noqa: E402
from canopy.events import build_event, join_events  # noqa: E402
from canopy.ids import uuid7  # noqa: E402
from canopy.mqtt import Message  # noqa: E402
from cli.broker import ProvisionedMosquitto  # noqa: E402
from provisioning import BrokerAddress, FacilityCA, enroll_bridge, enroll_kiosk, write_bundle  # noqa: E402

LICENSE = "CML-BENCH-0001"
PG_ADMIN = os.environ.get("CANOPY_TEST_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
KIOSK_PROCESSES = 4
DRAIN_S = 30.0
TICK = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)


# --- the facility: identities, broker, ledger --------------------------------------------------


def enroll_fleet(folder: Path, ca: FacilityCA, port: int, kiosks: int, bridges: list[str]) -> float:
    """Enroll every kiosk and bridge in one loop; only the files a client needs are written."""
    start = time.perf_counter()
    address = BrokerAddress("127.0.0.1", port)
    for n in range(kiosks):
        device = kiosk_name(n)
        bundle = enroll_kiosk(ca, device=device, broker=address, scanner="sim", headless=True,
                              simulated=True)
        target = folder / "kiosks" / device
        target.mkdir(parents=True)
        for name in ("client.crt", "client.key"):
            (target / name).write_bytes(bundle[name])
    (folder / "kiosks" / "ca.crt").write_bytes(ca.ca.cert_pem)
    for bridge_id in bridges:
        write_bundle(enroll_bridge(ca, bridge_id=bridge_id, broker=address), folder / "bundles" / bridge_id)
    return time.perf_counter() - start


def kiosk_name(n: int) -> str:
    return f"kiosk-{n + 1:04d}"


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    database = f"canopy_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{database}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def bridge_toml(folder: Path, bridge_id: str, port: int, ledger: str) -> Path:
    bundle = folder / "bundles" / bridge_id
    conf = folder / f"{bridge_id}.toml"
    tls = (f'tls = {{ ca_file = "{bundle / "ca.crt"}", cert_file = "{bundle / "client.crt"}",'
           f' key_file = "{bundle / "client.key"}" }}')  # inline tables are one line
    conf.write_text(f"""
[bridge]
id = "{bridge_id}"
[mqtt]
host = "127.0.0.1"
port = {port}
username = "{bridge_id}"
{tls}
[ledger]
url = "{ledger}"
""")
    return conf


@contextlib.contextmanager
def running_bridges(folder: Path, ids: list[str], port: int,
                    ledger: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen([sys.executable, "-m", "cli", "bridge", "-c",
                          str(bridge_toml(folder, b, port, ledger))],
                         stdout=(folder / f"{b}.log").open("ab"), stderr=subprocess.STDOUT,
                         start_new_session=True, cwd=ROOT)
        for b in ids
    ]
    try:
        deadline = time.monotonic() + 90
        while not all("connected to" in (folder / f"{b}.log").read_text(errors="replace") for b in ids):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the bridges did not connect; see their logs in {folder}")
            time.sleep(0.2)
        time.sleep(2.0)  # subscribed, ledger schema ready
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


# --- /proc ------------------------------------------------------------------------------------


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def broker_connections(port: int) -> int:
    """Server-side ESTABLISHED TCP connections on the broker's port."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def ledger_backends(ledger: str) -> list[int]:
    """The server processes of the bridges' connections to the scratch database, if they are local."""
    with psycopg.connect(ledger, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                            " AND pid <> pg_backend_pid()").fetchall()
    return [pid for (pid,) in rows if Path(f"/proc/{pid}/stat").exists()]


class Sampler(threading.Thread):
    """Bridge RSS and broker connections once a second while the kiosks publish."""

    def __init__(self, pids: list[int], port: int) -> None:
        super().__init__(daemon=True)
        self.pids, self.port = pids, port
        self.rss_peak = dict.fromkeys(pids, 0)
        self.connections: list[int] = []
        self.stop = threading.Event()

    def sample(self) -> None:
        for pid in self.pids:
            self.rss_peak[pid] = max(self.rss_peak[pid], status_kb(pid, "VmRSS"))
        self.connections.append(broker_connections(self.port))

    def run(self) -> None:
        self.sample()
        while not self.stop.wait(1.0):
            self.sample()


# --- the kiosks ---------------------------------------------------------------------------------


class Kiosk:
    """One paho client with a provisioned identity: publishes events, matches its acks."""

    def __init__(self, device: str, folder: Path, port: int, window: int) -> None:
        self.device = device
        self.events_topic = topics.events(LICENSE, device)
        self.acks_topic = topics.acks(LICENSE, device)
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.stored_at: list[float] = []
        self.lock = threading.Lock()
        self.room = threading.Semaphore(window)
        self.ready = threading.Event()
        self.seq = 0
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=device, protocol=paho.MQTTv5)
        self.client.username_pw_set(device)
        bundle = folder / "kiosks" / device
        self.client.tls_set(ca_certs=str(folder / "kiosks" / "ca.crt"), certfile=str(bundle / "client.crt"),
                            keyfile=str(bundle / "client.key"))
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port, keepalive=60)

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(self.acks_topic, qos=1)

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        now = time.perf_counter()
        try:
            answers = ack_messages.decode(bytes(message.payload))
        except ack_messages.InvalidAck:
            return
        with self.lock:
            for ack in answers:
                start = self.sent.pop(ack.id, None) if ack.id is not None else None
                if start is not None and ack.status in ("stored", "accepted"):
                    self.latencies.append((now - start) * 1000)
                    self.stored_at.append(time.time())
                    self.room.release()

    def build(self, count: int) -> tuple[list[str], bytes]:
        """``count`` events as one message (their ids, the message's bytes)."""
        payloads: list[bytes] = []
        ids: list[str] = []
        for _ in range(count):
            self.seq += 1
            event = build_event("plant.scanned", {"tag": f"1A4FF01{self.seq:08d}{self.device[-4:]}00000"},
                                id=uuid7(), facility=LICENSE, device=self.device, user="worker-1",
                                at=datetime.now(UTC), seq=self.seq)
            payloads.append(event.to_json())
            ids.append(event.id)
        return ids, join_events(payloads)

    def publish(self, message: tuple[list[str], bytes]) -> None:
        ids, payload = message
        now = time.perf_counter()
        with self.lock:
            for event_id in ids:
                self.sent[event_id] = now
        self.client.publish(self.events_topic, payload, qos=1)


def kiosk_process(devices: list[str], folder: str, port: int, mode: str, per_minute: float, seconds: float,
                  events: int, window: int, go: Any, results: Any) -> None:
    """A few hundred kiosks in one process: connect all, wait for the common start, publish, report."""
    kiosks = [Kiosk(d, Path(folder), port, window) for d in devices]
    for kiosk in kiosks:
        kiosk.client.loop_start()
    deadline = time.monotonic() + 120
    for kiosk in kiosks:
        kiosk.ready.wait(max(0.0, deadline - time.monotonic()))
    # A draining kiosk has its backlog on disk already: built before the clock starts.
    backlog = {k.device: [k.build(min(100, events - at)) for at in range(0, events, 100)]
               for k in kiosks} if mode == "ingest" else {}
    results.put(("ready", sum(k.ready.is_set() for k in kiosks)))
    go.wait()
    first = time.time()
    cpu_start = time.process_time()
    published = 0
    if mode == "load":
        interval = 60.0 / per_minute
        schedule = sorted((random.uniform(0, interval), i) for i in range(len(kiosks)))
        start = time.perf_counter()
        end = start + seconds
        queue = [(start + t, i) for t, i in schedule]
        while queue:
            due, i = queue.pop(0)
            if due >= end:
                break
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            kiosks[i].publish(kiosks[i].build(1))  # a scan makes its event as it happens
            published += 1
            # keep the queue ordered: the next due time is always the latest
            queue.append((due + interval, i))
    else:
        threads = []

        def drain(kiosk: Kiosk) -> None:
            for message in backlog[kiosk.device]:
                for _ in message[0]:
                    kiosk.room.acquire()
                kiosk.publish(message)

        for kiosk in kiosks:
            threads.append(threading.Thread(target=drain, args=(kiosk,), daemon=True))
            threads[-1].start()
        for thread in threads:
            thread.join()
        published = events * len(kiosks)
    drain_end = time.monotonic() + DRAIN_S
    while any(k.sent for k in kiosks) and time.monotonic() < drain_end:
        time.sleep(0.1)
    cpu_s = time.process_time() - cpu_start
    latencies = [v for k in kiosks for v in k.latencies]
    stored_at = [v for k in kiosks for v in k.stored_at]
    for kiosk in kiosks:
        kiosk.client.disconnect()
        kiosk.client.loop_stop()
    results.put(("done", {"published": published, "latencies": latencies, "first": first,
                          "last": max(stored_at, default=first),
                          "unanswered": sum(len(k.sent) for k in kiosks), "cpu_s": cpu_s}))


def run_kiosks(folder: Path, port: int, kiosks: int, mode: str, per_minute: float, seconds: float,
               events: int, window: int, pids: list[int], broker_pid: int, ledger: str) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    go, results = ctx.Event(), ctx.Queue()
    names = [kiosk_name(n) for n in range(kiosks)]
    groups = [names[i::KIOSK_PROCESSES] for i in range(KIOSK_PROCESSES) if names[i::KIOSK_PROCESSES]]
    procs = [ctx.Process(target=kiosk_process, args=(g, str(folder), port, mode, per_minute, seconds, events,
                                                     window, go, results)) for g in groups]
    connect_start = time.perf_counter()
    for proc in procs:
        proc.start()
    ready = sum(results.get(timeout=180)[1] for _ in procs)
    connect_s = time.perf_counter() - connect_start
    sampler = Sampler(pids, port)
    ticks = {pid: cpu_ticks(pid) for pid in pids}
    broker_ticks = cpu_ticks(broker_pid)
    backends = ledger_backends(ledger)
    backend_ticks = {pid: cpu_ticks(pid) for pid in backends}
    started = time.perf_counter()
    sampler.start()
    go.set()
    done = [results.get(timeout=seconds + DRAIN_S + 600)[1] for _ in procs]
    elapsed = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    for proc in procs:
        proc.join(30)
    latencies = [v for d in done for v in d["latencies"]]
    first, last = min(d["first"] for d in done), max(d["last"] for d in done)
    backends_cpu_s = sum(cpu_ticks(pid) - t for pid, t in backend_ticks.items()
                         if Path(f"/proc/{pid}").exists()) / TICK
    return {
        "kiosks_connected": ready,
        "connect_all_s": round(connect_s, 1),
        "published": sum(d["published"] for d in done),
        "stored_acked": len(latencies),
        "unanswered": sum(d["unanswered"] for d in done),
        "stored_per_s": round(len(latencies) / max(last - first, 1e-9), 1),
        "scan_to_stored_ms": {"p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
                              "p99": percentile(latencies, 99), "max": percentile(latencies, 100)},
        "bridges_proc": [
            {"rss_peak_mb": round(sampler.rss_peak[pid] / 1024, 1),
             "rss_hwm_mb": round(status_kb(pid, "VmHWM") / 1024, 1),
             "cpu_percent": round((cpu_ticks(pid) - ticks[pid]) / TICK / elapsed * 100, 1),
             "cpu_s": round((cpu_ticks(pid) - ticks[pid]) / TICK, 2)}
            for pid in pids
        ],
        # the bridges' own PostgreSQL server processes (local server only; else empty)
        "ledger_backends_cpu_percent": round(backends_cpu_s / elapsed * 100, 1),
        "ledger_backends_cpu_s": round(backends_cpu_s, 2),
        "broker_cpu_percent": round((cpu_ticks(broker_pid) - broker_ticks) / TICK / elapsed * 100, 1),
        # the simulated kiosks share the machine: what they cost is not the central side's
        "kiosk_processes_cpu_percent": round(sum(d["cpu_s"] for d in done) / elapsed * 100, 1),
        "broker_connections": {"max": max(sampler.connections, default=0),
                               "min": min(sampler.connections, default=0)},
    }


# --- the two benchmarks ------------------------------------------------------------------------


@contextlib.contextmanager
def running_broker(folder: Path, ca: FacilityCA, name: str) -> Iterator[ProvisionedMosquitto]:
    broker = ProvisionedMosquitto(folder / name, ca)
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


def broker_pid(broker: ProvisionedMosquitto) -> int:
    assert broker.proc is not None
    return broker.proc.pid


def load(folder: Path, ca: FacilityCA, args: argparse.Namespace,
         plans: list[list[str]]) -> list[dict[str, Any]]:
    """Each bridge count on a broker of its own, unless ``--one-broker``: a bridge that is gone
    keeps its persistent session (7 days) and with it its share of the shared subscription."""
    out = []
    with contextlib.ExitStack() as shared:
        one = shared.enter_context(running_broker(folder, ca, "mosquitto")) if args.one_broker else None
        for n, ids in enumerate(plans):
            with contextlib.ExitStack() as stack:
                broker = one or stack.enter_context(running_broker(folder, ca, f"mosquitto-{n}"))
                ledger = stack.enter_context(scratch_database())
                procs = stack.enter_context(running_bridges(folder, ids, broker.port, ledger))
                figures = run_kiosks(folder, broker.port, args.kiosks, "load", args.per_minute, args.seconds,
                                     0, 1_000_000, [p.pid for p in procs], broker_pid(broker), ledger)
                figures["broker_takeovers"] = broker.log_text().count("already connected")
            out.append({"bridges": len(ids), **figures})
    return out


# What the bridge writes of each event into ``events``; the raw writers write the same
# columns of the same rows (status, message, settled, answered take their defaults there too).
EVENT_COLUMNS = "id, facility, device, seq, type, at, received, digest, payload, tags"
RAW_BATCH = 1000  # rows per transaction where the raw side commits in batches: the bridge's batch_max


# Every row the ledger writes for a stored event (``ledger_rows``): its event row, its tag
# index rows and its chain entry, by table and columns: what ``raw_rates`` writes again for
# its "same rows" figures.
LEDGER_ROWS = (("events", EVENT_COLUMNS), ("event_tags", "tag, event_id, at"),
               ("chain", "facility, n, kind, ref, digest, prev, hash"))


def raw_rates(ledger: str) -> dict[str, Any]:
    """The rows the bridge stored, written again into tables of their tables' shape and
    indexes (``LIKE … INCLUDING ALL``), in the same database:

    - only the event rows: by one ``COPY`` in one transaction, by ``COPY`` in transactions of
      ``RAW_BATCH`` rows, and by ``INSERT … SELECT unnest`` in transactions of ``RAW_BATCH``;
    - the same rows as the ledger holds (``LEDGER_ROWS``: event rows, tag index rows, chain
      entries; ``all_rows_*``): by ``COPY`` in one transaction, and by ``COPY`` in as many
      transactions as the event rows' ``RAW_BATCH`` ones, each holding an equal share of
      every table's rows."""
    with psycopg.connect(ledger, autocommit=True) as conn:
        held = {table: conn.execute(f"SELECT {columns} FROM {table}").fetchall()
                for table, columns in LEDGER_ROWS}
        rows = held["events"]
        backend = int(conn.info.backend_pid)
        for table in ("raw_copy", "raw_copy_batched", "raw_unnest"):
            conn.execute(f"CREATE TABLE {table} (LIKE events INCLUDING ALL)")
        for variant in ("all", "all_batched"):
            for table, _ in LEDGER_ROWS:
                conn.execute(f"CREATE TABLE raw_{variant}_{table} (LIKE {table} INCLUDING ALL)")
        size = conn.execute("SELECT avg(pg_column_size(e.*)) FROM events e").fetchone()
        out: dict[str, Any] = {"rows": len(rows), "bytes_per_row": round(size[0] or 0) if size else 0,
                               "all_rows": sum(len(r) for r in held.values())}

        def timed(name: str, write: Any) -> None:
            start, cpu, ticks = time.perf_counter(), time.process_time(), cpu_ticks(backend)
            write()
            seconds = time.perf_counter() - start
            # per event row, also where the tag rows and chain entries were written too
            out[f"{name}_per_s"] = round(len(rows) / seconds, 1)
            # the writer's own CPU and its server process's, per event row
            out[f"{name}_cpu_us_per_row"] = round(((time.process_time() - cpu) + (cpu_ticks(backend) - ticks)
                                                   / TICK) / max(len(rows), 1) * 1e6, 1)

        def copy_into(table: str, columns: str, chunk: list[Any]) -> None:
            with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as c:
                for row in chunk:
                    c.write_row(row)

        def copy(table: str, chunk: int) -> None:
            for at in range(0, len(rows), chunk):
                with conn.transaction():
                    copy_into(table, EVENT_COLUMNS, rows[at:at + chunk])

        def copy_all(variant: str, transactions: int) -> None:
            for i in range(transactions):
                with conn.transaction():
                    for table, columns in LEDGER_ROWS:
                        part = held[table]
                        share = -(-len(part) // transactions)
                        copy_into(f"raw_{variant}_{table}", columns, part[i * share:(i + 1) * share])

        def unnest() -> None:
            for at in range(0, len(rows), RAW_BATCH):
                with conn.transaction():
                    conn.execute(
                        f"INSERT INTO raw_unnest ({EVENT_COLUMNS}) SELECT * FROM unnest(%s::text[],"
                        " %s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::bigint[],"
                        " %s::text[], %s::bytea[], %s::text[])",
                        [list(column) for column in zip(*rows[at:at + RAW_BATCH], strict=True)])

        timed("copy", lambda: copy("raw_copy", max(len(rows), 1)))
        timed("copy_batched", lambda: copy("raw_copy_batched", RAW_BATCH))
        timed("unnest", unnest)
        timed("all_rows_copy", lambda: copy_all("all", 1))
        timed("all_rows_copy_batched", lambda: copy_all("all_batched", max(1, -(-len(rows) // RAW_BATCH))))
    return out


def ledger_rows(ledger: str) -> dict[str, Any]:
    """What the ledger holds per stored event: its row, its tag index rows, its chain entry;
    and how many commits stored them (a batch's events share their ``received`` ms)."""
    with psycopg.connect(ledger, autocommit=True) as conn:
        events, tags, chain, commits = conn.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM event_tags),"
            " (SELECT count(*) FROM chain), (SELECT count(DISTINCT received) FROM events)").fetchone() \
            or (0, 0, 0, 0)
    return {"events": events, "event_tags_per_event": round(tags / max(events, 1), 2),
            "chain_entries_per_event": round(chain / max(events, 1), 2),
            "commits": commits, "events_per_commit": round(events / max(commits, 1), 1)}


def ledger_store_rate(ledger: str) -> dict[str, Any]:
    """The same events through the bridge's own store path (``Ledger.store``, batches of
    ``RAW_BATCH``) into a fresh ledger, without MQTT, acks or validation (done before the
    clock): what the ledger itself costs, beside the raw writers of the same run."""
    with psycopg.connect(ledger, autocommit=True) as conn:
        rows = conn.execute("SELECT facility, device, payload FROM events ORDER BY received, id").fetchall()
    items = [item for facility, device, payload in rows
             for item in classify(Message(topics.events(facility, device), bytes(payload), 1, False, 0, 0))]
    events = [item for item in items if isinstance(item, IncomingEvent)]

    async def store(url: str) -> dict[str, Any]:
        target = await open_ledger(url)
        try:
            backends = ledger_backends(url)
            ticks = {pid: cpu_ticks(pid) for pid in backends}
            start, cpu = time.perf_counter(), time.process_time()
            for at in range(0, len(events), RAW_BATCH):
                await target.store(events[at:at + RAW_BATCH], [])
            seconds = time.perf_counter() - start
            cpu_s = time.process_time() - cpu + sum(cpu_ticks(p) - t for p, t in ticks.items()) / TICK
        finally:
            await target.close()
        return {"per_s": round(len(events) / seconds, 1),
                "cpu_us_per_event": round(cpu_s / max(len(events), 1) * 1e6, 1)}

    with scratch_database() as url:
        return asyncio.run(store(url))


def ingest(folder: Path, ca: FacilityCA, args: argparse.Namespace) -> dict[str, Any]:
    with running_broker(folder, ca, "mosquitto") as broker, scratch_database() as ledger:
        with running_bridges(folder, ["bridge-1"], broker.port, ledger) as procs:
            figures = run_kiosks(folder, broker.port, args.kiosks, "ingest", 0, 0, args.events, args.window,
                                 [p.pid for p in procs], broker_pid(broker), ledger)
        figures["broker_takeovers"] = broker.log_text().count("already connected")
        held = ledger_rows(ledger)
        raw = raw_rates(ledger)
        alone = ledger_store_rate(ledger)
    rate = figures["stored_per_s"]
    # What a stored event costs the bridge in CPU: unlike the rates, it hardly depends on
    # what else the machine is running.
    cpu_s = sum(b["cpu_s"] for b in figures["bridges_proc"])
    stored = max(figures["stored_acked"], 1)
    figures["bridge_cpu_us_per_event"] = round(cpu_s / stored * 1e6, 1)
    backends_s = figures.pop("ledger_backends_cpu_s")
    figures["ledger_backends_cpu_us_per_event"] = round(backends_s / stored * 1e6, 1)
    return {**figures, "ledger_holds": held, "raw": raw, "ledger_store_alone": alone,
            "ratio_vs_copy": round(rate / raw["copy_per_s"], 3),
            "ratio_vs_copy_batched": round(rate / raw["copy_batched_per_s"], 3),
            "ratio_vs_unnest": round(rate / raw["unnest_per_s"], 3),
            # the same rows: event rows, tag index rows and chain entries, as the ledger holds
            "ratio_vs_all_rows_copy": round(rate / raw["all_rows_copy_per_s"], 3),
            "ratio_vs_all_rows_copy_batched": round(rate / raw["all_rows_copy_batched_per_s"], 3),
            "ledger_store_alone_vs_copy": round(alone["per_s"] / raw["copy_per_s"], 3),
            "ledger_store_alone_vs_copy_batched": round(alone["per_s"] / raw["copy_batched_per_s"], 3),
            "target_ratio": 0.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("load", "ingest"))
    parser.add_argument("--kiosks", type=int)
    parser.add_argument("--bridges", default="1,3", help="load: bridge counts to run, in turn")
    parser.add_argument("--per-minute", type=float, default=12.0, help="load: events a minute per kiosk")
    parser.add_argument("--seconds", type=float, default=60.0, help="load: how long the kiosks publish")
    parser.add_argument("--one-broker", action="store_true",
                        help="load: all bridge counts on one broker (a gone bridge keeps its share)")
    parser.add_argument("--events", type=int, default=400, help="ingest: backlog per kiosk")
    parser.add_argument("--window", type=int, default=500, help="ingest: unconfirmed events per kiosk")
    args = parser.parse_args()
    args.kiosks = args.kiosks or (500 if args.mode == "load" else 50)
    folder = Path(tempfile.mkdtemp(prefix="canopy-bench-"))
    folder.chmod(0o755)  # Mosquitto started as root drops to its own user
    try:
        ca = FacilityCA.create(folder / "pki", LICENSE)
        counts = [int(c) for c in args.bridges.split(",")] if args.mode == "load" else [1]
        plans = ([[f"bridge-{c}x{n + 1}" for n in range(c)] for c in counts] if args.mode == "load"
                 else [["bridge-1"]])
        # The port is only written into bundles the kiosks here do not read.
        enroll_s = enroll_fleet(folder, ca, 8883, args.kiosks, [b for ids in plans for b in ids])
        head = {"bench": f"fleet_load.{args.mode}", "host": platform.node(), "cpus": os.cpu_count(),
                "ledger": "postgresql", "kiosks": args.kiosks, "enroll_s": round(enroll_s, 1)}
        if args.mode == "load":
            result = {**head, "per_kiosk_per_minute": args.per_minute, "seconds": args.seconds,
                      "offered_per_s": round(args.kiosks * args.per_minute / 60, 1),
                      "one_broker": args.one_broker, "runs": load(folder, ca, args, plans)}
        else:
            result = {**head, "events_per_kiosk": args.events, **ingest(folder, ca, args)}
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
