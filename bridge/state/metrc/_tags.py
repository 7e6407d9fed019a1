"""Metrc tags (labels): 24 characters, single use, ordered from Metrc in runs.

Metrc does not publish the layout, so a tag is opaque apart from two things the
API relies on: the shape, and that tags from one order are consecutive — a
plant batch's growth-phase change takes a ``StartingTag`` and a ``Count`` and uses
that many tags in a row. "In a row" here means the trailing decimal serial goes
up by one (Metrc's own examples step ``…020401`` + 25 plants to ``…020427``).
"""

from __future__ import annotations

import re

# Every tag seen is uppercase hex; accept A-Z so an unusual state's tags still pass.
TAG_PATTERN = re.compile(r"^[0-9A-Z]{24}$")
_SERIAL = re.compile(r"(\d+)$")


def is_tag(label: str) -> bool:
    """True if ``label`` has the shape of a Metrc tag."""
    return bool(TAG_PATTERN.match(label))


def consecutive_tags(starting_tag: str, count: int) -> list[str]:
    """The ``count`` tags Metrc uses for a run starting at ``starting_tag``.

    >>> consecutive_tags("1A4FF0100000022000000998", 3)[-1]
    '1A4FF0100000022000001000'
    """
    if count < 0:
        raise ValueError("count must not be negative")
    match = _SERIAL.search(starting_tag)
    if not is_tag(starting_tag) or match is None:
        raise ValueError(f"{starting_tag!r} is not a Metrc tag with a numeric serial")
    prefix, digits = starting_tag[: match.start()], match.group(1)
    first = int(digits)
    tags = [f"{prefix}{first + i:0{len(digits)}d}" for i in range(count)]
    if tags and len(tags[-1]) != len(starting_tag):
        raise ValueError(f"{count} tags from {starting_tag} overflow the serial")
    return tags
