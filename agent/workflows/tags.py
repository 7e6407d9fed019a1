"""Is this scan a state tag? The first rule every floor flow applies."""

from __future__ import annotations

import re
from typing import Literal

TagFormat = Literal["metrc", "biotrack", "any"]

_METRC = re.compile(r"^[0-9A-Z]{24}$")
_BIOTRACK = re.compile(r"^\d{16}$")


class NotATag(ValueError):
    """A scan that cannot be a state tag; the message is for the worker."""


def check_tag(text: str, fmt: TagFormat) -> str:
    """Return the tag, or raise ``NotATag`` saying what was expected."""
    tag = text.strip()
    if fmt in ("metrc", "any") and _METRC.match(tag):
        return tag
    if fmt in ("biotrack", "any") and _BIOTRACK.match(tag):
        return tag
    shown = tag if len(tag) <= 40 and tag.isprintable() else repr(tag[:40])
    expected = {
        "metrc": "a Metrc tag (24 letters and digits)",
        "biotrack": "a BioTrack id (16 digits)",
        "any": "a Metrc tag (24 letters and digits) or a BioTrack id (16 digits)",
    }[fmt]
    raise NotATag(f"Not a plant tag: scanned {shown!r}, expected {expected}. Scan again.")
