"""A facility with a CA, two kiosks and a bridge enrolled, and Mosquitto running the
generated config: the shared ``provisioned`` fixture, for facility LIC-0042."""

from __future__ import annotations

import pytest

from tests.provisioned import ProvisionedSite

FACILITY = "LIC-0042"
Estate = ProvisionedSite


@pytest.fixture
def provisioned_facility() -> str:
    return FACILITY


@pytest.fixture
def provisioned_kiosks() -> tuple[str, ...]:
    return ("kiosk-a", "kiosk-b")


@pytest.fixture
def estate(provisioned: ProvisionedSite) -> ProvisionedSite:
    return provisioned
