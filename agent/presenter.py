"""What the worker sees and hears: the answer band, the tower light and buzzer, the status
bar, and the page model pushed to the screen.

Each input ends in an ``Outcome``: shown in the answer band, and (for scans,
saved weights and refusals) a good or bad signal on the tower light and
buzzer. The tower light otherwise shows the kiosk's state: a fault, buffering
(offline, or records waiting to be sent), or online.

The screen is pushed, never polled: after every input, and when the status
changes, the kiosk publishes a JSON snapshot on its hub; live scale readings go
out on their own channel so they do not resend the whole screen.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from agent import screens
from agent.config import AgentConfig
from agent.devices import Devices
from agent.floor import Floor
from agent.hub import Hub
from agent.outbox import Outbox
from agent.scalerules import scale_refusal
from agent.scalewatch import ScaleWatch
from agent.session import Session
from agent.uplink import UplinkStatus
from agent.workflows.base import Flow, Outcome
from canopy.bridge_status import StateSystem
from drivers.faults import DeviceFault
from drivers.gpio import BuzzPattern, KioskLight
from drivers.printer import PrinterStatus, PrintResult
from drivers.scale import ScaleStatus

log = logging.getLogger(__name__)

# Amber only when unsent records have waited this long: each scan is unsent for
# the few milliseconds until the bridge stores it, and the light must not flicker.
BUFFERING_AFTER_S = 5.0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


SAFE_HERE = "Your records are safe here and will be sent."


def state_system_view(system: StateSystem | None, floor: Floor) -> dict[str, Any] | None:
    """The state system's pill and band (None: no bridge has said yet). Times are the
    facility's wall clock; the date is said too once the outage is not from today."""
    if system is None:
        return None
    if system.reachable:
        return {"reachable": True, "pill": "State system: OK", "band": None, "notify": False}
    since = ""
    if system.since_ms is not None:
        began = floor.local_time(datetime.fromtimestamp(system.since_ms / 1000, UTC))
        today = floor.local_day()
        since = f" since {began:%H:%M}" if began.date() == today else f" since {began:%a %-d %b %H:%M}"
    band = f"State system unreachable{since}. {SAFE_HERE}"
    if system.notify:
        band = (f"State system unreachable{since}, more than {system.after_h:g} hours: a supervisor must"
                " notify the state now (licence number, when access was lost, the cause). No transfers"
                f" until it is back. {SAFE_HERE}")
    return {"reachable": False, "pill": f"State system: unreachable{since}", "band": band,
            "notify": system.notify, "since_ms": system.since_ms}


@dataclass(frozen=True, slots=True)
class Feedback:
    seq: int
    ok: bool
    quiet: bool
    message: str
    detail: str
    at_ms: int
    scan_ms: int | None  # when the scanner finished the scan (for the screen latency bench)
    event: str | None


class Presenter:
    def __init__(self, config: AgentConfig, outbox: Outbox, floor: Floor, devices: Devices,
                 watch: ScaleWatch, session: Session, flow: Callable[[], Flow],
                 uplink_status: Callable[[], UplinkStatus],
                 sim_view: Callable[[], dict[str, Any] | None]) -> None:
        self.config = config
        self.outbox = outbox
        self.floor = floor
        self.devices = devices
        self.watch = watch
        self.session = session
        self._flow = flow
        self._uplink_status = uplink_status
        self._sim_view = sim_view
        self.hub = Hub()
        self.feedback: Feedback | None = None
        self._seq = 0
        self.faults: dict[str, str] = {}  # device -> what is wrong with it, for the status bar
        self.printer_status: PrinterStatus | None = None
        # The last print job's failure, kept while the printer cannot say how it is (a
        # networked printer without status): the pill must not say "ready" after it.
        self.print_fault: str | None = None
        self.status: dict[str, Any] = {}
        self.pushed_version = -1  # the outbox version the page last saw
        self._weight_json = ""
        self._last_light: KioskLight | None = None
        self._offline_since: int | None = now_ms()  # outage start: first moment without the broker

    # --- the answer band, light and buzzer ---------------------------------------------

    def answer(self, outcome: Outcome, *, scan_ms: int | None = None, sound: bool) -> None:
        self._seq += 1
        self.feedback = Feedback(self._seq, outcome.ok, outcome.quiet, outcome.message, outcome.detail,
                                 now_ms(), scan_ms, outcome.event_id)
        if sound and not outcome.quiet:
            gpio = self.devices.gpio
            try:
                if outcome.ok:
                    gpio.light.flash_good()
                    gpio.buzzer.play(BuzzPattern.GOOD)
                else:
                    gpio.light.flash_bad()
                    gpio.buzzer.play(BuzzPattern.BAD)
            except DeviceFault as exc:
                self.faults["gpio"] = exc.message
        self.push()

    # --- the page model -------------------------------------------------------------------

    def push(self) -> None:
        self.pushed_version = self.outbox.version
        self.hub.publish("state", self.state_json())

    def push_weight(self) -> None:
        text = json.dumps(self.watch.view(), separators=(",", ":"))
        if text != self._weight_json:
            self._weight_json = text
            self.hub.publish("weight", text)

    def state_json(self) -> str:
        return json.dumps(self.snapshot(), separators=(",", ":"))

    def snapshot(self) -> dict[str, Any]:
        signed_in = self.session.worker is not None
        flow = self._flow()
        fb = self.feedback
        return {
            "kiosk": {"facility": self.outbox.facility, "device": self.outbox.device,
                      "room": self.config.kiosk.room},
            "now_ms": now_ms(),
            "status": self.status,
            **self.session.view(),
            "screen": flow.screen if signed_in else "signin",
            "title": flow.title,
            "flow": flow.view() if signed_in else {},
            "tiles": screens.tiles(self.floor),
            "feedback": {"seq": fb.seq, "ok": fb.ok, "quiet": fb.quiet, "message": fb.message,
                         "detail": fb.detail, "at_ms": fb.at_ms, "scan_ms": fb.scan_ms,
                         "event": fb.event} if fb else None,
            "weight": self.watch.view(),
            "sim": self._sim_view(),
        }

    # --- the devices' state and the status bar ------------------------------------------------

    def scanner_state(self, connected: bool, fault: DeviceFault | None) -> None:
        if fault is not None:
            self.faults["scanner"] = fault.message
            log.warning("scanner: %s", fault)
        else:
            self.faults.pop("scanner", None)

    def scale_state(self, status: ScaleStatus) -> None:
        if status.fault is not None:
            self.faults["scale"] = status.fault.message
        else:
            self.faults.pop("scale", None)
        self.push_weight()

    def printed(self, result: PrintResult) -> None:
        """A print job ended: a failure shows on the pill now, whatever the last status said."""
        fault = result.fault.message if result.fault else "printer problem"
        self.print_fault = None if result.ok else fault

    async def refresh_printer(self) -> None:
        try:
            self.printer_status = await self.devices.printer.status()
        except Exception as exc:  # status() should never raise; a broken driver must not stop us
            log.exception("printer status failed")
            self.printer_status = PrinterStatus(confirmed=False, detail=str(exc))
        status = self.printer_status
        if status.confirmed:  # the printer said how it is: that replaces the last job's word
            self.print_fault = None
        if status.faults:
            self.faults["printer"] = status.message
        elif self.print_fault is not None:
            self.faults["printer"] = self.print_fault
        else:
            self.faults.pop("printer", None)

    async def read_status(self) -> dict[str, Any]:
        """The status bar as it is now; the tower light follows it."""
        backlog = self.outbox.counts  # kept by the outbox as it commits: no trip to the disk
        up = self._uplink_status()
        faults = dict(self.faults)
        if up.fault:
            faults["uplink"] = up.fault
        workers = self.session.workers
        if workers is not None and workers.error:
            faults["workers"] = workers.error
        printer = self.printer_status
        scale = self.devices.scale.status
        if up.online:
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = now_ms()
            log.warning("offline: saving here until the broker is back")
        status = {
            "online": up.online,
            "offline_since_ms": self._offline_since,
            "backlog": backlog.pending,
            "oldest_unsent_ms": backlog.oldest_pending_ms,
            "rejected": backlog.to_fix,  # the "to fix" list's length: a correction lowers it
            "printer": {"name": self.devices.printer.name,
                        "message": (printer.message if printer and printer.faults else self.print_fault
                                    or (printer.message if printer else "not checked yet")),
                        "ready": bool(printer and not printer.faults and self.print_fault is None)},
            "scale": {"id": self.watch.scale_id, "connected": scale.connected,
                      "message": scale.fault.message if scale.fault else scale.link.value,
                      "refusal": scale_refusal(self.floor, self.watch.scale_id, date.today()),
                      "check_due": self.watch.view()["check_due"]},
            "ref": self.floor.ref.summary(),
            "faults": sorted(set(faults.values())),
            "state_system": state_system_view(up.state_system, self.floor),
        }
        self._light(status)
        return status

    def show_status(self, status: dict[str, Any]) -> bool:
        """Take ``status`` for the status bar; True when it changed."""
        if status == self.status:
            return False
        self.status = status
        return True

    def _light(self, status: dict[str, Any]) -> None:
        oldest = status["oldest_unsent_ms"]
        waiting = oldest is not None and (now_ms() - oldest) / 1000 > BUFFERING_AFTER_S
        if status["faults"]:
            light = KioskLight.FAULT
        elif not status["online"] or waiting:
            light = KioskLight.BUFFERING
        else:
            light = KioskLight.ONLINE
        if light != self._last_light:
            try:
                self.devices.gpio.light.show(light)
                self._last_light = light
            except DeviceFault as exc:
                self.faults["gpio"] = exc.message
