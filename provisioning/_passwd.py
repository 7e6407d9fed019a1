"""Mosquitto's own password-file format, written without ``mosquitto_passwd``.

Mosquitto 2.x stores ``username:$7$<iterations>$<salt>$<hash>``: PBKDF2 with
HMAC-SHA512, a 12-byte random salt and a 64-byte key, salt and key in standard
base64 (``mosquitto_passwd`` writes 101 iterations). Mosquitto reads the
iteration count from each line, so any count works; we keep 101 because each
CONNECT costs one PBKDF2 on the broker and our passwords are 256-bit random
strings, for which stretching adds nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable

ITERATIONS = 101
SALT_BYTES = 12
KEY_BYTES = 64


def new_password() -> str:
    """A random 256-bit password, URL-safe text (no ``:`` or quotes to escape)."""
    return secrets.token_urlsafe(32)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The ``$7$...`` string Mosquitto checks ``password`` against."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, KEY_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches a ``$7$`` string (ours or ``mosquitto_passwd``'s)."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]), len(expected))
    return hmac.compare_digest(key, expected)


def password_file(entries: Iterable[tuple[str, str]]) -> str:
    """``username:hash`` lines, sorted so the file's bytes depend only on its content."""
    lines = []
    for username, encoded in sorted(entries):
        if ":" in username or "\n" in username:
            raise ValueError(f"username {username!r} cannot be stored in a Mosquitto password file")
        lines.append(f"{username}:{encoded}\n")
    return "".join(lines)
