"""The outage record of one licence, kept in the ledger, fed by every state call.

A licence's client tells its ``Throttle`` how each call ended, and the throttle
tells this record (``bridge.state.CallWatch``): a call the state did not answer,
read or write, reference sync or submit, opens the outage (start, cause) unless
one is open; the next answered call ends it. The 72-hour alert (``alert_if_due``)
is raised by the submitter's loop from the ledger, so it fires whichever call
opened the outage, and here as the outage ends, in case it crossed the threshold
between two of the loop's checks.
"""

from __future__ import annotations

import logging
import time

from bridge.ledger import Ledger

log = logging.getLogger(__name__)


class LedgerOutages:
    """``CallWatch`` for one licence, writing to the ledger's outage table.

    Every failure asks the ledger (it opens an outage only if none is open). An
    answer closes the open outage; so that a licence that answers costs no ledger
    write per call, an answer is checked against the ledger at most every
    ``recheck_s`` unless this process saw a failure since: another bridge (its
    reference sync) may have opened one meanwhile.
    """

    def __init__(self, ledger: Ledger, licence: str, *, alert_hours: float = 72.0,
                 recheck_s: float = 10.0) -> None:
        self.ledger = ledger
        self.licence = licence
        self.alert_hours = alert_hours
        self.recheck_s = recheck_s
        self._closed_at: float | None = None  # monotonic time the record was last seen closed

    async def failed(self, cause: str) -> None:
        self._closed_at = None
        if await self.ledger.outage_begins(self.licence, cause[:500]):
            log.error("state system for %s is failing (%s): outage recorded", self.licence, cause)

    async def answered(self) -> None:
        now = time.monotonic()
        if self._closed_at is not None and now - self._closed_at < self.recheck_s:
            return
        # The licensee must report an outage that reached the threshold, even one
        # that ends before the submitter's next look.
        await alert_if_due(self.ledger, self.licence, self.alert_hours)
        if await self.ledger.outage_ends(self.licence):
            log.warning("state system for %s answers again: outage closed", self.licence)
        self._closed_at = now


async def alert_if_due(ledger: Ledger, licence: str, hours: float) -> None:
    """Raise the alert, once, for the licence's open outage older than ``hours``."""
    now = ledger.clock()
    for outage in await ledger.outages(licence, open_only=True):
        if not outage.alerted and outage.hours(now) >= hours:
            log.critical(
                "ALERT: %s has had no access to the state system for %.0f hours (since %s,"
                " cause: %s). Notify the state agency; keep the outage report"
                " (canopy bridge report outages).", licence, outage.hours(now),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(outage.started / 1000)),
                outage.cause,
            )
            await ledger.mark_alerted(outage.n)
