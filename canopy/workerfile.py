"""The workers file: who may sign in, with personal PINs and badges stored hashed.

One JSON format for both places it lives: the bridge's per-facility file
(``canopy bridge add-worker``), which the bridge publishes to every kiosk as the
retained ``workers`` reference list, and a kiosk's own file (``canopy agent
add-worker``), used by a kiosk that has never received that list and by setups
without a bridge.

The file holds no secret in the clear. PINs and badges are each hashed with
scrypt and their own salt (``scrypt$N$r$p$salt$hash``), so a copied file must be
attacked one worker at a time; a badge's barcode is a bearer token like a PIN and
must not sit in a file anyone can copy and print again. To find a scanned badge
without hashing it once per worker, each badge also keeps ``badge_index``: one
byte of the scan hashed with the file's ``badge_salt``, which narrows the list to
the few workers whose salted hash is then checked (one byte says next to nothing
about the badge). Files written before (badges hashed with the file's salt only,
4-digit PINs) are still read and still verify.

Every event carries the worker's ``id`` (never the name, which can change).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hashlib
import hmac
import os
import re
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from canopy import refdata
from canopy.config import read_text
from canopy.errors import UserError

Role = Literal["worker", "supervisor"]

# scrypt cost for new hashes: N=2^15, r=8 (32 MiB). Measured: 0.114 s of CPU per
# hash on one AMD EPYC core (bench/signin_hash.py); a Raspberry Pi 4 (Cortex-A72,
# 1.5 GHz) is taken as 4x slower for scrypt, so about 0.45 s there, over the
# 0.25 s a guess must cost. Hashes carry their own N, r, p: older ones still verify.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
# Badge index hashes (and badges written before per-worker salts) use the old cost.
_INDEX_N = 2**14
_MAXMEM = 128 * 1024 * 1024
# A PIN that still verifies (4-digit ones from older files); new PINs need NEW_PIN_RE.
PIN_RE = re.compile(r"^\d{4,8}$")
NEW_PIN_RE = re.compile(r"^\d{6,8}$")
WORKER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_HASH_RE = re.compile(r"^scrypt\$\d+\$\d+\$\d+\$(?:[0-9a-f]{2})+\$(?:[0-9a-f]{2})+$")
_HEX_RE = re.compile(r"^(?:[0-9a-f]{2})+$")
# How each file is filled, for "not found" messages.
AGENT_HINT = "`canopy agent add-worker`"
BRIDGE_HINT = "`canopy bridge add-worker`"


class WorkerFileError(Exception):
    """The workers file is missing, unreadable or malformed; the message says which."""


class Worker(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=WORKER_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    roles: tuple[Role, ...] = ("worker",)
    pin: str = Field(description="scrypt$N$r$p$salt$hash, hex")
    badge: str | None = Field(default=None, description="scrypt$N$r$p$salt$hash of the badge code "
                                                        "(older files: hex scrypt with the file's salt)")
    badge_index: str | None = Field(default=None, description="first byte of the badge hashed with the "
                                                              "file's salt, hex: which hashes to check")
    # When they were added (files written before this field: on the list since ever).
    added: AwareDatetime | None = None

    @property
    def supervisor(self) -> bool:
        return "supervisor" in self.roles

    def public(self) -> dict[str, object]:
        """What the screen may show: never a hash."""
        return {"id": self.id, "name": self.name, "supervisor": self.supervisor}


class Former(BaseModel):
    """A worker who left: kept, without PIN or badge, so the bridge can still tell
    that an event recorded while they worked here was theirs (bridge/vetting.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=WORKER_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    roles: tuple[Role, ...] = ("worker",)
    added: AwareDatetime | None = None
    left: AwareDatetime

    @property
    def supervisor(self) -> bool:
        return "supervisor" in self.roles


class WorkerFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    badge_salt: str = Field(default_factory=lambda: secrets.token_hex(16))
    # Who may sign in now; everything that uses the file for sign-in reads only this.
    workers: list[Worker] = []
    # Who left, and when (one entry per spell: a worker may leave, come back, leave).
    former: list[Former] = []

    def on_roster(self, worker_id: str, at: datetime) -> Worker | Former | None:
        """The worker's entry if ``worker_id`` was on the list at ``at``, else None."""
        current = next((w for w in self.workers if w.id == worker_id), None)
        if current is not None and (current.added is None or current.added <= at):
            return current
        return next((f for f in self.former if f.id == worker_id
                     and (f.added is None or f.added <= at) and at < f.left), None)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # A hash that cannot be checked would lock its worker out without a word,
        # and two workers behind one id or badge would make events ambiguous.
        if not _HEX_RE.match(self.badge_salt):
            raise ValueError("badge_salt must be hex")
        seen: set[str] = set()
        badges: set[str] = set()
        for worker in self.workers:
            if worker.id in seen:
                raise ValueError(f"worker id {worker.id!r} is listed twice")
            seen.add(worker.id)
            if not _HASH_RE.match(worker.pin):
                raise ValueError(f"worker {worker.id!r}: pin is not a scrypt hash")
            if worker.badge is not None:
                if not (_HEX_RE.match(worker.badge) or _HASH_RE.match(worker.badge)):
                    raise ValueError(f"worker {worker.id!r}: badge is not a hash")
                if _HASH_RE.match(worker.badge) and not (
                        worker.badge_index and re.fullmatch(r"[0-9a-f]{2}", worker.badge_index)):
                    raise ValueError(f"worker {worker.id!r}: badge_index must be one hex byte")
                if worker.badge in badges:
                    raise ValueError(f"worker {worker.id!r}: badge belongs to another worker too")
                badges.add(worker.badge)
        return self


def check_pin_format(pin: str) -> None:
    """For a new PIN: 6 to 8 digits (older 4-digit PINs still verify)."""
    if not NEW_PIN_RE.match(pin):
        raise ValueError("a PIN is 6 to 8 digits")


def check_worker_id(worker_id: str) -> None:
    if not re.match(WORKER_ID_PATTERN, worker_id):
        raise ValueError(f"worker id {worker_id!r}: letters, digits, '.', '_' or '-', up to 64")


def hash_pin(pin: str) -> str:
    check_pin_format(pin)
    return _hash_secret(pin)


def _hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def hash_badge(code: str, file_salt: str) -> tuple[str, str]:
    """The badge's own salted hash and its index byte (see the module's docstring)."""
    return _hash_secret(code.strip()), badge_digest(code, file_salt)[:2]


def badge_matches(badge: str | None, index: str | None, code: str, digest: str) -> bool:
    """Whether ``code`` (``digest``: its ``badge_digest`` with the file's salt) is this badge."""
    if not badge:
        return False
    if not badge.startswith("scrypt$"):  # written before per-worker salts
        return hmac.compare_digest(badge, digest)
    return index == digest[:2] and verify_pin(code.strip(), badge)


def verify_pin(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=_MAXMEM)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def badge_digest(code: str, salt: str) -> str:
    """The scan hashed with the file's salt: the index byte, and older files' badge hash."""
    return hashlib.scrypt(code.strip().encode(), salt=bytes.fromhex(salt), n=_INDEX_N, r=SCRYPT_R, p=SCRYPT_P,
                          maxmem=_MAXMEM).hex()


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"at {where}: {message}" if where else message


def read_file(path: Path, *, hint: str = AGENT_HINT) -> WorkerFile:
    """Raise ``WorkerFileError`` naming the file (and the key) on any problem."""
    text = read_text(path, WorkerFileError,
                     missing=f"workers file {path} not found: add a worker with {hint}",
                     unreadable=f"cannot read workers file {path}")
    try:
        return WorkerFile.model_validate_json(text)
    except ValidationError as exc:
        raise WorkerFileError(f"workers file {path} is malformed {_first_problem(exc)}") from None


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
    others = [w for w in content.workers if w.id != worker_id]
    badge_hash = badge_index = None
    if badge:
        digest = badge_digest(badge, content.badge_salt)
        if any(badge_matches(w.badge, w.badge_index, badge, digest) for w in others):
            raise ValueError("that badge already belongs to another worker")
        badge_hash, badge_index = hash_badge(badge, content.badge_salt)
    before = next((w for w in content.workers if w.id == worker_id), None)
    # A new PIN or badge for someone already on the list keeps the day they joined.
    added = before.added if before is not None else _now()
    worker = Worker(id=worker_id, name=name, roles=roles, pin=hash_pin(pin), badge=badge_hash,
                    badge_index=badge_index, added=added)
    content.workers = [*others, worker]
    write_file(path, content)
    return worker


def remove_worker(path: Path, worker_id: str, *, hint: str = AGENT_HINT) -> Worker:
    """Take a worker off the list (someone who left); the removed worker.

    They stay in ``former`` with the time they left (no PIN, no badge): events they
    recorded before still check out at the bridge, later ones do not."""
    content = read_file(path, hint=hint)
    gone = next((w for w in content.workers if w.id == worker_id), None)
    if gone is None:
        known = ", ".join(sorted(w.id for w in content.workers)) or "nobody"
        raise ValueError(f"no worker {worker_id!r} in {path} (it lists {known})")
    content.workers = [w for w in content.workers if w.id != worker_id]
    content.former = [*content.former, Former(id=gone.id, name=gone.name, roles=gone.roles,
                                              added=gone.added, left=_now())]
    write_file(path, content)
    return gone


def _now() -> datetime:
    return datetime.now(UTC)


# --- as reference data ------------------------------------------------------------------


def to_roster(content: WorkerFile) -> refdata.Roster:
    """The file as the bridge publishes it (the same hashes, nothing in the clear)."""
    return refdata.Roster(badge_salt=content.badge_salt,
                          workers=[refdata.Worker(**w.model_dump(exclude={"added"}))
                                   for w in content.workers])


def from_roster(roster: refdata.Roster) -> WorkerFile:
    """A roster as a kiosk uses it, held to the file's rules; ``ValueError`` says what is wrong."""
    try:
        return WorkerFile.model_validate({"badge_salt": roster.badge_salt,
                                          "workers": [w.model_dump() for w in roster.workers]})
    except ValidationError as exc:
        raise ValueError(f"worker roster is malformed {_first_problem(exc)}") from None


# --- what `canopy agent add-worker` and `canopy bridge add-worker` share ------------------


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", required=True, help="stable id carried by every event, e.g. w-dana")
    parser.add_argument("--name", required=True, help="name shown on the sign-in screen")
    parser.add_argument("--badge", help="what the worker's badge barcode holds")
    parser.add_argument("--supervisor", action="store_true", help="may sign off as supervisor")
    parser.add_argument("--pin-stdin", action="store_true",
                        help="read the PIN from the first line of stdin (scripts) instead of asking")


def add_worker_from_args(path: Path, args: argparse.Namespace) -> Worker:
    """Ask for the PIN (twice) or read it from stdin, then add; ``UserError`` on any problem."""
    try:
        check_worker_id(args.id)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass(f"PIN for {args.name} (6 to 8 digits): ")
        if getpass.getpass("The same PIN again: ") != pin:
            raise UserError("the two PINs differ; nothing changed")
    try:
        check_pin_format(pin)
        return add_worker(path, worker_id=args.id, name=args.name, pin=pin, badge=args.badge,
                          supervisor=args.supervisor)
    except (ValueError, WorkerFileError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def describe(worker: Worker) -> str:
    extra = (", badge" if worker.badge else "") + (", supervisor" if worker.supervisor else "")
    return f"{worker.name} ({worker.id}{extra})"
