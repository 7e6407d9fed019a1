"""`canopy bridge fleet` says which licence's state system is unreachable, since when (the
facility's clock) and, past the alert hours, that the state must be notified (issue 13,
item 2). Real Mosquitto for the statuses, the ledger on SQLite and PostgreSQL, the command
line as IT runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.fleet import state_system_notes
from bridge.ledger import Outage, open_ledger
from cli.broker import Mosquitto
from tests.fleet.test_fleet_clock import publish_statuses

pytestmark = pytest.mark.timeout(60)
DOWN_LONG, DOWN_NOW, UP = "CCL24-0000101", "CCL24-0000202", "CCL24-0000303"
HOUR_MS = 3_600_000


def facility(licence: str) -> str:
    return (f'[[facilities]]\nlicense = "{licence}"\nstate = "CA"\nsystem = "metrc"\n'
            'base_url = "http://127.0.0.1:9"\ntimezone = "America/Los_Angeles"\n'
            '[facilities.metrc]\nvendor_key = "v"\nuser_key = "u"\n')


async def test_fleet_names_unreachable_state_systems_and_the_72_hour_notice(
    tmp_path: Path, broker: Mosquitto, ledger_url: str,
) -> None:
    now = int(time.time() * 1000)
    ledger = await open_ledger(ledger_url)
    try:
        ledger.clock = lambda: now - 73 * HOUR_MS
        await ledger.outage_begins(DOWN_LONG, "ConnectError: connection refused")
        ledger.clock = lambda: now - HOUR_MS
        await ledger.outage_begins(DOWN_NOW, "HTTP 503")
        await ledger.outage_begins(UP, "timeout")
        ledger.clock = lambda: now - HOUR_MS // 2
        await ledger.outage_ends(UP)
    finally:
        await ledger.close()
    publish_statuses(broker, ["kiosk-01"])  # a kiosk of the first licence (test_fleet_clock's FAC)
    conf = tmp_path / "bridge.toml"
    conf.write_text(f'[mqtt]\nport = {broker.port}\n[ledger]\nurl = "{ledger_url}"\n'
                    + "".join(facility(licence) for licence in (DOWN_LONG, DOWN_NOW, UP)))

    def fleet(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "cli", "bridge", "fleet", *args, "-c", str(conf)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    table = fleet()
    notice = next(line for line in table.splitlines() if DOWN_LONG in line and "unreachable" in line)
    assert notice.startswith("NOTIFY THE STATE:") and "more than 72 h" in notice
    assert "connection refused" in notice and "canopy bridge report outages" in notice
    recent = next(line for line in table.splitlines() if DOWN_NOW in line)
    assert "unreachable since" in recent and "NOTIFY" not in recent and "sent once it answers" in recent
    assert UP not in table
    [row] = json.loads(fleet("--json"))
    assert row["facility"] == DOWN_LONG
    system = row["state_system"]
    assert (system["reachable"], system["notify_state"], system["cause"]) == (
        False, True, "ConnectError: connection refused")
    assert system["hours"] >= 73


def test_the_outage_start_is_shown_on_the_facilitys_clock() -> None:
    started = 1_765_100_000_000  # 2025-12-07 09:33:20 UTC
    outage = Outage(1, DOWN_NOW, started, None, "HTTP 503", False)
    closed = Outage(2, UP, started, started + HOUR_MS, "timeout", False)
    notes = state_system_notes([outage, closed], {DOWN_NOW: (72.0, "America/Los_Angeles"),
                                                  UP: (72.0, "America/Los_Angeles")},
                               now_ms=started + 2 * HOUR_MS)
    assert notes[DOWN_NOW].since == "2025-12-07 01:33"
    assert (notes[DOWN_NOW].notify, round(notes[DOWN_NOW].hours)) == (False, 2)
    assert notes[UP].reachable and notes[UP].line() is None
    later = state_system_notes([outage], {DOWN_NOW: (1.0, "America/Los_Angeles")},
                               now_ms=started + 2 * HOUR_MS)
    line = later[DOWN_NOW].line()
    assert line is not None and line.startswith("NOTIFY THE STATE") and "more than 1 h" in line
