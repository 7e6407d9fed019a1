"""What IT runs: enroll kiosks and bridges, configure the broker, install, check.

    ca = FacilityCA.create(Path("pki"), "LIC-0001")            # once per facility
    bundle = enroll_kiosk(ca, device="kiosk-01", room="Flower 1",
                          broker=BrokerAddress("mqtt.example", 8883))
    write_bundle(bundle, Path("kiosk-01.tar.gz"))              # carry it to the kiosk
    write_broker(ca, Path("broker"), BrokerOptions(hosts=("mqtt.example",)))
    install_bundle(Path("kiosk-01.tar.gz"))                    # on the kiosk, as root
    report = await run_doctor(Path("/etc/canopy/agent.toml"))  # any time after

The CLI is ``canopy provision …`` and ``canopy doctor``.
"""

from provisioning._accounts import Accounts
from provisioning._broker import ACCESS_FILE, BrokerOptions, refresh_brokers, write_broker
from provisioning._bundle import Bundle, Manifest, read_bundle, write_bundle
from provisioning._doctor import Check, Report, run_doctor
from provisioning._enroll import BrokerAddress, enroll_bridge, enroll_kiosk
from provisioning._install import InstallResult, install_bundle
from provisioning._passwd import hash_password, verify_password
from provisioning._pki import issue_client
from provisioning._registry import FacilityCA, Identity

__all__ = [
    "ACCESS_FILE",
    "Accounts",
    "BrokerAddress",
    "BrokerOptions",
    "Bundle",
    "Check",
    "FacilityCA",
    "Identity",
    "InstallResult",
    "Manifest",
    "Report",
    "enroll_bridge",
    "enroll_kiosk",
    "hash_password",
    "install_bundle",
    "issue_client",
    "read_bundle",
    "refresh_brokers",
    "run_doctor",
    "verify_password",
    "write_broker",
    "write_bundle",
]
