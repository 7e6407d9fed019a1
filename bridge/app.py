"""``canopy bridge``: the central service's process wiring.

One TaskGroup: ingest (MQTT → ledger), one submitter per facility licence
(ledger → state API), the answer publisher (verdicts → kiosks), and per facility
its reference-data sync and the watch on its workers file (state and config →
kiosks).
"""

from __future__ import annotations

import asyncio
import logging

from bridge.answers import AnswerPublisher
from bridge.config import BridgeConfig, FacilityProfile
from bridge.ingest import Ingest
from bridge.ledger import open_ledger
from bridge.refsync import BioTrackRefSource, MetrcRefSource, RefSource, RefSync, mqtt_publisher
from bridge.roster import RosterFeed, Signature, read_roster
from bridge.submit import submitter_for
from canopy.errors import UserError
from canopy.mqtt import MqttConnection, client_id_for
from canopy.refdata import Profile, Roster
from canopy.workerfile import WorkerFileError

log = logging.getLogger(__name__)


async def run_bridge(config: BridgeConfig) -> None:
    workers = {p.license: _workers(p) for p in config.facilities}  # a bad file stops us here
    try:
        ledger = await open_ledger(config.ledger.url)
    except Exception as exc:  # any driver error here is a setup problem for IT
        raise UserError(f"cannot open the ledger {config.ledger.url!r}: {exc}") from None
    answers = AnswerPublisher(ledger)
    ingest = Ingest(config.mqtt, config.ingest, ledger, client_id=config.bridge.id,
                    on_publish=answers.on_publish)
    answers.conn = ingest.conn
    submitters = [submitter_for(p, ledger, on_settled=answers.wake) for p in config.facilities]
    # Reference data goes out on a connection of its own (retained, QoS 1); after
    # a reconnect everything is published again in case the broker lost it.
    refsyncs: list[RefSync] = []

    def republish(_session_present: bool) -> None:
        for sync in refsyncs:
            sync.request_republish()

    ref_mqtt = MqttConnection(config.mqtt, client_id=client_id_for(config.bridge.id, "ref"),
                              on_connect=republish)
    feeds: list[RosterFeed] = []
    for p in config.facilities:
        static = _static_ref(p)
        roster, published = workers[p.license]
        if roster is not None:
            static["workers"] = roster
        sync = RefSync(p.license, _ref_source(p), mqtt_publisher(ref_mqtt),
                       interval_s=p.refsync_interval_s, static=static)
        refsyncs.append(sync)
        if p.workers_file is not None:
            feeds.append(RosterFeed(p.license, p.workers_file, sync, started_with=published))
    log.info("bridge %s: ledger %s, broker %s:%d, %d facilit%s", config.bridge.id, config.ledger.url,
             config.mqtt.host, config.mqtt.port, len(config.facilities),
             "y" if len(config.facilities) == 1 else "ies")
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(ingest.run(), name="ingest")
            tasks.create_task(answers.run(), name="answers")
            for submitter in submitters:
                tasks.create_task(submitter.run(), name=f"submit-{submitter.facility}")
            if refsyncs:
                tasks.create_task(ref_mqtt.run(), name="ref-mqtt")
            for sync in refsyncs:
                tasks.create_task(sync.run(), name=f"refsync-{sync.facility}")
            for feed in feeds:
                tasks.create_task(feed.run(), name=f"workers-{feed.facility}")
    finally:
        await asyncio.shield(ledger.close())


def _ref_source(profile: FacilityProfile) -> RefSource:
    if profile.system == "metrc":
        from bridge.state.metrc import MetrcClient

        assert profile.metrc is not None
        return MetrcRefSource(MetrcClient(
            profile.base_url, profile.metrc.vendor_key.get_secret_value(),
            profile.metrc.user_key.get_secret_value(), profile.license, timeout=profile.timeout_s),
            room_kinds=profile.room_kinds)
    from bridge.state.biotrack import BioTrackClient

    assert profile.biotrack is not None
    creds = profile.biotrack
    return BioTrackRefSource(BioTrackClient(
        profile.base_url, creds.ubi, creds.username, creds.password.get_secret_value(),
        training=creds.training, location=creds.location, timeout=profile.timeout_s))


def _workers(profile: FacilityProfile) -> tuple[Roster | None, Signature]:
    """The facility's workers file as the bridge starts: a malformed one stops it."""
    if profile.workers_file is None:
        return None, None
    try:
        roster, published = read_roster(profile.workers_file)
    except WorkerFileError as exc:
        raise UserError(f"facility {profile.license}, workers_file: {exc}") from None
    if roster is None:
        log.warning("%s: workers file %s does not exist yet: kiosks keep the list they have; "
                    "add workers with `canopy bridge add-worker`", profile.license, profile.workers_file)
    return roster, published


def _static_ref(profile: FacilityProfile) -> dict[str, object]:
    """What the kiosks need that comes from the facility profile, not the state system."""
    return {
        "profile": Profile(system=profile.system, state=profile.state, timezone=profile.timezone,
                           tag_format=profile.tag_format,
                           witness_required_for_waste=profile.witness_required_for_waste),
        "scales": list(profile.scales),
    }
