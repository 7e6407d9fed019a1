"""The fleet view: every kiosk as its retained status message describes it.

Each kiosk keeps a retained message on ``canopy/v1/<facility>/<device>/status``
(``canopy.kiosk_status``), refreshed at least every status interval and
replaced by its last will ("offline") when the connection dies. Subscribing to
``canopy/v1/+/+/status`` therefore hands IT the whole fleet at once.

Two details make the listing exact and safe:

- *Where the retained messages end.* MQTT has no "that was all" marker. After
  subscribing, the fleet client publishes one message to its own probe topic,
  to which it also subscribes; the broker delivers messages to one client in
  order, so when the probe comes back every retained status is already here.
- *Whose login.* The broker forces client id = username
  (``use_username_as_clientid``), so logging in as the bridge would take over
  the running bridge's session. The fleet view logs in as
  ``fleet_login(<bridge user>)``, a read-only twin of the bridge's account that
  ``canopy provision bridge`` creates with the same password.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from canopy import kiosk_status, topics
from canopy.errors import UserError
from canopy.kiosk_status import DEFAULT_STALE_AFTER_S, KioskStatus, age_text
from canopy.mqtt import (
    ConnectFailed,
    Message,
    MqttConnection,
    MqttSettings,
    TlsSettings,
    stop,
    wait_connected,
)
from canopy.topics import FLEET_CERT, FLEET_KEY, fleet_login, probe_topic

if TYPE_CHECKING:
    from bridge.ledger import Ledger, Outage


async def collect_fleet(
    mqtt: MqttSettings,
    *,
    client_id: str,
    timeout: float = 10.0,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
) -> list[KioskStatus]:
    """Connect, read every retained kiosk status, disconnect; sorted by facility, device.

    ``mqtt`` are the bridge's settings; the login is swapped for the fleet twin
    (see the module docstring). Raises ``UserError`` if the broker cannot be
    reached or refuses the login within ``timeout``.
    """
    settings = fleet_settings(mqtt)
    login = settings.username or client_id
    probe = probe_topic(login)
    token = f"{os.getpid()}-{time.monotonic_ns()}".encode()
    statuses: dict[str, Message] = {}
    done = asyncio.Event()

    def on_message(message: Message) -> None:
        if message.topic == probe:
            if message.payload == token:
                done.set()
        else:
            statuses[message.topic] = message

    dropped: list[str] = []
    conn = MqttConnection(
        settings,
        client_id=login,
        on_disconnect=dropped.append,
        # The status filter first: the broker queues its retained messages
        # before it even reads our probe subscription and publish.
        subscriptions=(topics.ALL_STATUS, probe),
        receive_maximum=65535,
        on_message=on_message,
    )
    task = asyncio.create_task(conn.run(), name="fleet-mqtt")
    try:
        try:
            await wait_connected(conn, task, timeout, dropped)
        except ConnectFailed as exc:
            hint = _login_hint(mqtt) if "refused" in str(exc) else ""
            raise UserError(f"{exc}{hint}") from None
        conn.publish(probe, token, qos=1)
        try:
            async with asyncio.timeout(timeout):
                await done.wait()
        except TimeoutError:
            raise UserError(
                f"broker {settings.host}:{settings.port} did not finish the status listing within"
                f" {timeout:.0f} s ({conn.last_error or 'is the probe topic allowed by its ACL?'})"
            ) from None
    finally:
        await stop(conn, task)
    now = time.time()
    rows = [kiosk_status.decode(m.topic, m.payload, now=now, stale_after_s=stale_after_s)
            for m in statuses.values()]
    return sorted((r for r in rows if r is not None), key=lambda r: (r.facility, r.device))


def fleet_settings(mqtt: MqttSettings) -> MqttSettings:
    """The bridge's settings with the fleet twin's login and no lasting session.

    The twin's certificate is used where the bundle put it, beside the bridge's
    own. Without it the bridge's certificate would log in as the bridge (the
    broker takes the login from the certificate) and take over its session, so
    that is refused."""
    update: dict[str, Any] = {"session_expiry_s": 0}
    if mqtt.username is not None:
        update["username"] = fleet_login(mqtt.username)
    tls = mqtt.tls
    if tls is not None and tls.cert_file is not None and tls.key_file is not None:
        cert, key = tls.cert_file.with_name(FLEET_CERT), tls.key_file.with_name(FLEET_KEY)
        if not cert.is_file():
            raise UserError(
                f"the fleet view needs its own certificate {cert} (the bridge's would take over the"
                " running bridge's session): issue the bridge's bundle again with"
                " `canopy provision bridge --replace` and install it"
            )
        update["tls"] = TlsSettings(ca_file=tls.ca_file, cert_file=cert, key_file=key)
    return mqtt.model_copy(update=update)


def _login_hint(mqtt: MqttSettings) -> str:
    if mqtt.username is None:
        return ""
    return (
        f" (the fleet view logs in as {fleet_login(mqtt.username)!r}, the read-only twin"
        " `canopy provision bridge` creates next to the bridge's login)"
    )


def _ago(seconds: float) -> str:
    if seconds < 0:
        return "ahead of this clock"
    return f"{age_text(seconds)} ago"


# How far back the clock check looks: a kiosk's clock as its recent records show it.
CLOCK_WINDOW_S = 24 * 3600


def clock_note(times: list[tuple[str, int]], bound_s: float) -> str:
    """"ok", or how far a kiosk's clock is off, from its records' (at, received at the bridge).

    A record is never received before it happens: any record stamped later than it
    arrived shows a clock ahead by at least that much. Every record arrives some time
    after it happens (seconds, or days from an outbox backlog): the smallest delay
    among recent records is an upper bound on a clock behind, reported only when
    even the freshest record arrived "too late".
    """
    if not times:
        return "-"
    gaps = [(received / 1000 - datetime.fromisoformat(at).timestamp()) for at, received in times]
    if -min(gaps) > bound_s:
        return f"ahead {_span(-min(gaps))}"
    if min(gaps) > bound_s:
        return f"behind {_span(min(gaps))}?"
    return "ok"


async def clock_notes(ledger: Ledger, bounds: dict[str, float], *, default_s: float,
                      now: float) -> dict[tuple[str, str], str]:
    """Each kiosk's clock as its recent records show it; ``bounds`` per facility licence."""
    recent = await ledger.recent_times(int((now - CLOCK_WINDOW_S) * 1000))
    return {key: clock_note(times, bounds.get(key[0], default_s)) for key, times in recent.items()}


@dataclass(frozen=True)
class StateSystemNote:
    """A licence's state system as the ledger's outage record has it, for the fleet view."""

    facility: str
    reachable: bool
    since: str | None = None  # the open outage's start, on the facility's clock
    hours: float = 0.0
    notify: bool = False  # open longer than the licence's alert hours: the state must be told
    after_h: float = 72.0
    cause: str = ""

    def as_json(self) -> dict[str, object]:
        return {"reachable": self.reachable, "since": self.since, "hours": round(self.hours, 1),
                "notify_state": self.notify, "cause": self.cause or None}

    def line(self) -> str | None:
        """The table's line for an unreachable state system (None while it answers)."""
        if self.reachable:
            return None
        head = (f"state system of {self.facility} unreachable since {self.since} (facility time),"
                f" {_span(self.hours * 3600)}")
        if self.notify:
            return (f"NOTIFY THE STATE: {head}, more than {self.after_h:g} h: tell the state agency now"
                    f" (licence, when access was lost, the cause: {self.cause or 'unknown'}); every"
                    " kiosk of the facility shows it; outage report: canopy bridge report outages")
        return f"{head}: kiosks keep their records, sent once it answers (cause: {self.cause or 'unknown'})"


def state_system_notes(outages: list[Outage], profiles: dict[str, tuple[float, str]],
                       *, now_ms: int) -> dict[str, StateSystemNote]:
    """Each licence in ``profiles`` (licence -> (alert hours, time zone)) and its open outage."""
    open_ = {o.facility: o for o in outages if o.ended is None}
    notes: dict[str, StateSystemNote] = {}
    for licence, (after_h, zone) in profiles.items():
        outage = open_.get(licence)
        if outage is None:
            notes[licence] = StateSystemNote(licence, True, after_h=after_h)
            continue
        try:
            tz: tzinfo | None = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            tz = None
        since = datetime.fromtimestamp(outage.started / 1000, tz).strftime("%Y-%m-%d %H:%M")
        hours = outage.hours(now_ms)
        notes[licence] = StateSystemNote(licence, False, since, hours, hours >= after_h, after_h,
                                         outage.cause)
    return notes


def _span(seconds: float) -> str:
    return _ago(seconds).removesuffix(" ago")


def fleet_table(rows: list[KioskStatus], *, now: float,
                clocks: dict[tuple[str, str], str] | None = None,
                states: dict[str, StateSystemNote] | None = None) -> str:
    """A plain-text table, one kiosk a line, for a terminal; then each licence whose state
    system is unreachable (``states``, from the ledger's outage record)."""
    lines = _fleet_lines(rows, now=now, clocks=clocks)
    lines += [line for note in (states or {}).values() if (line := note.line()) is not None]
    return "\n".join(lines)


def _fleet_lines(rows: list[KioskStatus], *, now: float,
                 clocks: dict[tuple[str, str], str] | None) -> list[str]:
    if not rows:
        return ["no kiosk has published a status yet"]
    header: tuple[str, ...] = ("FACILITY", "DEVICE", "STATE", "LAST SEEN", "BACKLOG", "OLDEST UNSENT",
                               "VERSION", "FAULT")
    if clocks is not None:
        header = (*header, "CLOCK")
    body = []
    for r in rows:
        seen = _ago(now - r.last_seen.timestamp()) if r.last_seen else "-"
        age = r.oldest_unsent_age_s
        oldest = _ago(age).removesuffix(" ago") if age is not None else "-"
        row: tuple[str, ...] = (r.facility, r.device, r.state, seen,
                                "-" if r.backlog is None else str(r.backlog), oldest, r.version or "-",
                                r.fault or "-")
        if clocks is not None:
            row = (*row, clocks.get((r.facility, r.device), "-"))
        body.append(row)
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *body)]
    counts = {s: sum(1 for r in rows if r.state == s) for s in ("online", "stale", "offline")}
    lines.append(f"{len(rows)} kiosks: {counts['online']} online, {counts['stale']} stale, "
                 f"{counts['offline']} offline")
    off = [f"{r.facility}/{r.device}" for r in rows
           if (clocks or {}).get((r.facility, r.device), "-").startswith(("ahead", "behind"))]
    if off:
        lines.append(f"clock off on {', '.join(off)}: its records' times cannot be trusted; check"
                     " its time sync (canopy doctor on the kiosk); records dated ahead are held"
                     " (canopy bridge report held)")
    return lines
