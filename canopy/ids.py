"""UUIDv7 event ids (RFC 9562), the idempotency key from kiosk to state API.

Python 3.11 has no ``uuid.uuid7``. Ids are time-ordered, so the ledger's primary
key index stays append-mostly; within one millisecond the 12-bit ``rand_a``
field counts up (RFC 9562 method 1) so ids made by one process sort in creation
order. Uniqueness never depends on the clock: 62 random bits remain.
"""

from __future__ import annotations

import os
import re
import threading
import time

UUID7_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
_UUID7_RE = re.compile(UUID7_PATTERN)

_lock = threading.Lock()
_last_ms = -1
_counter = 0


def uuid7() -> str:
    """A new UUIDv7 as lowercase text."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF  # leave room to count up
        else:
            # Same millisecond, or the clock stepped back: keep ordering by counting.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    h = f"{value:032x}"  # str(uuid.UUID(int=value)) without the object: a third of the time
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_uuid7(text: str) -> bool:
    return bool(_UUID7_RE.match(text))
