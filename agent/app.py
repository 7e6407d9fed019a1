"""``canopy agent``: the kiosk daemon's wiring, one TaskGroup for everything.

Capture never waits for the network: scans are saved to the outbox whether or
not the broker is reachable, and the uplink drains the outbox when it can.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agent.config import AgentConfig
from agent.outbox import Outbox, OutboxFault
from agent.simcontrol import SimControl
from agent.uplink import Uplink
from agent.workflows.scan import Outcome, ScanFlow
from canopy.errors import UserError
from drivers.faults import DeviceFault
from drivers.scanner import Scanner, SimScanner, open_scanner

log = logging.getLogger(__name__)


class Agent:
    def __init__(self, config: AgentConfig, outbox: Outbox) -> None:
        self.config = config
        self.outbox = outbox
        self.uplink = Uplink(config.mqtt, config.uplink, outbox)
        self.scanner: Scanner = open_scanner(config.scanner, name="scanner",
                                             on_state=self._scanner_state)
        self.scan_flow = ScanFlow(outbox, tag_format=config.kiosk.tag_format,
                                  user=config.kiosk.operator, location=config.kiosk.room)
        sim_scanner = self.scanner if isinstance(self.scanner, SimScanner) else None
        self.sim: SimControl | None = None
        if sim_scanner is not None:
            self.sim = SimControl(config.sim_socket, feed_scan=sim_scanner.feed,
                                  set_weight=None, status=self.status)
        self.faults: dict[str, str] = {}

    def _scanner_state(self, connected: bool, fault: DeviceFault | None) -> None:
        if fault is not None:
            self.faults["scanner"] = fault.message
            log.warning("scanner: %s", fault)
        else:
            self.faults.pop("scanner", None)

    async def status(self) -> dict[str, Any]:
        backlog = await self.outbox.backlog()
        up = self.uplink.status
        return {
            "facility": self.outbox.facility,
            "device": self.outbox.device,
            "online": up.online,
            "backlog": backlog.pending,
            "oldest_unsent_age_s": backlog.oldest_age_s(),
            "stored": backlog.stored,
            "accepted": backlog.accepted,
            "rejected": backlog.rejected,
            "faults": {**self.faults, **({"uplink": up.fault} if up.fault else {})},
        }

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.uplink.run(), name="uplink")
            tasks.create_task(self._scans(), name="scans")
            tasks.create_task(self._prune(), name="prune")
            if self.sim is not None:
                tasks.create_task(self.sim.serve(), name="sim-control")
            log.info("kiosk %s/%s ready (outbox %s)", self.outbox.facility, self.outbox.device,
                     self.outbox.path)

    async def _scans(self) -> None:
        async for scan in self.scanner.scans():
            outcome: Outcome = await self.scan_flow.handle(scan)
            if outcome.ok:
                log.info("%s", outcome.message)
            else:
                log.warning("scan refused: %s", outcome.message)
            if self.sim is not None:
                self.sim.scan_handled(outcome)

    async def _prune(self) -> None:
        retention_s = self.config.outbox.retention_days * 86400
        while True:
            removed = await self.outbox.prune(retention_s)
            if removed:
                log.info("pruned %d settled event(s) older than %.0f days", removed,
                         self.config.outbox.retention_days)
            await asyncio.sleep(self.config.outbox.prune_interval_s)


async def run_agent(config: AgentConfig) -> None:
    try:
        outbox = await Outbox.open(config.outbox_path, facility=config.kiosk.facility,
                                   device=config.kiosk.device)
    except OutboxFault as exc:
        raise UserError(str(exc)) from None
    agent = Agent(config, outbox)
    try:
        await agent.run()
    finally:
        await asyncio.shield(agent.scanner.aclose())
        await asyncio.shield(outbox.close())
