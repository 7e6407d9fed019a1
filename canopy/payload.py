"""Reading a JSON object out of bytes that came from outside (MQTT payloads, stored records)."""

from __future__ import annotations

import json
from typing import Any


def json_object(payload: bytes) -> dict[str, Any] | None:
    """``payload`` as a JSON object; None for anything else (not UTF-8, not JSON,
    nested too deep, or JSON that is not an object). Never raises."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return body if isinstance(body, dict) else None
