"""Where things live on a kiosk or bridge host: one table for the enroller and the installer."""

from __future__ import annotations

from pathlib import PurePosixPath

CONFIG_DIR = PurePosixPath("/etc/canopy")
UDEV_DIR = PurePosixPath("/etc/udev/rules.d")
UNIT_DIR = PurePosixPath("/etc/systemd/system")
VENV_CANOPY = PurePosixPath("/opt/canopy/venv/bin/canopy")

KIOSK_USER = "canopy"
KIOSK_STATE = PurePosixPath("/var/lib/canopy")
# Device groups the agent needs; any a system lacks (gpio off the Pi) is skipped.
KIOSK_GROUPS = ("input", "dialout", "lp", "gpio")

# The browser runs as its own user: a compromised page must not reach the
# agent's credentials or the scanners.
BROWSER_USER = "canopy-kiosk"
BROWSER_HOME = PurePosixPath("/var/lib/canopy-kiosk")
BROWSER_GROUPS = ("video", "render")
BROWSER_ENV = CONFIG_DIR / "kiosk-browser.env"
BROWSER_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

BRIDGE_USER = "canopy-bridge"
BRIDGE_STATE = PurePosixPath("/var/lib/canopy-bridge")

CA_FILE = CONFIG_DIR / "ca.crt"
CERT_FILE = CONFIG_DIR / "client.crt"
KEY_FILE = CONFIG_DIR / "client.key"
AGENT_CONFIG = CONFIG_DIR / "agent.toml"
WORKERS_FILE = CONFIG_DIR / "workers.json"  # PIN and badge hashes: 0600, user canopy
BRIDGE_CONFIG = CONFIG_DIR / "bridge.toml"
