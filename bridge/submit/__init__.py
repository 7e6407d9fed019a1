"""Submitting stored floor events to the state systems, and mapping events to their calls.

Each state system's mapper and sender live with its client (``bridge/state/<system>``)
and are built for a licence by its plug-in (``bridge.state.registry``).
"""

from bridge.submit._ops import LOCAL_ONLY, Mapper, Op, Sender, business_date
from bridge.submit._submitter import SubmitStats, Submitter

__all__ = [
    "LOCAL_ONLY",
    "Mapper",
    "Op",
    "Sender",
    "SubmitStats",
    "Submitter",
    "business_date",
]
