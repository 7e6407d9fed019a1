"""Submitting stored floor events to the state systems, and mapping events to their calls."""

from __future__ import annotations

import logging

from bridge.config import FacilityProfile
from bridge.ledger import Ledger
from bridge.submit._metrc import MetrcMapper, MetrcSender
from bridge.submit._ops import LOCAL_ONLY, Mapper, Op, Sender, business_date
from bridge.submit._submitter import SubmitStats, Submitter

__all__ = [
    "LOCAL_ONLY",
    "Mapper",
    "MetrcMapper",
    "MetrcSender",
    "Op",
    "Sender",
    "SubmitStats",
    "Submitter",
    "business_date",
    "submitter_for",
]

log = logging.getLogger(__name__)


def submitter_for(profile: FacilityProfile, ledger: Ledger, **kw: object) -> Submitter | None:
    """The submitter for one licence, or None where Canopy cannot report yet."""
    if profile.system == "metrc":
        from bridge.state.metrc import MetrcClient

        assert profile.metrc is not None
        client = MetrcClient(profile.base_url, profile.metrc.vendor_key.get_secret_value(),
                             profile.metrc.user_key.get_secret_value(), profile.license,
                             timeout=profile.timeout_s)
        return Submitter(
            profile.license, ledger, MetrcMapper(client, profile.timezone), MetrcSender(client),
            batch_size=profile.batch_size, flush_interval_s=profile.flush_interval_s,
            requests_per_s=profile.requests_per_s, outage_alert_hours=profile.outage_alert_hours,
            **kw,  # type: ignore[arg-type]
        )
    log.warning("%s reports to BioTrack: submission is not built yet; its events stay in the ledger",
                profile.license)
    return None
