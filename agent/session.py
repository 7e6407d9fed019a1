"""Who works at the kiosk: sign-in, the second person for one record, the roster, idle sign-out.

A worker signs in with their badge or by tapping their name and typing a PIN;
another badge scanned on the home screen takes the kiosk over. Some records
need a second person: a witness for waste, a supervisor to sign a correction
off; they sign in the same two ways for that one record only. When the worker
list changes (a leaver removed at the bridge), whoever it no longer names is
signed out, and a signed-in worker gets their new roles. A kiosk nobody used for
``workers.idle_sign_out_s`` signs its worker out.

A kiosk without a worker file is a headless scan station: its one operator
(``kiosk.operator``) is always signed in and none of this applies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.config import AgentConfig
from agent.lockouts import Lockouts
from agent.users import Worker, Workers, left_message
from agent.workflows.base import Flow, FlowError, Outcome, refused
from canopy.refdata import Roster

log = logging.getLogger(__name__)


@dataclass
class SecondPerson:
    """A second worker signing in for one record: witness or supervisor."""

    purpose: str  # "witness" or "supervisor" (who must hold that role)
    flow: Flow
    selected: Worker | None = None
    badged: bool = False  # ``selected`` scanned their badge (a supervisor then types the PIN)


class Session:
    def __init__(self, config: AgentConfig, roster: Callable[[], Roster | None],
                 home: Callable[[], None]) -> None:
        self._home = home  # back to the home screen: whenever the worker changes
        self.idle_sign_out_s = config.workers.idle_sign_out_s
        self.workers: Workers | None = None
        if config.workers.file is not None:
            self.workers = Workers(config.workers.file, config.workers.pin_attempts,
                                   config.workers.lockout_s, roster=roster,
                                   lockouts=Lockouts.load(config.signin_file),
                                   badge_attempts=config.workers.badge_attempts,
                                   badge_pause_s=config.workers.badge_pause_s)
        self.worker: Worker | None = None
        if self.workers is None:  # headless scan station: see KioskSettings.operator
            self.worker = Worker(id=config.kiosk.operator, name=config.kiosk.operator, pin="-")
        self.picked: Worker | None = None  # tapped name (or a supervisor's badge), waiting for the PIN
        self._badged: str | None = None  # the picked worker scanned their badge (supervisors: badge + PIN)
        self.second: SecondPerson | None = None
        self.message = ""  # the sign-in screen's line (why someone was signed out, a wrong PIN)
        self._workers_version = 0  # the worker list the signed-in worker was checked against
        self._last_activity = time.monotonic()

    @property
    def headless(self) -> bool:
        return self.workers is None

    def user_id(self) -> str:
        if self.worker is None:  # flows only run while someone is signed in
            raise RuntimeError("no worker signed in")
        return self.worker.id

    def is_supervisor(self) -> bool:
        return bool(self.worker and self.worker.supervisor)

    def touch(self) -> None:
        """The worker did something: the idle sign-out starts again."""
        self._last_activity = time.monotonic()

    # --- signing in and out -------------------------------------------------------

    def sign_in(self, worker: Worker) -> Outcome:
        self.worker, self.picked, self.message, self._badged = worker, None, "", None
        self._home()
        self.touch()
        log.info("signed in: %s", worker.id)
        return Outcome(True, f"Signed in: {worker.name}")

    def sign_out(self, why: str) -> Outcome:
        if self.headless:
            return refused("This kiosk has no sign-in (headless scan station).")
        if self.worker is not None:
            log.info("signed out: %s (%s)", self.worker.id, why)
        self.worker, self.picked, self.second, self._badged = None, None, None, None
        self._home()
        self.message = why
        return Outcome(True, why)

    async def badge(self, text: str, flow: Flow) -> Outcome | None:
        """A scan while someone must sign in (the worker, or the second person): the
        answer; None when the scan is the flow's. Unknown badges are counted (rate limit)."""
        if self.workers is None:
            return None
        if self.second is not None:
            check = await self.workers.sign_in_badge(text)
            if check.worker is None:
                return refused(check.message
                               or f"The {self.second.purpose} signs in: scan a badge or tap a name.")
            if self.second.purpose == "supervisor" and check.worker.supervisor:
                self.second.selected, self.second.badged = check.worker, True
                return Outcome(True, f"{check.worker.name}: now your PIN.", quiet=True)
            return self._second_signed(check.worker, flow)
        if self.worker is None:
            check = await self.workers.sign_in_badge(text)
            if check.worker is None:
                gone = await self.workers.removed_badge(text)
                return refused(left_message(gone) if gone else check.message
                               or "Sign in first: scan your badge or tap your name.")
            return self._badge_then_pin(check.worker)
        return None

    def _badge_then_pin(self, worker: Worker) -> Outcome:
        """A supervisor signs in with badge and PIN together; anyone else with the badge."""
        if not worker.supervisor:
            return self.sign_in(worker)
        self.picked, self._badged, self.message = worker, worker.id, ""
        return Outcome(True, f"{worker.name}: now your PIN.", quiet=True)

    async def take_over(self, text: str) -> Outcome | None:
        """On the home screen, another worker's badge signs them in instead (a scan that
        is neither a tag nor a badge counts as an unknown badge: the same rate limit)."""
        if self.workers is None:
            return None
        check = await self.workers.sign_in_badge(text)
        if check.worker is not None:
            if check.worker.supervisor:  # the kiosk is theirs once the PIN is typed too
                self.sign_out("")
            return self._badge_then_pin(check.worker)
        return refused(check.message) if check.message else None

    # --- sign-in alerts -------------------------------------------------------------------

    def alerts(self) -> list[str]:
        """Repeated wrong PINs or unknown badges, for supervisors (never shown to others)."""
        if self.workers is None or not self.is_supervisor():
            return []
        return list(self.workers.lockouts.alerts)

    def dismiss_alerts(self) -> Outcome:
        if self.workers is None or not self.is_supervisor():  # the role is checked here, not by the page
            return refused("Only a supervisor can dismiss sign-in alerts.")
        self.workers.lockouts.dismiss_alerts()
        return Outcome(True, "Sign-in alerts dismissed.", quiet=True)

    async def act_signin(self, action: str, args: Mapping[str, Any]) -> Outcome:
        """A touch on the sign-in screen: tap a name, go back, type the PIN."""
        if self.workers is None:
            raise FlowError("no sign-in here")
        if action == "signin.pick":
            worker = self.workers.get(str(args.get("id")))
            if worker is None:
                return refused("Unknown worker.")
            if worker.supervisor:
                return refused(f"{worker.name}: supervisors sign in with badge and PIN. Scan your badge.")
            self.picked, self.message, self._badged = worker, "", None
            return Outcome(True, f"{worker.name}: enter your PIN.", quiet=True)
        if action == "signin.back":
            self.picked, self.message, self._badged = None, "", None
            return Outcome(True, "Scan your badge or tap your name.", quiet=True)
        if action == "signin.pin":
            if self.picked is None:
                return refused("Tap your name first.")
            badged = self._badged == self.picked.id
            if self.picked.supervisor and not badged:
                return refused("Supervisors sign in with badge and PIN: scan your badge first.")
            check = await self.workers.check_pin(self.picked.id, str(args.get("pin", "")), badge=badged)
            if check.worker is None:
                self.message = check.message
                return refused(check.message)
            return self.sign_in(check.worker)
        raise FlowError("sign in first")

    # --- the second person --------------------------------------------------------

    async def act_second(self, action: str, args: Mapping[str, Any], flow: Flow) -> Outcome:
        """``second.start|cancel|pick|pin``: a witness or supervisor signs in for ``flow``."""
        if self.worker is None or self.workers is None:
            raise FlowError("sign in first" if self.workers else "no second sign-in on a headless kiosk")
        if action == "second.start":
            if not hasattr(flow, "set_witness"):
                raise FlowError("no second person needed here")
            purpose = flow.second_role  # the screen says who signs, whatever the request says
            asked = args.get("purpose", purpose)
            if asked != purpose:
                return refused(f"This record needs a {purpose}, not a {asked}.")
            self.second = SecondPerson(purpose, flow)
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
            if second.purpose == "supervisor":
                return refused("A supervisor signs off with badge and PIN: scan the supervisor's badge.")
            second.selected, second.badged = worker, False
            return Outcome(True, f"{worker.name}: enter your PIN.", quiet=True)
        if action == "second.pin":
            if second.selected is None:
                return refused("Tap the witness's name first." if second.purpose == "witness"
                               else "Scan the supervisor's badge first.")
            if second.purpose == "supervisor" and not second.badged:
                return refused("A supervisor signs off with badge and PIN: scan the supervisor's badge.")
            check = await self.workers.check_pin(second.selected.id, str(args.get("pin", "")),
                                                 badge=second.badged)
            if check.worker is None:
                return refused(check.message)
            return self._second_signed(check.worker, flow)
        raise FlowError(f"unknown action {action!r}")

    def _second_signed(self, worker: Worker, flow: Flow) -> Outcome:
        second = self.second
        assert second is not None and self.worker is not None
        if worker.id == self.worker.id:
            second.selected = None
            return refused(f"The {second.purpose} must be a second person, not {worker.name}.")
        if flow.second_role == "supervisor" and not worker.supervisor:
            second.selected = None
            return refused(f"{worker.name} is not a supervisor.")
        self.second = None
        set_witness = getattr(second.flow, "set_witness", None)  # waste flows, the hold, Records
        if set_witness is None or second.flow is not flow:
            return refused("The screen changed: nothing to witness.")
        outcome: Outcome = set_witness({"id": worker.id, "name": worker.name,
                                        "role": "supervisor" if worker.supervisor else "worker"})
        return outcome

    # --- the roster and idleness ----------------------------------------------------

    def roster_changed(self) -> bool:
        """The worker list changed since the signed-in worker was checked against it."""
        if self.workers is None:
            return False
        self.workers.refresh()
        return self.workers.version != self._workers_version

    def check_roster(self) -> str | None:
        """After a new worker list (a leaver removed at the bridge): whoever it no longer
        names is signed out (the message why), and a signed-in worker gets their new
        roles. Under the kiosk's lock."""
        workers = self.workers
        if workers is None:
            return None
        workers.refresh()
        if workers.version == self._workers_version:
            return None
        self._workers_version = workers.version
        if self.picked is not None and workers.get(self.picked.id) is None:
            self.message = left_message(self.picked)
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

    def idle(self) -> bool:
        """A signed-in worker has not used the kiosk for the idle sign-out time."""
        return (not self.headless and self.worker is not None
                and time.monotonic() - self._last_activity >= self.idle_sign_out_s)

    def sign_out_idle(self) -> None:
        self.sign_out(f"Signed out after {self.idle_sign_out_s / 60:g} min without use.")

    # --- for the page -----------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """The page model's part about who is signed in and who is signing in."""
        worker, workers, second = self.worker, self.workers, self.second
        signing = workers is not None and (worker is None or second is not None)
        picked = second.selected if second else self.picked
        return {
            "worker": worker.public() if worker else None,
            "headless": self.headless,
            "idle_sign_out_s": None if self.headless else self.idle_sign_out_s,
            "signin": {
                "workers": [w.public() for w in workers.all()] if signing and workers else [],
                "picked": picked.public() if picked else None,
                "message": self.message,
                "error": workers.error if workers else None,
            } if signing else None,
            "second": {"purpose": second.purpose} if second else None,
            "alerts": self.alerts(),
        }
