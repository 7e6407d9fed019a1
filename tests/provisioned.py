"""A facility as `canopy provision` sets it up: its CA, enrolled kiosks and
bridges (bundles), and Mosquitto running the generated production config.

The shared fixture ``provisioned`` (tests/conftest.py) hands a test one of
these with the broker running; ``settings(name)`` and ``mqtt_toml(name)`` give
a kiosk or bridge identity's ready connection settings, enrolling it first if
needed (then the broker restarts, as in production, to read its access list).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canopy.mqtt import MqttSettings, TlsSettings
from cli.broker import ProvisionedMosquitto
from provisioning import BrokerAddress, FacilityCA, enroll_bridge, enroll_kiosk, write_bundle

# Fast reconnects in tests; production keeps its defaults.
TEST_BACKOFF = {"backoff_min_s": 0.1, "backoff_max_s": 0.5, "connect_timeout_s": 5}


@contextlib.contextmanager
def open_dir() -> Iterator[Path]:
    """A scratch directory the broker's own user can enter.

    pytest's tmp_path sits under a 0700 folder; Mosquitto started as root drops
    to user `mosquitto` and must still reach its access list and certificates.
    """
    path = Path(tempfile.mkdtemp(prefix="canopy-site-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bundle_settings(bundle: Path, *, port: int | None = None, tls: TlsSettings | None = None,
                    config: str = "agent.toml", **update: Any) -> MqttSettings:
    """The MQTT settings in a bundle's config, with its TLS files where the bundle is."""
    raw = tomllib.loads((bundle / config).read_text())["mqtt"]
    raw["tls"] = tls or TlsSettings(ca_file=bundle / "ca.crt", cert_file=bundle / "client.crt",
                                    key_file=bundle / "client.key")
    raw.update(TEST_BACKOFF)
    if port is not None:
        raw["port"] = port
    raw.update(update)
    return MqttSettings.model_validate(raw)


@dataclass
class ProvisionedSite:
    base: Path
    broker: ProvisionedMosquitto
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def ca(self) -> FacilityCA:
        """The provisioning directory as it is now (a test may run `canopy provision` too)."""
        return FacilityCA.open(self.broker.ca.path)

    @property
    def facility(self) -> str:
        return self.ca.facility

    @property
    def port(self) -> int:
        return self.broker.port

    def bundle(self, name: str) -> Path:
        return self.base / "bundles" / name

    def _address(self) -> BrokerAddress:
        return BrokerAddress("127.0.0.1", self.broker.port)

    def enroll_kiosk(self, device: str, *, replace: bool = False) -> Path:
        bundle = enroll_kiosk(self.ca, device=device, room="Flower 1", scanner="sim", replace=replace,
                              broker=self._address(), headless=True, simulated=True)
        target = self.bundle(device if not replace else f"{device}-again")
        write_bundle(bundle, target)
        self.roles[device] = "kiosk"
        return target

    def enroll_bridge(self, bridge_id: str) -> Path:
        target = self.bundle(bridge_id)
        write_bundle(enroll_bridge(self.ca, bridge_id=bridge_id, broker=self._address()), target)
        self.roles[bridge_id] = "bridge"
        return target

    def ensure(self, name: str, role: str) -> Path:
        """``name``'s bundle, enrolling it (and restarting a running broker) if it is new."""
        if name not in self.roles:
            (self.enroll_bridge if role == "bridge" else self.enroll_kiosk)(name)
            if self.broker.running:
                self.broker.restart()
        return self.bundle(name)

    def settings(self, name: str, role: str = "kiosk", **update: Any) -> MqttSettings:
        """Ready connection settings for kiosk or bridge ``name`` (fast test backoff)."""
        bundle = self.ensure(name, role)
        config = "bridge.toml" if self.roles[name] == "bridge" else "agent.toml"
        return bundle_settings(bundle, port=self.broker.port, config=config, **update)

    def mqtt_toml(self, name: str, role: str = "kiosk") -> str:
        """Lines for a config's ``[mqtt]`` table: address, login and TLS files of ``name``."""
        bundle = self.ensure(name, role)
        return (
            f'host = "127.0.0.1"\nport = {self.broker.port}\nusername = "{name}"\n'
            f'tls = {{ ca_file = "{bundle / "ca.crt"}", cert_file = "{bundle / "client.crt"}",'
            f' key_file = "{bundle / "client.key"}" }}\n'
        )

    def metrc_bridge_toml(self, folder: Path, bridge_id: str, license: str, sim_url: str, ledger_url: str,
                          *, ledger_extra: str = "", facility_extra: str = "") -> Path:
        """A bridge config on this site's broker for one California licence on a Metrc
        simulator, with quick reconnects and flushes; ``*_extra`` lines go in ``[ledger]``
        and the facility's table."""
        from statesim.metrc import DEMO_USER_KEY, DEMO_VENDOR_KEY

        conf = folder / f"{bridge_id}.toml"
        conf.write_text(f"""
[bridge]
id = "{bridge_id}"
[mqtt]
{self.mqtt_toml(bridge_id, "bridge")}
backoff_min_s = 0.2
backoff_max_s = 2.0
[ledger]
url = "{ledger_url}"
{ledger_extra}
[[facilities]]
license = "{license}"
state = "CA"
system = "metrc"
base_url = "{sim_url}"
timezone = "America/Los_Angeles"
flush_interval_s = 0.2
{facility_extra}
[facilities.metrc]
vendor_key = "{DEMO_VENDOR_KEY}"
user_key = "{DEMO_USER_KEY}"
""")
        return conf


@contextlib.contextmanager
def provisioned_site(facility: str, kiosks: tuple[str, ...] = (),
                     bridges: tuple[str, ...] = ("bridge-1",)) -> Iterator[ProvisionedSite]:
    """A running provisioned broker with these identities enrolled; killed afterwards."""
    with open_dir() as base:
        ca = FacilityCA.create(base / "pki", facility)
        site = ProvisionedSite(base, ProvisionedMosquitto(base / "mosquitto", ca))
        for device in kiosks:
            site.enroll_kiosk(device)
        for bridge in bridges:
            site.enroll_bridge(bridge)
        site.broker.start()
        try:
            yield site
        finally:
            site.broker.kill()
