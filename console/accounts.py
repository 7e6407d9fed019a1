"""Console accounts: who may sign in, with which role, and their password hashes.

Roles are one table: what each may do is a set of permissions, checked by every
page and every form through ``may``. Passwords are hashed with scrypt and a salt
of their own (the costs of ``canopy.workerfile``), stored as text in the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from canopy.workerfile import SCRYPT_N, SCRYPT_P, SCRYPT_R

_MAXMEM = 128 * 1024 * 1024
MIN_PASSWORD = 10
NAME_PATTERN = r"^[a-z][a-z0-9._-]{1,31}$"


class Permission(StrEnum):
    VIEW = "view"  # every floor page and register
    EXPORT = "export"  # CSV and PDF of them
    VERIFY = "verify"  # run the ledger's chain verification now
    DISMISS = "dismiss"  # dismiss a rejection with a reason (as a supervisor may at a kiosk)
    MANAGE = "manage"  # accounts and the console log


@dataclass(frozen=True)
class Role:
    name: str
    title: str
    help: str
    permissions: frozenset[Permission]


ROLES: Mapping[str, Role] = {r.name: r for r in (
    Role("auditor", "Auditor", "an inspector: reads and exports every register, changes nothing",
         frozenset({Permission.VIEW, Permission.EXPORT})),
    Role("supervisor", "Supervisor",
         "reads and exports every register, may re-verify the ledger's chain and dismiss rejections",
         frozenset({Permission.VIEW, Permission.EXPORT, Permission.VERIFY, Permission.DISMISS})),
    Role("compliance", "Compliance manager",
         "everything: registers, exports, verification, dismissals, accounts and the console log",
         frozenset(Permission)),
)}


def may(role: str, permission: Permission) -> bool:
    found = ROLES.get(role)
    return found is not None and permission in found.permissions


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_MAXMEM)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


# Checked against when the account does not exist, so a wrong name costs the same time.
_DECOY = hash_password(secrets.token_hex(16))


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such account, still hashed)."""
    try:
        kind, n, r, p, salt, digest = (stored or _DECOY).split("$")
        if kind != "scrypt":
            return False
        mine = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                              maxmem=_MAXMEM)
    except ValueError:
        return False
    return stored is not None and hmac.compare_digest(mine.hex(), digest)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    return None
