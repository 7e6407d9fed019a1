"""Two people release one held record at the same moment (``canopy bridge confirm`` run
twice, on one ledger): one release is recorded, with that person's time, and the other
is told the record is no longer held, on both databases."""

from __future__ import annotations

import asyncio

from bridge.ledger import Answer, open_ledger, verify_and_record
from tests.bridge.test_ledger_chain import LICENSE, event

TIMES = {"maria": "2026-12-01T09:00:00.000Z", "omar": "2026-12-01T11:30:00.000Z"}


async def test_two_confirmations_at_once_release_the_record_once(ledger_url: str) -> None:
    first = await open_ledger(ledger_url)
    second = await open_ledger(ledger_url)
    try:
        held = event(1)
        await first.store([held], [])
        await first.settle([Answer(held.id, "held", "time ahead of the bridge")])
        done = await asyncio.gather(*[ledger.confirm(held.id, at, name) for ledger, (name, at)
                                      in zip((first, second), TIMES.items(), strict=True)],
                                    return_exceptions=True)
        released = [d for d in done if isinstance(d, str)]
        assert len(released) == 1 and sum(isinstance(d, KeyError) for d in done) == 1, done
        [(at, by)] = [(str(r[1]), str(r[2])) for r in await first.confirmations()]
        assert TIMES[by] == at == released[0]  # the time recorded is the one its confirmer was told
        chained = await first._fetch("SELECT kind FROM chain WHERE ref = ? ORDER BY n", (held.id,))
        assert chained == [("event",), ("answer",), ("answer",)]  # stored, held, released once
        assert all(r.mismatch is None for r in await verify_and_record(first, LICENSE))
    finally:
        await second.close()
        await first.close()
