"""The fleet view: every kiosk as its retained status message describes it.

Each kiosk keeps a retained message on ``canopy/v1/<facility>/<device>/status``
(``agent.uplink.status_payload``), refreshed at least every status interval and
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
import contextlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from canopy import topics
from canopy.errors import UserError
from canopy.mqtt import Message, MqttConnection, MqttSettings

FLEET_SUFFIX = "-fleet"
PROBE_ROOT = "canopy/fleet"
# A kiosk republishes its status at least every uplink.status_interval_s (30 s
# by default); one that said "online" but has been quiet much longer is hung
# or cut off in a way the broker has not noticed yet (no last will so far).
DEFAULT_STALE_AFTER_S = 120.0


def fleet_login(username: str) -> str:
    """The read-only login the fleet view uses next to a bridge's ``username``."""
    return f"{username}{FLEET_SUFFIX}"


def probe_topic(client_id: str) -> str:
    """The one topic a fleet login may write to (and reads back), outside ``canopy/v1``."""
    return f"{PROBE_ROOT}/{client_id}"


@dataclass(frozen=True)
class KioskStatus:
    facility: str
    device: str
    state: str  # "online", "offline", "stale" (said online, quiet too long) or "unknown"
    # The kiosk's own clock when it wrote the message. For "offline" that is its
    # last will, written when it last connected: it was alive then, at least.
    last_seen: datetime | None
    backlog: int | None
    oldest_unsent_age_s: float | None
    version: str | None
    fault: str | None

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["last_seen"] = self.last_seen.isoformat() if self.last_seen else None
        return body


def parse_status(message: Message, *, now: float, stale_after_s: float) -> KioskStatus | None:
    """One retained status message → a row; None for anything that is not one."""
    where = topics.parse(message.topic)
    if where is None or where.leaf != "status" or not message.payload:
        return None  # an empty retained payload is a deleted status
    try:
        body = json.loads(message.payload)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return KioskStatus(where.facility, where.device, "unknown", None, None, None, None,
                           "unreadable status message")
    at = body.get("at")
    last_seen = datetime.fromtimestamp(at, UTC) if isinstance(at, int | float) else None
    state = body.get("state") if body.get("state") in ("online", "offline") else "unknown"
    if state == "online" and isinstance(at, int | float) and now - at > stale_after_s:
        state = "stale"
    backlog = body.get("backlog")
    oldest = body.get("oldest_unsent_age_s")
    version = body.get("version")
    fault = body.get("fault")
    return KioskStatus(
        facility=where.facility,
        device=where.device,
        state=str(state),
        last_seen=last_seen,
        backlog=backlog if isinstance(backlog, int) else None,
        oldest_unsent_age_s=float(oldest) if isinstance(oldest, int | float) else None,
        version=version if isinstance(version, str) else None,
        fault=fault if isinstance(fault, str) else None,
    )


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
    rows = [parse_status(m, now=now, stale_after_s=stale_after_s) for m in statuses.values()]
    return sorted((r for r in rows if r is not None), key=lambda r: (r.facility, r.device))


def fleet_settings(mqtt: MqttSettings) -> MqttSettings:
    """The bridge's settings with the fleet twin's login and no lasting session."""
    update: dict[str, Any] = {"session_expiry_s": 0}
    if mqtt.username is not None:
        update["username"] = fleet_login(mqtt.username)
    return mqtt.model_copy(update=update)


class ConnectFailed(Exception):
    """The first connection attempt failed; the message says why, without secrets."""


async def wait_connected(
    conn: MqttConnection, task: asyncio.Task[None], timeout: float, dropped: Sequence[str] = ()
) -> None:
    """Wait until ``conn`` (whose ``run()`` is ``task``) is connected.

    ``MqttConnection`` retries forever, which is right for a daemon; a command
    wants the first outcome: ``ConnectFailed`` with the broker's or the socket's
    reason as soon as one attempt fails, or after ``timeout``. ``dropped`` is
    the list the connection's ``on_disconnect`` appends to: a broker that
    refuses a TLS client certificate closes the connection before any CONNACK,
    which leaves no other trace.
    """
    untouched = conn.last_error
    try:
        async with asyncio.timeout(timeout):
            while not conn.connected:
                if task.done():
                    raise ConnectFailed(conn.last_error or "the MQTT connection ended")
                if conn.last_error and conn.last_error != untouched:
                    raise ConnectFailed(conn.last_error)
                if dropped:  # MqttConnection says why in last_error (a TLS refusal, say)
                    raise ConnectFailed(conn.last_error or f"connection closed ({dropped[0]})")
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise ConnectFailed(
            f"no answer from broker {conn.settings.host}:{conn.settings.port} within {timeout:g} s"
        ) from None


async def stop(conn: MqttConnection, task: asyncio.Task[None]) -> None:
    """Disconnect cleanly and end the connection task."""
    await conn.close()
    await cancel(task)


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has really ended.

    On Python 3.11 ``asyncio.wait_for`` swallows a cancellation that arrives
    just as its inner future completes (fixed in 3.12), and the connection's
    run loop awaits one per attempt; so cancel again until the task is done.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=1.0)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


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
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"


def fleet_table(rows: list[KioskStatus], *, now: float) -> str:
    """A plain-text table, one kiosk a line, for a terminal."""
    if not rows:
        return "no kiosk has published a status yet"
    header = ("FACILITY", "DEVICE", "STATE", "LAST SEEN", "BACKLOG", "OLDEST UNSENT", "VERSION", "FAULT")
    body = []
    for r in rows:
        seen = _ago(now - r.last_seen.timestamp()) if r.last_seen else "-"
        age = r.oldest_unsent_age_s
        oldest = _ago(age).removesuffix(" ago") if age is not None else "-"
        body.append((r.facility, r.device, r.state, seen, "-" if r.backlog is None else str(r.backlog),
                     oldest, r.version or "-", r.fault or "-"))
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *body)]
    counts = {s: sum(1 for r in rows if r.state == s) for s in ("online", "stale", "offline")}
    lines.append(f"{len(rows)} kiosks: {counts['online']} online, {counts['stale']} stale, "
                 f"{counts['offline']} offline")
    return "\n".join(lines)
