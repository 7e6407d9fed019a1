"""Sign-in (domain.md §2.6 "Unique logins"): personal badge or PIN, no shared account,
auto sign-out on idle, every event carries the worker, a second person signs in separately."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.demo import DEMO_TAG, WORKERS
from agent.lockouts import Lockouts
from agent.testing import KioskRig, until
from agent.uplink import status_payload
from agent.users import Workers, add_worker, badge_digest, read_file, verify_pin
from agent.workflows.records import RecordsFlow
from canopy.events import KIOSK_USER
from canopy.workerfile import WorkerFile, write_file

pytestmark = pytest.mark.timeout(60)
DANA, SAM, ALEX = WORKERS


async def test_rule_unique_logins_pins_and_badges_are_stored_hashed_with_scrypt(tmp_path: Path) -> None:
    path = tmp_path / "workers.json"
    add_worker(path, worker_id="w-kim", name="Kim Park", pin="482913", badge="BADGE-7788")
    text = path.read_text()
    assert "482913" not in text and "BADGE-7788" not in text
    assert path.stat().st_mode & 0o077 == 0  # owner-only
    worker = read_file(path).workers[0]
    assert worker.pin.startswith("scrypt$32768$8$1$")
    assert worker.badge is not None and worker.badge.startswith("scrypt$32768$8$1$")
    assert verify_pin("482913", worker.pin)
    assert not verify_pin("482914", worker.pin)
    workers = Workers(path)
    found = await workers.by_badge("BADGE-7788")
    assert found is not None and found.id == "w-kim"
    assert await workers.by_badge("BADGE-7789") is None


async def test_rule_unique_logins_nothing_is_recorded_before_a_worker_signs_in(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        answer = await kiosk.scan(DEMO_TAG)
        assert not answer["ok"]
        assert "Sign in first" in answer["message"]
        assert kiosk.events() == []
        assert kiosk.state()["screen"] == "signin"
        refused = await kiosk.act("go", screen="move")
        assert not refused["ok"]


async def test_rule_unique_logins_every_event_carries_the_worker_who_signed_in(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(DANA)
        assert (await kiosk.scan(DEMO_TAG))["ok"]
        await kiosk.act("signout")
        assert kiosk.state()["screen"] == "signin"
        await kiosk.sign_in(SAM)
        assert (await kiosk.scan(DEMO_TAG))["ok"]
        assert [e["user"] for e in kiosk.events()] == [DANA.id, SAM.id]
        assert all(e["device"] == "kiosk-01" for e in kiosk.events())


async def test_rule_unique_logins_personal_pin_with_lockout_after_wrong_tries(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, config={"workers": {"pin_attempts": 3, "lockout_s": 600}}) as kiosk:
        assert (await kiosk.act("signin.pick", id=SAM.id))["ok"]
        wrong = await kiosk.act("signin.pin", pin="0000")
        assert not wrong["ok"] and "2 tries left" in wrong["message"]
        await kiosk.act("signin.pin", pin="1111")
        locked = await kiosk.act("signin.pin", pin="2222")
        assert "locked" in locked["message"]
        still = await kiosk.act("signin.pin", pin=SAM.pin)  # the right PIN, but locked
        assert not still["ok"] and "locked" in still["message"]
        assert kiosk.kiosk.worker is None
        await kiosk.act("signin.pick", id=ALEX.id)
        assert (await kiosk.act("signin.pin", pin=ALEX.pin))["message"] == f"Signed in: {ALEX.name}"
    # A restart (pulling the plug) does not give a guesser more tries.
    async with KioskRig(tmp_path, config={"workers": {"pin_attempts": 3, "lockout_s": 600}}) as again:
        await again.act("signin.pick", id=SAM.id)
        after = await again.act("signin.pin", pin=SAM.pin)
        assert not after["ok"] and "locked" in after["message"]
        # The lockout is on PIN entry only: the worker's own badge still signs them in.
        assert (await again.scan(SAM.badge))["message"] == f"Signed in: {SAM.name}"


async def test_wrong_pins_alert_supervisors_and_never_lock_a_worker_out_of_their_badge(
        tmp_path: Path) -> None:
    async with KioskRig(tmp_path, config={"workers": {"pin_attempts": 2, "lockout_s": 600}}) as kiosk:
        await kiosk.act("signin.pick", id=SAM.id)
        for pin in ("000000", "111111"):
            await kiosk.act("signin.pin", pin=pin)
        assert kiosk.state()["alerts"] == []  # nobody signed in: nothing shown
        # IT sees it too: the kiosk's retained status (canopy bridge fleet) carries the alert.
        assert kiosk.agent is not None
        status = json.loads(status_payload("F", "kiosk-01", "online", kiosk.agent.uplink.status))
        assert f"2 wrong PINs for {SAM.name}" in status["fault"]
        # ... and the ledger: the kiosk saves the alert as a facility record, by the kiosk itself.
        await until(lambda: bool(kiosk.events("signin.alerted")), "the sign-in alert record")
        [record] = kiosk.events("signin.alerted")
        assert record["user"] == KIOSK_USER
        assert record["data"]["kind"] == "wrong_pin" and record["data"]["tries"] == 2
        assert record["data"]["worker"] == SAM.id
        assert f"2 wrong PINs for {SAM.name}" in record["data"]["message"]
        # His PIN is locked at his name, not behind his badge.
        assert (await kiosk.scan(SAM.badge))["message"] == f"Signed in: {SAM.name}"
        assert kiosk.state()["alerts"] == []  # for supervisors only
        assert not (await kiosk.act("alerts.dismiss"))["ok"]
        await kiosk.act("signout")
        # Nobody can type wrong PINs at a supervisor's name: they sign in with badge and PIN.
        assert not (await kiosk.act("signin.pick", id=DANA.id))["ok"]
        await kiosk.sign_in(DANA)
        [alert] = kiosk.state()["alerts"]
        assert f"2 wrong PINs for {SAM.name}" in alert
        assert (await kiosk.act("alerts.dismiss"))["ok"]
        assert kiosk.state()["alerts"] == []
        status = json.loads(status_payload("F", "kiosk-01", "online", kiosk.agent.uplink.status))
        assert status.get("fault") is None


async def test_badge_tries_are_rate_limited_and_raise_an_alert(tmp_path: Path) -> None:
    config = {"workers": {"badge_attempts": 3, "badge_pause_s": 600}}
    async with KioskRig(tmp_path, config=config) as kiosk:
        for n in range(2):
            miss = await kiosk.scan(f"BADGE-GUESS-{n}")
            assert not miss["ok"] and "Sign in first" in miss["message"]
        paused = await kiosk.scan("BADGE-GUESS-2")
        assert not paused["ok"] and "paused" in paused["message"]
        await until(lambda: bool(kiosk.events("signin.alerted")), "the sign-in alert record")
        [record] = kiosk.events("signin.alerted")
        assert (record["data"]["kind"], record["data"]["tries"]) == ("unknown_badge", 3)
        assert "worker" not in record["data"]
        # Even the right badge waits now: a guesser cannot try a thousand badges a minute.
        right = await kiosk.scan(DANA.badge)
        assert not right["ok"] and "paused" in right["message"]
        assert kiosk.kiosk.worker is None
    async with KioskRig(tmp_path, config=config) as again:  # kept across a restart
        assert "paused" in (await again.scan(DANA.badge))["message"]
    short = {"workers": {"badge_attempts": 3, "badge_pause_s": 1}}
    async with KioskRig(tmp_path / "short", config=short) as later:
        for n in range(3):
            await later.scan(f"BADGE-GUESS-{n}")
        assert "paused" in (await later.scan(DANA.badge))["message"]
        await asyncio.sleep(1.1)  # the pause is over
        await later.sign_in(DANA)
        [alert] = later.state()["alerts"]
        assert "3 unknown badges in a row" in alert


async def test_rule_unique_logins_auto_sign_out_after_idle(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, config={"workers": {"idle_sign_out_s": 0.5}}) as kiosk:
        await kiosk.sign_in(DANA)
        await kiosk.act("go", screen="move")
        await until(lambda: kiosk.kiosk.worker is None, "the idle sign-out", 10)
        state = kiosk.state()
        assert state["screen"] == "signin"
        assert "without use" in state["signin"]["message"]
        assert not (await kiosk.scan(DEMO_TAG))["ok"]


async def test_rule_unique_logins_second_person_is_a_separate_login(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(SAM)
        await kiosk.act("go", screen="destroy")
        await kiosk.scan(DEMO_TAG)
        assert (await kiosk.act("second.start"))["ok"]
        assert kiosk.state()["second"] == {"purpose": "witness"}
        same = await kiosk.scan(SAM.badge)
        assert not same["ok"] and "second person" in same["message"]
        await kiosk.act("second.pick", id=DANA.id)
        wrong = await kiosk.act("second.pin", pin="9999")
        assert not wrong["ok"]
        ok = await kiosk.act("second.pin", pin=DANA.pin)
        assert ok["ok"] and DANA.name in ok["message"]
        assert kiosk.kiosk.worker is not None and kiosk.kiosk.worker.id == SAM.id  # still Sam's session
        assert kiosk.state()["flow"]["witness"] == DANA.name


async def test_another_worker_badge_on_the_home_screen_takes_over(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(DANA)
        answer = await kiosk.scan(ALEX.badge)
        assert answer["message"] == f"Signed in: {ALEX.name}"


async def test_headless_scan_station_without_workers_uses_the_configured_operator(tmp_path: Path) -> None:
    async with KioskRig(tmp_path, workers=False, config={"kiosk": {"operator": "dock-station"}}) as kiosk:
        assert (await kiosk.scan(DEMO_TAG))["ok"]
        assert [e["user"] for e in kiosk.events()] == ["dock-station"]
        assert not (await kiosk.act("signout"))["ok"]


def test_canopy_agent_add_worker_writes_the_named_workers_file(tmp_path: Path) -> None:
    conf = tmp_path / "agent.toml"
    conf.write_text(f'[workers]\nfile = "{tmp_path / "workers.json"}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "cli", "agent", "add-worker", "-c", str(conf), "--id", "w-ana",
         "--name", "Ana Ruiz", "--badge", "B-42", "--supervisor", "--pin-stdin"],
        input="555555\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Ana Ruiz (w-ana, badge, supervisor) can sign in" in done.stdout
    body = json.loads((tmp_path / "workers.json").read_text())
    assert body["workers"][0]["roles"] == ["worker", "supervisor"]
    bad = subprocess.run(
        [sys.executable, "-m", "cli", "agent", "add-worker", "-c", str(conf), "--id", "w-bo",
         "--name", "Bo", "--pin-stdin"], input="1234\n", capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "6 to 8 digits" in bad.stderr and "Traceback" not in bad.stderr


async def test_a_sign_off_by_someone_who_is_not_a_supervisor_never_authorises_a_correction(
        tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        await kiosk.sign_in(SAM)
        await kiosk.scan(DEMO_TAG)
        await kiosk.act("go", screen="records")
        [row] = kiosk.state()["flow"]["rows"]
        await kiosk.act("select", id=row["id"])
        # The request leaves its purpose out: the screen still asks for a supervisor.
        assert (await kiosk.act("second.start"))["ok"]
        assert kiosk.state()["second"] == {"purpose": "supervisor"}
        not_one = await kiosk.scan(ALEX.badge)
        assert not not_one["ok"] and "not a supervisor" in not_one["message"]
        assert not (await kiosk.act("second.pick", id=ALEX.id))["ok"]  # a supervisor scans a badge
        by_pin = await kiosk.act("second.pin", pin=ALEX.pin)
        assert not by_pin["ok"] and "badge" in by_pin["message"]
        await kiosk.act("second.cancel")
        # Asking for a mere witness on a correction is refused outright.
        witness = await kiosk.act("second.start", purpose="witness")
        assert not witness["ok"] and "supervisor" in witness["message"]
        assert kiosk.state()["second"] is None
        # And the correction itself does not take a sign-off without the role.
        flow = kiosk.kiosk.flow
        assert isinstance(flow, RecordsFlow)
        assert not flow.set_witness({"id": ALEX.id, "name": ALEX.name}).ok
        assert not flow.set_witness({"id": ALEX.id, "name": ALEX.name, "role": "worker"}).ok
        refused = await kiosk.act("correct", reason="Scanned twice")
        assert not refused["ok"] and "supervisor" in refused["message"]
        assert kiosk.events("record.corrected") == []


async def test_every_pin_and_badge_hash_has_its_own_salt(tmp_path: Path) -> None:
    path = tmp_path / "workers.json"
    add_worker(path, worker_id="w-a", name="A", pin="482913", badge="BADGE-1")
    add_worker(path, worker_id="w-b", name="B", pin="482913", badge="BADGE-2")
    a, b = read_file(path).workers
    salts = {h.split("$")[4] for h in (a.pin, b.pin, a.badge or "", b.badge or "")}
    assert len(salts) == 4  # the same PIN twice: two unrelated hashes
    workers = Workers(path)
    assert (await workers.by_badge("BADGE-2")) == b
    assert await workers.by_badge("BADGE-3") is None
    with pytest.raises(ValueError, match="another worker"):
        add_worker(path, worker_id="w-c", name="C", pin="111111", badge="BADGE-1")
    with pytest.raises(ValueError, match="6 to 8 digits"):
        add_worker(path, worker_id="w-d", name="D", pin="1234")


async def test_worker_files_written_before_per_worker_salts_still_sign_in(tmp_path: Path) -> None:
    import hashlib
    import secrets
    salt = "ab" * 16
    psalt = secrets.token_bytes(16)
    old_pin = "scrypt$16384$8$1$" + psalt.hex() + "$" + hashlib.scrypt(
        b"4321", salt=psalt, n=2**14, r=8, p=1, maxmem=64 * 1024 * 1024).hex()
    path = tmp_path / "workers.json"
    path.write_text(json.dumps({"v": 1, "badge_salt": salt, "workers": [
        {"id": "w-old", "name": "Old Timer", "pin": old_pin, "badge": badge_digest("BADGE-OLD", salt)}]}))
    workers = Workers(path, lockouts=Lockouts())
    assert (await workers.check_pin("w-old", "4321")).worker is not None  # a 4-digit PIN still verifies
    found = await workers.by_badge("BADGE-OLD")
    assert found is not None and found.id == "w-old"
    # A new worker added to the old file gets the new hashes beside the old ones.
    add_worker(path, worker_id="w-new", name="New", pin="654321", badge="BADGE-NEW")
    content = read_file(path)
    assert {w.id for w in content.workers} == {"w-old", "w-new"}
    write_file(path, WorkerFile.model_validate(content.model_dump()))
    assert (await Workers(path).by_badge("BADGE-NEW")) is not None
    assert (await Workers(path).by_badge("BADGE-OLD")) is not None


async def test_supervisors_sign_in_and_sign_off_with_badge_and_pin_together(tmp_path: Path) -> None:
    async with KioskRig(tmp_path) as kiosk:
        # Name and PIN alone are not enough for a supervisor (a shoulder-surfed PIN is not).
        tapped = await kiosk.act("signin.pick", id=DANA.id)
        assert not tapped["ok"] and "badge and PIN" in tapped["message"]
        assert (await kiosk.scan(DANA.badge))["message"] == f"{DANA.name}: now your PIN."
        assert kiosk.kiosk.worker is None and kiosk.state()["signin"]["picked"]["id"] == DANA.id
        assert not (await kiosk.act("signin.pin", pin="000000"))["ok"]
        assert (await kiosk.act("signin.pin", pin=DANA.pin))["message"] == f"Signed in: {DANA.name}"
        await kiosk.act("signout")
        # Sam's correction: the supervisor's badge alone does not sign it off.
        await kiosk.sign_in(SAM)
        await kiosk.scan(DEMO_TAG)
        await kiosk.act("go", screen="records")
        [row] = kiosk.state()["flow"]["rows"]
        await kiosk.act("select", id=row["id"])
        await kiosk.act("second.start")
        assert not (await kiosk.act("second.pick", id=DANA.id))["ok"]
        assert (await kiosk.scan(DANA.badge))["ok"]
        assert kiosk.state()["flow"]["supervisor"] is None
        assert (await kiosk.act("second.pin", pin=DANA.pin))["ok"]
        assert kiosk.state()["flow"]["supervisor"] == DANA.name
