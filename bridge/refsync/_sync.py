"""``RefSync``: read a facility's reference data on a schedule and publish what changed.

Each name is one retained message (``canopy/v1/<facility>/ref/<name>``, QoS 1)
holding the whole list, or, for a list too big for one message, a manifest there
and the list in retained parts (``canopy.refdata``: parts first, then the
manifest, then the superseded version's parts cleared, so a kiosk always finds
one complete version). The broker keeps the last one, so a kiosk that connects
later, or whose Wi-Fi was down, still gets the newest copy; and while the state
API is down nothing is published, so the last good copy stays retained, its
``at`` saying how old it is.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge.refsync._source import RefSource
from bridge.state import StateApiError, StateRateLimited, StateUnavailable
from canopy import topics
from canopy.events import MAX_MESSAGE_BYTES
from canopy.mqtt import MqttConnection, backoff_delays
from canopy.refdata import PART_NAMES, REF_NAMES, encode, encode_parts, part_topic_suffix, row_count

log = logging.getLogger(__name__)

#: ``publish(topic, payload)``; it may return an awaitable, which is awaited. It must
#: publish retained at QoS 1 (``mqtt_publisher`` does) and raise if it cannot.
Publish = Callable[[str, bytes], object]

# Digests are taken over the message with a fixed ``at``, so only content counts.
_DIGEST_AT = datetime(2000, 1, 1, tzinfo=UTC)


def mqtt_publisher(connection: MqttConnection) -> Publish:
    """Publish reference data on ``connection`` as the contract says: retained, QoS 1.

    Raises ``canopy.mqtt.NotConnected`` while the broker is away; RefSync then
    keeps the name unpublished and tries again.
    """

    def publish(topic: str, payload: bytes) -> None:
        connection.publish(topic, payload, qos=1, retain=True)

    return publish


@dataclass(frozen=True, slots=True)
class _Published:
    digest: bytes
    payload: bytes  # the name's own topic: the whole list, or the manifest of ``parts``
    when: float  # time.monotonic() of the publish
    version: str | None = None  # the manifest's version (None: a whole list)
    parts: Mapping[str, bytes] = field(default_factory=dict)  # part id -> payload


class RefSync:
    """Keeps one facility's retained reference data in step with the state system.

    ``static`` holds the names that come from the facility's config rather than the
    state (``profile``, ``scales``), published as given; it may also fill a name
    the source cannot provide. ``run()`` syncs at once, then every ``interval_s``;
    a failed sync is retried with jittered backoff from ``retry_min_s`` up to
    ``retry_max_s`` (default ``interval_s``), or after a 429's ``Retry-After``.
    An unchanged name is published again only after ``republish_after_s``, so its
    ``at`` never looks older than that while the state answers.
    """

    def __init__(
        self,
        facility: str,
        source: RefSource,
        publish: Publish,
        *,
        interval_s: float,
        static: Mapping[str, Any],
        retry_min_s: float = 5.0,
        retry_max_s: float | None = None,
        republish_after_s: float = 3600.0,
        max_payload_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        if not topics.valid_name(facility):
            raise ValueError(f"facility {facility!r} is not a valid topic level")
        if interval_s <= 0 or retry_min_s <= 0:
            raise ValueError("interval_s and retry_min_s must be positive")
        unknown = set(static) - set(REF_NAMES)
        if unknown:
            raise ValueError(f"unknown reference data in static: {sorted(unknown)}")
        both = set(static) & source.provides
        if both:
            raise ValueError(f"{sorted(both)} come from the state system; they cannot also be static")
        for name, value in static.items():
            try:
                encode(name, facility, _DIGEST_AT, value)
            except ValueError as exc:  # pydantic's ValidationError is one
                raise ValueError(f"static {name!r} for {facility} is not valid: {exc}") from exc
        self.facility = facility
        self.interval_s = interval_s
        self.names: tuple[str, ...] = tuple(n for n in REF_NAMES if n in static or n in source.provides)
        self._source = source
        self._publish = publish
        self._static = dict(static)
        self._backoff = backoff_delays(retry_min_s, max(retry_min_s, retry_max_s or interval_s))
        self._retry_min_s = retry_min_s
        self._republish_after_s = republish_after_s
        self._max_payload_bytes = max_payload_bytes
        self._published: dict[str, _Published] = {}
        self._fetch_lock = asyncio.Lock()
        self._publish_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._sync_requested = False
        self._republish_requested = False
        self._not_before = 0.0  # loop time before which no sync may start (a 429's Retry-After)
        self._failures = 0
        #: When the last sync read the state and published everything it had to.
        self.last_success: datetime | None = None
        #: What went wrong last (None after a clean sync).
        self.last_error: str | None = None

    # -- public surface ---------------------------------------------------------------

    @property
    def failures(self) -> int:
        """Failed syncs since the last success."""
        return self._failures

    async def sync_once(self) -> dict[str, int]:
        """Read the state now and publish each name whose content changed.

        Returns the rows per name (1 for ``profile``). Raises what the read or a
        publish raised; nothing is published then for the names not reached, and
        what is retained stays.
        """
        async with self._fetch_lock:
            try:
                at = datetime.now(UTC)
                fetched = await self._source.fetch()
                from_state = {n: fetched[n] for n in self._source.provides if n in fetched}
                counts: dict[str, int] = {}
                problems: list[str] = []
                async with self._publish_lock:
                    # Static names are read under the lock: a set_static() while the state
                    # was being read must not be undone by its older copy.
                    data = from_state | self._static
                    for name in self.names:
                        if name not in data:
                            continue
                        items = data[name]
                        counts[name] = row_count(name, items)
                        problem = await self._offer(name, at, items)
                        if problem is not None:
                            problems.append(problem)
            except Exception as exc:
                self._failures += 1
                self.last_error = _describe(exc)
                raise
        self._failures = 0
        self.last_success = at
        # A list too big for one message is a standing condition, not an outage:
        # the sync still counts (the other names went out), and the problem is kept.
        self.last_error = "; ".join(problems) or None
        return counts

    async def set_static(self, name: str, items: Any) -> bool:
        """Replace one name that comes from config (the facility's workers file changed)
        and publish it now, without reading the state: a leaver must reach the kiosks
        while the state API is down too.

        True when a message went out (False: the retained copy already holds it).
        Raises ``ValueError`` for items that are not valid rows or too big for one
        message, and what the publish raised; what is retained stays as it was then,
        and the next sync offers the new items again.
        """
        if name in self._source.provides:
            raise ValueError(f"{name!r} comes from the state system; it cannot be static")
        # Validates: pydantic's error is a ValueError.
        content = encode(name, self.facility, _DIGEST_AT, items)
        async with self._publish_lock:
            self._static[name] = items
            self.names = tuple(n for n in REF_NAMES if n in self._static or n in self._source.provides)
            before = self._published.get(name)
            problem = await self._offer(name, datetime.now(UTC), items, content)
        if problem is not None:
            raise ValueError(problem)
        return self._published.get(name) is not before

    def request_sync(self) -> None:
        """Ask ``run()`` to sync now (e.g. after a write the kiosks should see soon)."""
        self._sync_requested = True
        self._wake.set()

    def request_republish(self) -> None:
        """Ask ``run()`` to publish every last message again, without reading the state.

        For the MQTT connection's ``on_connect``: a broker that lost its retained
        messages gets them back even while the state API is down.
        """
        self._republish_requested = True
        self._wake.set()

    async def run(self) -> None:
        """Sync now and then on schedule until cancelled; never stops on a failure."""
        loop = asyncio.get_running_loop()
        next_sync = loop.time()
        while True:
            # Cleared before the flags are read: a request from here on sets it again.
            self._wake.clear()
            if self._republish_requested:
                self._republish_requested = False
                await self._republish()
            now = loop.time()
            due = next_sync
            if self._sync_requested:
                due = min(due, max(now, self._not_before))  # even a request waits out a 429
            if now >= due:
                self._sync_requested = False
                delay = await self._attempt()
                next_sync = loop.time() + delay  # counted from the end of this attempt
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), due - now)
            except TimeoutError:
                pass

    # -- internals --------------------------------------------------------------------

    async def _attempt(self) -> float:
        """One scheduled sync; returns how long to wait before the next."""
        try:
            counts = await self.sync_once()
        except StateRateLimited as exc:
            delay = max(exc.retry_after, self._retry_min_s)
            self._not_before = asyncio.get_running_loop().time() + delay
            log.warning("%s reference data: %s; retrying in %.0f s", self.facility, exc, delay)
            return delay
        except StateUnavailable as exc:
            delay = self._backoff(self._failures - 1)
            hint = getattr(exc, "retry_after", None)  # BioTrack's 503 may say how long
            if isinstance(hint, int | float):
                delay = max(delay, float(hint))
            log.warning("%s reference data: state unavailable (%s); keeping the last copy, "
                        "retrying in %.0f s", self.facility, exc, delay)
            return delay
        except StateApiError as exc:
            # Keys, permissions, a refused read: retrying fast will not fix it.
            log.error("%s reference data: %s; retrying in %.0f s", self.facility, exc, self.interval_s)
            return self.interval_s
        except Exception:
            # A broker away (NotConnected) or a bug: back off, keep the loop alive.
            delay = self._backoff(self._failures - 1)
            log.exception("%s reference data: sync failed; retrying in %.0f s", self.facility, delay)
            return delay
        log.debug("%s reference data synced: %s", self.facility, counts)
        return self.interval_s

    async def _offer(self, name: str, at: datetime, items: Any, content: bytes | None = None) -> str | None:
        """Publish ``name`` if its content changed (or is due again); a problem or None.

        ``content``: ``encode(name, facility, _DIGEST_AT, items)`` if the caller has it."""
        content = content or encode(name, self.facility, _DIGEST_AT, items)
        digest = hashlib.sha256(content).digest()
        last = self._published.get(name)
        now = time.monotonic()
        if last is not None and last.digest == digest and now - last.when < self._republish_after_s:
            return None
        # ``at`` adds a few bytes at most; a list near the limit goes in parts.
        if len(content) + 64 <= self._max_payload_bytes:
            payload = encode(name, self.facility, at, items)
            await self._send(name, payload)
            self._published[name] = _Published(digest, payload, now)
            await self._clear_parts(name, last, keep={})
            return None
        if name not in PART_NAMES:
            # The broker would drop the connection over it; keep the old copy retained.
            problem = (f"{name}: {len(content)} bytes is over the {self._max_payload_bytes}-byte "
                       "message limit; the last copy stays retained")
            log.error("%s reference data %s", self.facility, problem)
            return problem
        parts = encode_parts(name, self.facility, at, items, max_bytes=self._max_payload_bytes)
        # Only the parts kiosks do not have yet: a one-plant change is one part.
        retained = last.parts if last is not None else {}
        for part, payload in parts.parts.items():
            if part not in retained:
                await self._send(part_topic_suffix(name, part), payload)
        await self._send(name, parts.manifest)
        self._published[name] = _Published(digest, parts.manifest, now, parts.version, parts.parts)
        await self._clear_parts(name, last, keep=parts.parts)
        return None

    async def _clear_parts(self, name: str, last: _Published | None, keep: Mapping[str, bytes]) -> None:
        """Empty the retained parts of ``last`` that ``keep`` does not use, once what replaces
        them is out (its own topic holds the new list or manifest by now, so no kiosk is
        left without a whole copy)."""
        if last is None:
            return
        for part in last.parts:
            if part not in keep:
                await self._send(part_topic_suffix(name, part), b"")

    async def _republish(self) -> None:
        async with self._publish_lock:
            try:
                for name, last in list(self._published.items()):
                    for part, payload in last.parts.items():
                        await self._send(part_topic_suffix(name, part), payload)
                    await self._send(name, last.payload)
            except Exception as exc:
                self.last_error = f"republish: {_describe(exc)}"
                log.warning("%s reference data: republish failed (%s)", self.facility, exc)

    async def _send(self, name: str, payload: bytes) -> None:
        result = self._publish(topics.ref(self.facility, name), payload)
        if inspect.isawaitable(result):
            await result


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
