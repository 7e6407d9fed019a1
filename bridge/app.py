"""``canopy bridge``: the central service's process wiring.

One TaskGroup: ingest (MQTT → ledger), one submitter per facility licence
(ledger → state API), and the answer publisher (verdicts → kiosks).
"""

from __future__ import annotations

import asyncio
import logging

from bridge.answers import AnswerPublisher
from bridge.config import BridgeConfig
from bridge.ingest import Ingest
from bridge.ledger import open_ledger
from bridge.submit import submitter_for
from canopy.errors import UserError

log = logging.getLogger(__name__)


async def run_bridge(config: BridgeConfig) -> None:
    try:
        ledger = await open_ledger(config.ledger.url)
    except Exception as exc:  # any driver error here is a setup problem for IT
        raise UserError(f"cannot open the ledger {config.ledger.url!r}: {exc}") from None
    answers = AnswerPublisher(ledger)
    ingest = Ingest(config.mqtt, config.ingest, ledger, client_id=config.bridge.id,
                    on_publish=answers.on_publish)
    answers.conn = ingest.conn
    submitters = [submitter_for(p, ledger, on_settled=answers.wake) for p in config.facilities]
    log.info("bridge %s: ledger %s, broker %s:%d, %d facilit%s", config.bridge.id, config.ledger.url,
             config.mqtt.host, config.mqtt.port, len(config.facilities),
             "y" if len(config.facilities) == 1 else "ies")
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(ingest.run(), name="ingest")
            tasks.create_task(answers.run(), name="answers")
            for submitter in submitters:
                tasks.create_task(submitter.run(), name=f"submit-{submitter.facility}")
    finally:
        await asyncio.shield(ledger.close())
