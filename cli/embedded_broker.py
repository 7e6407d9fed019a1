"""A pure-Python MQTT 3.1.1 broker (amqtt) for the demo on machines without Mosquitto.

    python -m cli.embedded_broker --port 18830

amqtt speaks only MQTT 3.1.1 and has no shared subscriptions, so the demo runs
kiosk and bridge with ``protocol = "3.1.1"`` against it (the uplink and ingest
support both). It keeps no state across restarts: use Mosquitto for anything
but a look around. Installed with the ``demo`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal


async def serve(host: str, port: int) -> None:
    try:
        from amqtt.broker import Broker
    except ImportError:  # pragma: no cover - depends on the install
        raise SystemExit(
            "the embedded broker needs the demo extra: .venv/bin/pip install -e '.[demo]'"
        ) from None
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},  # never 0.0.0.0
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
    )
    await broker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
