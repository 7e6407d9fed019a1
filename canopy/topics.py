"""MQTT topic contract (ARCHITECTURE.md "Topics").

Facility and device are whole topic levels so broker ACL patterns (``%u``) and
shared subscriptions can key on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "canopy/v1"

# A facility (licence number) or device id must be one plain topic level.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)


def valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name))


def events(facility: str, device: str) -> str:
    return f"{ROOT}/{facility}/{device}/events"


def acks(facility: str, device: str) -> str:
    return f"{ROOT}/{facility}/{device}/acks"


def status(facility: str, device: str) -> str:
    return f"{ROOT}/{facility}/{device}/status"


def cmd(facility: str, device: str) -> str:
    return f"{ROOT}/{facility}/{device}/cmd"


def ref(facility: str, name: str) -> str:
    """A reference list's topic; a big list's parts are one level below (``canopy.refdata``)."""
    return f"{ROOT}/{facility}/ref/{name}"


ALL_EVENTS = f"{ROOT}/+/+/events"
ALL_STATUS = f"{ROOT}/+/+/status"

# Each bridge's retained "online"/"offline" (canopy.bridge_status), its last
# will the "offline". Four levels, so no kiosk filter (five levels) matches it.
BRIDGES = f"{ROOT}/bridges"
ALL_BRIDGES = f"{BRIDGES}/+"


def bridge_status(bridge_id: str) -> str:
    return f"{BRIDGES}/{bridge_id}"


def shared(group: str, topic_filter: str) -> str:
    """An MQTT v5 shared subscription: each message goes to one member of ``group``."""
    return f"$share/{group}/{topic_filter}"


@dataclass(frozen=True)
class DeviceTopic:
    facility: str
    device: str
    leaf: str


def parse(topic: str) -> DeviceTopic | None:
    """Split ``canopy/v1/<facility>/<device>/<leaf>``; None if it is not one."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT or parts[3] == "ref":
        return None
    if not (valid_name(parts[2]) and valid_name(parts[3])):
        return None
    return DeviceTopic(parts[2], parts[3], parts[4])


# The fleet view's read-only login and its probe topic. The broker forces client
# id = username, so a second program logging in as the bridge would take over the
# bridge's session; the fleet view (and doctor) log in as this twin instead.
FLEET_SUFFIX = "-fleet"
PROBE_ROOT = "canopy/fleet"


def fleet_login(username: str) -> str:
    """The read-only login the fleet view uses next to a bridge's ``username``."""
    return f"{username}{FLEET_SUFFIX}"


# The twin logs in with a certificate of its own (the broker takes the login
# from the certificate's CN), kept next to the bridge's client.crt/client.key.
FLEET_CERT = "fleet.crt"
FLEET_KEY = "fleet.key"

# The device the compliance console's own records carry in the ledger (a supervisor's
# dismissal of a rejection made in the office): the console writes them into the ledger
# itself, so no kiosk may be enrolled under this name, and ingest refuses it from MQTT.
CONSOLE_DEVICE = "console"

# Device levels with a meaning of their own: a device called "ref" would
# publish its events onto the reference list called "events".
RESERVED_DEVICE_NAMES = frozenset({"ref"})


def reserved_name(name: str) -> str | None:
    """Why ``name`` cannot be a device or bridge id (None if it can).

    ``+``, ``#`` and anything starting with ``$`` already fail ``valid_name``
    (one plain level, starting with a letter or digit)."""
    if not valid_name(name):
        return "letters, digits, '.', '_' or '-' only, starting with a letter or digit (one topic level)"
    if name.lower() in RESERVED_DEVICE_NAMES:
        return f"{name!r} is a level of the topic scheme (canopy/v1/<facility>/ref/...)"
    if name.lower() == CONSOLE_DEVICE:
        return f"{name!r} names the compliance console's own records in the ledger"
    if name.lower().endswith(FLEET_SUFFIX):
        return f"names ending in {FLEET_SUFFIX!r} are the fleet view's logins next to a bridge"
    return None


def probe_topic(client_id: str) -> str:
    """The one topic a fleet login may write to (and reads back), outside ``canopy/v1``."""
    return f"{PROBE_ROOT}/{client_id}"
