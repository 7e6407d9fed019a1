"""Fixtures shared by every test: real services, started by the tests themselves."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from cli.broker import Mosquitto
from tests.provisioned import ProvisionedSite, provisioned_site

# The tests talk to the PostgreSQL server on 127.0.0.1:5432 (scripts/bootstrap
# --test starts one on a fresh machine). Override with CANOPY_TEST_PG.
PG_ADMIN_DSN = os.environ.get(
    "CANOPY_TEST_PG", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def provisioned_facility() -> str:
    """The facility (licence) of the ``provisioned`` CA; a test folder may override it."""
    return "CA-TEST-0001"


@pytest.fixture
def provisioned_kiosks() -> tuple[str, ...]:
    """Kiosks enrolled before the broker starts; others are enrolled on first use."""
    return ("kiosk-01", "kiosk-02")


@pytest.fixture
def provisioned(provisioned_facility: str, provisioned_kiosks: tuple[str, ...]) -> Iterator[ProvisionedSite]:
    """The production broker: Mosquitto running `canopy provision broker`'s config (TLS,
    login = certificate, per-identity access list, client id = login), with bridge
    ``bridge-1`` and ``provisioned_kiosks`` enrolled; ``.settings(name)`` and
    ``.mqtt_toml(name)`` connect as any kiosk or bridge (tests/provisioned.py)."""
    with provisioned_site(provisioned_facility, provisioned_kiosks) as site:
        yield site


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private, open Mosquitto (no TLS, no logins): only for tests about something
    other than the broker's access rules, which say why they use it."""
    mosquitto = Mosquitto(tmp_path / "broker")
    mosquitto.start()
    try:
        yield mosquitto
    finally:
        mosquitto.kill()


@pytest.fixture
async def pg_dsn() -> AsyncIterator[str]:
    """A scratch PostgreSQL database, dropped afterwards."""
    name = f"canopy_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await psycopg.AsyncConnection.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is needed at {PG_ADMIN_DSN} (run scripts/bootstrap --test): {exc}")
    async with admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        async with await psycopg.AsyncConnection.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The bridge's ledger on SQLite and on PostgreSQL: every user runs twice."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_dsn"))


# Tests that take tens of seconds each: fault injection with real processes and
# kills, the browser, the demo. `make check` leaves them out (`-m "not slow"`);
# `make test` and CI run everything. Whole files or folders, relative to tests/;
# a single test may also carry @pytest.mark.slow itself.
SLOW = (
    "ui/",
    "console_ui/",
    "pipeline/test_delivery.py",
    "pipeline/test_demo.py",
    "pipeline/test_bridge_killed.py",
    "pipeline/test_demo_memory.py",
    "fleet/test_watchdog.py",
    "bridge/test_refsync_faults.py",
    "submit/test_outage_days.py",
    "submit/test_state_status_floor.py",
    "submit/test_killed_mid_call.py",
    "cli/test_readme_commands.py",
)
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        where = item.path.relative_to(TESTS).as_posix()
        if where.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
        # Every test that reaches the PostgreSQL server says so (`-m "not postgres"`
        # runs where there is none), whether through a ledger or a scratch database.
        fixtures = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("ledger_url") == "postgres"
        if "pg_dsn" in fixtures or on_postgres:
            item.add_marker(pytest.mark.postgres)
