"""Workers who may sign in at a kiosk: the facility's roster, PIN checks and lockouts.

Who may sign in comes from the bridge when it can: the facility's roster arrives
as the retained ``workers`` reference list (kept on disk by the Floor), so a new
hire or a leaver reaches every kiosk at once. Until a kiosk has ever received it,
and on setups without a bridge, the kiosk's own workers file is used (written by
``canopy agent add-worker``; format and hashing in ``canopy.workerfile``).

Every event carries the worker's ``id`` (never the name, which can change).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.lockouts import Lockouts, Tries
from canopy.refdata import Roster
from canopy.workerfile import (
    PIN_RE,
    WORKER_ID_PATTERN,
    Worker,
    WorkerFile,
    WorkerFileError,
    add_worker,
    add_worker_arguments,
    add_worker_from_args,
    badge_digest,
    badge_matches,
    check_pin_format,
    describe,
    from_roster,
    hash_badge,
    hash_pin,
    read_file,
    verify_pin,
    write_file,
)

__all__ = [
    "WORKER_ID_PATTERN", "PinCheck", "Worker", "WorkerFile", "WorkerFileError", "Workers",
    "add_worker", "badge_digest", "check_pin_format", "check_roster", "hash_badge", "hash_pin", "read_file",
    "register_cli", "verify_pin", "write_file",
]


def check_roster(rows: Any) -> None:
    """For the reference cache: a roster a kiosk cannot use is refused, the last one kept."""
    if isinstance(rows, Roster):
        from_roster(rows)


_BADGES = "badges"  # the unknown-badge count is the kiosk's, not any one worker's


def _clock(now: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(now))


def left_message(worker: Worker) -> str:
    return f"{worker.name} is no longer on this facility's worker list. Ask a supervisor."


@dataclass(frozen=True, slots=True)
class PinCheck:
    worker: Worker | None
    message: str


@dataclass
class Workers:
    """The workers a kiosk knows: the bridge's roster when this kiosk has one, else its file.

    ``roster`` returns the last roster received from the bridge (None before the
    first); ``path`` is the kiosk's own file, re-read when it changes on disk.
    ``version`` moves on whenever the list changes, so the kiosk can sign out
    whoever the new list no longer names.
    """

    path: Path
    pin_attempts: int = 5
    lockout_s: float = 300.0
    roster: Callable[[], Roster | None] = lambda: None
    # Wrong PINs, unknown badges, lockouts and alerts: on disk, so a restart keeps them.
    lockouts: Lockouts = field(default_factory=Lockouts)
    # Unknown badges in a row before badge scans pause (a badge is guessed like a PIN).
    badge_attempts: int = 5
    badge_pause_s: float = 30.0
    _content: WorkerFile = field(default_factory=WorkerFile)
    _mtime: float | None = None
    _roster: Roster | None = None
    # Who a newer list dropped (since this kiosk started), with the badge salt of
    # their list, so a leaver's badge or PIN is refused by name, not as a stranger.
    _removed: dict[str, tuple[Worker, str]] = field(default_factory=dict)
    version: int = 0
    error: str | None = None

    @property
    def source(self) -> str:
        """Where the list comes from: ``bridge`` or ``file``."""
        return "bridge" if self._roster is not None else "file"

    def refresh(self) -> None:
        roster = self.roster()
        if roster is not None:
            if roster is not self._roster:
                self._roster = roster
                try:  # the reference cache already refuses a roster that fails this
                    self._take(from_roster(roster))
                    self.error = None
                except ValueError as exc:
                    self.error = str(exc)
            return
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime == self._mtime and self._mtime is not None:
            return
        try:
            self._take(read_file(self.path))
            self.error = None
        except WorkerFileError as exc:
            # Keep the last good copy; the screen says why.
            self.error = f"no worker list from the bridge yet, and {exc}" if mtime is None else str(exc)
        self._mtime = mtime

    def _take(self, content: WorkerFile) -> None:
        now = {w.id for w in content.workers}
        for worker in self._content.workers:
            if worker.id not in now:
                self._removed[worker.id] = (worker, self._content.badge_salt)
        for worker_id in now:
            self._removed.pop(worker_id, None)
        if content != self._content:
            self.version += 1
        self._content = content

    def all(self) -> list[Worker]:
        self.refresh()
        return sorted(self._content.workers, key=lambda w: w.name.lower())

    def get(self, worker_id: str) -> Worker | None:
        return next((w for w in self.all() if w.id == worker_id), None)

    async def by_badge(self, code: str) -> Worker | None:
        workers = self.all()
        if not code.strip() or not any(w.badge for w in workers):
            return None
        return await asyncio.to_thread(self._find_badge, workers, code, self._content.badge_salt)

    @staticmethod
    def _find_badge(workers: list[Worker], code: str, salt: str) -> Worker | None:
        # One hash with the list's salt, then the salted hash of the few workers its
        # index byte points at (hundreds of workers: a handful of checks).
        digest = badge_digest(code, salt)
        return next((w for w in workers if badge_matches(w.badge, w.badge_index, code, digest)), None)

    def badge_paused(self, *, now: float | None = None) -> str | None:
        """Why badge scans are refused just now (too many unknown badges), or None."""
        now = time.time() if now is None else now
        until = self.lockouts.get(_BADGES).locked_until
        if until <= now:
            return None
        return (f"Too many unknown badges: badge sign-in paused for {max(1, round(until - now))} s. "
                "A supervisor has been told.")

    async def sign_in_badge(self, code: str, *, now: float | None = None) -> PinCheck:
        """A badge scanned to sign in: the worker, or why not. Unknown badges are counted;
        after ``badge_attempts`` in a row badge scans pause and supervisors are alerted."""
        paused = self.badge_paused(now=now)
        if paused is not None:
            return PinCheck(None, paused)
        worker = await self.by_badge(code)
        if worker is not None:
            self.lockouts.put(_BADGES, None)
            return PinCheck(worker, f"Signed in: {worker.name}")
        now = time.time() if now is None else now
        tries = self.lockouts.get(_BADGES)
        tries = Tries(tries.failures + 1, 0.0)
        if tries.failures >= self.badge_attempts:
            self.lockouts.put(_BADGES, Tries(0, now + self.badge_pause_s))
            self.lockouts.alert(f"{_clock(now)}: {self.badge_attempts} unknown badges in a row "
                                f"at this kiosk; badge sign-in paused {self.badge_pause_s:g} s.",
                                kind="unknown_badge", tries=self.badge_attempts)
            return PinCheck(None, self.badge_paused(now=now) or "")
        self.lockouts.put(_BADGES, tries)
        return PinCheck(None, "")

    async def removed_badge(self, code: str) -> Worker | None:
        """The worker a newer list dropped whose badge this is, if any (for the refusal)."""
        for worker, salt in list(self._removed.values()):
            if worker.badge and code.strip() and await asyncio.to_thread(
                    self._find_badge, [worker], code, salt) is not None:
                return worker
        return None

    def removed(self, worker_id: str) -> Worker | None:
        entry = self._removed.get(worker_id)
        return entry[0] if entry is not None else None

    async def check_pin(self, worker_id: str, pin: str, *, now: float | None = None,
                        badge: bool = False) -> PinCheck:
        """``badge``: the worker scanned their badge first (a supervisor's badge + PIN); those
        tries are counted apart, so wrong PINs typed at a tapped name never block the badge."""
        worker = self.get(worker_id)
        if worker is None:
            gone = self.removed(worker_id)
            if gone is not None:
                return PinCheck(None, left_message(gone))
            return PinCheck(None, "Unknown worker. Tap your name again.")
        now = time.time() if now is None else now
        # Only PIN entry by tapped name is locked: the worker's badge always works,
        # so a stranger typing wrong PINs cannot keep anyone (a supervisor) out.
        key = f"{'badge+pin' if badge else 'pin'}:{worker_id}"
        state = self.lockouts.get(key)
        if state.locked_until > now:
            minutes = max(1, round((state.locked_until - now) / 60))
            return PinCheck(None, f"Too many wrong PINs: PIN sign-in for {worker.name} is locked for "
                                  f"{minutes} min. Use your badge or ask a supervisor.")
        ok = PIN_RE.match(pin) is not None and await asyncio.to_thread(verify_pin, pin, worker.pin)
        if ok:
            self.lockouts.put(key, None)
            return PinCheck(worker, f"Signed in: {worker.name}")
        failures = state.failures + 1
        if failures >= self.pin_attempts:
            self.lockouts.put(key, Tries(0, now + self.lockout_s))
            minutes = max(1, round(self.lockout_s / 60))
            self.lockouts.alert(f"{_clock(now)}: {self.pin_attempts} wrong PINs for {worker.name} "
                                f"({worker.id}); PIN sign-in locked {minutes} min.",
                                kind="wrong_pin", tries=self.pin_attempts, worker=worker.id[:64])
            return PinCheck(None, f"Wrong PIN. PIN sign-in for {worker.name} is locked for "
                                  f"{minutes} min: use your badge. "
                                  "A supervisor has been told.")
        self.lockouts.put(key, Tries(failures, 0.0))
        left = self.pin_attempts - failures
        return PinCheck(None, f"Wrong PIN. {left} tr{'y' if left == 1 else 'ies'} left.")


# --- `canopy agent add-worker` ------------------------------------------------------------


def register_cli(actions: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "add-worker", help="add a worker who may sign in (or replace their PIN and badge)",
        description="Add a worker to the workers file the agent config names ([workers] file): "
                    "the list this kiosk uses until it has received the facility's roster from "
                    "the bridge (`canopy bridge add-worker`). The PIN is asked for twice and "
                    "stored hashed; so is the badge code.",
    )
    common(parser)
    add_worker_arguments(parser)
    parser.set_defaults(func=_add_worker_command)


def _add_worker_command(args: argparse.Namespace) -> int:
    from agent.config import AgentConfig
    from canopy.config import load_config
    from canopy.errors import UserError

    config = load_config(AgentConfig, args.config)
    path = config.workers.file
    if path is None:
        raise UserError("the agent config names no workers file: set [workers] file = \"…/workers.json\"")
    worker = add_worker_from_args(path, args)
    print(f"{path}: {describe(worker)} can sign in")
    return 0
