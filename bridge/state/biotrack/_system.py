"""BioTrack as a state-system plug-in: one client per licence, one throttle shared by all.

BioTrack's classic API publishes no rate limit; the licence's calls are paced by
its profile (``requests_per_s`` for actions, ``reads_per_s``/``reads_at_once`` for
``sync_*`` reads), and a 503's or 429's ``Retry-After`` pauses them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.state import ReadBudget, Throttle
from bridge.state.biotrack._client import BioTrackClient
from bridge.state.biotrack._mapper import BioTrackMapper, BioTrackSender
from bridge.state.biotrack._refsource import BioTrackRefSource
from bridge.state.plugin import Connection, Shared

if TYPE_CHECKING:
    from bridge.config import FacilityProfile


class BioTrack:
    name = "biotrack"

    def credentials_problem(self, profile: FacilityProfile) -> str | None:
        if profile.biotrack is None:
            return "a BioTrack facility needs [facilities.biotrack] username, password, ubi"
        return None

    def connect(self, profile: FacilityProfile, shared: Shared) -> Connection:
        creds = profile.biotrack
        if creds is None:
            raise ValueError(self.credentials_problem(profile))
        throttle = Throttle(profile.license, writes_per_s=profile.requests_per_s,
                            reads=ReadBudget(profile.reads_per_s, profile.reads_at_once),
                            watch=shared.watch(profile.license))
        client = BioTrackClient(profile.base_url, creds.ubi, creds.username,
                                creds.password.get_secret_value(), training=creds.training,
                                location=creds.location, timeout=profile.timeout_s, throttle=throttle)
        return Connection(profile.license, client, BioTrackMapper(client), BioTrackSender(client),
                          BioTrackRefSource(client))


BIOTRACK = BioTrack()
