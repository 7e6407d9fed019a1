"""A whole kiosk agent in this process, on simulated devices: for tests and benchmarks.

    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in()                          # Dana scans her badge
        await kiosk.act("go", screen="move")
        answer = await kiosk.scan("Flower Room 2")     # through the simulated scanner
        ...
        kiosk.events("plant.moved")                    # what the outbox holds

Everything below the scan is the production path: the simulated scanner's
``scans()`` stream, the simulated scale's pty, the simulated printer's PNGs,
gpiozero's MockFactory for the light and buzzer, the outbox on disk, the page
server on a real loopback port. Reference data is taken exactly as from the
bridge (``Floor.apply_ref`` on encoded messages), or published retained on a
real broker when the rig is given one.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from agent.app import Agent, open_outbox
from agent.config import AgentConfig
from agent.demo import SCALE_ID, WORKERS, DemoWorker, publish_reference, reference, write_workers
from agent.floor import Floor
from agent.kiosk import Kiosk
from canopy import refdata
from drivers.gpio import SimGpio

_WORKERS_CACHE: Path | None = None  # hashing PINs is slow on purpose: do it once per process


def _demo_workers(dest: Path) -> None:
    global _WORKERS_CACHE
    if _WORKERS_CACHE is None or not _WORKERS_CACHE.exists():
        cache = Path(tempfile.mkdtemp(prefix="canopy-workers-")) / "workers.json"
        write_workers(cache)
        _WORKERS_CACHE = cache
    shutil.copy(_WORKERS_CACHE, dest)


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for ``check()``; fail naming ``what``. (A condition, never a timed assertion.)"""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class KioskRig:
    def __init__(
        self,
        root: Path,
        *,
        ref: dict[str, Any] | None = None,
        workers: bool = True,
        ui: bool = False,
        broker_port: int | None = None,
        config: dict[str, Any] | None = None,
        scale_checked: bool = True,
    ) -> None:
        self.root = root
        self.ref = reference() if ref is None else ref
        self.workers = workers
        self.ui = ui
        self.broker_port = broker_port
        self.overrides = config or {}
        # The daily scale check passed already today, unless a test is about that check.
        self.scale_checked = scale_checked
        self._task: asyncio.Task[None] | None = None
        self.agent: Agent | None = None

    def _config(self) -> AgentConfig:
        raw: dict[str, Any] = {
            "kiosk": {"facility": "CA-DEMO-0001", "device": "kiosk-01", "room": "Flower Room 1",
                      "state_dir": str(self.root / "state")},
            "mqtt": {"port": self.broker_port or 1, "backoff_min_s": 0.2, "backoff_max_s": 1.0,
                     "keepalive_s": 5},
            "uplink": {"ack_timeout_s": 5.0, "status_interval_s": 2.0},
            "ui": {"enabled": self.ui, "port": 0, "sim_panel": True},
            "scale": {"kind": "sim", "poll_interval": 0.05, "identity": {"id": SCALE_ID}},
            "gpio": {"kind": "sim", "green": 17, "amber": 27, "red": 22, "buzzer": 23, "pedal": 24},
        }
        if self.workers:
            raw["workers"] = {"file": str(self.root / "workers.json")}
        for section, values in self.overrides.items():
            raw[section] = {**raw.get(section, {}), **values}
        return AgentConfig.model_validate(raw)

    async def __aenter__(self) -> Self:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.workers and not (self.root / "workers.json").exists():  # a restart keeps its list
            _demo_workers(self.root / "workers.json")
        self.config = config = self._config()
        self.outbox = await open_outbox(config)
        self.floor = await Floor.open(config.floor_path, facility=config.kiosk.facility,
                                      default_tag_format=config.kiosk.tag_format, settled=self._settled)
        if self.broker_port is None:
            await self.load_ref(self.ref)
        else:
            await asyncio.to_thread(publish_reference, "127.0.0.1", self.broker_port,
                                    config.kiosk.facility, self.ref)
        self.agent = Agent(config, self.outbox, self.floor)
        self._task = asyncio.create_task(self.agent.run(), name="kiosk-rig")
        if self.broker_port is not None:
            await until(lambda: all(self.floor.has(name) for name in self.ref), "reference data")
        if self.scale_checked:
            await self.floor.facts.merge("scale_check", config.scale.identity.id, None, passed=True,
                                         why="", day=self.floor.local_day().isoformat())
        await self.scale_ready()
        if self.ui:
            await until(lambda: self.kiosk.ui_url is not None, "the kiosk page", 20)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self.agent is not None:
            await self.agent.aclose()
        await self.floor.close()
        await self.outbox.close()

    async def _settled(self) -> set[str]:
        states = await self.outbox.states()
        return {i for i, s in states.items() if s in ("accepted", "rejected")}

    async def load_ref(self, lists: dict[str, Any], at: datetime | None = None) -> None:
        """Take reference lists the way the uplink hands them over from the bridge."""
        when = at or datetime.now(UTC)
        for name, items in lists.items():
            await self.floor.apply_ref(name, refdata.encode(name, self.config.kiosk.facility, when, items))

    # --- handles ---------------------------------------------------------------------

    @property
    def kiosk(self) -> Kiosk:
        assert self.agent is not None
        return self.agent.kiosk

    @property
    def gpio(self) -> SimGpio:
        assert self.agent is not None and isinstance(self.agent.gpio, SimGpio)
        return self.agent.gpio

    @property
    def url(self) -> str:
        assert self.kiosk.ui_url is not None
        return self.kiosk.ui_url

    async def scale_ready(self) -> None:
        assert self.agent is not None
        await self.agent.scale.wait_connected(10)
        await until(lambda: self.kiosk.watch.live is not None, "a first reading from the scale")

    # --- doing things ------------------------------------------------------------------

    async def scan(self, code: str) -> dict[str, Any]:
        """Scan on the simulated scanner; the kiosk's answer once the scan is handled."""
        assert self.agent is not None and self.agent.sim is not None
        return await self.agent.sim.answer({"op": "scan", "code": code})

    async def act(self, action: str, **args: Any) -> dict[str, Any]:
        """A touch on the screen."""
        return await self.kiosk.act({"action": action, **args})

    async def sign_in(self, worker: DemoWorker = WORKERS[0]) -> dict[str, Any]:
        answer = await self.scan(worker.badge)
        assert answer["ok"], answer
        if worker.supervisor:  # badge and PIN together
            answer = await self.act("signin.pin", pin=worker.pin)
            assert answer["ok"], answer
        return answer

    async def weigh(self, value: str, unit: str = "g") -> dict[str, Any] | None:
        """Put ``value`` on the simulated scale and wait until the kiosk has taken the settled load;
        the feedback it gave, if any."""
        seq = self.kiosk.feedback.seq if self.kiosk.feedback else 0
        assert self.agent is not None and self.agent.sim is not None
        answer = await self.agent.sim.answer({"op": "weight", "value": value, "unit": unit})
        assert answer["ok"], answer
        watch = self.kiosk.watch
        await until(lambda: watch.settled is not None and watch.settled.value == Decimal(value)
                    and watch.settled.unit == unit, f"a settled {value} {unit}")
        async with self.kiosk._lock:  # the flow has had the load (the lock is FIFO)
            pass
        fb = self.kiosk.feedback
        return None if fb is None or fb.seq == seq else {"ok": fb.ok, "message": fb.message,
                                                          "quiet": fb.quiet, "event": fb.event}

    async def empty_scale(self) -> None:
        await self.weigh("0")

    def later(self, **delta: float) -> datetime:
        """Move the floor's clock on (``later(hours=73)``): holds end, days turn, nobody sleeps."""
        at = datetime.now(UTC) + timedelta(**delta)
        self.floor.clock = lambda: at
        return at

    async def sim(self, **body: Any) -> dict[str, Any]:
        assert self.agent is not None and self.agent.sim is not None
        return await self.agent.sim.answer(body)

    # --- looking ---------------------------------------------------------------------------

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Every event in the outbox (as published), oldest first."""
        with sqlite3.connect(f"file:{self.config.outbox_path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT payload FROM outbox ORDER BY seq").fetchall()
        events = [json.loads(r[0]) for r in rows]
        return [e for e in events if type_ is None or e["type"] == type_]

    def state(self) -> dict[str, Any]:
        return self.kiosk.snapshot()


def prefill_outbox(path: Path, count: int, *, facility: str, device: str,
                   tag: str = "1A4FF0100000022000000123") -> int:
    """A backlog of ``count`` valid pending events written straight into an outbox file
    (one transaction, not one fsync each), as a kiosk offline for days would hold.
    Returns the size of one event in bytes."""
    from agent.outbox_db import SCHEMA, SCHEMA_VERSION
    from canopy.events import build_event
    from canopy.ids import uuid7

    now = datetime.now(UTC)
    rows = []
    for seq in range(1, count + 1):
        event = build_event("plant.scanned", {"tag": tag, "location": "Flower Room 1"}, id=uuid7(),
                            facility=facility, device=device, user="worker-1", at=now, seq=seq)
        rows.append((seq, event.id, event.type, event.to_json(), 0, 0))
    with sqlite3.connect(path) as db:  # the outbox's own schema, synchronously
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.executemany("INSERT INTO outbox (seq, id, type, payload, created, changed)"
                       " VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows[0][3]) if rows else 0
