"""JSON on the Metrc wire: exact decimals in, plain numbers and ISO dates out.

Weights are ``Decimal`` everywhere in Canopy. Responses are parsed with
``parse_float=Decimal`` so a harvest's ``TotalWetWeight`` compares exactly with
what the ledger sent; on the way out a ``Decimal`` becomes a JSON number (via
``float``, whose shortest repr is the decimal text for any weight a scale makes).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> bytes:
    """Encode a request body (Decimal → number, date → ``YYYY-MM-DD``)."""
    return json.dumps(value, default=_default, separators=(",", ":")).encode()


def loads(data: bytes | str) -> Any:
    """Decode a response body, keeping every non-integer number as an exact Decimal."""
    return json.loads(data, parse_float=Decimal)


def utc_timestamp(instant: datetime) -> str:
    """``lastModified*`` query value: UTC with ``Z``, so no ``+`` needs escaping."""
    if instant.tzinfo is None:
        raise ValueError("lastModified bounds must be timezone-aware datetimes")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
