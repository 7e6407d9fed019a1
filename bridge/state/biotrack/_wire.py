"""Every quirk of BioTrack's wire format, normalised in one place.

BioTrack's classic JSON API answers ``success`` as ``1``/``"1"``/``0``/``"0"``,
``errorcode`` as an int or a string (``"602"``) or not at all, quantities as
numbers or strings ("8.00"), id lists as an array, one string, or a CSV
string, and old servers leaked the header line ``Content-Type: text/plain``
into the body (state-apis.md §3.2). Nothing outside this module looks at raw
values; the rest of the package gets Python types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

BARCODE_RE = re.compile(r"^\d{16}$")

# CRE-A strips this before parsing: "workaround for a biotrack bug where headers
# leak into the response body". Match it case-insensitively, anywhere at the top.
_LEAKED_HEADER = re.compile(r"^\s*(content-type:\s*[^\r\n{\[]*\s*)+", re.IGNORECASE)


class WireError(ValueError):
    """The body is not a JSON object we can read."""


def barcode_id(value: object) -> str:
    """A 16-digit BioTrack id as a string; raises ``ValueError`` otherwise.

    Ids are opaque (§3.4): never treat them as numbers, because leading zeros
    are significant (``0358560579655604``).
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"BioTrack id must be 16 digits, got {value!r}")
    text = str(value).strip()
    if not BARCODE_RE.match(text):
        raise ValueError(f"BioTrack id must be 16 digits, got {value!r}")
    return text


def parse_body(text: str) -> dict[str, Any]:
    """Decode a response body into a dict, tolerating the leaked-header bug."""
    cleaned = _LEAKED_HEADER.sub("", text, count=1).strip()
    if not cleaned:
        raise WireError("empty response body")
    try:
        data = json.loads(cleaned)
    except json.JSONDecodeError as exc:
        raise WireError(f"response is not JSON: {cleaned[:80]!r}") from exc
    if not isinstance(data, dict):
        raise WireError(f"response is not a JSON object: {cleaned[:80]!r}")
    return data


def flag(value: object) -> bool:
    """``success`` and the 0/1 fields: 1, "1", true, "true" are true; all else false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return False


def optional_int(value: object) -> int | None:
    """``errorcode``, room ids, epoch times: int, "63", 63.0 → 63; missing/blank → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d+\.0*", text):
            return int(text.split(".", 1)[0])
    return None


def optional_str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def decimal(value: object) -> Decimal:
    """Quantities come as 8, 8.0 or "8.00"; go through str so floats don't grow digits."""
    if isinstance(value, bool) or value is None:
        raise WireError(f"not a quantity: {value!r}")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise WireError(f"not a quantity: {value!r}") from exc


def barcode_list(value: object) -> tuple[str, ...]:
    """An id field that may be one id, a list of ids, or a CSV string of ids."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(barcode_id(part) for part in value.split(",") if part.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        return (barcode_id(value),)
    if isinstance(value, Sequence):
        return tuple(barcode_id(v) for v in value)
    raise WireError(f"not a list of ids: {value!r}")


def rows(body: Mapping[str, Any], table: str) -> list[Mapping[str, Any]]:
    """The rows of a ``sync_*`` answer. BioTrack omits the key (or sends null) when empty,
    and PHP-era servers send a list as a dict keyed "0", "1", …"""
    value = body.get(table)
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        value = list(value.values())
    if not isinstance(value, list):
        raise WireError(f"{table}: expected a list of rows, got {type(value).__name__}")
    return [row for row in value if isinstance(row, Mapping)]
