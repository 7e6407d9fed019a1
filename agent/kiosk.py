"""The kiosk a worker stands at: who is signed in, which flow is on screen, what they see and hear.

Every input — a scan from the driver, a touch from the page, a settled load on
the scale, the foot pedal — goes through one lock, so a flow sees one thing at a
time and a touch can never interleave with a scan half-way through a record.
Each input ends in an ``Outcome``: shown on the screen, and (for scans, saved
weights and refusals) a good or bad signal on the tower light and buzzer.

The screen is pushed, never polled: after every input, and when the status
changes, the kiosk publishes a JSON snapshot on its hub; live scale readings go
out on their own channel so they do not resend the whole screen.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.floor import Floor
from agent.hub import Hub, Subscription
from agent.outbox import Outbox
from agent.scalewatch import ScaleWatch
from agent.uplink import UplinkStatus
from agent.users import Worker, Workers, left_message
from agent.workflows.base import Flow, FlowContext, FlowError, Outcome, refused
from agent.workflows.count import CountFlow
from agent.workflows.cure import CureFlow
from agent.workflows.destroy import DestroyFlow
from agent.workflows.harvest import HarvestFlow
from agent.workflows.harvest_waste import HarvestWasteFlow
from agent.workflows.hold import HoldFlow, hold_hours
from agent.workflows.labels import LabelsFlow
from agent.workflows.lot import LotFlow
from agent.workflows.move import MoveFlow
from agent.workflows.packages import PackageAdjustFlow, PackageMoveFlow, PackagesMenu
from agent.workflows.receive import TagReceiptFlow
from agent.workflows.records import RecordsFlow
from agent.workflows.scalecheck import ScaleCheckFlow
from agent.workflows.scan import HomeFlow
from agent.workflows.tagging import TagFlow
from drivers.faults import DeviceFault
from drivers.gpio import BuzzPattern, Gpio, KioskLight
from drivers.printer import LabelPrinter, PrinterStatus
from drivers.scale import Reading, ReadingState, Scale, ScaleStatus
from drivers.scanner import Scan, Scanner

log = logging.getLogger(__name__)

TILES = (
    ("move", "Move plants"),
    ("harvest", "Harvest"),
    ("packages", "Packages"),
    ("tag", "Tag for flowering"),
    ("lot", "New immature lot"),
    ("destroy", "Destroy / waste"),
    ("labels", "Print labels"),
    ("count", "Room count"),
    ("records", "Records"),
    ("scalecheck", "Scale check"),
    ("hold", "Waste on hold"),
    ("receive", "Receive tags"),
)
# Reached from a tile's own screen (Harvest offers waste and cure, Packages move and adjust).
SUBSCREENS = ("harvest_waste", "cure", "package_move", "package_adjust")
SCREENS = {"home", *(name for name, _ in TILES), *SUBSCREENS}
# Outbox changes closer together than this make one status update (a drain's acks).
STATUS_GATHER_S = 0.1
# Amber only when unsent records have waited this long: each scan is unsent for
# the few milliseconds until the bridge stores it, and the light must not flicker.
BUFFERING_AFTER_S = 5.0


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


@dataclass
class SecondPerson:
    """A second worker signing in for one record: witness or supervisor."""

    purpose: str  # "witness" or "supervisor" (who must hold that role)
    flow: Flow
    selected: Worker | None = None


@dataclass(frozen=True)
class Devices:
    scanner: Scanner
    scale: Scale
    printer: LabelPrinter
    gpio: Gpio


def _ms() -> int:
    return time.time_ns() // 1_000_000


class Kiosk:
    def __init__(self, config: AgentConfig, outbox: Outbox, floor: Floor, devices: Devices,
                 uplink_status: Callable[[], UplinkStatus]) -> None:
        self.config = config
        self.outbox = outbox
        self.floor = floor
        self.devices = devices
        self._uplink_status = uplink_status
        self.hub = Hub()
        self.watch = ScaleWatch(devices.scale, floor, repeats=config.scale.stable_repeats)
        self.workers: Workers | None = None
        if config.workers.file is not None:
            self.workers = Workers(config.workers.file, config.workers.pin_attempts,
                                   config.workers.lockout_s, roster=lambda: floor.roster)
        self.worker: Worker | None = None
        if self.workers is None:  # headless scan station: see KioskSettings.operator
            self.worker = Worker(id=config.kiosk.operator, name=config.kiosk.operator, pin="-")
        self.picked: Worker | None = None  # tapped name, waiting for the PIN
        self.second: SecondPerson | None = None
        self.signin_message = ""
        self._workers_version = 0  # the worker list the signed-in worker was checked against
        self._last_activity = time.monotonic()
        self.ctx = FlowContext(
            outbox=outbox, floor=floor, settings=config.floor, kiosk_room=config.kiosk.room,
            user=self._user_id, is_supervisor=lambda: bool(self.worker and self.worker.supervisor),
            scale_id=lambda: self.watch.scale_id, weight_ok=self.watch.check,
            settled=lambda: self.watch.settled,
            mark_weighed=self.watch.mark_logged,
        )
        self.flow: Flow = HomeFlow(self.ctx)
        self.feedback: Feedback | None = None
        self._seq = 0
        self._lock = asyncio.Lock()
        self.faults: dict[str, str] = {}
        self.printer_status: PrinterStatus | None = None
        self.status: dict[str, Any] = {}
        self._weight_json = ""
        self._last_light: KioskLight | None = None
        self._offline_since: int | None = _ms()  # outage start: first moment without the broker
        self.ui_url: str | None = None
        # The demo's simulator panel (set by the agent when its devices are simulated).
        self.sim_view: Callable[[], dict[str, Any] | None] = lambda: None
        self.sim_handler: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None = None
        self.sim_printed: Callable[[], list[Path]] = list
        devices.scale.on_state = self._scale_state
        floor.on_change.append(lambda name: self.push())
        # The status bar and the Records list follow the outbox's commits (never a poll of it).
        self._records_version = -1  # the outbox version the Records list was read at
        self._status_soon: asyncio.TimerHandle | None = None
        self._status_task: asyncio.Task[None] | None = None
        self._pushed_version = -1  # the outbox version the page last saw
        outbox.on_change.append(self._outbox_changed)

    # --- who is signed in -----------------------------------------------------------

    @property
    def headless(self) -> bool:
        return self.workers is None

    def _user_id(self) -> str:
        if self.worker is None:  # flows only run while someone is signed in
            raise RuntimeError("no worker signed in")
        return self.worker.id

    def _sign_in(self, worker: Worker) -> Outcome:
        self.worker, self.picked, self.signin_message = worker, None, ""
        self.flow = HomeFlow(self.ctx)
        self._touch()
        log.info("signed in: %s", worker.id)
        return Outcome(True, f"Signed in: {worker.name}")

    def sign_out(self, why: str) -> Outcome:
        if self.headless:
            return refused("This kiosk has no sign-in (headless scan station).")
        if self.worker is not None:
            log.info("signed out: %s (%s)", self.worker.id, why)
        self.worker, self.picked, self.second = None, None, None
        self.flow = HomeFlow(self.ctx)
        self.signin_message = why
        return Outcome(True, why)

    def _check_roster(self) -> str | None:
        """After a new worker list (a leaver removed at the bridge): whoever it no longer
        names is signed out (the message why), and a signed-in worker gets their new
        roles. Under the lock."""
        workers = self.workers
        if workers is None:
            return None
        workers.refresh()
        if workers.version == self._workers_version:
            return None
        self._workers_version = workers.version
        if self.picked is not None and workers.get(self.picked.id) is None:
            self.signin_message = left_message(self.picked)
            self.picked = None
        if self.second is not None and self.second.selected is not None \
                and workers.get(self.second.selected.id) is None:
            self.second.selected = None
        if self.worker is not None:
            current = workers.get(self.worker.id)
            if current is None:
                return self.sign_out(f"Signed out: {left_message(self.worker)}").message
            self.worker = current
        return None

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    async def _by_badge(self, text: str) -> Worker | None:
        return await self.workers.by_badge(text) if self.workers is not None else None

    # --- inputs ---------------------------------------------------------------------

    async def on_scan(self, scan: Scan) -> Outcome:
        async with self._lock:
            try:
                outcome = await self._scan(scan)
            except Exception as exc:  # a bug in one flow must not stop the scanner loop
                log.exception("scan %r failed", scan.text)
                outcome = refused(f"Kiosk error, nothing saved: {exc}")
            self._answer(outcome, scan_ms=int(scan.at.timestamp() * 1000), sound=True)
        return outcome

    async def _scan(self, scan: Scan) -> Outcome:
        if (signed_out := self._check_roster()) is not None:
            return refused(signed_out)
        if scan.problem is not None:
            # Read, but doubtful (bad bytes, unmapped keys): never guess at a tag.
            return refused(f"Scan not clear ({scan.problem}). Scan again.")
        if self.second is not None:
            worker = await self._by_badge(scan.text)
            if worker is None:
                return refused(f"The {self.second.purpose} signs in: scan a badge or tap a name.")
            return self._second_signed(worker)
        if self.worker is None:
            worker = await self._by_badge(scan.text)
            if worker is None:
                gone = await self.workers.removed_badge(scan.text) if self.workers else None
                return refused(left_message(gone) if gone
                               else "Sign in first: scan your badge or tap your name.")
            return self._sign_in(worker)
        self._touch()
        item = self.floor.resolve(scan.text)
        if item.kind == "not_a_tag" and isinstance(self.flow, HomeFlow) and not self.headless:
            other = await self._by_badge(scan.text)
            if other is not None:  # another worker takes over the kiosk
                return self._sign_in(other)
        return await self.flow.scan(item, scan)

    async def act(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A touch on the screen: ``{"action": name, ...args}``; the answer the page shows."""
        action = body.get("action")
        async with self._lock:
            try:
                if not isinstance(action, str):
                    raise FlowError("no action")
                outcome = await self._act(action, body)
            except FlowError as exc:
                outcome = refused(f"Not possible: {exc}.")
            except Exception as exc:
                log.exception("action %r failed", action)
                outcome = refused(f"Kiosk error, nothing saved: {exc}")
            if action == "print":
                await self.refresh_printer()  # the status bar tells at once what the job found
            self._answer(outcome, sound=not outcome.ok or outcome.event_id is not None)
        return {"ok": outcome.ok, "message": outcome.message, "detail": outcome.detail,
                "event": outcome.event_id}

    async def _act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if (signed_out := self._check_roster()) is not None:
            return refused(signed_out)
        if action.startswith("second."):
            return await self._act_second(action, args)
        if self.worker is None:
            return await self._act_signin(action, args)
        self._touch()
        if action == "signout":
            return self.sign_out("Signed out.")
        if action == "go":
            screen = args.get("screen")
            if screen not in SCREENS:
                raise FlowError(f"unknown screen {screen!r}")
            return await self.go(str(screen))
        return await self.flow.act(action, args)

    async def go(self, screen: str) -> Outcome:
        self.second = None
        ctx, printer = self.ctx, self.devices.printer
        flows: dict[str, Callable[[], Flow]] = {
            "home": lambda: HomeFlow(ctx),
            "move": lambda: MoveFlow(ctx),
            "harvest": lambda: HarvestFlow(ctx),
            "destroy": lambda: DestroyFlow(ctx, printer),
            "tag": lambda: TagFlow(ctx),
            "lot": lambda: LotFlow(ctx, printer),
            "labels": lambda: LabelsFlow(ctx, printer),
            "count": lambda: CountFlow(ctx),
            "records": lambda: RecordsFlow(ctx),
            "harvest_waste": lambda: HarvestWasteFlow(ctx),
            "cure": lambda: CureFlow(ctx),
            "packages": lambda: PackagesMenu(ctx),
            "package_move": lambda: PackageMoveFlow(ctx),
            "package_adjust": lambda: PackageAdjustFlow(ctx),
            "scalecheck": lambda: ScaleCheckFlow(ctx, self.devices.scale, self.config.scale),
            "hold": lambda: HoldFlow(ctx, printer),
            "receive": lambda: TagReceiptFlow(ctx),
        }
        self.flow = flows[screen]()
        if isinstance(self.flow, RecordsFlow):
            await self.flow.refresh()
        if isinstance(self.flow, ScaleCheckFlow):
            return await self.flow.start()
        return Outcome(True, self.flow.title or "Choose a task", quiet=True)

    async def _act_signin(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if self.workers is None:
            raise FlowError("no sign-in here")
        if action == "signin.pick":
            worker = self.workers.get(str(args.get("id")))
            if worker is None:
                return refused("Unknown worker.")
            self.picked, self.signin_message = worker, ""
            return Outcome(True, f"{worker.name}: enter your PIN.", quiet=True)
        if action == "signin.back":
            self.picked, self.signin_message = None, ""
            return Outcome(True, "Scan your badge or tap your name.", quiet=True)
        if action == "signin.pin":
            if self.picked is None:
                return refused("Tap your name first.")
            check = await self.workers.check_pin(self.picked.id, str(args.get("pin", "")))
            if check.worker is None:
                self.signin_message = check.message
                return refused(check.message)
            return self._sign_in(check.worker)
        raise FlowError("sign in first")

    async def _act_second(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if self.worker is None or self.workers is None:
            raise FlowError("sign in first" if self.workers else "no second sign-in on a headless kiosk")
        if action == "second.start":
            purpose = args.get("purpose", "witness")
            if purpose not in ("witness", "supervisor"):
                raise FlowError(f"unknown second sign-in {purpose!r}")
            if not hasattr(self.flow, "set_witness"):
                raise FlowError(f"no {purpose} needed here")
            self.second = SecondPerson(str(purpose), self.flow)
            return Outcome(True, f"{str(purpose).capitalize()}: scan your badge or tap your name.",
                           quiet=True)
        second = self.second
        if second is None:
            raise FlowError("no second sign-in under way")
        if action == "second.cancel":
            self.second = None
            return Outcome(True, "No witness signed in.", quiet=True)
        if action == "second.pick":
            worker = self.workers.get(str(args.get("id")))
            if worker is None:
                return refused("Unknown worker.")
            second.selected = worker
            return Outcome(True, f"{worker.name}: enter your PIN.", quiet=True)
        if action == "second.pin":
            if second.selected is None:
                return refused("Tap the witness's name first.")
            check = await self.workers.check_pin(second.selected.id, str(args.get("pin", "")))
            if check.worker is None:
                return refused(check.message)
            return self._second_signed(check.worker)
        raise FlowError(f"unknown action {action!r}")

    def _second_signed(self, worker: Worker) -> Outcome:
        second = self.second
        assert second is not None and self.worker is not None
        if worker.id == self.worker.id:
            second.selected = None
            return refused(f"The {second.purpose} must be a second person, not {worker.name}.")
        if second.purpose == "supervisor" and not worker.supervisor:
            second.selected = None
            return refused(f"{worker.name} is not a supervisor.")
        self.second = None
        set_witness = getattr(second.flow, "set_witness", None)
        if set_witness is None or second.flow is not self.flow:
            return refused("The screen changed: nothing to witness.")
        outcome: Outcome = set_witness({"id": worker.id, "name": worker.name})
        return outcome

    async def on_reading(self, reading: Reading) -> None:
        before = self.watch.live.state if self.watch.live is not None else None
        settled = self.watch.feed(reading)
        self._push_weight()
        entered_fault = (reading.state in (ReadingState.OVERLOAD, ReadingState.ERROR)
                         and before != reading.state)
        if settled is None and not entered_fault:
            return
        async with self._lock:
            if not self.flow.wants_weight or self.worker is None or self.second is not None:
                return
            if entered_fault:
                message = ("Scale overloaded: take weight off. Nothing logged."
                           if reading.state is ReadingState.OVERLOAD else "Scale error: nothing logged.")
                self._answer(refused(message), sound=True)
                return
            assert settled is not None
            try:
                outcome = await self.flow.weighed(settled)
            except Exception as exc:
                log.exception("weight %r failed", settled.raw)
                outcome = refused(f"Kiosk error, nothing saved: {exc}")
            if outcome is not None:
                if outcome.event_id is not None:
                    self._touch()
                self._answer(outcome, sound=not outcome.quiet)

    async def on_pedal(self) -> None:
        if self.flow.wants_weight and self.worker is not None:
            await self.act({"action": "confirm"})

    # --- what the worker sees and hears ------------------------------------------------------

    def _answer(self, outcome: Outcome, *, scan_ms: int | None = None, sound: bool) -> None:
        self._seq += 1
        self.feedback = Feedback(self._seq, outcome.ok, outcome.quiet, outcome.message, outcome.detail,
                                 _ms(), scan_ms, outcome.event_id)
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

    def push(self) -> None:
        self._pushed_version = self.outbox.version
        self.hub.publish("state", self.state_json())

    def _push_weight(self) -> None:
        text = json.dumps(self.watch.view(), separators=(",", ":"))
        if text != self._weight_json:
            self._weight_json = text
            self.hub.publish("weight", text)

    def snapshot(self) -> dict[str, Any]:
        worker = self.worker
        signing = self.workers is not None and (worker is None or self.second is not None)
        flow = self.flow
        fb = self.feedback
        second = self.second
        picked = second.selected if second else self.picked
        return {
            "kiosk": {"facility": self.outbox.facility, "device": self.outbox.device,
                      "room": self.config.kiosk.room},
            "now_ms": _ms(),
            "status": self.status,
            "worker": worker.public() if worker else None,
            "headless": self.headless,
            "idle_sign_out_s": None if self.headless else self.config.workers.idle_sign_out_s,
            "signin": {
                "workers": [w.public() for w in self.workers.all()] if signing and self.workers else [],
                "picked": picked.public() if picked else None,
                "message": self.signin_message,
                "error": self.workers.error if self.workers else None,
            } if signing else None,
            "second": {"purpose": second.purpose} if second else None,
            "screen": "signin" if worker is None else flow.screen,
            "title": flow.title,
            "flow": flow.view() if worker is not None else {},
            "tiles": [{"screen": s, "title": t} for s, t in TILES if self._tile_shown(s)],
            "feedback": {"seq": fb.seq, "ok": fb.ok, "quiet": fb.quiet, "message": fb.message,
                         "detail": fb.detail, "at_ms": fb.at_ms, "scan_ms": fb.scan_ms,
                         "event": fb.event} if fb else None,
            "weight": self.watch.view(),
            "sim": self.sim_view(),
        }

    def _tile_shown(self, screen: str) -> bool:
        # Waste on hold only where the state holds waste (NM), or while holds are left.
        return screen != "hold" or hold_hours(self.floor) > 0 or bool(self.floor.facts.items("hold"))

    # --- status ---------------------------------------------------------------------------

    def scanner_state(self, connected: bool, fault: DeviceFault | None) -> None:
        if fault is not None:
            self.faults["scanner"] = fault.message
            log.warning("scanner: %s", fault)
        else:
            self.faults.pop("scanner", None)

    def _scale_state(self, status: ScaleStatus) -> None:
        if status.fault is not None:
            self.faults["scale"] = status.fault.message
        else:
            self.faults.pop("scale", None)
        self._push_weight()

    async def refresh_printer(self) -> None:
        try:
            self.printer_status = await self.devices.printer.status()
        except Exception as exc:  # status() should never raise; a broken driver must not stop us
            log.exception("printer status failed")
            self.printer_status = PrinterStatus(confirmed=False, detail=str(exc))
        status = self.printer_status
        if status.faults:
            self.faults["printer"] = status.message
        else:
            self.faults.pop("printer", None)

    def _outbox_changed(self) -> None:
        """A save, an ack or a prune moved the outbox: show it now, not at the next tick. The
        counts go into the status at once (a scan's own answer carries them: one push, not two);
        the rest, and a burst (a drained backlog's acks), in one update per ``STATUS_GATHER_S``."""
        if self.status:
            counts = self.outbox.counts
            self.status = {**self.status, "backlog": counts.pending,
                           "oldest_unsent_ms": counts.oldest_pending_ms, "rejected": counts.rejected}
        if self._status_soon is None:
            self._status_soon = asyncio.get_running_loop().call_later(STATUS_GATHER_S, self._status_start)

    def _status_start(self) -> None:
        self._status_soon = None
        if self._status_task is not None and not self._status_task.done():
            self._outbox_changed()  # the last update is still running: look again shortly
            return
        self._status_task = asyncio.create_task(self._status_pushed(), name="kiosk-status")

    async def _status_pushed(self) -> None:
        try:
            if await self.update_status() or self._pushed_version != self.outbox.version:
                self.push()
        except Exception:  # the next change or tick tries again
            log.exception("status update failed")

    async def update_status(self) -> bool:
        """Recompute the status bar and the tower light; True when anything changed."""
        backlog = self.outbox.counts  # kept by the outbox as it commits: no trip to the disk
        up = self._uplink_status()
        faults = dict(self.faults)
        if up.fault:
            faults["uplink"] = up.fault
        if self.workers is not None and self.workers.error:
            faults["workers"] = self.workers.error
        printer = self.printer_status
        scale = self.devices.scale.status
        if up.online:
            self._offline_since = None
        elif self._offline_since is None:
            self._offline_since = _ms()
            log.warning("offline: saving here until the broker is back")
        status = {
            "online": up.online,
            "offline_since_ms": self._offline_since,
            "backlog": backlog.pending,
            "oldest_unsent_ms": backlog.oldest_pending_ms,
            "rejected": backlog.rejected,
            "printer": {"name": self.devices.printer.name,
                        "message": printer.message if printer else "not checked yet",
                        "ready": bool(printer and not printer.faults)},
            "scale": {"id": self.watch.scale_id, "connected": scale.connected,
                      "message": scale.fault.message if scale.fault else scale.link.value,
                      "refusal": self.floor.scale_refusal(self.watch.scale_id, date.today()),
                      "check_due": self.watch.view()["check_due"]},
            "ref": self.floor.ref.summary(),
            "faults": sorted(set(faults.values())),
        }
        self._light(status)
        version = self.outbox.version
        if (version != self._records_version and isinstance(self.flow, RecordsFlow)
                and self.worker is not None and self.flow.selected is None):
            async with self._lock:
                if isinstance(self.flow, RecordsFlow):
                    self._records_version = version
                    before = self.flow.rows
                    await self.flow.refresh()
                    if self.flow.rows != before:
                        self.status = status
                        return True
        if status != self.status:
            self.status = status
            return True
        return False

    def _light(self, status: dict[str, Any]) -> None:
        oldest = status["oldest_unsent_ms"]
        waiting = oldest is not None and (_ms() - oldest) / 1000 > BUFFERING_AFTER_S
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

    async def idle_check(self) -> None:
        if self.workers is not None:
            self.workers.refresh()
        if self.workers is not None and self.workers.version != self._workers_version:
            async with self._lock:
                self._check_roster()
                self.push()
        if self.headless or self.worker is None:
            return
        if time.monotonic() - self._last_activity < self.config.workers.idle_sign_out_s:
            return
        async with self._lock:
            if self.worker is not None and \
                    time.monotonic() - self._last_activity >= self.config.workers.idle_sign_out_s:
                minutes = self.config.workers.idle_sign_out_s / 60
                self.sign_out(f"Signed out after {minutes:g} min without use.")
                self.push()

    # --- what the page server needs (kiosk_ui.KioskModel) ---------------------------------

    def subscribe(self) -> Subscription:
        return self.hub.subscribe()

    def state_json(self) -> str:
        return json.dumps(self.snapshot(), separators=(",", ":"))

    async def sim(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if self.sim_handler is None or not self.config.ui.sim_panel:
            return None
        return await self.sim_handler(body)

    def printed_file(self, name: str) -> Path | None:
        if not self.config.ui.sim_panel:
            return None
        return next((p for p in self.sim_printed() if p.name == name), None)

    def preview_png(self) -> bytes | None:
        flow = self.flow
        return flow.preview() if isinstance(flow, LabelsFlow) and self.worker is not None else None
