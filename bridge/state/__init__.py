"""What every state-system adapter (Metrc, BioTrack) has in common: how a call failed,
and the one ``Throttle`` per licence every call passes (``_throttle``).

Each system is a plug-in package here (``bridge/state/<system>``) exporting one
``StateSystem`` (``bridge.state.plugin``), listed in ``bridge.state.registry``.

The submitter decides what to do after a call by the *kind* of failure, not by the
engine, so each adapter maps its own errors onto this small hierarchy in one place:

- ``StateRejected`` — the state refused the request as a whole and applied nothing;
  sending it again unchanged fails again. ``StateRowErrors`` says which rows.
- ``StateAuthError`` — keys, license or permissions: a configuration problem for IT,
  not something a retry fixes and not the worker's fault.
- ``StateRateLimited`` — not processed; try again after ``retry_after`` seconds.
- ``StateUnavailable`` — outage, timeout, reset or 5xx. ``maybe_applied`` tells whether
  the request may have reached the state: if so, read back before retrying anything
  that would double-count. ``StateServerError`` is the 5xx case.

Engine-specific subclasses live in the engine's package (``bridge.state.metrc``).
"""

from bridge.state._errors import (
    RowError,
    StateApiError,
    StateAuthError,
    StateRateLimited,
    StateRejected,
    StateRowErrors,
    StateServerError,
    StateUnavailable,
    retry_after,
)
from bridge.state._throttle import MAX_PAUSE_S, CallWatch, ReadBudget, Throttle

__all__ = [
    "MAX_PAUSE_S",
    "CallWatch",
    "ReadBudget",
    "RowError",
    "StateApiError",
    "StateAuthError",
    "StateRateLimited",
    "StateRejected",
    "StateRowErrors",
    "StateServerError",
    "StateUnavailable",
    "Throttle",
    "retry_after",
]
