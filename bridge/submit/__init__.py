"""Submitting stored floor events to the state systems, and mapping events to their calls."""

from __future__ import annotations

import logging

from bridge.config import FacilityProfile
from bridge.ledger import Ledger
from bridge.submit._biotrack import BioTrackMapper, BioTrackSender
from bridge.submit._metrc import MetrcMapper, MetrcSender
from bridge.submit._ops import LOCAL_ONLY, Mapper, Op, Sender, business_date
from bridge.submit._submitter import SubmitStats, Submitter
from bridge.vetting import vetted

__all__ = [
    "LOCAL_ONLY",
    "BioTrackMapper",
    "BioTrackSender",
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


def submitter_for(profile: FacilityProfile, ledger: Ledger, **kw: object) -> Submitter:
    """The submitter for one licence, on its state system's client."""
    if profile.system == "metrc":
        from bridge.state.metrc import MetrcClient

        assert profile.metrc is not None
        client = MetrcClient(profile.base_url, profile.metrc.vendor_key.get_secret_value(),
                             profile.metrc.user_key.get_secret_value(), profile.license,
                             timeout=profile.timeout_s)
        return Submitter(
            profile.license, ledger,
            vetted(MetrcMapper(client, profile.timezone, pictures=ledger), profile, ledger),
            MetrcSender(client),
            batch_size=profile.batch_size, flush_interval_s=profile.flush_interval_s,
            requests_per_s=profile.requests_per_s, outage_alert_hours=profile.outage_alert_hours,
            **kw,  # type: ignore[arg-type]
        )
    from bridge.state.biotrack import BioTrackClient

    assert profile.biotrack is not None
    creds = profile.biotrack
    bt = BioTrackClient(profile.base_url, creds.ubi, creds.username, creds.password.get_secret_value(),
                        training=creds.training, location=creds.location, timeout=profile.timeout_s)
    return Submitter(
        profile.license, ledger, vetted(BioTrackMapper(bt), profile, ledger), BioTrackSender(bt),
        batch_size=profile.batch_size, flush_interval_s=profile.flush_interval_s,
        requests_per_s=profile.requests_per_s, outage_alert_hours=profile.outage_alert_hours,
        **kw,  # type: ignore[arg-type]
    )
