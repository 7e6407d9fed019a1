"""The broker's access list for every enrolled identity: Mosquitto's dynamic-security file.

Why the dynamic-security plugin and not ``acl_file``: Mosquitto 2.0's
``acl_file`` never checks a SUBSCRIBE (it filters only what is delivered), so a
kiosk login could join the bridges' shared subscription
(``$share/canopy-bridge/canopy/v1/+/+/events``): the broker then hands that
kiosk its share of every kiosk's events and drops them at the read check.
The plugin checks subscriptions (``subscribePattern``), including the full
``$share/...`` filter, so only a bridge may join the share.

Explicit rules per login rather than ``%u`` patterns: each kiosk's rights are
spelled out with its own facility and device, so reading the file answers
"what may kiosk-07 do", and a device id can never widen a pattern. Nothing is
allowed unless granted here (``defaultACLAccess`` all false).

- kiosk: send only its own ``events`` and ``status`` (its last will is a status
  publish too); read only its own ``acks`` and ``cmd``, its facility's
  ``ref/#`` and the bridges' status.
- bridge: read every kiosk's ``events`` (plain or through a ``$share`` group)
  and ``status``, and every bridge's status (when one goes offline the others
  have the kiosks resend what it held); send ``acks``, ``cmd``, ``ref`` and its
  own bridge status.
- fleet twin of a bridge (``canopy.topics.fleet_login``, a certificate of its
  own): read ``status`` only, plus its own probe topic, outside ``canopy/v1``.

The broker's login is the certificate's CN (``use_identity_as_username``), so
the names here are certificate names. The plugin reads this file when the
broker starts; a change needs a broker restart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from canopy import topics
from canopy.topics import fleet_login, probe_topic
from provisioning._registry import Identity

ANY = "+"
# `subscribePattern` matches the SUBSCRIBE's whole filter, `$share/<group>/` included.
ANY_SHARE = topics.shared(ANY, topics.ALL_EVENTS)

Access = Literal["send", "read"]


@dataclass(frozen=True)
class Grant:
    access: Access  # send: publish; read: subscribe and be delivered
    topic: str

    def acls(self) -> list[dict[str, object]]:
        send = self.access == "send"
        kinds = ("publishClientSend",) if send else ("subscribePattern", "publishClientReceive")
        return [{"acltype": kind, "topic": self.topic, "allow": True} for kind in kinds]


def identity_rules(identity: Identity) -> list[tuple[str, list[Grant]]]:
    """``[(login, [grant, ...]), ...]`` for one identity."""
    if identity.role == "kiosk":
        fac, dev = identity.facility, identity.name
        return [(dev, [
            Grant("send", topics.events(fac, dev)),
            Grant("send", topics.status(fac, dev)),
            Grant("read", topics.acks(fac, dev)),
            Grant("read", topics.cmd(fac, dev)),
            Grant("read", topics.ref(fac, "#")),
            Grant("read", topics.ALL_BRIDGES),
        ])]
    # One broker serves one facility (its CA), so "+" names only that facility.
    twin = fleet_login(identity.name)
    return [
        (identity.name, [
            Grant("read", topics.events(ANY, ANY)),
            Grant("read", ANY_SHARE),
            Grant("read", topics.status(ANY, ANY)),
            Grant("send", topics.acks(ANY, ANY)),
            Grant("send", topics.cmd(ANY, ANY)),
            Grant("send", topics.ref(ANY, "#")),
            Grant("read", topics.ref(ANY, "#")),
            Grant("send", topics.bridge_status(identity.name)),
            Grant("read", topics.ALL_BRIDGES),
        ]),
        (twin, [Grant("read", topics.status(ANY, ANY)), Grant("send", probe_topic(twin)),
                Grant("read", probe_topic(twin))]),
    ]


def dynsec_file(facility: str, identities: Iterable[Identity]) -> str:
    """The plugin's JSON: one client and one role (of the same name) per login."""
    clients: list[dict[str, object]] = []
    roles: list[dict[str, object]] = []
    for identity in sorted(identities, key=lambda i: i.name):
        where = f" in {identity.room}" if identity.room else ""
        for login, grants in identity_rules(identity):
            clients.append({
                "username": login,
                "textname": f"{identity.role} {identity.name}{where}, facility {facility},"
                            f" enrolled {identity.enrolled:%Y-%m-%d}",
                "roles": [{"rolename": login}],
            })
            roles.append({"rolename": login, "acls": [acl for g in grants for acl in g.acls()]})
    body = {
        "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": False,
                             "subscribe": False, "unsubscribe": True},
        "clients": clients,
        "groups": [],
        "roles": roles,
    }
    return json.dumps(body, indent=1) + "\n"


def logins(identities: Iterable[Identity]) -> list[str]:
    """Every login (certificate name) the broker will grant anything to."""
    return sorted(user for i in identities for user, _ in identity_rules(i))
