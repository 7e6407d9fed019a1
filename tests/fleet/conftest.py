"""A facility with a CA, two kiosks and a bridge enrolled, and Mosquitto running the generated config."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioning import BrokerAddress, FacilityCA, enroll_bridge, enroll_kiosk, write_bundle
from tests.fleet.helpers import GeneratedBroker, open_dir

FACILITY = "LIC-0042"


@dataclass
class Estate:
    base: Path
    ca: FacilityCA
    broker: GeneratedBroker

    def bundle(self, name: str) -> Path:
        return self.base / "bundles" / name

    def enroll_kiosk(self, device: str, *, replace: bool = False) -> Path:
        bundle = enroll_kiosk(self.ca, device=device, room="Flower 1", scanner="sim", replace=replace,
                              broker=BrokerAddress("127.0.0.1", self.broker.port))
        target = self.bundle(device if not replace else f"{device}-again")
        write_bundle(bundle, target)
        return target


@pytest.fixture
def estate() -> Iterator[Estate]:
    with open_dir() as base:
        ca = FacilityCA.create(base / "pki", FACILITY)
        broker = GeneratedBroker(base, ca)
        made = Estate(base, ca, broker)
        made.enroll_kiosk("kiosk-a")
        made.enroll_kiosk("kiosk-b")
        write_bundle(enroll_bridge(ca, bridge_id="bridge-1", broker=BrokerAddress("127.0.0.1", broker.port)),
                     made.bundle("bridge-1"))
        broker.write()
        broker.start()
        try:
            yield made
        finally:
            broker.kill()
