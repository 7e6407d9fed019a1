"""Submitting stored floor events to the state systems, and mapping events to their calls.

Each state system's mapper and sender live with its client (``bridge/state/<system>``)
and are built for a licence by its plug-in (``bridge.state.registry``). With several
bridges on one ledger, ``LicenceLeases`` runs each licence's submitter under its lease.
"""

from bridge.submit._leases import LicenceLeases
from bridge.submit._ops import LOCAL_ONLY, Call, Mapper, Op, Sender, business_date
from bridge.submit._submitter import SubmitStats, Submitter

__all__ = [
    "LOCAL_ONLY",
    "Call",
    "LicenceLeases",
    "Mapper",
    "Op",
    "Sender",
    "SubmitStats",
    "Submitter",
    "business_date",
]
