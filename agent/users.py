"""Workers who may sign in at a kiosk: personal PINs and badges, stored hashed.

The file (JSON, written by ``canopy agent add-worker``) holds no secret in the
clear. PINs are hashed with scrypt and a salt per worker. Badges are hashed
with scrypt and one salt per file, so a scanned badge is hashed once and then
looked up; a badge's barcode is a bearer token like a PIN and must not sit in
a file anyone can copy and print again.

Every event carries the worker's ``id`` (never the name, which can change).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import hashlib
import hmac
import os
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Role = Literal["worker", "supervisor"]

# scrypt cost: ~50 ms on a Pi 4 core, 16 MiB. A 4-digit PIN has only 10,000
# values, so the real guard against guessing is the lockout, not the hash;
# the hash keeps a copied file from giving every PIN away at once.
_N, _R, _P = 2**14, 8, 1
_PIN_RE = re.compile(r"^\d{4,8}$")
WORKER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class WorkerFileError(Exception):
    """The workers file is missing, unreadable or malformed; the message says which."""


class Worker(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=WORKER_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    roles: tuple[Role, ...] = ("worker",)
    pin: str = Field(description="scrypt$N$r$p$salt$hash, hex")
    badge: str | None = Field(default=None, description="scrypt of the badge code with the file's salt, hex")

    @property
    def supervisor(self) -> bool:
        return "supervisor" in self.roles

    def public(self) -> dict[str, object]:
        """What the screen may show: never a hash."""
        return {"id": self.id, "name": self.name, "supervisor": self.supervisor}


class WorkerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    badge_salt: str = Field(default_factory=lambda: secrets.token_hex(16))
    workers: list[Worker] = []


def check_pin_format(pin: str) -> None:
    if not _PIN_RE.match(pin):
        raise ValueError("a PIN is 4 to 8 digits")


def hash_pin(pin: str) -> str:
    check_pin_format(pin)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=64 * 1024 * 1024)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def badge_digest(code: str, salt: str) -> str:
    return hashlib.scrypt(code.strip().encode(), salt=bytes.fromhex(salt), n=_N, r=_R, p=_P,
                          maxmem=64 * 1024 * 1024).hex()


def read_file(path: Path) -> WorkerFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkerFileError(f"workers file {path} not found: add a worker with "
                              "`canopy agent add-worker`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkerFileError(f"cannot read workers file {path}: {exc}") from None
    try:
        return WorkerFile.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WorkerFileError(f"workers file {path} is malformed at {where}: {first['msg']}") from None


def write_file(path: Path, content: WorkerFile) -> None:
    """Atomically, owner-only: a half-written file must never lock everyone out."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".workers-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content.model_dump_json(indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def add_worker(path: Path, *, worker_id: str, name: str, pin: str, badge: str | None = None,
               supervisor: bool = False) -> Worker:
    """Add or replace a worker (same id: new name, PIN and badge)."""
    content = read_file(path) if path.exists() else WorkerFile()
    roles: tuple[Role, ...] = ("worker", "supervisor") if supervisor else ("worker",)
    badge_hash = badge_digest(badge, content.badge_salt) if badge else None
    others = [w for w in content.workers if w.id != worker_id]
    if badge_hash is not None and any(w.badge == badge_hash for w in others):
        raise ValueError("that badge already belongs to another worker")
    worker = Worker(id=worker_id, name=name, roles=roles, pin=hash_pin(pin), badge=badge_hash)
    content.workers = [*others, worker]
    write_file(path, content)
    return worker


@dataclass
class _Attempts:
    failures: int = 0
    locked_until: float = 0.0


@dataclass(frozen=True, slots=True)
class PinCheck:
    worker: Worker | None
    message: str


@dataclass
class Workers:
    """The workers a kiosk knows, re-read when the file changes on disk."""

    path: Path
    pin_attempts: int = 5
    lockout_s: float = 300.0
    _content: WorkerFile = field(default_factory=WorkerFile)
    _mtime: float | None = None
    _attempts: dict[str, _Attempts] = field(default_factory=dict)
    error: str | None = None

    def refresh(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime == self._mtime and self._mtime is not None:
            return
        try:
            self._content = read_file(self.path)
            self.error = None
        except WorkerFileError as exc:
            self.error = str(exc)  # keep the last good copy; the screen says why
        self._mtime = mtime

    def all(self) -> list[Worker]:
        self.refresh()
        return sorted(self._content.workers, key=lambda w: w.name.lower())

    def get(self, worker_id: str) -> Worker | None:
        return next((w for w in self.all() if w.id == worker_id), None)

    async def by_badge(self, code: str) -> Worker | None:
        workers = self.all()
        if not code.strip() or not any(w.badge for w in workers):
            return None
        digest = await asyncio.to_thread(badge_digest, code, self._content.badge_salt)
        return next((w for w in workers if w.badge and hmac.compare_digest(w.badge, digest)), None)

    async def check_pin(self, worker_id: str, pin: str, *, now: float | None = None) -> PinCheck:
        worker = self.get(worker_id)
        if worker is None:
            return PinCheck(None, "Unknown worker. Tap your name again.")
        now = time.monotonic() if now is None else now
        state = self._attempts.setdefault(worker_id, _Attempts())
        if state.locked_until > now:
            minutes = max(1, round((state.locked_until - now) / 60))
            return PinCheck(None, f"Too many wrong PINs: {worker.name} is locked for {minutes} min. "
                                  "Use your badge or ask a supervisor.")
        ok = _PIN_RE.match(pin) is not None and await asyncio.to_thread(verify_pin, pin, worker.pin)
        if ok:
            self._attempts.pop(worker_id, None)
            return PinCheck(worker, f"Signed in: {worker.name}")
        state.failures += 1
        if state.failures >= self.pin_attempts:
            state.failures = 0
            state.locked_until = now + self.lockout_s
            return PinCheck(None, f"Wrong PIN. {worker.name} is locked for "
                                  f"{max(1, round(self.lockout_s / 60))} min.")
        left = self.pin_attempts - state.failures
        return PinCheck(None, f"Wrong PIN. {left} tr{'y' if left == 1 else 'ies'} left.")


# --- `canopy agent add-worker` ------------------------------------------------------------


def register_cli(actions: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser: argparse.ArgumentParser = actions.add_parser(
        "add-worker", help="add a worker who may sign in (or replace their PIN and badge)",
        description="Add a worker to the workers file the agent config names ([workers] file). "
                    "The PIN is asked for twice and stored hashed; so is the badge code.",
    )
    common(parser)
    parser.add_argument("--id", required=True, help="stable id carried by every event, e.g. w-dana")
    parser.add_argument("--name", required=True, help="name shown on the sign-in screen")
    parser.add_argument("--badge", help="what the worker's badge barcode holds")
    parser.add_argument("--supervisor", action="store_true", help="may sign off as supervisor")
    parser.add_argument("--pin-stdin", action="store_true",
                        help="read the PIN from the first line of stdin (scripts) instead of asking")
    parser.set_defaults(func=_add_worker_command)


def _add_worker_command(args: argparse.Namespace) -> int:
    from agent.config import AgentConfig
    from canopy.config import load_config
    from canopy.errors import UserError

    config = load_config(AgentConfig, args.config)
    path = config.workers.file
    if path is None:
        raise UserError("the agent config names no workers file: set [workers] file = \"…/workers.json\"")
    if not re.match(WORKER_ID_PATTERN, args.id):
        raise UserError(f"worker id {args.id!r}: letters, digits, '.', '_' or '-', up to 64")
    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass(f"PIN for {args.name} (4 to 8 digits): ")
        if getpass.getpass("The same PIN again: ") != pin:
            raise UserError("the two PINs differ; nothing changed")
    try:
        check_pin_format(pin)
        worker = add_worker(path, worker_id=args.id, name=args.name, pin=pin, badge=args.badge,
                            supervisor=args.supervisor)
    except (ValueError, WorkerFileError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    extra = (", badge" if worker.badge else "") + (", supervisor" if worker.supervisor else "")
    print(f"{path}: {worker.name} ({worker.id}{extra}) can sign in")
    return 0
