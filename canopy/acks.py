"""Ack messages, bridge → kiosk on ``canopy/v1/<facility>/<device>/acks``.

``{"v": 1, "acks": [{"id": …, "status": "stored"|"accepted"|"rejected",
"message": …, "code": …}, …]}``. Many acks share one message, but never so many
that it nears the broker's packet limit: a drained backlog acks thousands of
events at once, and one oversize packet gets the whole connection dropped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

ACKS_PER_MESSAGE = 500  # ~60 bytes each: far below the 256 KiB packet limit


def encode(acks: Sequence[dict[str, Any]]) -> list[bytes]:
    """One or more ack messages carrying ``acks`` in order."""
    return [
        json.dumps({"v": 1, "acks": list(acks[start : start + ACKS_PER_MESSAGE])},
                   separators=(",", ":")).encode()
        for start in range(0, len(acks), ACKS_PER_MESSAGE)
    ]
