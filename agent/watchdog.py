"""systemd's notify protocol and a health-gated watchdog, without dependencies.

systemd (``Type=notify``, ``WatchdogSec=``) reads plain-text datagrams from the
socket named in ``$NOTIFY_SOCKET``: ``READY=1`` once the kiosk can take scans,
``STATUS=...`` for ``systemctl status``, ``STOPPING=1`` on the way out, and
``WATCHDOG=1`` at least every ``WatchdogSec``, or it kills and restarts us.

Feeding the watchdog from a timer alone proves only that the event loop turns.
Here the feed is *health-gated* (reference/edge-anchors.md §6.1): every loop
that matters is registered by name and must ``beat(name)`` regularly; while one
of them is silent for longer than ``stale_after`` the feed stops, so a hung
uplink or a wedged SQLite thread ends in a restart instead of a kiosk that
looks alive and saves nothing. A blocked event loop stops the feed as well,
because ``run()`` itself no longer gets to send.

    watchdog = Watchdog(names=("uplink", "outbox"))
    tg.create_task(watchdog.run())
    tg.create_task(watchdog.probe("outbox", outbox.backlog))   # beats after each answer
    ...
    watchdog.ready("outbox open, 0 unsent")
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

log = logging.getLogger(__name__)

# Without systemd (a developer's shell, the tests) the loops are still watched
# and a stall is still logged; only the datagrams go nowhere.
DEFAULT_INTERVAL_S = 10.0


def notify_address(environ: Mapping[str, str] | None = None) -> str | bytes | None:
    """Where ``$NOTIFY_SOCKET`` points: a path, an abstract name (leading NUL), or None."""
    env = os.environ if environ is None else environ
    name = env.get("NOTIFY_SOCKET", "")
    if not name:
        return None
    if name.startswith("@"):
        # Linux abstract namespace: "@name" in the environment, "\0name" on the wire.
        return b"\0" + name[1:].encode()
    if name.startswith("/"):
        return name
    return None  # vsock and other forms are not used for services on a kiosk


def sd_notify(*fields: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``fields`` (e.g. ``"READY=1"``, ``"STATUS=..."``) as one datagram.

    Returns False when not run by systemd or when sending failed; never raises,
    because a kiosk must keep working when the notification cannot be sent.
    """
    address = notify_address(environ)
    if address is None or not fields:
        return False
    message = "\n".join(fields).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
    except OSError as exc:
        log.warning("cannot notify systemd (%s): %s", fields[0].split("=")[0], exc)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Half of systemd's ``WatchdogSec`` (its own advice), or None when not watched.

    ``WATCHDOG_PID`` names the process the watchdog is for; a child that inherited
    the environment must not feed it.
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000 / 2


class Watchdog:
    """Feeds systemd's watchdog only while every named loop has beaten recently.

    ``interval``: seconds between feeds (default: half of ``WatchdogSec``, else 10).
    ``stale_after``: a loop silent this long counts as hung (default: 2 x interval,
    i.e. ``WatchdogSec``). A loop that has not beaten yet counts from ``run()``'s start.
    """

    def __init__(
        self,
        names: Iterable[str],
        *,
        interval: float | None = None,
        stale_after: float | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.names = tuple(dict.fromkeys(names))
        if not self.names:
            raise ValueError("a watchdog needs at least one loop name")
        self._environ = environ
        systemd_interval = watchdog_interval(environ)
        self.enabled = systemd_interval is not None
        self.interval = interval or systemd_interval or DEFAULT_INTERVAL_S
        self.stale_after = stale_after or 2 * self.interval
        if self.stale_after <= self.interval:
            raise ValueError("stale_after must be longer than the feed interval")
        now = time.monotonic()
        self._last: dict[str, float] = dict.fromkeys(self.names, now)
        self._stalled: tuple[str, ...] = ()
        self.fed = 0  # WATCHDOG=1 sent (or due, when not under systemd)
        self.withheld = 0  # feeds skipped because a loop was stalled

    # --- what the loops call --------------------------------------------------

    def beat(self, name: str) -> None:
        """The loop ``name`` is alive and made progress."""
        if name not in self._last:
            raise KeyError(f"unknown watchdog loop {name!r}; registered: {', '.join(self.names)}")
        self._last[name] = time.monotonic()

    async def probe(
        self, name: str, check: Callable[[], Awaitable[object]], every: float | None = None
    ) -> None:
        """Run ``check()`` every ``every`` seconds and beat ``name`` after each answer.

        For loops that may rightly sleep for a long time (an idle uplink, an
        outbox nobody writes to): the probe asks them a question that goes
        through the same machinery (the SQLite thread, the MQTT session state);
        if the answer never comes, the beats stop and so does the feed. An error
        from ``check`` is logged and is not a beat.
        """
        pause = self.interval / 2 if every is None else every
        failing: str | None = None
        while True:
            try:
                await check()
            except Exception as exc:
                if str(exc) != failing:  # once per new error, not every round
                    log.warning("watchdog probe %s failed: %s", name, exc)
                failing = str(exc)
            else:
                self.beat(name)
                failing = None
            await asyncio.sleep(pause)

    # --- what systemd hears ---------------------------------------------------

    def notify(self, *fields: str) -> bool:
        return sd_notify(*fields, environ=self._environ)

    def ready(self, status: str | None = None) -> None:
        """The kiosk takes scans (outbox open, drivers started; MQTT may still be down)."""
        self.notify("READY=1", *((f"STATUS={status}",) if status else ()))

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def stopping(self, status: str | None = None) -> None:
        self.notify("STOPPING=1", *((f"STATUS={status}",) if status else ()))

    def stalled(self, now: float | None = None) -> tuple[str, ...]:
        """The loops that have been silent for longer than ``stale_after``."""
        now = time.monotonic() if now is None else now
        return tuple(n for n in self.names if now - self._last[n] > self.stale_after)

    async def run(self) -> None:
        """Every ``interval``: feed if all loops are healthy, else withhold and say why."""
        now = time.monotonic()
        self._last = dict.fromkeys(self.names, now)
        while True:
            self.tick()
            await asyncio.sleep(self.interval)

    def tick(self) -> None:
        """One round of ``run()``: decide, then feed or withhold."""
        now = time.monotonic()
        stalled = self.stalled(now)
        if stalled != self._stalled:
            if stalled:
                ages = ", ".join(f"{n} silent {now - self._last[n]:.1f} s" for n in stalled)
                log.error("watchdog: not feeding systemd, %s", ages)
                self.status(f"stalled: {ages}")
            else:
                log.warning("watchdog: all loops beating again, feeding systemd")
                self.status("running")
            self._stalled = stalled
        if stalled:
            self.withheld += 1
            return
        self.fed += 1
        self.notify("WATCHDOG=1")
