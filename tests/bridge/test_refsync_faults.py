"""RefSync when things fail: state outages (503, refused connections, a restart), 429s,
a broker that is away or lost its retained messages, bad static config, a list too
big for one message. The loop must keep running, keep the last copy retained, and
publish again once things recover.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

import httpx
import pytest

from bridge.refsync import RefSync
from bridge.state import StateAuthError
from bridge.state.biotrack import BioTrackClient, BioTrackRefSource, PlantMove
from bridge.state.metrc import MetrcClient, MetrcRefSource, MovePlant
from canopy import topics
from canopy.refdata import REF_NAMES, RefManifest, Roster, Scale, decode, decode_head, decode_part
from statesim import biotrack as biotrack_sim
from statesim.metrc import (
    DEMO_LICENSES,
    DEMO_USER_KEY,
    DEMO_VENDOR_KEY,
    MetrcSimulator,
    RateLimit,
    SimConfig,
)
from tests.bridge.test_refsync_support import PROFILE, ROSTER, SCALES, Bridge, Watcher, running
from tests.provisioned import ProvisionedSite
from tests.waiting import until

pytestmark = pytest.mark.timeout(60)

FARM_A = DEMO_LICENSES[0]
STATIC = {"profile": PROFILE, "scales": SCALES, "workers": ROSTER}
VEG_PLANT = "1A4FF0100000022000001001"


class _Retry(TypedDict):
    retry_min_s: float
    retry_max_s: float


FAST_RETRY: _Retry = {"retry_min_s": 0.05, "retry_max_s": 0.2}
NORTH = biotrack_sim.DEMO_ACCOUNTS[0]



@pytest.fixture
def provisioned_facility(request: pytest.FixtureRequest) -> str:
    """The facility whose kiosk login watches: the BioTrack test's, or the Metrc one's."""
    return str(NORTH.location) if "biotrack" in request.node.name else FARM_A


@pytest.fixture
async def sim() -> AsyncIterator[MetrcSimulator]:
    async with MetrcSimulator() as simulator:
        yield simulator


@pytest.fixture
async def metrc(sim: MetrcSimulator) -> AsyncIterator[MetrcClient]:
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=5) as client:
        yield client


@contextlib.asynccontextmanager
async def looping(sync: RefSync) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(sync.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def post(url: str, path: str, body: Any = None, method: str = "POST") -> Any:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.request(method, path, json=body)
    response.raise_for_status()
    return response.json()


def today() -> Any:
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()


def requests_to(sim: MetrcSimulator, path: str) -> list[tuple[datetime, int | None, str | None]]:
    return [(datetime.fromisoformat(e["at"]), e["status"], e["fault"]) for e in sim.log if e["path"] == path]


# -- state outages -------------------------------------------------------------------------


async def test_metrc_503s_keep_the_last_copy_retained_and_the_loop_recovers(
    provisioned: ProvisionedSite, sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    bridge = Bridge(provisioned)
    kiosk = Watcher(provisioned, FARM_A)
    sync = RefSync(FARM_A, MetrcRefSource(metrc), bridge.publish, interval_s=3600, static=STATIC,
                   **FAST_RETRY)
    async with running(bridge.connection), looping(sync) as loop:
        await bridge.mark_end(FARM_A)
        await kiosk.start()
        await until(lambda: sync.last_success is not None, "the first sync")
        first = sync.last_success

        # Metrc answers every read with 503; writes still land, so the state moves on.
        reads_fail = {"action": "error", "status": 503, "methods": ["GET"]}
        await post(sim.url, "/_sim/faults", {"rules": [reads_fail]})
        await metrc.move_plants([MovePlant(label=VEG_PLANT, location="Flower Room A", actual_date=today())])
        bridge.published.clear()
        sync.request_sync()
        await until(lambda: sync.failures >= 3, "retries during the outage")
        assert not loop.done()
        assert sync.last_success == first
        assert sync.last_error is not None and "503" in sync.last_error

        # A kiosk connecting during the outage still gets the whole last copy.
        late = Watcher(provisioned, FARM_A, "kiosk-02")
        await bridge.mark_end(FARM_A)
        await late.start()
        assert sorted(late.names()) == sorted(REF_NAMES) and late.errors == []
        assert {p.tag: p.location for p in late.rows("plants")}[VEG_PLANT] == "Veg Room"
        await late.stop()

        await post(sim.url, "/_sim/faults", method="DELETE")
        await until(lambda: sync.last_success != first, "recovery")
        await kiosk.barrier(bridge)
        assert bridge.published == ["plants"]
        assert {p.tag: p.location for p in kiosk.rows("plants")}[VEG_PLANT] == "Flower Room A"
        assert sync.failures == 0 and sync.last_error is None
    await kiosk.stop()


async def test_metrc_stopped_then_back_on_the_same_port(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    sent: list[str] = []
    sync = RefSync(FARM_A, MetrcRefSource(metrc), lambda topic, _: sent.append(topic), interval_s=3600,
                   static=STATIC, **FAST_RETRY)
    async with looping(sync) as loop:
        await until(lambda: sync.last_success is not None, "the first sync")
        first = sync.last_success
        port = sim.port
        await sim.stop()
        sync.request_sync()
        await until(lambda: sync.failures >= 2, "retries while Metrc is down")
        assert not loop.done()
        assert sync.last_error is not None and "not reachable" in sync.last_error

        await sim.start(port=port)
        await until(lambda: sync.last_success != first, "recovery")
        assert len(sent) == len(REF_NAMES)  # nothing changed meanwhile: nothing republished


async def test_biotrack_outage_and_restart(provisioned: ProvisionedSite) -> None:
    server = await biotrack_sim.start(seed=3)
    port = server.port
    bridge = Bridge(provisioned)
    kiosk = Watcher(provisioned, NORTH.location)
    try:
        async with (
            BioTrackClient(server.url, NORTH.ubi, NORTH.username, NORTH.password, training=False,
                           location=NORTH.location, timeout=5) as client,
            running(bridge.connection),
        ):
            sync = RefSync(NORTH.location, BioTrackRefSource(client), bridge.publish, interval_s=3600,
                           static=STATIC, **FAST_RETRY)
            async with looping(sync) as loop:
                await bridge.mark_end(NORTH.location)
                await kiosk.start()
                await until(lambda: sync.last_success is not None, "the first sync")
                first = sync.last_success
                await kiosk.barrier(bridge)  # the first sync's messages have reached the kiosk
                plant = next(p for p in kiosk.rows("plants") if p.location == "Veg Room")

                await post(server.base_url, "/_sim/faults", {"rules": [{"kind": "status", "status": 503}]})
                sync.request_sync()
                await until(lambda: sync.failures >= 2, "retries during the 503s")
                assert sync.last_error is not None and "503" in sync.last_error

                # Down altogether, then back (same seed: the same ids) with a plant moved.
                await server.stop()
                await until(lambda: sync.failures >= 4, "retries while BioTrack is down")
                assert "could not connect" in (sync.last_error or "")
                assert not loop.done()
                server = await biotrack_sim.start(port=port, seed=3)
                state = await post(server.base_url, "/_sim/state", method="GET")
                north = state["worlds"]["live"][NORTH.location]
                rooms = {r["name"]: r["roomid"] for r in north["plant_rooms"]}
                async with BioTrackClient(server.url, NORTH.ubi, NORTH.username, NORTH.password,
                                          training=False, location=NORTH.location) as mover:
                    await mover.submit(PlantMove(barcode_ids=(plant.tag,), room=rooms["Clone Room"]))
                bridge.published.clear()
                await until(lambda: sync.last_success != first, "recovery")
                await kiosk.barrier(bridge)
                assert bridge.published == ["plants"]
                assert {p.tag: p.location for p in kiosk.rows("plants")}[plant.tag] == "Clone Room"
    finally:
        await kiosk.stop()
        await server.stop()


# -- rate limits ---------------------------------------------------------------------------


async def test_a_429_is_waited_out_for_its_retry_after_on_that_read(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    await post(sim.url, "/_sim/faults", {"rules": [
        {"action": "error", "status": 429, "retry_after": 1, "path": "/strains/v2/active", "times": 1}
    ]})
    sync = RefSync(FARM_A, MetrcRefSource(metrc), lambda *_: None, interval_s=300, static=STATIC)
    counts = await sync.sync_once()
    assert counts["strains"] == 4
    (limited, ok) = requests_to(sim, "/strains/v2/active")
    assert (limited[1], ok[1]) == (429, 200)
    assert (ok[0] - limited[0]).total_seconds() >= 1.0  # Retry-After: 1
    # Only that read was repeated; the sync did not start over.
    assert len(requests_to(sim, "/locations/v2/active")) == 1


async def test_metrcs_token_bucket_is_respected() -> None:
    config = SimConfig(facility_limit=RateLimit(per_second=4, burst=4))
    async with (
        MetrcSimulator(config=config) as sim,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=5) as client,
    ):
        sync = RefSync(FARM_A, MetrcRefSource(client), lambda *_: None, interval_s=300, static=STATIC)
        counts = await sync.sync_once()
        entries = list(sim.log)
    assert set(counts) == set(REF_NAMES)
    limited = [e for e in entries if e["status"] == 429]
    assert limited, "the bucket of 4 should have run dry during ~13 reads"
    assert all(e["fault"] == "rate_limit" for e in limited)
    assert sum(e["status"] == 200 for e in entries) == 13  # each read answered once
    # After each 429 the same read came back no sooner than its Retry-After (1 s).
    for earlier, later in itertools.pairwise(entries):
        if earlier["status"] == 429 and later["path"] == earlier["path"]:
            gap = datetime.fromisoformat(later["at"]) - datetime.fromisoformat(earlier["at"])
            assert gap.total_seconds() >= 1.0


async def test_a_429_that_outlasts_the_read_retries_is_waited_out_by_the_loop(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    await post(sim.url, "/_sim/faults", {"rules": [
        {"action": "error", "status": 429, "retry_after": 1, "path": "/locations/v2/active", "times": 4}
    ]})
    sync = RefSync(FARM_A, MetrcRefSource(metrc), lambda *_: None, interval_s=3600, static=STATIC,
                   **FAST_RETRY)
    async with looping(sync):
        await until(lambda: sync.failures == 1, "the 429 reaching the loop")
        sync.request_sync()  # asking does not jump a Retry-After either
        await until(lambda: sync.last_success is not None, "a sync after the 429s")
    statuses = [status for _, status, _ in requests_to(sim, "/locations/v2/active")]
    assert statuses == [429, 429, 429, 429, 200]
    times = [at for at, _, _ in requests_to(sim, "/locations/v2/active")]
    # The loop waited the last Retry-After too, not its own (shorter) backoff.
    assert all((b - a).total_seconds() >= 1.0 for a, b in itertools.pairwise(times))


async def test_biotrack_429_is_waited_out() -> None:
    async with await biotrack_sim.start(seed=5) as server:
        await post(server.base_url, "/_sim/faults", {"rules": [
            {"kind": "status", "status": 429, "retry_after_s": 1, "actions": ["sync_plant"], "count": 1}
        ]})
        async with BioTrackClient(server.url, NORTH.ubi, NORTH.username, NORTH.password, training=False,
                                  location=NORTH.location, timeout=5) as client:
            sync = RefSync(NORTH.location, BioTrackRefSource(client), lambda *_: None, interval_s=300,
                           static=STATIC)
            counts = await sync.sync_once()
        calls = [c for c in server.simulator.state()["calls"] if c["action"] == "sync_plant"]
    assert counts["plants"] == 10
    assert [c["fault"] for c in calls] == ["status", None]
    assert calls[1]["at"] - calls[0]["at"] >= 1.0


# -- the broker side -----------------------------------------------------------------------


async def test_a_broker_that_lost_its_retained_messages_gets_them_back_while_the_state_is_down(
    provisioned: ProvisionedSite, sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    syncs: list[RefSync] = []

    def on_connect(session_present: bool) -> None:  # as bridge/app.py wires it
        for each in syncs:
            each.request_republish()

    bridge = Bridge(provisioned, on_connect=on_connect)
    sync = RefSync(FARM_A, MetrcRefSource(metrc), bridge.publish, interval_s=3600, static=STATIC,
                   **FAST_RETRY)
    syncs.append(sync)
    async with running(bridge.connection), looping(sync):
        await until(lambda: sync.last_success is not None, "the first sync")
        await bridge.settled()
        before = Watcher(provisioned, FARM_A)
        await bridge.mark_end(FARM_A)
        await before.start()
        await before.stop()

        await sim.stop()  # the state is down from here on
        provisioned.broker.kill()
        shutil.rmtree(provisioned.broker.workdir / "data")  # a new broker: no retained messages
        provisioned.broker.start()
        await until(lambda: len(bridge.published) >= 2 * len(REF_NAMES), "the republish")
        kiosk = Watcher(provisioned, FARM_A, "kiosk-02")
        await bridge.mark_end(FARM_A)
        await kiosk.start()
        await kiosk.stop()
    assert sorted(kiosk.names()) == sorted(REF_NAMES) and kiosk.errors == []
    # The very same messages (same ``at``): nothing was read from the state.
    assert {n: m.model_dump() for n, m in kiosk.latest.items()} == {
        n: m.model_dump() for n, m in before.latest.items()
    }


async def test_a_broker_away_at_start_does_not_stop_the_loop(
    provisioned: ProvisionedSite, sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    bridge = Bridge(provisioned)  # not connected yet: publishing raises NotConnected
    sync = RefSync(FARM_A, MetrcRefSource(metrc), bridge.publish, interval_s=3600, static=STATIC,
                   **FAST_RETRY)
    async with looping(sync) as loop:
        await until(lambda: sync.failures >= 2, "failed publishes")
        assert not loop.done() and sync.last_success is None
        assert "NotConnected" in (sync.last_error or "")
        async with running(bridge.connection):
            await until(lambda: sync.last_success is not None, "a sync once the broker is there")
            kiosk = Watcher(provisioned, FARM_A)
            await bridge.mark_end(FARM_A)
            await kiosk.start()
            await kiosk.stop()
    assert sorted(kiosk.names()) == sorted(REF_NAMES)


# -- configuration and limits ----------------------------------------------------------------


async def test_bad_static_config_is_refused_up_front(metrc: MetrcClient) -> None:
    source = MetrcRefSource(metrc)

    def make(static: dict[str, Any], facility: str = FARM_A) -> RefSync:
        return RefSync(facility, source, lambda *_: None, interval_s=300, static=static)

    with pytest.raises(ValueError, match="scales"):
        make({"scales": [{"model": "no id"}]})
    with pytest.raises(ValueError, match="rooms"):
        make({"rooms": []})  # Metrc provides rooms: one source per name
    with pytest.raises(ValueError, match="unknown"):
        make({"employees": []})
    with pytest.raises(ValueError, match="topic level"):
        make(STATIC, facility="a/b")
    assert make({"scales": [Scale(id="s1")]}).names[-3:] == ("scales", "plant_tags", "package_tags")


async def test_a_list_too_big_for_one_message_travels_in_parts(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    sent: dict[str, bytes] = {}
    sync = RefSync(FARM_A, MetrcRefSource(metrc), lambda topic, payload: sent.update({topic: payload}),
                   interval_s=300, static=STATIC, max_payload_bytes=4000)
    counts = await sync.sync_once()
    assert counts["plant_tags"] == 238 and sync.last_error is None  # ~6.5 kB as a plain list
    # So they go as a manifest and parts, the tags as ranges, each message under the limit.
    manifest = decode_head(sent[topics.ref(FARM_A, "plant_tags")])
    assert isinstance(manifest, RefManifest) and manifest.count == 238
    parts = [decode_part(sent[topics.ref(FARM_A, f"plant_tags/{part}")], part) for part in manifest.parts]
    tags = [tag for part in parts for r in part.rows() for tag in r.tags()]
    assert len(set(tags)) == 238 and sum(len(p.rows()) for p in parts) < 238
    assert all(len(payload) <= 4000 for payload in sent.values())
    # A list that fits still travels whole (v1), as older kiosks read it.
    assert decode(sent[topics.ref(FARM_A, "rooms")]).name == "rooms"


async def test_one_object_too_big_for_one_message_keeps_its_old_copy(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    sent: list[str] = []
    sync = RefSync(FARM_A, MetrcRefSource(metrc), lambda topic, _: sent.append(topic),
                   interval_s=300, static=STATIC, max_payload_bytes=4000)
    await sync.sync_once()
    big = Roster(badge_salt=ROSTER.badge_salt, workers=[
        ROSTER.workers[0].model_copy(update={"id": f"w{i}"}) for i in range(40)])
    with pytest.raises(ValueError, match="message limit"):
        await sync.set_static("workers", big)
    assert sent.count(topics.ref(FARM_A, "workers")) == 1  # the first roster stays retained


async def test_an_auth_error_does_not_stop_the_loop(sim: MetrcSimulator) -> None:
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, "wrong-user-key", FARM_A, timeout=5) as client:
        sync = RefSync(FARM_A, MetrcRefSource(client), lambda *_: None, interval_s=3600, static=STATIC,
                       **FAST_RETRY)
        with pytest.raises(StateAuthError):
            await sync.sync_once()
        async with looping(sync) as loop:
            await until(lambda: sync.failures >= 2, "the loop's own attempt")
            sync.request_sync()
            await until(lambda: sync.failures >= 3, "a requested attempt")
            assert not loop.done()
    assert sync.last_success is None and "401" in (sync.last_error or "")
