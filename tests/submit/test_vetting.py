"""Who and when, checked at the bridge (issue 11, item 5): kiosk → Mosquitto → a bridge
process → the Metrc simulator, on SQLite and PostgreSQL.

The bridge must not believe the payload: a worker not on the facility's list at the
time, a missing or unknown witness, a correction nobody supervised are answered
*rejected* and never sent; an event whose time cannot be right is *held* until a
person confirms it, and then reported with the confirmed time.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.bridgeclock import clock_file, read_clock_offset
from agent.outbox import Outbox
from agent.uplink import Uplink, UplinkSettings
from bridge import office
from bridge.ledger import open_ledger
from canopy.events import FACILITY_ONLY, KIOSK_USER, format_utc
from canopy.workerfile import Former, add_worker, read_file, write_file
from statesim.metrc import MetrcSimulator
from tests.pipeline.harness import Proc, wait_until
from tests.provisioned import ProvisionedSite
from tests.submit.conftest import LICENSE, Line, bridge_toml, weight

pytestmark = pytest.mark.timeout(180)
PLANT = "1A4FF01000000220000010{:02d}"
ZONE = ZoneInfo("America/Los_Angeles")


async def start_line(tmp: Path, broker: ProvisionedSite, ledger_url: str, **profile: Any) -> Line:
    sim = MetrcSimulator()
    await sim.start()
    outbox = await Outbox.open(tmp / "kiosk" / "outbox.db", facility=LICENSE, device="kiosk-01")
    conf = bridge_toml(tmp, broker, sim.url, ledger_url=ledger_url, **profile)
    bridge = Proc("bridge", ["bridge", "-c", str(conf)], tmp / "bridge.log")
    bridge.start()
    await wait_until(lambda: "connected to" in bridge.tail(), 20, "bridge connected", [bridge])
    uplink = Uplink(broker.settings("kiosk-01", backoff_min_s=0.2), UplinkSettings(ack_timeout_s=5),
                    outbox)
    return Line(sim, outbox, bridge, asyncio.create_task(uplink.run()))


@pytest.fixture
async def lines() -> AsyncIterator[list[Line]]:
    started: list[Line] = []
    yield started
    for line in started:
        line.uplink_task.cancel()
        line.bridge.kill9()
        await line.outbox.close()
        await line.sim.stop()


def workers_file(tmp: Path) -> Path:
    """Sam (worker), Dana (supervisor), and Lee, who left ten minutes ago."""
    path = tmp / "workers.json"
    add_worker(path, worker_id="w-sam", name="Sam Reyes", pin="246813")
    add_worker(path, worker_id="w-dana", name="Dana Ortiz", pin="123456", supervisor=True)
    content = read_file(path)
    # Both were on the list long before the events below (added just now by the calls above).
    content.workers = [w.model_copy(update={"added": None}) for w in content.workers]
    content.former = [Former(id="w-lee", name="Lee Park", added=None,
                             left=datetime.now(UTC) - timedelta(minutes=10))]
    write_file(path, content)
    return path


async def messages(line: Line, ids: list[str]) -> dict[str, str]:
    return {r.id: r.message or "" for r in await line.outbox.recent(200) if r.id in ids}


def writes(line: Line) -> int:
    return sum(int(str(e["rows"])) for e in line.sim.log if e["method"] != "GET")


async def test_who_is_checked_against_the_worker_list_at_the_time_of_the_event(
    tmp_path: Path, provisioned: ProvisionedSite, ledger_url: str, lines: list[Line],
) -> None:
    line = await start_line(tmp_path, provisioned, ledger_url, witness_required_for_waste=True,
                            workers_file=str(workers_file(tmp_path)))
    lines.append(line)
    now = datetime.now(UTC)
    out = line.outbox

    async def rec(type_: str, data: dict[str, Any], user: str, at: datetime = now, **kw: Any) -> str:
        return (await out.append(type_, data, user=user, at=at, **kw)).id

    destroy = {"reason": "Male Plants", "method": "Grinder", "material_mixed": "Soil",
               "weight": weight("120")}
    while_there = await rec("plant.moved", {"tag": PLANT.format(1), "location": "Flower Room B"}, "w-lee",
                            at=now - timedelta(minutes=20))
    stranger = await rec("plant.moved", {"tag": PLANT.format(2), "location": "Flower Room B"}, "w-nobody")
    after_leaving = await rec("plant.moved", {"tag": PLANT.format(3), "location": "Flower Room B"}, "w-lee")
    fine = await rec("plant.moved", {"tag": PLANT.format(4), "location": "Flower Room B"}, "w-sam")
    unwitnessed = await rec("plant.destroyed", {"tag": PLANT.format(5), **destroy}, "w-sam")
    ghost_witness = await rec("plant.destroyed", {"tag": PLANT.format(6), **destroy}, "w-sam",
                              witness="w-ghost")
    witnessed = await rec("plant.destroyed", {"tag": PLANT.format(7), **destroy}, "w-sam", witness="w-dana")
    unsupervised = await rec("record.corrected", {"reason": "Wrong plant"}, "w-sam", corrects=fine)
    supervised = await rec("record.corrected", {"reason": "Wrong plant"}, "w-sam", corrects=fine,
                           witness="w-dana")
    by_supervisor = await rec("record.corrected", {"reason": "Wrong room"}, "w-dana", corrects=fine)
    # Only a supervisor dismisses a rejection (whatever the profile says of corrections); a
    # sign-in alert is the kiosk's own record, by no worker.
    dismissed_by_sam = await rec("rejection.dismissed", {"reason": "Entered by the office"}, "w-sam",
                                 corrects=stranger)
    dismissed_by_dana = await rec("rejection.dismissed", {"reason": "Entered by the office"}, "w-dana",
                                  corrects=stranger)
    alert = await rec("signin.alerted", {"kind": "unknown_badge", "tries": 5, "message": "5 unknown badges"},
                      KIOSK_USER)
    everything = [while_there, stranger, after_leaving, fine, unwitnessed, ghost_witness, witnessed,
                  unsupervised, supervised, by_supervisor, dismissed_by_sam, dismissed_by_dana, alert]
    states = await line.settled(everything, timeout=90)
    rejected = {stranger, after_leaving, unwitnessed, ghost_witness, unsupervised, dismissed_by_sam}
    assert {i: states[i] for i in everything} == {
        i: "rejected" if i in rejected else "accepted" for i in everything}

    said = await messages(line, everything)
    assert "w-nobody was not on this facility's worker list" in said[stranger]
    assert "Lee Park (w-lee) was not on this facility's worker list" in said[after_leaving]
    assert "need a witness" in said[unwitnessed]
    assert "the witness: w-ghost was not on" in said[ghost_witness]
    assert "a supervisor signs off corrections" in said[unsupervised]
    assert "only a supervisor dismisses a rejection" in said[dismissed_by_sam]
    assert said[alert] == FACILITY_ONLY["signin.alerted"]

    # Only what checked out reached the state.
    assert line.plant(PLANT.format(1))["LocationName"] == "Flower Room B"
    assert line.plant(PLANT.format(4))["LocationName"] == "Flower Room B"
    for n in (2, 3):
        assert line.plant(PLANT.format(n))["LocationName"] != "Flower Room B"
    for n in (5, 6):
        assert line.plant(PLANT.format(n))["DestroyedDate"] is None
    assert line.plant(PLANT.format(7))["DestroyedDate"] is not None
    assert writes(line) == 3  # two moves, one destroy: nothing rejected was ever sent

    # A supervisor dismisses a rejection from the compliance console: the account is on no
    # kiosk list, yet the bridge answers the record as the facility's (the console checked
    # the role), and never sends it to the state.
    ledger = await open_ledger(ledger_url)
    try:
        done = await office.dismiss(ledger, LICENSE, after_leaving, "casey", "Entered by the office")
        for _ in range(600):
            answer = (await ledger.status_of([done.event])).get(done.event)
            if answer is not None and answer[0] != "stored":
                break
            await asyncio.sleep(0.1)
        assert answer == ("accepted", FACILITY_ONLY["rejection.dismissed"])
    finally:
        await ledger.close()
    assert writes(line) == 3
    # The kiosk that recorded it is told: the rejection leaves its "to fix" list.
    for _ in range(300):
        if after_leaving not in [r.id for r in await out.to_fix()]:
            break
        await asyncio.sleep(0.1)
    to_fix = [r.id for r in await out.to_fix()]
    assert after_leaving not in to_fix and stranger not in to_fix  # (stranger: dismissed at the kiosk)
    assert {unwitnessed, ghost_witness, unsupervised, dismissed_by_sam} <= set(to_fix)
    assert out.counts.to_fix == len(to_fix)


def cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", "bridge", *args, "-c", str(tmp / "bridge.toml")],
                          capture_output=True, text=True, timeout=60)


async def statuses(url: str, ids: list[str]) -> dict[str, str]:
    ledger = await open_ledger(url)
    try:
        return {i: s for i, (s, _) in (await ledger.status_of(ids)).items()}
    finally:
        await ledger.close()


async def test_implausible_times_are_held_until_a_person_confirms_them(
    tmp_path: Path, provisioned: ProvisionedSite, ledger_url: str, lines: list[Line],
) -> None:
    # No workers file: the who-check is skipped, and the log says so once.
    line = await start_line(tmp_path, provisioned, ledger_url)
    lines.append(line)
    now = datetime.now(UTC)
    out = line.outbox
    first = (await out.append("plant.moved", {"tag": PLANT.format(1), "location": "Flower Room B"},
                              user="w-sam", at=now)).id
    # The kiosk's clock jumped three days ahead, then back to an hour before its last record.
    ahead = (await out.append("plant.harvested", {
        "tag": PLANT.format(8), "harvest_name": "H-VET", "drying_location": "Dry Room",
        "weight": weight("812.40")}, user="w-sam", at=now + timedelta(days=3))).id
    behind = (await out.append("plant.moved", {"tag": PLANT.format(2), "location": "Flower Room B"},
                               user="w-sam", at=now - timedelta(hours=1))).id
    # A clock reset to its factory date.
    ancient = (await out.append("plant.moved", {"tag": PLANT.format(3), "location": "Flower Room B"},
                                user="w-sam", at=datetime(2001, 1, 1, tzinfo=UTC))).id
    await line.settled([first])

    async def both_held() -> bool:
        return (await statuses(ledger_url, [ahead, behind, ancient])) == {
            ahead: "held", behind: "held", ancient: "held"}

    deadline = asyncio.get_running_loop().time() + 30
    while not await both_held():
        assert asyncio.get_running_loop().time() < deadline, line.bridge.tail()
        await asyncio.sleep(0.3)
    await asyncio.sleep(1.5)  # a few more submit rounds: still nothing sent
    assert writes(line) == 1
    assert PLANT.format(8) not in {p["Label"] for p in line.license_state()["plants"]
                                   if p["HarvestedDate"]}
    kiosk = await out.states()
    assert (kiosk[ahead], kiosk[behind]) == ("stored", "stored")  # not a verdict: waiting for a person

    listed = cli(tmp_path, "report", "held", "--json")
    assert listed.returncode == 0, listed.stderr
    held = {row["event"]: row for row in json.loads(listed.stdout)}
    assert set(held) == {ahead, behind, ancient}
    assert "more than a year before the bridge received it" in held[ancient]["why"]
    assert "after the bridge received it" in held[ahead]["why"]
    assert "before the kiosk's previous record" in held[behind]["why"]

    # The harvest really happened an hour ago (local time, as a person types it).
    really = (now - timedelta(hours=1)).astimezone(ZONE).replace(second=0, microsecond=0)
    future = cli(tmp_path, "confirm", ahead, "--at", (now + timedelta(days=1)).isoformat())
    assert future.returncode != 0 and "in the future" in future.stderr
    done = cli(tmp_path, "confirm", ahead, "--at", really.strftime("%Y-%m-%dT%H:%M"), "--by", "it-alex")
    assert done.returncode == 0, done.stderr
    assert "confirmed by it-alex" in done.stdout
    done = cli(tmp_path, "confirm", behind, "--as-recorded", "--by", "it-alex")
    assert done.returncode == 0, done.stderr
    done = cli(tmp_path, "confirm", ancient, "--at", really.strftime("%Y-%m-%dT%H:%M"), "--by", "it-alex")
    assert done.returncode == 0, done.stderr
    again = cli(tmp_path, "confirm", behind, "--as-recorded")
    assert again.returncode != 0 and "no held record" in again.stderr

    states = await line.settled([ahead, behind, ancient], timeout=60)
    assert (states[ahead], states[behind], states[ancient]) == ("accepted",) * 3
    assert line.plant(PLANT.format(8))["HarvestedDate"] == really.date().isoformat()  # not 3 days ahead
    assert line.plant(PLANT.format(2))["LocationName"] == "Flower Room B"
    assert line.plant(PLANT.format(3))["LocationName"] == "Flower Room B"
    ledger = await open_ledger(ledger_url)
    try:
        confirmed = {str(r[0]): r for r in await ledger.confirmations()}
    finally:
        await ledger.close()
    assert set(confirmed) == {ahead, behind, ancient}
    assert all(r[2] == "it-alex" for r in confirmed.values())
    assert str(confirmed[ahead][1]) == format_utc(really)
    assert line.bridge.log.read_text().count("not checked against a worker list") == 1
    # The bridge's acks carried its clock: the kiosk keeps the comparison for `canopy doctor`.
    kept = read_clock_offset(clock_file(tmp_path / "kiosk" / "outbox.db"))
    assert kept is not None and abs(kept[0]) < 5
