"""The state systems the bridge can report to, by the name a facility profile uses.

A new state system is one package under ``bridge/state/`` exporting a
``StateSystem`` (see ``bridge.state.plugin``), its credentials in the facility
profile, and one line here. Nothing else in the bridge asks which system a
licence uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from bridge.state.biotrack import BIOTRACK
from bridge.state.metrc import METRC
from bridge.state.plugin import Connection, Shared, StateSystem

if TYPE_CHECKING:
    from bridge.config import FacilityProfile

#: The values a profile's ``system`` may take: the keys of ``SYSTEMS``.
SystemName = Literal["metrc", "biotrack"]

SYSTEMS: dict[SystemName, StateSystem] = {
    "metrc": METRC,
    "biotrack": BIOTRACK,
}


def connect(profile: FacilityProfile, shared: Shared) -> Connection:
    """The licence's connection to the state system its profile names."""
    return SYSTEMS[profile.system].connect(profile, shared)


def connect_all(profiles: list[FacilityProfile], shared: Shared | None = None) -> dict[str, Connection]:
    """One connection per licence; licences sharing a vendor key share its GET budget."""
    shared = shared or Shared()
    return {p.license: connect(p, shared) for p in profiles}
