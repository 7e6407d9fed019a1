"""What a scale said, as a value object: the one thing the rest of Canopy sees.

A ``Reading`` keeps the exact frame the scale sent (``raw``) next to the parsed
``Decimal``, so a compliance record can always show what the certified device
actually reported. Units are normalised spellings but never converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum


class ReadingState(Enum):
    """What the scale said about the weight it reported."""

    STABLE = "stable"
    UNSTABLE = "unstable"  # motion on the platter; may or may not carry a value
    OVERLOAD = "overload"  # above capacity (or out of range high); never a value
    UNDERLOAD = "underload"  # below zero / under capacity; never a value
    ERROR = "error"  # the scale reported a fault or could not weigh; never a value


class WeightBasis(Enum):
    """Gross / net / tare, where the protocol reports it (``None`` where it does not)."""

    GROSS = "gross"
    NET = "net"
    TARE = "tare"  # the tare value itself, not something on the platter
    TOTAL = "total"  # an accumulated total (Ohaus accumulate mode), not one load


# Units a worker may record as a weight. Troy ounces, carats, grains, pieces and
# percent are kept distinct so the agent can refuse them instead of guessing.
MASS_UNITS = frozenset({"mg", "g", "kg", "oz", "lb"})

_UNIT_ALIASES = {
    "mg": "mg",
    "g": "g",
    "kg": "kg",
    "oz": "oz",
    "lb": "lb",
    "lbs": "lb",
    "ozt": "ozt",
    "ct": "ct",
    "gn": "gn",  # grain
    "dwt": "dwt",
    "mom": "mom",
    "tl": "tl",
    "pc": "pcs",
    "pcs": "pcs",
    "%": "%",
}


def normalize_unit(text: str) -> str:
    """Normalise a unit as a scale spells it (``" kg"``, ``"LB"``, ``"PC"``) to one spelling.

    Unknown units are returned stripped but otherwise unchanged, so they stay
    distinct from the mass units and are refused upstream rather than mistaken
    for grams.
    """
    stripped = text.strip()
    return _UNIT_ALIASES.get(stripped.lower(), stripped)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Reading:
    """One frame from a scale, parsed.

    ``value`` is ``None`` whenever the scale did not give a usable number
    (overload, underload, errors, and motion-status frames such as Toledo's
    ``STX ? <status> CR``). A ``STABLE`` reading always has a value.
    """

    value: Decimal | None
    unit: str
    state: ReadingState
    raw: bytes
    at: datetime
    scale_id: str
    basis: WeightBasis | None = None
    # SMA "g"/"n" high-resolution (x10) readings are for service work and are
    # not legal for trade, even when stable.
    high_resolution: bool = False
    # Technical reason for a non-weight state, e.g. "S I: busy or no stability".
    detail: str = ""

    def __post_init__(self) -> None:
        if self.state is ReadingState.STABLE and self.value is None:
            raise ValueError("a stable reading needs a value")
        if (
            self.state in (ReadingState.OVERLOAD, ReadingState.UNDERLOAD, ReadingState.ERROR)
            and self.value is not None
        ):
            raise ValueError(f"a {self.state.value} reading carries no value")
        if self.at.tzinfo is None:
            raise ValueError("Reading.at must be timezone-aware (UTC)")

    @property
    def is_mass(self) -> bool:
        return self.unit in MASS_UNITS

    @property
    def is_loggable(self) -> bool:
        """True only for a stable mass weight of what is on the platter.

        Not for tare values, accumulated totals, high-resolution service
        readings or non-mass units (pieces, percent, carats, troy ounces).
        The sign is left to the workflow: a stable negative net weight is a
        real reading, whether it makes sense to record is a business rule.
        """
        return (
            self.state is ReadingState.STABLE
            and self.value is not None
            and self.is_mass
            and self.basis not in (WeightBasis.TARE, WeightBasis.TOTAL)
            and not self.high_resolution
        )
