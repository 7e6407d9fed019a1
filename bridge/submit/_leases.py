"""Which licences this bridge submits: one bridge per licence at a time.

Every bridge on a PostgreSQL ledger ingests, but a licence's events go to the
state only from the holder of its lease (``bridge/ledger/_postgres.py`` says
why a lease row and not an advisory lock). Each bridge, every third of the
lease's life:

- says it is alive and renews the leases it holds; a lease it failed to renew
  (taken over after this bridge stalled) stops that licence's submitter at once;
- takes free or expired leases up to its fair share (licences / live bridges,
  rounded down while another live bridge holds less than that, else up),
  trying them in an order of its own so that bridges starting together rarely
  race for the same one; a newcomer starts from the intents the last holder
  left: the submitter reads back every call that has no recorded answer;
- hands over what it holds beyond its share when more bridges are alive:
  finishes the call in flight, then releases the lease.

So a dead bridge's licences move to the others within a lease (``lease_s``)
plus a third of one. The leases are rows, not session advisory locks: a dropped
ledger connection loses none of them. While the ledger is unreachable nothing is
renewed; a lease that ran out meanwhile (an outage longer than the lease) is
refused at the holder's next intent, its submitter stops, and the licence is
taken again (by this bridge or another) once the ledger is back.

On a SQLite ledger there is one bridge (the ledger refuses a second) and it
holds every licence.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.ledger import Fence, LeaseLost, Ledger, LedgerUnreachable
from bridge.submit._submitter import Submitter

log = logging.getLogger(__name__)


def lease_seconds(lease_s: float, timeout_s: float) -> float:
    """A lease long enough that a call (at most ``timeout_s``) started under it ends
    before it expires, even right before a renewal is due (renewals every third)."""
    return max(lease_s, 1.5 * timeout_s + 1.0)


@dataclass
class _Held:
    fence: Fence
    submitter: Submitter
    task: asyncio.Task[None]


@dataclass
class LicenceLeases:
    ledger: Ledger
    bridge: str
    # licence → a new submitter for it under the given lease
    submitters: dict[str, Callable[[Fence], Submitter]]
    # licence → its calls' timeout (no call may outlive the lease it started under)
    timeouts: dict[str, float]
    lease_s: float = 10.0
    _held: dict[str, _Held] = field(default_factory=dict)

    @property
    def ttl_s(self) -> float:
        return lease_seconds(self.lease_s, max(self.timeouts.values(), default=0.0))

    def held(self) -> list[str]:
        return sorted(self._held)

    async def run(self) -> None:
        first = True
        unreachable = False
        try:
            while True:
                pause = self.ttl_s / 3
                try:
                    await self._turn(reclaim=first)
                    first = unreachable = False
                except LedgerUnreachable as exc:
                    # Nothing to do but try again: the submitters send nothing meanwhile
                    # (no intent can be written), and a lease that runs out before the
                    # ledger is back is refused at the next intent (its fencing token).
                    # Tried again as soon as the ledger will: renewed the moment it is back.
                    if not unreachable:
                        log.warning("%s: leases not renewed: %s", self.bridge, exc)
                        unreachable = True
                    pause = min(pause, max(exc.retry_in_s, 0.1))
                await asyncio.sleep(pause)
        finally:
            await asyncio.shield(self._let_go(list(self._held)))

    async def _turn(self, *, reclaim: bool) -> None:
        ttl = self.ttl_s
        alive = await self.ledger.bridges_alive(self.bridge, ttl)
        still = await self.ledger.renew_leases([h.fence for h in self._held.values()], ttl)
        for licence, held in list(self._held.items()):
            if licence not in still:
                log.error("%s: lost the lease on %s (another bridge took it over); stopped submitting",
                          self.bridge, licence)
                held.task.cancel()
                await _finished(held.task)
                del self._held[licence]
            elif held.task.done():  # the submitter ended (lease lost mid-write, or a bug)
                await _finished(held.task)
                await self.ledger.release_lease(held.fence)
                del self._held[licence]
        share = await self._share(alive)
        if len(self._held) > share:
            await self._hand_over(sorted(self._held, key=self._preference)[share:])
        elif len(self._held) < share:
            for licence in sorted(self.submitters, key=self._preference):
                if len(self._held) >= share:
                    break
                if licence not in self._held:
                    await self._take(licence, ttl, reclaim=reclaim)

    async def _share(self, alive: int) -> int:
        """How many licences this bridge should hold: ``ceil(licences / alive)``, but
        ``floor`` while some live bridge holds fewer than that (else 10 licences on
        three bridges could settle as 4, 4, 2). With fewer licences than bridges the
        floor is 0 and no bridge can hold fewer: each may hold one (one facility with
        two bridges for redundancy: before, each counted the other as starving, the
        holder handed the licence over and neither took it)."""
        total = len(self.submitters)
        low, high = total // alive, math.ceil(total / alive)
        if low == high:
            return high
        counts = Counter((await self.ledger.lease_holders()).values())
        starving = low > 0 and (len(counts) < alive or any(n < low for n in counts.values()))
        return low if starving else high

    def _preference(self, licence: str) -> str:
        """This bridge's own order of the licences: a stable spread, no coordination."""
        return hashlib.sha256(f"{self.bridge}/{licence}".encode()).hexdigest()

    async def _take(self, licence: str, ttl: float, *, reclaim: bool) -> None:
        token = await self.ledger.acquire_lease(licence, self.bridge, ttl, reclaim=reclaim)
        if token is None:
            return
        fence = Fence(licence, self.bridge, token, guard_ms=int(self.timeouts[licence] * 1000))
        submitter = self.submitters[licence](fence)
        task = asyncio.create_task(submitter.run(), name=f"submit-{licence}")
        self._held[licence] = _Held(fence, submitter, task)
        log.info("%s: submitting for %s (lease token %d)", self.bridge, licence, token)

    async def _hand_over(self, licences: list[str]) -> None:
        for licence in licences:
            log.info("%s: handing %s over to another bridge", self.bridge, licence)
        await self._let_go(licences)

    async def _let_go(self, licences: list[str]) -> None:
        """Stop after the call in flight (or abandon it after its timeout), then release."""
        held = [self._held.pop(licence) for licence in licences if licence in self._held]
        for h in held:
            h.submitter.stop()
        for h in held:
            try:
                await asyncio.wait_for(asyncio.shield(h.task), self.timeouts[h.fence.facility] + 1.0)
            except (TimeoutError, asyncio.CancelledError):
                h.task.cancel()
            await _finished(h.task)
            try:
                await self.ledger.release_lease(h.fence)
            except Exception:  # the lease then simply expires
                log.warning("%s: could not release the lease on %s", self.bridge, h.fence.facility)


async def _finished(task: asyncio.Task[None]) -> None:
    """Wait for a stopped submitter; what it ended with is logged, not raised."""
    try:
        await task
    except asyncio.CancelledError:
        pass
    except LeaseLost as exc:
        log.error("%s", exc)
    except Exception:
        log.exception("submitter %s ended", task.get_name())
