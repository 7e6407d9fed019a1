"""Metrc units of measure: names as Metrc spells them, and weight conversion.

Bodies name units by ``Name`` ("Grams"); Metrc's own examples also send
"grams", so names are matched without regard to case. Conversions use the exact
legal definitions (1 oz = 28.349523125 g, 1 lb = 453.59237 g).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

QuantityType = Literal["WeightBased", "CountBased", "VolumeBased"]

# Name -> (abbreviation, quantity type, size in the base unit of that type).
UNITS: dict[str, tuple[str, QuantityType, Decimal]] = {
    "Each": ("ea", "CountBased", Decimal(1)),
    "Milligrams": ("mg", "WeightBased", Decimal("0.001")),
    "Grams": ("g", "WeightBased", Decimal(1)),
    "Kilograms": ("kg", "WeightBased", Decimal(1000)),
    "Ounces": ("oz", "WeightBased", Decimal("28.349523125")),
    "Pounds": ("lb", "WeightBased", Decimal("453.59237")),
    "Milliliters": ("ml", "VolumeBased", Decimal(1)),
    "Fluid Ounces": ("fl oz", "VolumeBased", Decimal("29.5735295625")),
}
_BY_FOLDED = {name.casefold(): name for name in UNITS} | {
    abbr.casefold(): name for name, (abbr, _, _) in UNITS.items()
}


def unit_name(name: str) -> str | None:
    """Metrc's spelling of a unit name or abbreviation ("grams", "g" → "Grams")."""
    return _BY_FOLDED.get(name.strip().casefold())


def quantity_type(name: str) -> QuantityType | None:
    canonical = unit_name(name)
    return UNITS[canonical][1] if canonical else None


def convert(quantity: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """Convert between two units of the same quantity type.

    Raises ``ValueError`` for an unknown unit or a weight/count mismatch.
    """
    source, target = unit_name(from_unit), unit_name(to_unit)
    if source is None or target is None:
        raise ValueError(f"unknown unit of measure: {from_unit if source is None else to_unit}")
    _, source_type, source_size = UNITS[source]
    _, target_type, target_size = UNITS[target]
    if source_type != target_type:
        raise ValueError(f"cannot convert {source} ({source_type}) to {target} ({target_type})")
    if source == target:
        return quantity
    return quantity * source_size / target_size
