"""The outage record of one licence, kept in the ledger, fed by every state call.

A licence's client tells its ``Throttle`` how each call ended, and the throttle
tells this record (``bridge.state.CallWatch``): a call the state did not answer,
read or write, reference sync or submit, opens the outage (start, cause) unless
one is open; the next answered call ends it. The 72-hour alert (``alert_if_due``)
is raised by the submitter's loop from the ledger, so it fires whichever call
opened the outage, and here as the outage ends, in case it crossed the threshold
between two of the loop's checks.

``StateStatusFeed`` tells the kiosks: each licence's open outage rides in the
bridge's retained status (``canopy.bridge_status``), so the floor sees the state
system down, and the 72-hour mark, on every kiosk of the facility.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from bridge.ledger import Ledger, LedgerUnreachable
from canopy import bridge_status
from canopy.bridge_status import StateSystem
from canopy.mqtt import NotConnected

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


async def state_systems(ledger: Ledger, alert_hours: Mapping[str, float]) -> dict[str, StateSystem]:
    """Each licence's state system as the ledger's outage record has it (``alert_hours``
    per licence: after that long the state must be notified)."""
    now = ledger.clock()
    open_ = {o.facility: o for o in await ledger.outages(open_only=True)}
    out: dict[str, StateSystem] = {}
    for licence, hours in alert_hours.items():
        outage = open_.get(licence)
        out[licence] = (StateSystem(True, after_h=hours) if outage is None
                        else StateSystem(False, outage.started, outage.hours(now) >= hours, hours))
    return out


class StateStatusFeed:
    """The bridge's retained status, with every licence's state system in it, for the kiosks.

    Looks at the ledger every ``interval_s`` (the outage may be opened or closed by
    another bridge sharing it) and publishes again when a licence's state changed,
    the 72-hour mark included; ``payload`` is also what the bridge publishes each
    time its connection comes up.
    """

    def __init__(self, ledger: Ledger, bridge: str, alert_hours: Mapping[str, float],
                 publish: Callable[[bytes], object], *, interval_s: float = 5.0) -> None:
        self.ledger = ledger
        self.bridge = bridge
        self.alert_hours = dict(alert_hours)
        self.publish = publish
        self.interval_s = interval_s
        self.systems: dict[str, StateSystem] = {}

    def payload(self) -> bytes:
        return bridge_status.encode(self.bridge, "online", self.systems)

    async def check(self) -> bool:
        """Read the ledger; publish if anything changed. True when it did."""
        systems = await state_systems(self.ledger, self.alert_hours)
        if systems == self.systems:
            return False
        self.systems = systems
        try:
            self.publish(self.payload())
        except NotConnected:  # the next connection publishes it (``payload``)
            pass
        return True

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except LedgerUnreachable:  # said once by the ledger; the next look tries again
                pass
            except Exception:  # a ledger hiccup: the next look tries again
                log.exception("state system status not read from the ledger")
            await asyncio.sleep(self.interval_s)
