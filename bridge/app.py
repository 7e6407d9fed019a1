"""``canopy bridge``: the central service's process wiring.

One TaskGroup: ingest (MQTT → ledger), a submitter for each facility licence
this bridge holds the lease of (ledger → state API; ``bridge/submit/_leases.py``),
the answer publisher (verdicts → kiosks), and per facility
its reference-data sync and the watch on its workers file (state and config →
kiosks). Each licence has one connection to its state system (its plug-in in
``bridge.state.registry``): the submitter and the reference sync share its client,
so its throttle and its outage record.

One broker connection carries all of it (events in; answers, reference data
and the bridge's own status out). The production broker forces client id =
login, so a second connection under the bridge's login would take over the
first one's session: the two kicked each other off about twice a second.
One connection also makes the bridge's last will ("offline") and its
"online" announcement describe the connection that actually stores events.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from bridge.answers import AnswerPublisher
from bridge.config import BridgeConfig, FacilityProfile
from bridge.ingest import Ingest
from bridge.ledger import Fence, Ledger, describe, open_ledger
from bridge.outages import LedgerOutages, StateStatusFeed
from bridge.refsync import RefSync, mqtt_publisher
from bridge.roster import RosterFeed, Signature, read_roster
from bridge.state.plugin import Connection, Shared
from bridge.state.registry import connect_all
from bridge.submit import LicenceLeases, Submitter
from bridge.vetting import vetted
from canopy import bridge_status, topics
from canopy.errors import UserError
from canopy.mqtt import NotConnected
from canopy.refdata import Profile, Roster, lot_source
from canopy.workerfile import WorkerFileError

log = logging.getLogger(__name__)


async def run_bridge(config: BridgeConfig) -> None:
    workers = {p.license: _workers(p) for p in config.facilities}  # a bad file stops us here
    try:
        ledger = await open_ledger(config.ledger.url)
    except Exception as exc:  # any driver error here is a setup problem for IT
        raise UserError(f"cannot open the ledger ({describe(config.ledger.url)}): {exc}") from None
    try:
        await ledger.claim_submitting(config.bridge.id)  # a SQLite ledger refuses a second bridge
        if await ledger.backfill_pending():
            # Not done here: on years of events it takes a while, and IT picks the hour.
            log.warning("ledger: index rows written by an older version have no time yet; a"
                        " worker's or tag's month reads all its years until `canopy bridge migrate`"
                        " backfills them (safe while the bridges run; results are the same)")
    except BaseException:
        await ledger.close()
        raise
    answers = AnswerPublisher(ledger)
    refsyncs: list[RefSync] = []
    status_topic = topics.bridge_status(config.bridge.id)
    alert_hours = {p.license: p.outage_alert_hours for p in config.facilities}
    # Each licence's state system (the ledger's open outage) rides in the retained status.
    status_feed = StateStatusFeed(ledger, config.bridge.id, alert_hours,
                           lambda payload: ingest.conn.publish(status_topic, payload, retain=True),
                           interval_s=config.ledger.state_status_interval_s)

    def announce() -> None:
        # A live "online" tells kiosks to publish again now what is unconfirmed; it
        # carries each licence's state system as the feed last read it.
        try:
            ingest.conn.publish(status_topic, status_feed.payload(), retain=True)
        except NotConnected:
            log.warning("could not announce bridge %s online: not connected", config.bridge.id)

    def connected(_session_present: bool) -> None:
        # A restarted broker (or our own ended session) dropped what it held for
        # us; reference data is published again in case the broker lost its
        # retained copies.
        announce()
        for sync in refsyncs:
            sync.request_republish()

    def bridge_offline(bridge: str) -> None:
        # What the broker held for that bridge (received, not yet stored) is gone with
        # its session: have the kiosks send it again now, to the bridges still here.
        if bridge != config.bridge.id:
            log.info("bridge %s went offline: asking kiosks to publish again what they have"
                     " not seen stored", bridge)
            announce()

    ingest = Ingest(config.mqtt, config.ingest, ledger, client_id=config.bridge.id,
                    on_publish=answers.on_publish, on_connect=connected, on_bridge_offline=bridge_offline,
                    will=(status_topic, bridge_status.encode(config.bridge.id, "offline"), True))
    answers.conn = ingest.conn
    ref_mqtt = ingest.conn
    state = connect_all(config.facilities, Shared(ledger, outages=lambda licence: LedgerOutages(
        ledger, licence, alert_hours=alert_hours[licence])))
    # Each licence is submitted by one bridge at a time, under its lease in the ledger.
    submitting = LicenceLeases(
        ledger, config.bridge.id,
        {p.license: functools.partial(_submitter, p, state[p.license], ledger, answers.wake,
                                      config.bridge.id) for p in config.facilities},
        {p.license: p.timeout_s for p in config.facilities}, lease_s=config.ledger.lease_s)
    feeds: list[RosterFeed] = []
    for p in config.facilities:
        static = _static_ref(p)
        roster, published = workers[p.license]
        if roster is not None:
            static["workers"] = roster
        sync = RefSync(p.license, state[p.license].refsource, mqtt_publisher(ref_mqtt),
                       interval_s=p.refsync_interval_s, static=static)
        refsyncs.append(sync)
        if p.workers_file is not None:
            feeds.append(RosterFeed(p.license, p.workers_file, sync, started_with=published))
    log.info("bridge %s: ledger %s, broker %s:%d, %d facilit%s", config.bridge.id,
             describe(config.ledger.url), config.mqtt.host, config.mqtt.port, len(config.facilities),
             "y" if len(config.facilities) == 1 else "ies")
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(ingest.run(), name="ingest")
            tasks.create_task(answers.run(), name="answers")
            tasks.create_task(status_feed.run(), name="state-status")
            if config.facilities:
                tasks.create_task(submitting.run(), name="submit")
            for sync in refsyncs:
                tasks.create_task(sync.run(), name=f"refsync-{sync.facility}")
            for feed in feeds:
                tasks.create_task(feed.run(), name=f"workers-{feed.facility}")
    finally:
        for connection in state.values():
            await asyncio.shield(connection.aclose())
        await asyncio.shield(ledger.close())


def _submitter(profile: FacilityProfile, connection: Connection, ledger: Ledger,
               wake: Callable[[], None], bridge: str, fence: Fence) -> Submitter:
    return Submitter(profile.license, ledger, vetted(connection.mapper, profile, ledger), connection.sender,
                     batch_size=profile.batch_size, flush_interval_s=profile.flush_interval_s,
                     outage_alert_hours=profile.outage_alert_hours, on_settled=wake,
                     bridge=bridge, fence=fence)


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
                           witness_required_for_waste=profile.witness_required_for_waste,
                           lot_source=profile.lot_source or lot_source(profile.system, profile.state)),
        "scales": list(profile.scales),
    }
