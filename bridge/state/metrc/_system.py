"""Metrc as a state-system plug-in: one client per licence, one throttle shared by all.

Metrc limits GETs only, per facility and per integrator (vendor) key (state-apis.md
§2.7: design for 50/s and 10 at once per facility, 150/s and 30 at once per key).
The facility's budget comes from its profile (``reads_per_s``, ``reads_at_once``);
the vendor key's is shared by every licence configured with that key.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from bridge.state import ReadBudget, Throttle
from bridge.state.metrc._client import MetrcClient
from bridge.state.metrc._mapper import MetrcMapper, MetrcSender
from bridge.state.metrc._refsource import MetrcRefSource
from bridge.state.plugin import Connection, Shared

if TYPE_CHECKING:
    from bridge.config import FacilityProfile

VENDOR_READS_PER_S = 150.0
VENDOR_READS_AT_ONCE = 30


class Metrc:
    name = "metrc"

    def credentials_problem(self, profile: FacilityProfile) -> str | None:
        if profile.metrc is None:
            return "a Metrc facility needs [facilities.metrc] vendor_key and user_key"
        return None

    def connect(self, profile: FacilityProfile, shared: Shared) -> Connection:
        creds = profile.metrc
        if creds is None:
            raise ValueError(self.credentials_problem(profile))
        vendor_key = creds.vendor_key.get_secret_value()
        # Keyed by a digest: the key itself is a secret and stays out of dumps and logs.
        vendor = shared.vendors.setdefault(
            "metrc:" + hashlib.sha256(vendor_key.encode()).hexdigest(),
            ReadBudget(VENDOR_READS_PER_S, VENDOR_READS_AT_ONCE),
        )
        throttle = Throttle(profile.license, writes_per_s=profile.requests_per_s,
                            reads=ReadBudget(profile.reads_per_s, profile.reads_at_once),
                            vendor=vendor, watch=shared.watch(profile.license))
        client = MetrcClient(profile.base_url, vendor_key, creds.user_key.get_secret_value(),
                             profile.license, timeout=profile.timeout_s, throttle=throttle)
        return Connection(profile.license, client,
                          MetrcMapper(client, profile.timezone, pictures=shared.ledger),
                          MetrcSender(client), MetrcRefSource(client, room_kinds=profile.room_kinds))


METRC = Metrc()
