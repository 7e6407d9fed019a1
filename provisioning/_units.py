"""The systemd unit files shipped in the repository's ``systemd/`` folder.

A bundle carries copies of the units it needs, so the kiosk installs exactly
what IT's checkout shipped. In a checkout they sit next to the packages; in an
installed wheel they are expected under ``provisioning/systemd`` (hatch
``force-include``).
"""

from __future__ import annotations

from pathlib import Path

from canopy.errors import UserError

AGENT_UNIT = "canopy-agent.service"
BROWSER_UNIT = "canopy-kiosk-browser.service"
BRIDGE_UNIT = "canopy-bridge.service"
# Installed with the bridge's, not enabled: the console needs an account first.
CONSOLE_UNIT = "canopy-console.service"

_HERE = Path(__file__).resolve().parent
SEARCH = (_HERE / "systemd", _HERE.parent / "systemd")


def unit_dir() -> Path:
    for folder in SEARCH:
        if (folder / AGENT_UNIT).is_file():
            return folder
    raise UserError(
        "the systemd unit files are not installed with this copy of Canopy"
        f" (looked in {', '.join(str(p) for p in SEARCH)})"
    )


def unit_bytes(name: str) -> bytes:
    return (unit_dir() / name).read_bytes()
