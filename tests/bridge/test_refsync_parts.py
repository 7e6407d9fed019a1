"""Big reference lists (contract v2: manifest + parts) from RefSync to a kiosk, through a real
Mosquitto and the kiosk's real uplink subscription, into its floor database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.floor import Floor
from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from bridge.refsync import RefSync, mqtt_publisher
from canopy import refdata, topics
from canopy.mqtt import Message, MqttConnection, MqttSettings
from cli.broker import Mosquitto
from tests.bridge.test_refsync_support import running
from tests.waiting import until

pytestmark = pytest.mark.timeout(240)


def settings(broker: Mosquitto) -> MqttSettings:
    # An open broker: these tests are about lists of any size reaching a kiosk whole,
    # with throwaway connections (a sentinel, a reader) that have no enrolled identity.
    # The provisioned broker's kiosk access list grants ref/# (tests/fleet/test_broker_access.py).
    return MqttSettings(host=broker.host, port=broker.port, backoff_min_s=0.05, backoff_max_s=0.2)
FAC = "CA-BIG-0001"
PLANT_BASE = "1A4FF0100000022"  # + 9 digits
TAG_BASE = "1A4FF0100000023"


def plants(n: int, room: str = "Flower 1") -> list[dict[str, Any]]:
    return [{"tag": f"{PLANT_BASE}{i:09d}", "location": room, "phase": "Flowering",
             "strain": "Blue Dream", "plant_batch": f"BD-{i // 100:04d}"} for i in range(n)]


def tags(n: int) -> list[str]:
    return [f"{TAG_BASE}{i:09d}" for i in range(n)]


class NoState:
    """A source with nothing from the state: every list here is ``static``."""

    provides: frozenset[str] = frozenset()

    async def fetch(self) -> dict[str, list[Any]]:
        return {}


class BridgeSide:
    """RefSync publishing on a real connection, counting what the broker took."""

    def __init__(self, broker: Mosquitto, lists: dict[str, Any]) -> None:
        self.connection = MqttConnection(settings(broker), client_id=f"bridge-{uuid.uuid4().hex[:6]}",
                                         max_inflight=1000, on_publish=self._acked)
        publish = mqtt_publisher(self.connection)
        self.sent = self.acked = 0

        def counted(topic: str, payload: bytes) -> None:
            publish(topic, payload)
            self.sent += 1

        self.sync = RefSync(FAC, NoState(), counted, interval_s=3600, static=lists)

    def _acked(self, mid: int, accepted: bool, reason: str) -> None:
        assert accepted, reason
        self.acked += 1

    async def settled(self) -> None:
        await until(lambda: self.acked >= self.sent, "PUBACKs", 60)

    async def put(self, name: str, items: Any) -> None:
        await self.sync.set_static(name, items)
        await self.settled()


@contextlib.asynccontextmanager
async def bridge_side(broker: Mosquitto, lists: dict[str, Any]) -> AsyncIterator[BridgeSide]:
    side = BridgeSide(broker, lists)
    task = asyncio.create_task(side.connection.run())
    try:
        await side.connection.wait_connected()
        await side.sync.sync_once()
        await side.settled()
        yield side
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def kiosk_side(broker: Mosquitto, root: Path, *, complete_within_s: float = 120.0,
                     ) -> AsyncIterator[Floor]:
    """A kiosk's floor fed by its real uplink (subscribed to ``ref/#``)."""
    floor = await Floor.open(root / "floor.db", facility=FAC)
    floor.ref.complete_within_s = complete_within_s
    outbox = await Outbox.open(root / "outbox.db", facility=FAC, device="kiosk-01")
    uplink = Uplink(settings(broker), UplinkSettings(), outbox, on_ref=floor.apply_ref)
    task = asyncio.create_task(uplink.run())
    try:
        yield floor
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await outbox.close()
        await floor.close()


async def retained(broker: Mosquitto) -> dict[str, bytes]:
    """Every non-empty retained message under the facility's ``ref/``, as a new subscriber
    gets them (a retained sentinel, subscribed after, marks the end)."""
    sentinel = f"{topics.ROOT}/{FAC}/parts-test-sentinel"
    got: dict[str, bytes] = {}
    done = asyncio.Event()

    def on_message(message: Message) -> None:
        if message.topic == sentinel:
            done.set()
        elif message.payload:
            got[message.topic] = message.payload

    publisher = MqttConnection(settings(broker), client_id=f"sentinel-{uuid.uuid4().hex[:6]}")
    reader = MqttConnection(settings(broker), client_id=f"reader-{uuid.uuid4().hex[:6]}",
                            subscriptions=(topics.ref(FAC, "#"), sentinel), on_message=on_message)
    async with running(publisher):
        publisher.publish(sentinel, b"end", qos=1, retain=True)
        await asyncio.sleep(0.2)
        async with running(reader):
            await asyncio.wait_for(done.wait(), 30)
    return got


def parts_of(copy: Any) -> set[str]:
    head = refdata.decode_head(copy.payload)
    assert isinstance(head, refdata.RefManifest)
    return set(head.parts)


def version(floor: Floor, name: str) -> str | None:
    copy = floor.ref.copy(name)
    return copy.version if copy is not None else None


@pytest.fixture(autouse=True)
def _roots(tmp_path: Path) -> None:
    for name in ("kiosk", "late", "k"):
        (tmp_path / name).mkdir()


async def test_fifty_thousand_plants_and_twenty_thousand_tags_arrive_whole(
        broker: Mosquitto, tmp_path: Path) -> None:
    big = {"plants": plants(50_000), "plant_tags": tags(20_000)}
    async with bridge_side(broker, big) as bridge, kiosk_side(broker, tmp_path / "kiosk") as floor:
        await until(lambda: version(floor, "plants") is not None and floor.has("plant_tags"),
                    "the big lists", 120)
        last = floor.resolve(f"{PLANT_BASE}{49_999:09d}")
        assert last.kind == "plant" and last.plant is not None and last.plant.location == "Flower 1"
        assert floor.resolve(f"{TAG_BASE}{19_999:09d}").kind == "fresh_tag"
        assert floor.resolve(f"{TAG_BASE}{20_000:09d}").kind == "unknown_tag"
        assert floor.resolve(f"{PLANT_BASE}{50_000:09d}").kind == "unknown_tag"
        assert len(floor.known_plant_tags()) == 50_000
        assert len(floor.plants_in("Flower 1")) == floor.count_in("Flower 1") == 50_000
        # 20,000 consecutive tags travel as one range, in one part.
        manifest = floor.ref.copy("plant_tags")
        assert manifest is not None
        head = refdata.decode_head(manifest.payload)
        assert isinstance(head, refdata.RefManifest) and (head.count, len(head.parts)) == (20_000, 1)

        # One plant moves: a new version arrives and replaces the old one whole.
        before = version(floor, "plants")
        old_copy = floor.ref.copy("plants")
        changed = plants(50_000)
        changed[123]["location"] = "Dry 2"
        await bridge.put("plants", changed)
        await until(lambda: version(floor, "plants") != before, "the one-plant change", 60)
        moved = floor.plant(f"{PLANT_BASE}{123:09d}")
        assert moved is not None and moved.location == "Dry 2"
        assert len(floor.plants_in("Flower 1")) == floor.count_in("Flower 1") == 49_999
        assert floor.count_in("Dry 2") == 1

        # Only the changed part travelled; the kiosk keeps one copy of each row.
        was, now = (parts_of(copy) for copy in (old_copy, floor.ref.copy("plants")))
        assert len(now - was) <= 2 and len(was) > 20
        # The broker holds the new version's parts and no other (the bridge cleared them).
        held = {topic.rsplit("/", 1)[1] for topic in await retained(broker)
                if topic.startswith(topics.ref(FAC, "plants/"))}
        assert held == now
        rows = floor.ref._read("SELECT count(*) FROM ref_row WHERE name = 'plants'", ()).fetchone()
        assert rows == (50_000,)
        assert floor.ref._read("SELECT count(*) FROM ref_part WHERE name = 'plants'", ()).fetchone() == (
            len(now),)
    async with kiosk_side(broker, tmp_path / "late") as late:  # a kiosk that connects later
        await until(lambda: version(late, "plants") is not None, "the list at a late kiosk", 120)
        assert late.ref.pending("plants") is None
        moved = late.plant(f"{PLANT_BASE}{123:09d}")
        assert moved is not None and moved.location == "Dry 2"


async def test_a_list_that_shrinks_to_one_message_clears_its_parts(broker: Mosquitto, tmp_path: Path) -> None:
    async with bridge_side(broker, {"plants": plants(3_000)}) as bridge, \
            kiosk_side(broker, tmp_path / "k") as floor:
        await until(lambda: version(floor, "plants") is not None, "the parts")
        await bridge.put("plants", plants(10))
        await until(lambda: floor.has("plants") and version(floor, "plants") is None, "the whole list")
        assert floor.resolve(f"{PLANT_BASE}{9:09d}").kind == "plant"
        assert floor.resolve(f"{PLANT_BASE}{10:09d}").kind == "unknown_tag"
        assert floor.ref._read("SELECT count(*) FROM ref_row", ()).fetchone() == (0,)


async def test_a_kiosk_restarted_mid_update_keeps_the_old_version_then_completes(
        broker: Mosquitto, tmp_path: Path) -> None:
    root = tmp_path / "kiosk"
    new = plants(5_000, room="Flower 2")
    async with bridge_side(broker, {"plants": plants(5_000)}) as bridge:
        async with kiosk_side(broker, root) as floor:
            await until(lambda: version(floor, "plants") is not None, "the first version")
            old = version(floor, "plants")
        # The kiosk went down after taking the new manifest and its first part only
        # (what it took is on disk).
        parts = refdata.encode_parts("plants", FAC, datetime.now(UTC), new, max_bytes=255 * 1024)
        floor = await Floor.open(root / "floor.db", facility=FAC)
        try:
            first = next(iter(parts.parts))
            await floor.apply_ref("plants", parts.manifest)
            await floor.apply_ref(f"plants/{first}", parts.parts[first])
            assert version(floor, "plants") == old
        finally:
            await floor.close()
        await bridge.put("plants", new)  # out while the kiosk is off: retained for it
        floor = await Floor.open(root / "floor.db", facility=FAC)
        try:  # restarted, still offline: the old version serves, the new one is pending
            pending = floor.ref.pending("plants")
            assert pending is not None and pending.version == parts.version
            kept = floor.plant(f"{PLANT_BASE}{0:09d}")
            assert version(floor, "plants") == old and kept is not None and kept.location == "Flower 1"
        finally:
            await floor.close()
        async with kiosk_side(broker, root) as floor:  # back online: the retained parts complete it
            await until(lambda: version(floor, "plants") == parts.version, "the new version")
            moved = floor.plant(f"{PLANT_BASE}{4_999:09d}")
            assert moved is not None and moved.location == "Flower 2"
            assert floor.ref.pending("plants") is None


async def test_a_manifest_whose_parts_never_come_leaves_the_old_version(
        broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with bridge_side(broker, {"plants": plants(3_000)}) as bridge, \
            kiosk_side(broker, tmp_path / "k", complete_within_s=0.5) as floor:
        await until(lambda: version(floor, "plants") is not None, "the first version")
        old = version(floor, "plants")
        lost = refdata.encode_parts("plants", FAC, datetime.now(UTC), plants(3_000, room="Veg"),
                                    max_bytes=255 * 1024)
        # The manifest goes out, and only the first part: the rest are "lost".
        first, missing = list(lost.parts)[:2]
        bridge.connection.publish(topics.ref(FAC, f"plants/{first}"), lost.parts[first], retain=True)
        with caplog.at_level(logging.WARNING, logger="agent.refcache"):
            bridge.connection.publish(topics.ref(FAC, "plants"), lost.manifest, retain=True)
            await until(lambda: floor.ref.pending("plants") is not None, "the manifest")
            await until(lambda: "incomplete" in caplog.text, "the log line", 10)
        assert f"version {lost.version} incomplete" in caplog.text
        assert f"1 of {len(lost.parts)} parts" in caplog.text
        assert version(floor, "plants") == old
        kept = floor.plant(f"{PLANT_BASE}{2_999:09d}")
        assert kept is not None and kept.location == "Flower 1"
        # Other rows on the missing part's topic never fill the gap.
        other = refdata.encode_parts("plants", FAC, datetime.now(UTC), plants(3_000, room="Dry"),
                                     max_bytes=255 * 1024)
        with caplog.at_level(logging.WARNING, logger="agent.app"):
            bridge.connection.publish(topics.ref(FAC, f"plants/{missing}"), list(other.parts.values())[1])
            with pytest.raises(ValueError, match="holds other rows"):
                await floor.apply_ref(f"plants/{missing}", list(other.parts.values())[1])
        await asyncio.sleep(0.5)
        assert version(floor, "plants") == old
        # The next sync brings a complete version, which replaces the old one.
        await bridge.put("plants", plants(3_000, room="Flower 3"))
        await until(lambda: (p := floor.plant(f"{PLANT_BASE}{0:09d}")) is not None
                    and p.location == "Flower 3", "the next version")
        assert floor.ref.pending("plants") is None


async def test_parts_that_do_not_add_up_to_the_count_are_refused(tmp_path: Path) -> None:
    floor = await Floor.open(tmp_path / "floor.db", facility=FAC)
    try:
        good = refdata.encode_parts("plants", FAC, datetime.now(UTC), plants(10), max_bytes=1200)
        await floor.apply_ref("plants", good.manifest)
        for part, payload in good.parts.items():
            await floor.apply_ref(f"plants/{part}", payload)
        assert version(floor, "plants") == good.version
        bad = refdata.encode_parts("plants", FAC, datetime.now(UTC), plants(10, room="X"), max_bytes=1200)
        forged = json.dumps({**json.loads(bad.manifest), "count": 11}).encode()
        await floor.apply_ref("plants", forged)
        with pytest.raises(ValueError, match="10 rows, the manifest says 11"):
            for part, payload in bad.parts.items():
                await floor.apply_ref(f"plants/{part}", payload)
        assert version(floor, "plants") == good.version
        assert floor.ref.pending("plants") is None
        kept = floor.plant(f"{PLANT_BASE}{9:09d}")
        assert kept is not None and kept.location == "Flower 1"
    finally:
        await floor.close()
