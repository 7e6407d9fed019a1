"""What a state system plug-in is: one object that connects a facility licence.

Each ``bridge/state/<system>`` package exports one ``StateSystem``; the registry
(``bridge.state.registry``) lists them by the name a facility profile uses
(``system = "metrc"``). ``connect`` builds, from the profile, the licence's
``Connection``: one client with one ``Throttle``, and the mapper, sender and
reference-data source that all talk through that client. So reference sync,
mapping reads, read-backs and writes share the licence's pace, its
``Retry-After`` and its outage record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bridge.refsync import RefSource
from bridge.state import CallWatch, ReadBudget, Throttle
from bridge.submit import Mapper, Sender

if TYPE_CHECKING:  # the profile's module lists the systems from the registry
    from bridge.config import FacilityProfile
    from bridge.ledger import Ledger


class StateClient(Protocol):
    """What the bridge needs of every client: its licence's gate, and a way to close."""

    @property
    def throttle(self) -> Throttle: ...

    async def aclose(self) -> None: ...


@dataclass
class Shared:
    """What a plug-in gets besides the profile.

    ``vendors`` holds the GET budgets of vendor keys (one per key, shared by every
    licence the key is used for); ``outages`` gives a licence its outage record;
    ``ledger`` keeps read-back pictures across restarts (None: kept in memory).
    """

    ledger: Ledger | None = None
    outages: Callable[[str], CallWatch] | None = None
    vendors: dict[str, ReadBudget] = field(default_factory=dict)

    def watch(self, licence: str) -> CallWatch | None:
        return None if self.outages is None else self.outages(licence)


@dataclass(frozen=True)
class Connection:
    """One licence's link to its state system."""

    licence: str
    client: StateClient
    mapper: Mapper
    sender: Sender
    refsource: RefSource

    @property
    def throttle(self) -> Throttle:
        return self.client.throttle

    async def aclose(self) -> None:
        await self.client.aclose()


class StateSystem(Protocol):
    """A state system (Metrc, BioTrack) as the bridge sees it."""

    @property
    def name(self) -> str:
        """What a facility profile's ``system`` says, e.g. "metrc"."""
        ...

    def credentials_problem(self, profile: FacilityProfile) -> str | None:
        """Why the profile cannot connect (missing credentials), or None."""
        ...

    def connect(self, profile: FacilityProfile, shared: Shared) -> Connection:
        """The licence's connection; nothing is sent until it is used."""
        ...
