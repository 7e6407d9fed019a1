"""The kiosk a worker stands at: every input, one at a time, to whoever should answer it.

Every input — a scan from the driver, a touch from the page, a settled load on
the scale, the foot pedal — goes through one lock, so a flow sees one thing at a
time and a touch can never interleave with a scan half-way through a record.
The session answers while someone must sign in (``agent.session``); otherwise
the flow on screen does (``agent.screens`` lists them). The answer, and
everything else the worker sees and hears, is the presenter's
(``agent.presenter``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from agent import screens
from agent.config import AgentConfig
from agent.devices import Devices as Devices  # the agent builds a Kiosk from these
from agent.floor import Floor
from agent.hub import Hub, Subscription
from agent.journal import JournalEntry
from agent.outbox import Outbox
from agent.presenter import Feedback, Presenter
from agent.scalewatch import ScaleWatch
from agent.session import Session
from agent.uplink import UplinkStatus
from agent.users import Worker, Workers
from agent.workflows.base import Flow, FlowContext, FlowError, Outcome, refused
from agent.workflows.scan import HomeFlow
from canopy.events import KIOSK_USER, SigninAlerted
from drivers.faults import DeviceFault
from drivers.printer import PrintResult
from drivers.scale import Reading, ReadingState
from drivers.scanner import Scan

log = logging.getLogger(__name__)

# Outbox changes closer together than this make one status update (a drain's acks).
STATUS_GATHER_S = 0.1
SIGNIN_ALERT = "signin_alert"  # UplinkStatus.extra key: see agent.uplink.status_payload


class Kiosk:
    def __init__(self, config: AgentConfig, outbox: Outbox, floor: Floor, devices: Devices,
                 uplink_status: Callable[[], UplinkStatus]) -> None:
        self.config = config
        self.outbox = outbox
        self.floor = floor
        self.devices = devices
        self.watch = ScaleWatch(devices.scale, floor, repeats=config.scale.stable_repeats)
        self.session = Session(config, roster=lambda: floor.roster, home=self._home)
        self._uplink_status = uplink_status
        if self.session.workers is not None:
            # Repeated wrong PINs or unknown badges reach IT too: the newest alert rides in
            # the kiosk's retained status (its fault line in `canopy bridge fleet`).
            self.session.workers.lockouts.on_alert = self._signin_alerts
            # ... and into the ledger: the kiosk saves each one as a facility record.
            self.session.workers.lockouts.on_raised = self._record_signin_alert
            self._signin_alerts(self.session.workers.lockouts.alerts)
        self.ctx = FlowContext(
            outbox=outbox, floor=floor, settings=config.floor, kiosk_room=config.kiosk.room,
            user=self.session.user_id, is_supervisor=self.session.is_supervisor,
            scale_id=lambda: self.watch.scale_id, weight_ok=self.watch.check,
            settled=lambda: self.watch.settled,
            mark_weighed=self.watch.mark_logged, printed=self._printed,
        )
        self._bench = screens.Bench(self.ctx, devices.printer, devices.scale, config.scale)
        self.flow: Flow = HomeFlow(self.ctx)
        self._lock = asyncio.Lock()
        self._print_jobs = 0  # print jobs since the last printer refresh (the pill follows them)
        self._alert_tasks: set[asyncio.Task[None]] = set()  # sign-in alerts being saved
        self.ui_url: str | None = None
        # The demo's simulator panel (set by the agent when its devices are simulated).
        self.sim_view: Callable[[], dict[str, Any] | None] = lambda: None
        self.sim_handler: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None = None
        self.sim_printed: Callable[[], list[Path]] = list
        self.presenter = Presenter(config, outbox, floor, devices, self.watch, self.session,
                                   flow=lambda: self.flow, uplink_status=uplink_status,
                                   sim_view=lambda: self.sim_view())
        devices.scale.on_state = self.presenter.scale_state
        floor.on_change.append(lambda name: self.push())
        # The status bar and the Records list follow the outbox's commits (never a poll of it).
        self._polled_version = -1  # the outbox version the polled screen (Records) was read at
        self._status_soon: asyncio.TimerHandle | None = None
        self._status_task: asyncio.Task[None] | None = None
        outbox.on_change.append(self._outbox_changed)

    # --- the parts, by the names the agent, the page server and the tests use -------------

    @property
    def worker(self) -> Worker | None:
        return self.session.worker

    @property
    def workers(self) -> Workers | None:
        return self.session.workers

    @property
    def hub(self) -> Hub:
        return self.presenter.hub

    @property
    def feedback(self) -> Feedback | None:
        return self.presenter.feedback

    @property
    def faults(self) -> dict[str, str]:
        return self.presenter.faults

    @property
    def status(self) -> dict[str, Any]:
        return self.presenter.status

    def _home(self) -> None:
        self.flow = HomeFlow(self.ctx)

    # --- inputs ---------------------------------------------------------------------

    async def on_scan(self, scan: Scan) -> Outcome:
        async with self._lock:
            try:
                outcome = await self._scan(scan)
            except Exception as exc:  # a bug in one flow must not stop the scanner loop
                log.exception("scan %r failed", scan.text)
                outcome = refused(f"Kiosk error, nothing saved: {exc}")
            self.presenter.answer(outcome, scan_ms=int(scan.at.timestamp() * 1000), sound=True)
        return outcome

    async def _scan(self, scan: Scan) -> Outcome:
        if (signed_out := self.session.check_roster()) is not None:
            return refused(signed_out)
        if scan.problem is not None:
            # Read, but doubtful (bad bytes, unmapped keys): never guess at a tag.
            return refused(f"Scan not clear ({scan.problem}). Scan again.")
        if (answer := await self.session.badge(scan.text, self.flow)) is not None:
            return answer
        self.session.touch()
        item = self.floor.resolve(scan.text)
        if item.kind == "not_a_tag" and isinstance(self.flow, HomeFlow) \
                and (taken := await self.session.take_over(scan.text)) is not None:
            return taken  # another worker's badge: they take the kiosk over
        return await self.flow.scan(item, scan)

    def _record_signin_alert(self, alert: SigninAlerted) -> None:
        task = asyncio.get_running_loop().create_task(self._save_signin_alert(alert), name="signin-alert")
        self._alert_tasks.add(task)
        task.add_done_callback(self._alert_tasks.discard)

    async def _save_signin_alert(self, alert: SigninAlerted) -> None:
        """Save the alert like any record (the kiosk itself is its ``user``); Records lists it."""
        try:
            event = await self.outbox.append(alert, user=KIOSK_USER)
            await self.floor.journal.add(JournalEntry(event.id, alert.type_name, alert.message, KIOSK_USER,
                                                      int(event.at.timestamp() * 1000), None))
        except Exception:  # the alert is on the screen and in the kiosk's status already
            log.exception("sign-in alert not saved as a record")

    def _printed(self, result: PrintResult) -> None:
        self._print_jobs += 1
        self.presenter.printed(result)

    def _signin_alerts(self, alerts: list[str]) -> None:
        extra = self._uplink_status().extra
        if alerts:
            extra[SIGNIN_ALERT] = f"sign-in alert: {alerts[-1]}"
        else:
            extra.pop(SIGNIN_ALERT, None)

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
            if action == "print" or self._print_jobs:
                await self.refresh_printer()  # the status bar tells at once what the job found
            self.presenter.answer(outcome, sound=not outcome.ok or outcome.event_id is not None)
        return {"ok": outcome.ok, "message": outcome.message, "detail": outcome.detail,
                "event": outcome.event_id}

    async def _act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if (signed_out := self.session.check_roster()) is not None:
            return refused(signed_out)
        if action.startswith("second."):
            return await self.session.act_second(action, args, self.flow)
        if self.session.worker is None:
            return await self.session.act_signin(action, args)
        self.session.touch()
        if action == "signout":
            return self.session.sign_out("Signed out.")
        if action == "alerts.dismiss":
            return self.session.dismiss_alerts()
        if action == "go":
            screen = args.get("screen")
            if not isinstance(screen, str) or screen not in screens.BY_NAME:
                raise FlowError(f"unknown screen {screen!r}")
            return await self.go(screen)
        return await self.flow.act(action, args)

    async def go(self, screen: str) -> Outcome:
        self.session.second = None
        self.flow = screens.BY_NAME[screen].make(self._bench)
        return await self.flow.enter()

    async def on_reading(self, reading: Reading) -> None:
        before = self.watch.live.state if self.watch.live is not None else None
        settled = self.watch.feed(reading)
        self.presenter.push_weight()
        entered_fault = (reading.state in (ReadingState.OVERLOAD, ReadingState.ERROR)
                         and before != reading.state)
        if settled is None and not entered_fault:
            return
        async with self._lock:
            if not self.flow.wants_weight or self.session.worker is None or self.session.second is not None:
                return
            if entered_fault:
                message = ("Scale overloaded: take weight off. Nothing logged."
                           if reading.state is ReadingState.OVERLOAD else "Scale error: nothing logged.")
                self.presenter.answer(refused(message), sound=True)
                return
            assert settled is not None
            try:
                outcome = await self.flow.weighed(settled)
            except Exception as exc:
                log.exception("weight %r failed", settled.raw)
                outcome = refused(f"Kiosk error, nothing saved: {exc}")
            if outcome is not None:
                if outcome.event_id is not None:
                    self.session.touch()
                self.presenter.answer(outcome, sound=not outcome.quiet)

    async def on_pedal(self) -> None:
        if self.flow.wants_weight and self.session.worker is not None:
            await self.act({"action": "confirm"})

    def scanner_state(self, connected: bool, fault: DeviceFault | None) -> None:
        self.presenter.scanner_state(connected, fault)

    # --- the agent's regular checks ---------------------------------------------------------

    async def refresh_printer(self) -> None:
        self._print_jobs = 0
        await self.presenter.refresh_printer()

    def _outbox_changed(self) -> None:
        """A save, an ack or a prune moved the outbox: show it now, not at the next tick. The
        counts go into the status at once (a scan's own answer carries them: one push, not two);
        the rest, and a burst (a drained backlog's acks), in one update per ``STATUS_GATHER_S``."""
        if self.status:
            counts = self.outbox.counts
            self.presenter.status = {**self.status, "backlog": counts.pending,
                                     "oldest_unsent_ms": counts.oldest_pending_ms,
                                     "rejected": counts.to_fix}
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
            if await self.update_status() or self.presenter.pushed_version != self.outbox.version:
                self.push()
        except Exception:  # the next change or tick tries again
            log.exception("status update failed")

    async def update_status(self) -> bool:
        """Recompute the status bar and the tower light; True when anything changed."""
        status = await self.presenter.read_status()
        polled = False
        version = self.outbox.version
        # A polled screen (Records) is read again only when the outbox changed since.
        if self.session.worker is not None and self.flow.polled and version != self._polled_version:
            async with self._lock:
                if self.flow.polled:
                    self._polled_version = version
                    polled = await self.flow.poll()
        return self.presenter.show_status(status) or polled

    async def idle_check(self) -> None:
        session = self.session
        if session.roster_changed():
            async with self._lock:
                session.check_roster()
                self.push()
        if not session.idle():
            return
        async with self._lock:
            if session.idle():
                session.sign_out_idle()
                self.push()

    # --- what the page server needs (kiosk_ui.KioskModel) ---------------------------------

    def push(self) -> None:
        self.presenter.push()

    def snapshot(self) -> dict[str, Any]:
        return self.presenter.snapshot()

    def subscribe(self) -> Subscription:
        return self.hub.subscribe()

    def state_json(self) -> str:
        return self.presenter.state_json()

    async def sim(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if self.sim_handler is None or not self.config.ui.sim_panel:
            return None
        return await self.sim_handler(body)

    def printed_file(self, name: str) -> Path | None:
        if not self.config.ui.sim_panel:
            return None
        return next((p for p in self.sim_printed() if p.name == name), None)

    def preview_png(self) -> bytes | None:
        return self.flow.preview() if self.session.worker is not None else None
