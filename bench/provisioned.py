"""Scan → "stored" on the kiosk, on the production broker config with two bridges.

    .venv/bin/python bench/provisioned.py [--scans 200] [--bridges 2]

Mosquitto runs exactly the config `canopy provision broker` writes (TLS, login =
certificate, the dynamic-security access list, client id = login); a kiosk and
two bridges are enrolled with `canopy provision`'s own functions. Both bridges
are real `canopy bridge` processes on one PostgreSQL ledger (127.0.0.1:5432, or
CANOPY_TEST_PG), sharing the events through their shared subscription, each with
a Metrc facility profile against the Metrc simulator (so each also publishes
reference data, which used to take over its ingest connection). The kiosk is
the agent's real outbox and uplink (ack timeout 30 s, the default).

One scan at a time, 50 ms apart: the time from the outbox append (the scan
becoming a record) to the record's state leaving "pending" on the kiosk (the
bridge said "stored", or already "accepted"), polled every 5 ms. Prints one JSON
object; target p99 < 1000 ms. Also counts bridge reconnects and broker session
takeovers (both should be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.outbox import Outbox  # noqa: E402
from agent.uplink import Uplink, UplinkSettings  # noqa: E402
from canopy.mqtt import MqttSettings, TlsSettings  # noqa: E402
from cli.broker import ProvisionedMosquitto  # noqa: E402
from provisioning import BrokerAddress, FacilityCA, enroll_bridge, enroll_kiosk, write_bundle  # noqa: E402
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, MetrcSimulator  # noqa: E402

LICENSE = DEMO_LICENSES[0]
PG_ADMIN = os.environ.get("CANOPY_TEST_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_bridge(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "cli", "bridge", "-c", str(conf)], stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def mosquitto_version(binary: str) -> str:
    first = subprocess.run([binary, "-h"], capture_output=True, text=True).stdout.split("\n")[0]
    return first.removeprefix("mosquitto version ").strip()


def tls_toml(bundle: Path) -> str:
    return (f'tls = {{ ca_file = "{bundle / "ca.crt"}", cert_file = "{bundle / "client.crt"}",'
            f' key_file = "{bundle / "client.key"}" }}')


def bridge_toml(folder: Path, bundle: Path, bridge_id: str, port: int, ledger: str, sim_url: str) -> Path:
    conf = folder / f"{bridge_id}.toml"
    conf.write_text(f"""
[bridge]
id = "{bridge_id}"
[mqtt]
host = "127.0.0.1"
port = {port}
username = "{bridge_id}"
{tls_toml(bundle)}
[ledger]
url = "{ledger}"
[[facilities]]
license = "{LICENSE}"
state = "CA"
system = "metrc"
base_url = "{sim_url}"
timezone = "America/Los_Angeles"
refsync_interval_s = 2
[facilities.metrc]
vendor_key = "{DEMO_VENDOR_KEY}"
user_key = "{DEMO_USER_KEY}"
""")
    return conf


async def run(folder: Path, scans: int, bridges: int) -> dict[str, Any]:
    ca = FacilityCA.create(folder / "pki", LICENSE)
    broker = ProvisionedMosquitto(folder / "mosquitto", ca)
    address = BrokerAddress("127.0.0.1", broker.port)
    kiosk = folder / "bundles" / "kiosk-01"
    write_bundle(enroll_kiosk(ca, device="kiosk-01", broker=address, scanner="sim", headless=True,
                              simulated=True), kiosk)
    ids = [f"bridge-{n + 1}" for n in range(bridges)]
    for bridge_id in ids:
        write_bundle(enroll_bridge(ca, bridge_id=bridge_id, broker=address), folder / "bundles" / bridge_id)
    broker.start()
    database = f"canopy_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    ledger = f"{PG_ADMIN.rsplit('/', 1)[0]}/{database}"
    sim = MetrcSimulator()
    await sim.start()
    procs: list[subprocess.Popen[bytes]] = []
    outbox = await Outbox.open(folder / "kiosk" / "outbox.db", facility=LICENSE, device="kiosk-01")
    try:
        for bridge_id in ids:
            bundle = folder / "bundles" / bridge_id
            conf = bridge_toml(folder, bundle, bridge_id, broker.port, ledger, sim.url)
            procs.append(start_bridge(conf, folder / f"{bridge_id}.log"))
        settings = MqttSettings(host="127.0.0.1", port=broker.port, username="kiosk-01",
                                tls=TlsSettings(ca_file=kiosk / "ca.crt", cert_file=kiosk / "client.crt",
                                                key_file=kiosk / "client.key"))
        uplink = Uplink(settings, UplinkSettings(), outbox)
        task = asyncio.create_task(uplink.run())
        await asyncio.wait_for(uplink.conn.wait_connected(), 20)
        deadline = time.monotonic() + 60
        while not all("connected to" in (folder / f"{b}.log").read_text(errors="replace") for b in ids):
            if time.monotonic() > deadline:
                raise SystemExit("the bridges did not connect; see their logs")
            await asyncio.sleep(0.1)
        await asyncio.sleep(3.0)  # subscribed, ledger schema ready, first reference sync done
        latencies: list[float] = []
        for n in range(scans):
            start = time.perf_counter()
            event = await outbox.append("plant.scanned", {"tag": f"1A4FF01{n:017d}"}, user="worker-1",
                                        at=datetime.now(UTC))
            # Polling the kiosk's own outbox is the measurement: "stored" is its state there.
            while (await outbox.states()).get(event.id) == "pending":  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.05)
        task.cancel()
        logs = [(folder / f"{b}.log").read_text(errors="replace") for b in ids]
        broker_log = broker.log_text()
        ms = {"n": len(latencies), "p50": round(percentile(latencies, 50), 1),
              "p90": round(percentile(latencies, 90), 1), "p99": round(percentile(latencies, 99), 1),
              "max": round(max(latencies), 1), "target_p99_ms": 1000,
              "met": percentile(latencies, 99) < 1000}
        return {
            "bench": "provisioned",
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "broker": mosquitto_version(broker.binary),
            "bridges": bridges,
            "ledger": "postgresql",
            "scan_to_stored_ms": ms,
            "bridge_reconnects": sum(log.count("disconnected from") for log in logs),
            "broker_takeovers": broker_log.count("already connected"),
            "kiosk_republished": uplink.status.republished,
        }
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        await outbox.close()
        await sim.stop()
        broker.kill()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--bridges", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="canopy-bench-"))
    folder.chmod(0o755)  # Mosquitto started as root drops to its own user
    try:
        print(json.dumps(asyncio.run(run(folder, args.scans, args.bridges)), indent=2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
