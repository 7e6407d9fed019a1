"""``canopy bridge``: the central service's process wiring."""

from __future__ import annotations

import asyncio
import logging

from bridge.config import BridgeConfig
from bridge.ingest import Ingest
from bridge.ledger import open_ledger
from canopy.errors import UserError

log = logging.getLogger(__name__)


async def run_bridge(config: BridgeConfig) -> None:
    try:
        ledger = await open_ledger(config.ledger.url)
    except Exception as exc:  # any driver error here is a setup problem for IT
        raise UserError(f"cannot open the ledger {config.ledger.url!r}: {exc}") from None
    ingest = Ingest(config.mqtt, config.ingest, ledger, client_id=config.bridge.id)
    log.info("bridge %s: ledger %s, broker %s:%d", config.bridge.id, config.ledger.url,
             config.mqtt.host, config.mqtt.port)
    try:
        await ingest.run()
    finally:
        await asyncio.shield(ledger.close())
