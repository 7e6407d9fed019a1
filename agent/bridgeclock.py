"""The kiosk's clock against the bridge's: kept next to the outbox for ``canopy doctor``.

The bridge's acks carry its time (``t``); the uplink measures the difference and
keeps it in a small JSON file beside the outbox (when it moved, or hourly), so the
doctor can say whether this kiosk's clock is off without asking the bridge.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def clock_file(outbox_path: Path) -> Path:
    """Where the uplink keeps its last clock comparison with the bridge."""
    return outbox_path.with_name("bridge-clock.json")


def write_clock_offset(path: Path, offset_s: float, measured: float) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"offset_s": round(offset_s, 3), "measured": int(measured)}))
    os.replace(tmp, path)


def read_clock_offset(path: Path) -> tuple[float, float] | None:
    """(offset_s, measured unix s) as the uplink last wrote them; None if absent or unreadable."""
    try:
        body = json.loads(path.read_text())
        offset, measured = body["offset_s"], body["measured"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (offset, measured)):
        return None
    return float(offset), float(measured)
