"""Real agent and bridge processes for fault-injection tests.

Each runs as `python -m canopy agent|bridge -c FILE`, exactly as in production,
so `kill -9` means what it means on a kiosk: no cleanup, no flush; and each
logs in to the production broker config with its own enrolled certificate
(the ``provisioned`` fixture).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.provisioned import ProvisionedSite
from tests.waiting import until


def tag(i: int) -> str:
    """A unique, valid 24-character Metrc-style tag."""
    return f"1A4FF01{i:017d}"


class Proc:
    def __init__(self, name: str, args: list[str], log: Path) -> None:
        self.name = name
        self.args = args
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", *self.args],
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


@dataclass
class Kiosk:
    root: Path
    facility: str
    device: str
    proc: Proc
    saved: dict[str, str] = field(default_factory=dict)  # event id -> tag, answered "saved"

    @property
    def outbox(self) -> Path:
        return self.root / "state" / "outbox.db"

    @property
    def socket(self) -> Path:
        return self.root / "state" / "sim.sock"

    def outbox_states(self) -> dict[str, str]:
        if not self.outbox.exists():
            return {}
        with sqlite3.connect(f"file:{self.outbox}?mode=ro", uri=True) as db:
            return dict(db.execute("SELECT id, state FROM outbox").fetchall())

    async def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.socket.exists():
                try:
                    _, writer = await asyncio.open_unix_connection(str(self.socket))
                    writer.close()
                    return
                except OSError:
                    pass
            if not self.proc.alive():
                raise AssertionError(f"agent died:\n{self.proc.tail()}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"agent not ready:\n{self.proc.tail()}")

    async def scan_burst(
        self, codes: list[str], *, during: Callable[[int], Awaitable[None]] | None = None
    ) -> int:
        """Scan codes over one control connection; stop quietly if the agent dies.

        Returns how many got an answer. ``during(i)`` runs before scan i (to kill
        something at a chosen moment).
        """
        reader, writer = await asyncio.open_unix_connection(str(self.socket))
        answered = 0
        try:
            for i, code in enumerate(codes):
                if during is not None:
                    await during(i)
                try:
                    writer.write(json.dumps({"op": "scan", "code": code}).encode() + b"\n")
                    await writer.drain()
                    line = await asyncio.wait_for(reader.readline(), 20)
                except (ConnectionError, OSError):
                    break
                if not line:
                    break
                answer = json.loads(line)
                assert answer["ok"], answer
                self.saved[answer["event"]] = code
                answered += 1
        finally:
            writer.close()
        return answered


def agent_config(root: Path, site: ProvisionedSite, facility: str, device: str, *,
                 ack_timeout_s: float = 3.0) -> Path:
    conf = root / "agent.toml"
    conf.write_text(
        f"""
[kiosk]
facility = "{facility}"
device = "{device}"
state_dir = "{root / 'state'}"

[mqtt]
{site.mqtt_toml(device)}
backoff_min_s = 0.2
backoff_max_s = 2.0
keepalive_s = 5

[uplink]
ack_timeout_s = {ack_timeout_s}
status_interval_s = 2
"""
    )
    return conf


def bridge_config(root: Path, site: ProvisionedSite, ledger_url: str, bridge_id: str) -> Path:
    conf = root / f"{bridge_id}.toml"
    conf.write_text(
        f"""
[bridge]
id = "{bridge_id}"

[mqtt]
{site.mqtt_toml(bridge_id, "bridge")}
backoff_min_s = 0.2
backoff_max_s = 2.0
keepalive_s = 5

[ledger]
url = "{ledger_url}"
"""
    )
    return conf


def make_kiosk(root: Path, site: ProvisionedSite, facility: str = "CA-TEST-0001",
               device: str = "kiosk-01", **kw: float) -> Kiosk:
    root.mkdir(parents=True, exist_ok=True)
    conf = agent_config(root, site, facility, device, **kw)
    return Kiosk(root, facility, device, Proc("agent", ["agent", "-c", str(conf)], root / "agent.log"))


def make_bridge(root: Path, site: ProvisionedSite, ledger_url: str, bridge_id: str = "bridge-1") -> Proc:
    conf = bridge_config(root, site, ledger_url, bridge_id)
    return Proc(bridge_id, ["bridge", "-c", str(conf)], root / f"{bridge_id}.log")


class LedgerView:
    """Read the bridge's ledger from outside, whichever database holds it."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self) -> list[tuple[str, str, int]]:
        query = "SELECT id, device, seq FROM events"
        if self.url.startswith("sqlite:///"):
            path = self.url.removeprefix("sqlite:///")
            if not Path(path).exists():
                return []
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                try:
                    return [(r[0], r[1], int(r[2])) for r in db.execute(query)]
                except sqlite3.OperationalError:
                    return []
        with psycopg.connect(self.url) as conn:
            try:
                return [(str(r[0]), str(r[1]), int(r[2])) for r in conn.execute(query)]
            except psycopg.errors.UndefinedTable:
                return []

    def quarantine(self) -> list[tuple[str | None, str]]:
        query = "SELECT event_id, reason FROM quarantine ORDER BY n"
        if self.url.startswith("sqlite:///"):
            with sqlite3.connect(f"file:{self.url.removeprefix('sqlite:///')}?mode=ro", uri=True) as db:
                return list(db.execute(query))
        with psycopg.connect(self.url) as conn:
            return [(r[0], str(r[1])) for r in conn.execute(query)]


async def wait_until(check: Callable[[], bool], timeout: float, what: str,
                     logs: list[Proc] | None = None) -> None:
    """``tests.waiting.until`` with the named processes' last log lines on failure."""
    await until(check, what, timeout, interval=0.1,
                detail=lambda: "\n".join(f"--- {p.name}\n{p.tail()}" for p in logs or []))


def assert_exactly_once(kiosks: list[Kiosk], ledger: LedgerView) -> None:
    """The ledger holds every kiosk event once, every kiosk row reached 'stored',
    and every scan a worker was told was saved is among them."""
    rows = ledger.rows()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "an event id is stored twice"
    per_device = [(r[1], r[2]) for r in rows]
    assert len(per_device) == len(set(per_device)), "a (device, seq) is stored twice"
    everything: set[str] = set()
    for kiosk in kiosks:
        states = kiosk.outbox_states()
        assert set(kiosk.saved) <= set(states), "a scan answered 'saved' is missing from the outbox"
        not_stored = {i: s for i, s in states.items() if s != "stored"}
        assert not not_stored, f"{len(not_stored)} kiosk rows never reached 'stored'"
        everything |= set(states)
    assert set(ids) == everything, (
        f"ledger and kiosks disagree: {len(set(ids) - everything)} extra,"
        f" {len(everything - set(ids))} missing"
    )
