"""``canopy agent``: the kiosk daemon's wiring, one TaskGroup for everything.

Capture never waits for the network: scans are saved to the outbox whether or
not the broker is reachable, and the uplink drains the outbox when it can. A
device or the screen failing to start is a fault on the status bar, never a
reason to stop recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import Any

from agent.config import AgentConfig
from agent.floor import Floor
from agent.kiosk import Devices, Kiosk
from agent.outbox import Outbox, OutboxFault
from agent.refcache import RefRejected
from agent.simcontrol import SimControl, SimDevices, panel_view
from agent.storage import STORAGE_FULL_PREFIX, STORAGE_FULL_REFUSAL, storage_fault, storage_full
from agent.uplink import Uplink
from agent.watchdog import Watchdog
from canopy.errors import UserError
from drivers.faults import DeviceFault
from drivers.gpio import Gpio, GpioConfig, PedalAction, SimGpio, open_gpio
from drivers.printer import SimPrinter, create_printer
from drivers.scale import SimScale, open_scale
from drivers.scanner import SimScanner, open_scanner
from kiosk_ui import KioskServer

log = logging.getLogger(__name__)

STATUS_INTERVAL_S = 1.0
PRINTER_INTERVAL_S = 15.0


class Agent:
    """Build inside a running event loop (the scale and GPIO start at once)."""

    def __init__(self, config: AgentConfig, outbox: Outbox, floor: Floor) -> None:
        self.config = config
        self.outbox = outbox
        self.floor = floor
        self.uplink = Uplink(config.mqtt, config.uplink, outbox, on_ref=self._on_ref)
        # systemd's watchdog is fed only while the outbox and the uplink answer.
        self.watchdog = Watchdog(names=("uplink", "outbox"))
        loop = asyncio.get_running_loop()
        gpio_fault: DeviceFault | None = None
        try:
            gpio: Gpio = open_gpio(config.gpio, loop)
        except DeviceFault as exc:
            gpio_fault = exc
            log.error("GPIO: %s; running without tower light, buzzer and pedal", exc)
            gpio = SimGpio(GpioConfig(), loop)  # nothing fitted: every call does nothing
        self.scanner = open_scanner(config.scanner, name="scanner")
        self.scale = open_scale(config.scale)
        self.printer = create_printer(config.printer_config)
        self.gpio = gpio
        self.kiosk = Kiosk(config, outbox, floor, Devices(self.scanner, self.scale, self.printer, gpio),
                           lambda: self.uplink.status)
        if gpio_fault is not None:
            self.kiosk.faults["gpio"] = gpio_fault.message
        self.scanner.on_state = self.kiosk.scanner_state
        self.sim_devices = SimDevices(
            scanner=self.scanner if isinstance(self.scanner, SimScanner) else None,
            scale=self.scale if isinstance(self.scale, SimScale) else None,
            gpio=gpio if isinstance(gpio, SimGpio) and config.gpio.kind == "sim" else None,
            printer=self.printer if isinstance(self.printer, SimPrinter) else None,
        )
        self.sim: SimControl | None = None
        if self.sim_devices.any:
            self.sim = SimControl(config.sim_socket, self.sim_devices, status=self.status)
            if config.ui.sim_panel:
                self.kiosk.sim_handler = self.sim.answer
                self.kiosk.sim_printed = self.sim_devices.printed
                self.kiosk.sim_view = lambda: panel_view(self.sim_devices, floor)
        self.server = (KioskServer(self.kiosk, port=config.ui.port, panel=config.ui.panel_spec)
                       if config.ui.enabled else None)

    async def _on_ref(self, name: str, payload: bytes) -> None:
        try:
            copy = await self.floor.apply_ref(name, payload)
        except RefRejected as exc:
            log.warning("reference data %s not taken: %s", name, exc)
            return
        if copy is not None:  # ``name`` may be a part's topic; the list is ``copy.name``
            log.info("reference data %s from %s", copy.name, copy.at.isoformat())

    async def status(self) -> dict[str, Any]:
        backlog = await self.outbox.backlog()
        up = self.uplink.status
        worker = self.kiosk.worker
        return {
            "facility": self.outbox.facility,
            "device": self.outbox.device,
            "online": up.online,
            "backlog": backlog.pending,
            "oldest_unsent_age_s": backlog.oldest_age_s(),
            "stored": backlog.stored,
            "accepted": backlog.accepted,
            "rejected": backlog.rejected,
            "faults": {**self.kiosk.faults, **({"uplink": up.fault} if up.fault else {})},
            "worker": worker.id if worker else None,
            # Where the worker list comes from: "bridge" (the facility's roster), "file"
            # (this kiosk's own, until the roster arrives) or None (headless).
            "workers": self.kiosk.workers.source if self.kiosk.workers else None,
            "screen": self.kiosk.flow.screen if worker else "signin",
            "ui_url": self.kiosk.ui_url,
        }

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.watchdog.run(), name="watchdog")
            tasks.create_task(self.watchdog.probe("outbox", self.outbox.backlog), name="wd-outbox")
            tasks.create_task(self.watchdog.probe("uplink", self.uplink.publish_status), name="wd-uplink")
            tasks.create_task(self.uplink.run(), name="uplink")
            tasks.create_task(self._scans(), name="scans")
            tasks.create_task(self._readings(), name="scale-readings")
            tasks.create_task(self._pedal(), name="pedal")
            tasks.create_task(self._status(), name="status")
            tasks.create_task(self._prune(), name="prune")
            if self.sim is not None:
                tasks.create_task(self.sim.serve(), name="sim-control")
            if self.server is not None:
                tasks.create_task(self._serve_page(self.server), name="kiosk-page")
            log.info("kiosk %s/%s ready (outbox %s)", self.outbox.facility, self.outbox.device,
                     self.outbox.path)
            # Ready once the outbox is open and devices started: the kiosk records
            # offline, so the broker is not waited for.
            self.watchdog.ready(f"kiosk {self.outbox.facility}/{self.outbox.device}, outbox open")

    async def _serve_page(self, server: KioskServer) -> None:
        try:
            await server.serve(started=self._page_started)
        except OSError as exc:
            # Recording goes on without a screen (scanner, scale, lights still work).
            self.kiosk.faults["screen"] = f"screen not available (port {self.config.ui.port}: {exc.strerror})"
            log.error("kiosk page cannot listen on 127.0.0.1:%d: %s", self.config.ui.port, exc)
        except Exception as exc:
            self.kiosk.faults["screen"] = "screen not available (kiosk page failed)"
            log.exception("kiosk page failed: %s", exc)

    def _page_started(self, url: str) -> None:
        self.kiosk.ui_url = url
        path = self.config.ui_url_file
        try:  # for the kiosk browser's unit; the page itself does not need it
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(url + "\n")
        except OSError as exc:
            log.error("kiosk page address not written to %s: %s", path, exc)
        log.info("kiosk page at %s", url)

    async def _scans(self) -> None:
        async for scan in self.scanner.scans():
            outcome = await self.kiosk.on_scan(scan)
            if outcome.ok:
                log.info("%s", outcome.message)
            else:
                log.warning("scan refused: %s", outcome.message)
            if self.sim is not None:
                self.sim.scan_handled(outcome)

    async def _readings(self) -> None:
        # For the whole life of the agent: the scale's aclose() ends the stream.
        async for reading in self.scale.readings():
            await self.kiosk.on_reading(reading)

    async def _pedal(self) -> None:
        async with self.gpio.pedal.presses() as presses:
            async for press in presses:
                if press.action is PedalAction.PRESS:
                    await self.kiosk.on_pedal()

    async def _status(self) -> None:
        kiosk = self.kiosk
        next_printer = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if loop.time() >= next_printer:
                await kiosk.refresh_printer()
                next_printer = loop.time() + PRINTER_INTERVAL_S
            self._check_storage()
            try:
                if await kiosk.update_status():
                    kiosk.push()
            except OutboxFault as exc:
                kiosk.faults["storage"] = str(exc)
            await kiosk.idle_check()
            await asyncio.sleep(STATUS_INTERVAL_S)

    def _check_storage(self) -> None:
        """A full disk is on the status bar from the start and until there is room again."""
        fault = storage_fault(self.config.outbox_path)
        if fault is None and self.floor.in_memory:
            fault = ("Kiosk storage was full at start: this kiosk's lists are kept in memory only. "
                     "Restart it once space is free.")
        if fault is not None:
            self.kiosk.faults["storage"] = fault
        elif self.kiosk.faults.get("storage", "").startswith(STORAGE_FULL_PREFIX):
            self.kiosk.faults.pop("storage")

    async def _prune(self) -> None:
        retention_s = self.config.outbox.retention_days * 86400
        while True:
            try:
                removed = await self.outbox.prune(retention_s)
                if removed:
                    log.info("pruned %d settled event(s) older than %.0f days", removed,
                             self.config.outbox.retention_days)
                await self.floor.journal.prune()
            except (OutboxFault, sqlite3.Error) as exc:  # a full disk: the next round tries again
                log.error("pruning not done: %s", exc)
            await asyncio.sleep(self.config.outbox.prune_interval_s)

    async def aclose(self) -> None:
        for close in (self.scanner.aclose, self.scale.aclose, self.printer.aclose):
            try:
                await close()
            except Exception:
                log.exception("closing a device")
        self.gpio.close()
        self.kiosk.hub.close()


async def open_outbox(config: AgentConfig) -> Outbox:
    """The kiosk's outbox; on a full disk where none can be made yet, one that refuses every
    record with that reason, so the kiosk still comes up and says so (``OutboxFault`` else)."""
    path = config.outbox_path
    try:
        return await Outbox.open(path, facility=config.kiosk.facility, device=config.kiosk.device)
    except OutboxFault as exc:
        if not storage_full(path):
            raise
        log.error("outbox %s cannot be opened on a full disk (%s): every record is refused", path, exc)
        return await Outbox.unwritable(path, facility=config.kiosk.facility, device=config.kiosk.device,
                                       refusal=STORAGE_FULL_REFUSAL)


async def run_agent(config: AgentConfig) -> None:
    try:
        outbox = await open_outbox(config)
    except OutboxFault as exc:
        raise UserError(str(exc)) from None

    async def settled() -> set[str]:
        states = await outbox.states()
        return {event_id for event_id, state in states.items() if state in ("accepted", "rejected")}

    floor = await Floor.open(config.floor_path, facility=config.kiosk.facility,
                             default_tag_format=config.kiosk.tag_format, settled=settled)
    agent: Agent | None = None
    try:
        agent = Agent(config, outbox, floor)
        await agent.run()
    finally:
        if agent is not None:
            agent.watchdog.stopping()
            await asyncio.shield(agent.aclose())
        with contextlib.suppress(Exception):
            config.ui_url_file.unlink(missing_ok=True)
        await asyncio.shield(floor.close())
        await asyncio.shield(outbox.close())
