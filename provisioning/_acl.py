"""Mosquitto ACL and password entries for every enrolled identity.

Explicit ``user`` blocks rather than ``pattern`` lines: each kiosk's rights are
spelled out with its own facility and device, so reading the file answers "what
may kiosk-07 do" without knowing how ``%u`` substitution works, and a device id
can never widen a pattern.

- kiosk: publish only its own ``events`` and ``status`` (its last will is a
  status publish too), read only its own ``acks`` and ``cmd`` and its
  facility's ``ref/#``.
- bridge: read every kiosk's ``events`` (plain or ``$share`` subscription) and
  ``status``; write ``acks``, ``cmd`` and ``ref``.
- fleet twin of a bridge (``canopy.topics.fleet_login``): read ``status`` only,
  plus its own probe topic, outside ``canopy/v1``.
"""

from __future__ import annotations

from collections.abc import Iterable

from canopy import topics
from canopy.topics import fleet_login, probe_topic
from provisioning._passwd import password_file
from provisioning._registry import Identity

ANY_DEVICE = "+"


def identity_rules(identity: Identity) -> list[tuple[str, list[str]]]:
    """``[(username, ["topic read ...", ...]), ...]`` for one identity."""
    if identity.role == "kiosk":
        fac, dev = identity.facility, identity.name
        return [
            (
                dev,
                [
                    f"topic write {topics.events(fac, dev)}",
                    f"topic write {topics.status(fac, dev)}",
                    f"topic read {topics.acks(fac, dev)}",
                    f"topic read {topics.cmd(fac, dev)}",
                    f"topic read {topics.ref(fac, '#')}",
                ],
            )
        ]
    # The bridge subscribes to canopy/v1/+/+/events; Mosquitto only grants a
    # subscription that lies inside an ACL filter, so the filters use "+" too.
    # One broker serves one facility (its CA), so "+" names only that facility.
    fac = dev = ANY_DEVICE
    twin = fleet_login(identity.name)
    return [
        (
            identity.name,
            [
                f"topic read {topics.events(fac, dev)}",
                f"topic read {topics.status(fac, dev)}",
                f"topic write {topics.acks(fac, dev)}",
                f"topic write {topics.cmd(fac, dev)}",
                f"topic readwrite {topics.ref(fac, '#')}",
            ],
        ),
        (twin, [f"topic read {topics.status(fac, dev)}", f"topic readwrite {probe_topic(twin)}"]),
    ]


def acl_file(facility: str, identities: Iterable[Identity]) -> str:
    out = [
        f"# Mosquitto ACL for facility {facility}, written by `canopy provision`.",
        "# Do not edit: enroll or revoke with `canopy provision`, which rewrites it.",
        "# Nothing before the first `user` line: anonymous clients get no topic at all.",
    ]
    for identity in sorted(identities, key=lambda i: i.name):
        where = f" in {identity.room}" if identity.room else ""
        out.append("")
        out.append(f"# {identity.role} {identity.name}{where}, enrolled {identity.enrolled:%Y-%m-%d}")
        for username, lines in identity_rules(identity):
            out.append(f"user {username}")
            out.extend(lines)
    return "\n".join(out) + "\n"


def logins(identities: Iterable[Identity]) -> list[str]:
    """Every username the broker will accept for these identities."""
    return sorted(user for i in identities for user, _ in identity_rules(i))


def passwd_file(identities: Iterable[Identity]) -> str:
    """The broker's password file: each login with its ``$7$`` hash (a twin shares its bridge's)."""
    return password_file((user, i.password_hash) for i in identities for user, _ in identity_rules(i))
