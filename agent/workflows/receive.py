"""Tag receipt: scan the first and the last tag of a new roll or box (domain.md §2.6; CA: within 3 days).

State tags come in numbered runs (Metrc tags of one order are consecutive), so
the two ends give the count: same prefix, then a number that runs from the
first tag to the last. Two tags that do not share a prefix, or a last tag
numbered below the first, are refused with the reason. Whether the roll holds
plant or package tags is read from the lists the kiosk has (available plant
tags, available package tags); when neither list knows the tags, the worker is
asked with two big buttons. Confirm records ``tags.received``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from agent.floor import Resolved
from agent.workflows.base import Flow, FlowContext, Outcome, arg_str, refused
from canopy.events import TagsReceived
from drivers.scanner import Scan

TagKind = Literal["plant", "package"]
# A roll or box holds hundreds to a few thousand tags; more means two different runs.
MAX_TAGS = 10_000


class NotARun(ValueError):
    """Two tags that cannot be the ends of one numbered run; the message is for the worker."""


def tag_count(first: str, last: str) -> int:
    """How many tags from ``first`` to ``last``: a shared prefix, then a rising number."""
    if len(first) != len(last):
        raise NotARun(f"Tags {first} and {last} are not the same length: not one roll.")
    shared = 0
    while shared < len(first) and first[shared] == last[shared]:
        shared += 1
    if shared == len(first):
        return 1
    # The running number: the digits where the two tags differ, plus the shared digits
    # just before them (…0199 to …0201 differ from the "1"/"2" on).
    start = shared
    while start > 0 and first[start - 1].isdigit():
        start -= 1
    low, high = first[start:], last[start:]
    if not (low.isdigit() and high.isdigit()):
        raise NotARun(f"Tags {first} and {last} do not share a prefix: they are not from one roll"
                      " or box. Scan the first and last tag of the same roll.")
    count = int(high) - int(low) + 1
    if count < 1:
        raise NotARun(f"Tag {last} is numbered before {first}: scan the first tag of the roll first,"
                      " then the last one.")
    if count > MAX_TAGS:
        raise NotARun(f"{first} to {last} would be {count} tags, more than a roll or box holds: "
                      "check that both tags are from the same roll.")
    return count


class TagReceiptFlow(Flow):
    screen = "receive"
    title = "Receive tags"

    def __init__(self, ctx: FlowContext) -> None:
        super().__init__(ctx)
        self._restart()
        self.received: list[dict[str, Any]] = []

    def _restart(self) -> None:
        self.first: str | None = None
        self.last: str | None = None
        self.first_kind: TagKind | None = None
        self.kind: TagKind | None = None
        self.kind_known = False  # read from the tags' lists, not asked
        self.count = 0

    def _kind_of(self, item: Resolved) -> TagKind | Outcome | None:
        if item.kind == "fresh_tag":
            return "plant"
        if item.kind == "package_tag":
            return "package"
        if item.kind == "unknown_tag":
            return None
        if item.kind == "not_a_tag":
            return refused(item.message)
        if item.kind == "plant":
            return refused(f"Tag {item.text} is already on a plant: not a new tag.")
        return refused(f"That is {item.describe()}: scan the first and last tag of the roll.")

    async def scan(self, item: Resolved, source: Scan | None = None) -> Outcome:
        kind = self._kind_of(item)
        if isinstance(kind, Outcome):
            return kind
        assert item.tag is not None
        if self.first is None or self.last is not None:
            self._restart()
            self.first, self.first_kind = item.tag, kind
            return Outcome(True, f"First tag {item.tag}. Now scan the last tag of the roll or box.")
        if self.first_kind is not None and kind is not None and kind != self.first_kind:
            return refused(f"The first tag is a {self.first_kind} tag and {item.tag} a {kind} tag: "
                           "one roll holds one kind. Scan the last tag of the same roll.")
        try:
            count = tag_count(self.first, item.tag)
        except NotARun as exc:
            return refused(str(exc))
        self.last, self.count = item.tag, count
        self.kind = self.first_kind or kind
        self.kind_known = self.kind is not None
        if self.kind is None:
            return Outcome(True, f"{count} tags. Plant tags or package tags? Tap one.")
        return Outcome(True, f"{count} {self.kind} tags, {self.first} to {self.last}. Tap Confirm.")

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "kind":
            kind = arg_str(args, "kind")
            if kind not in ("plant", "package"):
                return refused("Plant tags or package tags.")
            if self.last is None:
                return refused("Scan the first and the last tag first.")
            self.kind = "plant" if kind == "plant" else "package"
            return Outcome(True, f"{self.count} {kind} tags. Tap Confirm.", quiet=True)
        if action == "confirm":
            return await self.confirm()
        if action == "restart":
            self._restart()
            return Outcome(True, "Scan the first tag of the roll or box.", quiet=True)
        return await super().act(action, args)

    async def confirm(self) -> Outcome:
        if self.first is None or self.last is None:
            return refused("Scan the first and the last tag first.")
        if self.kind is None:
            return refused("Tap Plant tags or Package tags first.")
        data = TagsReceived(kind=self.kind, first=self.first, last=self.last, count=self.count)
        event = await self.ctx.record(
            data,
            summary=f"Received {self.count} {self.kind} tags {self.first} to {self.last}")
        if isinstance(event, Outcome):
            return event
        self.received.append({"kind": self.kind, "first": self.first, "last": self.last,
                              "count": self.count})
        self._restart()
        return Outcome(True, f"Saved: {data.count} {data.kind} tags received.", event.id)

    def view(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "last": self.last,
            "count": self.count,
            "kind": self.kind,
            "ask_kind": self.last is not None and not self.kind_known,
            "received": self.received[-5:][::-1],
        }
