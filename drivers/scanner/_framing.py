"""Turn one framed read (payload plus terminator) into a ``Scan``: shared by all kinds.

The only "cleaning" done here is removing the terminator (done by the caller's
framer) and the AIM symbology prefix. Code 128 / GS1 data must reach the caller
byte for byte, so nothing is trimmed, re-cased or normalised.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Literal

from drivers.scanner._scan import Scan

AimMode = Literal["auto", "expect", "off"]

#: Longest scan accepted before it is cut and reported. QR can hold 7,089 digits.
MAX_SCAN_CHARS = 8192

# ISO/IEC 15424: "]" + symbology code character (a letter) + modifier character.
# Auto-detection is strict (modifier must be a digit, as in every common symbology),
# so data that merely starts with "]" is left alone; "expect" accepts any alphanumeric
# modifier because the scanner is known to send one.
_AIM_AUTO = re.compile(r"\][A-Za-z][0-9]")
_AIM_EXPECT = re.compile(r"\][A-Za-z][0-9A-Za-z]")

NO_AIM_PROBLEM = "scanner sent no symbology ID (turn AIM IDs on in the scanner)"
TOO_LONG_PROBLEM = "scan too long; it was cut"


def split_aim(payload: str, mode: AimMode) -> tuple[str | None, str, str | None]:
    """Split ``payload`` into ``(symbology, text, problem)`` according to ``mode``."""
    if mode == "off":
        return None, payload, None
    pattern = _AIM_AUTO if mode == "auto" else _AIM_EXPECT
    if pattern.match(payload):
        return payload[:3], payload[3:], None
    if mode == "expect":
        return None, payload, NO_AIM_PROBLEM
    return None, payload, None


def is_aim_id(symbology: str) -> bool:
    """True for a well-formed AIM identifier such as ``"]C0"``."""
    return len(symbology) == 3 and _AIM_EXPECT.fullmatch(symbology) is not None


def make_scan(
    payload: str,
    *,
    raw: bytes,
    aim: AimMode,
    device: str,
    problem: str | None = None,
) -> Scan:
    """Build the ``Scan`` for one read whose terminator is already removed.

    ``problem`` from the framer (bad bytes, unmapped keys, too long) wins over
    a missing AIM prefix, because it says more about what went wrong.
    """
    symbology, text, aim_problem = split_aim(payload, aim)
    return Scan(
        text=text,
        raw=raw,
        symbology=symbology,
        at=datetime.now(UTC),
        monotonic_ns=time.monotonic_ns(),
        device=device,
        problem=problem or aim_problem,
    )
