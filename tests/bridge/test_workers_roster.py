"""Workers managed centrally (domain.md §2.6; NM: keep a user list, remove people who leave):
IT edits the facility's workers file at the bridge, the running bridge publishes it as the
retained ``workers`` list, and every kiosk takes it at once. Real Mosquitto, the real bridge
(``run_bridge`` against the Metrc simulator) and a whole kiosk agent (``KioskRig``).

On the open broker: these tests are about the roster, and ``KioskRig`` and
``agent.demo.publish_reference`` (the agent's test rig, another package) connect
without TLS. The same bridge publishing reference data to an enrolled kiosk on the
production config is tests/pipeline/test_provisioned_bridge.py and
tests/bridge/test_workers_cli.py."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.demo import WORKERS, demo_roster, publish_reference, reference
from agent.testing import KioskRig, until
from bridge.app import run_bridge
from bridge.config import BridgeConfig
from canopy import topics
from canopy.errors import UserError
from canopy.workerfile import add_worker
from cli.broker import Mosquitto
from cli.main import main
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, MetrcSimulator

pytestmark = pytest.mark.timeout(90)

FACILITY = DEMO_LICENSES[0]
DANA, SAM, ALEX = WORKERS


def bridge_config(broker: Mosquitto, root: Path, state_url: str) -> Path:
    path = root / "bridge.toml"
    path.write_text(f"""
[bridge]
id = "bridge-workers-test"
[mqtt]
port = {broker.port}
backoff_min_s = 0.1
backoff_max_s = 0.5
[ledger]
url = "sqlite:///{root}/ledger.db"
[[facilities]]
license = "{FACILITY}"
state = "CA"
system = "metrc"
base_url = "{state_url}"
timezone = "America/Los_Angeles"
workers_file = "{root}/workers.json"
[facilities.metrc]
vendor_key = "{DEMO_VENDOR_KEY}"
user_key = "{DEMO_USER_KEY}"
""")
    return path


async def canopy(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    """``canopy …`` as IT types it, in a thread so the bridge and kiosk keep running."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return await asyncio.to_thread(main, list(args))


@contextlib.asynccontextmanager
async def bridge_running(conf: Path) -> AsyncIterator[None]:
    from canopy.config import load_config

    task = asyncio.create_task(run_bridge(load_config(BridgeConfig, conf)))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def kiosk_ref() -> dict[str, Any]:
    """The demo facility's lists without the roster: that comes from the bridge."""
    return {name: rows for name, rows in reference().items() if name != "workers"}


def roster_ids(kiosk: KioskRig) -> set[str]:
    roster = kiosk.floor.roster
    return {w.id for w in roster.workers} if roster is not None else set()


async def test_a_hire_added_at_the_bridge_signs_in_and_a_leaver_is_signed_out_everywhere(
        broker: Mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The facility's list holds Dana only; the kiosk's own file (Dana, Sam, Alex) is
    # what it used before it ever heard from the bridge.
    add_worker(tmp_path / "workers.json", worker_id=DANA.id, name=DANA.name, pin=DANA.pin,
               badge=DANA.badge, supervisor=True)
    async with MetrcSimulator() as sim:
        conf = bridge_config(broker, tmp_path, sim.url)
        async with bridge_running(conf), KioskRig(tmp_path / "kiosk", ref=kiosk_ref(),
                                                  broker_port=broker.port,
                                                  config={"kiosk": {"facility": FACILITY}}) as kiosk:
            await until(lambda: roster_ids(kiosk) == {DANA.id}, "the facility's list at the kiosk")
            # The bridge's list wins over the kiosk's file: Sam is not on it.
            assert not (await kiosk.scan(SAM.badge))["ok"]
            assert kiosk.kiosk.worker is None

            # IT adds a new hire at the bridge; the running bridge picks the file up.
            code = await canopy(monkeypatch, "bridge", "add-worker", "-c", str(conf), "--id", "w-jo",
                                "--name", "Jo Park", "--badge", "BADGE-JO", "--pin-stdin", stdin="432198\n")
            assert code == 0
            await until(lambda: "w-jo" in roster_ids(kiosk), "the new hire at the kiosk", 30)
            assert (await kiosk.act("signin.pick", id="w-jo"))["ok"]
            assert (await kiosk.act("signin.pin", pin="432198"))["message"] == "Signed in: Jo Park"
            await kiosk.act("signout")
            assert (await kiosk.scan("BADGE-JO"))["message"] == "Signed in: Jo Park"

            # Jo leaves: removed at the bridge, signed out at the kiosk with the reason.
            code = await canopy(monkeypatch, "bridge", "remove-worker", "-c", str(conf), "--id", "w-jo")
            assert code == 0
            await until(lambda: kiosk.kiosk.worker is None, "Jo signed out at the kiosk", 30)
            state = kiosk.state()
            assert state["screen"] == "signin"
            assert "Jo Park is no longer on this facility's worker list" in state["signin"]["message"]
            assert [w["id"] for w in state["signin"]["workers"]] == [DANA.id]
            badge = await kiosk.scan("BADGE-JO")
            assert not badge["ok"]
            assert "Jo Park is no longer on this facility's worker list" in badge["message"]
            pin = await kiosk.act("signin.pick", id="w-jo")
            assert not pin["ok"]
            assert kiosk.kiosk.worker is None
            assert (await kiosk.sign_in(DANA))["message"] == f"Signed in: {DANA.name}"


async def test_a_leaver_in_the_middle_of_a_task_is_signed_out_before_the_next_scan(
        broker: Mosquitto, tmp_path: Path) -> None:
    async with KioskRig(tmp_path, broker_port=broker.port) as kiosk:
        await kiosk.sign_in(SAM)
        await kiosk.act("go", screen="move")
        without_sam = {**demo_roster(), "workers": [w for w in demo_roster()["workers"] if w["id"] != SAM.id]}
        await asyncio.to_thread(publish_reference, "127.0.0.1", broker.port, "CA-DEMO-0001",
                                {"workers": without_sam})
        await until(lambda: SAM.id not in roster_ids(kiosk), "the new list at the kiosk")
        # Whatever comes first, the status loop or Sam's next scan, Sam is out and nothing is saved.
        answer = await kiosk.scan("Flower Room 2")
        assert not answer["ok"]
        assert "Sam Lee is no longer on this facility's worker list" in (
            answer["message"] + kiosk.state()["signin"]["message"])
        assert kiosk.kiosk.worker is None
        assert kiosk.events() == []


def publish_raw(port: int, topic: str, payload: bytes) -> None:
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="raw-roster",
                         protocol=paho.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(10)
        assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def _roster_message(items: Any, at: datetime) -> bytes:
    body = {"v": 1, "name": "workers", "facility": "CA-DEMO-0001", "at": at.isoformat(), "items": items}
    return json.dumps(body).encode()


@pytest.mark.parametrize(("why", "items"), [
    ("missing workers", {"badge_salt": "d3" * 16}),
    ("PIN not a hash", {"badge_salt": "d3" * 16,
                        "workers": [{"id": "w-eve", "name": "Eve", "pin": "1234"}]}),
    ("badge salt not hex", {**demo_roster(), "badge_salt": "salt"}),
    ("one id twice", {**demo_roster(), "workers": demo_roster()["workers"] * 2}),
])
async def test_a_malformed_roster_is_ignored_and_the_previous_one_kept(
        broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture, why: str, items: Any) -> None:
    async with KioskRig(tmp_path, broker_port=broker.port) as kiosk:
        good = kiosk.floor.roster
        assert good is not None and {w.id for w in good.workers} == {w.id for w in WORKERS}
        with caplog.at_level(logging.WARNING, logger="agent.app"):
            later = datetime.now(UTC) + timedelta(minutes=1)
            await asyncio.to_thread(publish_raw, broker.port, topics.ref("CA-DEMO-0001", "workers"),
                                    _roster_message(items, later))
            await until(lambda: any("reference data workers not taken" in r.getMessage()
                                    for r in caplog.records), f"the kiosk to refuse a roster ({why})")
        assert kiosk.floor.roster is good
        assert (await kiosk.scan(ALEX.badge))["message"] == f"Signed in: {ALEX.name}"
        assert kiosk.kiosk.workers is not None and kiosk.kiosk.workers.error is None


async def test_a_kiosk_that_never_had_the_roster_uses_its_own_file(tmp_path: Path) -> None:
    ref = {name: rows for name, rows in reference().items() if name != "workers"}
    async with KioskRig(tmp_path, ref=ref) as kiosk:
        assert kiosk.floor.roster is None
        assert kiosk.kiosk.workers is not None and kiosk.kiosk.workers.source == "file"
        assert (await kiosk.scan(SAM.badge))["message"] == f"Signed in: {SAM.name}"
        # Then the facility's list arrives, without Sam: he is signed out.
        roster = {**demo_roster(), "workers": [w for w in demo_roster()["workers"] if w["id"] != SAM.id]}
        await kiosk.load_ref({"workers": roster})
        await until(lambda: kiosk.kiosk.worker is None, "Sam signed out")
        assert kiosk.kiosk.workers.source == "bridge"
        assert "Sam Lee is no longer" in kiosk.state()["signin"]["message"]


# --- the bridge side alone ------------------------------------------------------------------


def test_the_bridge_will_not_start_on_a_malformed_workers_file(tmp_path: Path) -> None:
    (tmp_path / "workers.json").write_text(json.dumps(
        {"v": 1, "badge_salt": "00" * 16, "workers": [{"id": "w-x", "name": "X", "pin": "1234"}]}))
    conf = tmp_path / "bridge.toml"
    conf.write_text(f"""
[ledger]
url = "sqlite:///{tmp_path}/ledger.db"
[[facilities]]
license = "{FACILITY}"
state = "CA"
system = "metrc"
base_url = "http://127.0.0.1:9"
timezone = "America/Los_Angeles"
workers_file = "{tmp_path}/workers.json"
[facilities.metrc]
vendor_key = "v"
user_key = "u"
""")
    from canopy.config import load_config

    config = load_config(BridgeConfig, conf)
    with pytest.raises(UserError) as info:
        asyncio.run(run_bridge(config))
    message = str(info.value)
    assert f"facility {FACILITY}, workers_file" in message
    assert f"{tmp_path}/workers.json is malformed" in message and "pin is not a scrypt hash" in message
