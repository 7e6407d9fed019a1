"""Shared pieces of the refsync tests (this module holds no tests itself).

``Bridge`` is the publishing side as ``bridge/app.py`` wires it: a real
``MqttConnection`` to Mosquitto on the production config (``provisioned``),
logged in as bridge ``bridge-1``, and ``mqtt_publisher``. ``Watcher`` is a kiosk
(an enrolled kiosk login of the facility) subscribed to
``canopy/v1/<facility>/ref/#`` that decodes every message with
``canopy.refdata.decode``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from bridge.refsync import mqtt_publisher
from canopy import topics
from canopy.mqtt import Message, MqttConnection, MqttSettings
from canopy.refdata import Profile, RefMessage, Roster, Scale, Worker, decode
from tests.provisioned import ProvisionedSite
from tests.waiting import until

SENTINEL = b"end"
PROFILE = Profile(system="metrc", state="CA", timezone="America/Los_Angeles", tag_format="metrc")
SCALES = [Scale(id="scale-1", model="Ohaus Defender 5000", serial="B123", ntep_coc="13-123")]
ROSTER = Roster(badge_salt="00" * 16, workers=[
    Worker(id="ana", name="Ana", pin="scrypt$16384$8$1$" + "11" * 16 + "$" + "22" * 32)])


def settings(site: ProvisionedSite, login: str, role: str) -> MqttSettings:
    return site.settings(login, role, backoff_min_s=0.05, backoff_max_s=0.2)


@contextlib.asynccontextmanager
async def running(connection: MqttConnection) -> AsyncIterator[MqttConnection]:
    task = asyncio.create_task(connection.run())
    try:
        await connection.wait_connected()
        yield connection
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Bridge:
    """The publishing side: records every name it published, then publishes for real."""

    def __init__(self, site: ProvisionedSite, *, on_connect: Callable[[bool], None] | None = None) -> None:
        self.connection = MqttConnection(
            settings(site, "bridge-1", "bridge"),
            client_id="bridge-1",
            on_connect=on_connect,
            on_publish=self._on_publish,
        )
        self._publish = mqtt_publisher(self.connection)
        self.published: list[str] = []
        self._sent = 0
        self._acked = 0

    def _on_publish(self, mid: int, accepted: bool, reason: str) -> None:
        assert accepted, reason
        self._acked += 1

    def publish(self, topic: str, payload: bytes) -> None:
        self._publish(topic, payload)
        self._sent += 1
        self.published.append(topic.rsplit("/", 1)[1])

    async def settled(self) -> None:
        """Wait for the broker's PUBACK of everything published so far (retained by then)."""
        await until(lambda: self._acked >= self._sent, "PUBACKs")

    async def mark_end(self, facility: str) -> None:
        """A retained sentinel after the ref messages: a later Watcher sees it last."""
        self.connection.publish(Watcher.sentinel_topic(facility), SENTINEL, qos=1, retain=True)
        self._sent += 1
        await self.settled()


class Watcher:
    """A subscriber to one facility's reference data; ``latest[name]`` is the newest message."""

    def __init__(self, site: ProvisionedSite, facility: str, device: str = "kiosk-01") -> None:
        self.facility = facility
        self.messages: list[tuple[str, RefMessage, bool]] = []  # name, decoded, retained
        self.sentinels = 0
        self.errors: list[str] = []  # messages decode() refused
        self._task: asyncio.Task[None] | None = None
        self._sentinel = self.sentinel_topic(facility)
        self.connection = MqttConnection(
            settings(site, device, "kiosk"),
            client_id=device,
            # Subscribed in this order: every retained ref message is delivered
            # before the retained sentinel, so the sentinel says "that was all".
            subscriptions=(topics.ref(facility, "#"), self._sentinel),
            on_message=self._on_message,
        )

    @staticmethod
    def sentinel_topic(facility: str) -> str:
        # The one topic outside ref/ that the bridge login may write and a kiosk
        # login may read: the bridge's status (this test bridge has no other use for it).
        return topics.bridge_status("bridge-1")

    def _on_message(self, message: Message) -> None:
        if message.topic == self._sentinel:
            self.sentinels += message.payload == SENTINEL
            return
        # An exception here would only be logged by the event loop: keep it for the test.
        try:
            decoded = decode(message.payload)
            if message.topic != topics.ref(self.facility, decoded.name) or decoded.facility != self.facility:
                raise ValueError(f"{decoded.name}/{decoded.facility} arrived on {message.topic}")
        except ValueError as exc:
            self.errors.append(f"{message.topic}: {exc}")
            return
        self.messages.append((decoded.name, decoded, message.retain))

    @property
    def latest(self) -> dict[str, RefMessage]:
        return {name: decoded for name, decoded, _ in self.messages}

    def names(self) -> list[str]:
        return [name for name, _, _ in self.messages]

    def rows(self, name: str) -> Any:
        return self.latest[name].rows()

    async def barrier(self, bridge: Bridge) -> None:
        """Wait until everything ``bridge`` published before this call has arrived here."""
        seen = self.sentinels
        await bridge.mark_end(self.facility)
        await until(lambda: self.sentinels > seen, "the sentinel")

    async def start(self) -> None:
        """Connect and wait until every retained message (the sentinel last) has arrived."""
        self._task = asyncio.create_task(self.connection.run())
        await until(lambda: self.sentinels > 0, "the retained sentinel")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
