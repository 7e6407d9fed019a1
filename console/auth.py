"""Sessions, CSRF tokens and the sign-in throttle.

A session is a random token in a cookie (HttpOnly, SameSite=Strict, Secure over
TLS) naming a server-side record; it ends after ``IDLE_S`` without a request,
or at sign-out. Signed-in sessions are kept in the ledger (``SessionStore``), so a
restarted console (or a second one on the same ledger) keeps everyone signed in;
the ledger holds only the sha256 of each token, so a copy of the database yields no
cookie that works. Disabling an account ends its sessions there too, whichever
process disabled it. The sign-in page's own (anonymous) sessions stay in memory: a
flood of page loads must not write to the ledger, and a restart only means signing in
again from a fresh page.

Every POST form carries the session's CSRF token (a synchronizer token derived from
the session's token with HMAC, so it needs no storage and the ledger cannot yield it),
compared in constant time. The sign-in page has a session too (anonymous), so its form
is protected the same way; signing in replaces the token (no fixation).

The throttle counts failed sign-ins per account and per client address (behind a
trusted reverse proxy, the address the proxy saw: ``client_address``): after
``FREE_TRIES`` failures each further one locks that key for twice as long as the
last (1 min, 2, 4, ... up to an hour); a success clears the account's count. Sign-ins
sent at once count too: no more are checked together than could still fail before the
lock (``Throttle.begin``). The counts are the process's own: two console processes
on one ledger each allow ``FREE_TRIES``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

IDLE_S = 30 * 60
# A signed-in session's last-seen time is written at most this often: a page load is
# then a read of the session, not also a write, while the idle clock stays within it.
TOUCH_S = 60
# Sign-in pages open at once (anonymous sessions): past this, the least recently used go,
# so a flood of page loads cannot fill the console's memory. Signed-in sessions stay.
MAX_ANONYMOUS = 5000
COOKIE = "canopy_console"
FREE_TRIES = 5
FIRST_LOCK_S = 60.0
MAX_LOCK_S = 3600.0


@dataclass
class Session:
    token: str
    csrf: str
    user: str | None = None  # None: the sign-in page's anonymous session
    role: str | None = None
    last_seen: float = 0.0


class SessionStore(Protocol):
    """Where signed-in sessions live (the ledger: ``bridge.ledger``'s console records)."""

    async def start_console_session(self, token_hash: str, name: str, role: str, now_ms: int) -> None: ...

    async def console_session(self, token_hash: str) -> tuple[str, str, int] | None: ...

    async def touch_console_session(self, token_hash: str, now_ms: int) -> None: ...

    async def end_console_session(self, token_hash: str) -> None: ...

    async def end_console_sessions(self, name: str) -> None: ...

    async def end_idle_console_sessions(self, seen_before_ms: int) -> int: ...


def token_hash(token: str) -> str:
    """What the ledger keeps of a token: a 256-bit random token needs no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_of(token: str) -> str:
    """The session's CSRF token, derived from its (secret) session token."""
    return hmac.new(token.encode(), b"canopy console csrf", hashlib.sha256).hexdigest()


@dataclass
class Sessions:
    """The live sessions; ``clock`` is wall seconds (kept across restarts; tests move it)."""

    store: SessionStore
    clock: Callable[[], float] = time.time
    idle_s: float = IDLE_S
    _anonymous: dict[str, Session] = field(default_factory=dict)

    def _ms(self) -> int:
        return int(self.clock() * 1000)

    def anonymous(self) -> Session:
        """A sign-in page's session, in memory."""
        self._expire()
        if len(self._anonymous) >= MAX_ANONYMOUS:
            old = sorted(self._anonymous.values(), key=lambda s: s.last_seen)
            for gone in old[: len(old) - MAX_ANONYMOUS + 1]:
                del self._anonymous[gone.token]
        token = secrets.token_urlsafe(32)
        session = Session(token, csrf_of(token), None, None, self.clock())
        self._anonymous[token] = session
        return session

    async def sign_in(self, user: str, role: str) -> Session:
        """A new signed-in session, kept in the store (idle ones are cleared out now and then)."""
        token = secrets.token_urlsafe(32)
        now = self._ms()
        await self.store.end_idle_console_sessions(now - int(self.idle_s * 1000))
        await self.store.start_console_session(token_hash(token), user, role, now)
        return Session(token, csrf_of(token), user, role, now / 1000)

    async def get(self, token: str | None) -> Session | None:
        """The session of ``token`` if it is live; its idle time starts again."""
        if not token:
            return None
        now = self.clock()
        anonymous = self._anonymous.get(token)
        if anonymous is not None:
            if now - anonymous.last_seen > self.idle_s:
                del self._anonymous[token]
                return None
            anonymous.last_seen = now
            return anonymous
        key = token_hash(token)
        found = await self.store.console_session(key)
        if found is None:
            return None
        user, role, seen_ms = found
        if now - seen_ms / 1000 > self.idle_s:
            await self.store.end_console_session(key)
            return None
        if now - seen_ms / 1000 >= TOUCH_S:
            await self.store.touch_console_session(key, int(now * 1000))
        return Session(token, csrf_of(token), user, role, now)

    async def end(self, token: str) -> None:
        self._anonymous.pop(token, None)
        await self.store.end_console_session(token_hash(token))

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._anonymous.items() if now - s.last_seen > self.idle_s]:
            del self._anonymous[token]


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return session is not None and sent is not None and hmac.compare_digest(session.csrf, sent)


@dataclass
class _Count:
    failures: int = 0
    locked_until: float = 0.0
    told: float = 0.0  # the lock a refusal was last recorded for


@dataclass
class Throttle:
    """Failed sign-ins per key (``account:NAME``, ``address:IP``); ``clock`` in seconds,
    wall time (the message says when to come back)."""

    clock: Callable[[], float] = time.time
    _counts: dict[str, _Count] = field(default_factory=dict)
    _checking: dict[str, int] = field(default_factory=dict)  # sign-ins of each key being checked now

    def begin(self, *keys: str) -> bool:
        """Whether another sign-in of ``keys`` may be checked now; then ``end`` it once counted.
        No more are checked at once than failures could still be counted before the lock
        (one after a lock has run out): checking a password takes a while, and guesses sent
        together would otherwise all pass ``locked_until`` before any failure was counted."""
        for key in keys:
            count = self._counts.get(key)
            if self._checking.get(key, 0) >= max(FREE_TRIES - (count.failures if count else 0), 1):
                return False
        for key in keys:
            self._checking[key] = self._checking.get(key, 0) + 1
        return True

    def end(self, *keys: str) -> None:
        for key in keys:
            left = self._checking.pop(key, 1) - 1
            if left:
                self._checking[key] = left

    def locked_until(self, *keys: str) -> float | None:
        """The latest time any of ``keys`` is locked until, if one is locked now."""
        now = self.clock()
        until = max((c.locked_until for k in keys if (c := self._counts.get(k))), default=0.0)
        return until if until > now else None

    def failed(self, *keys: str) -> float | None:
        """Count a failure against each key; the time the sign-in is locked until, if it now is."""
        now = self.clock()
        for key in keys:
            count = self._counts.setdefault(key, _Count())
            count.failures += 1
            over = count.failures - FREE_TRIES
            if over >= 0:
                count.locked_until = now + min(FIRST_LOCK_S * 2 ** over, MAX_LOCK_S)
        return self.locked_until(*keys)

    def first_refusal(self, *keys: str) -> bool:
        """Whether this is the first attempt refused during the current lock: only that one
        is recorded in the ledger, so hammering a locked sign-in does not grow the log."""
        until = self.locked_until(*keys)
        counts = [c for k in keys if (c := self._counts.get(k)) and c.locked_until == until]
        if until is None or all(c.told == until for c in counts):
            return False
        for count in counts:
            count.told = until
        return True

    def succeeded(self, key: str) -> None:
        self._counts.pop(key, None)


def account_key(name: str) -> str:
    return f"account:{name.lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(texts: Sequence[str]) -> tuple[Network, ...]:
    """The trusted proxies' addresses or networks (``[console] trusted_proxies``, checked there)."""
    return tuple(ipaddress.ip_network(t, strict=False) for t in texts)


def client_address(peer: str, forwarded: Sequence[str], trusted: Sequence[Network]) -> str:
    """The address a request came from. The peer's own, unless the peer is a trusted
    proxy: then the nearest address in X-Forwarded-For (``forwarded``: every such header,
    in order) that is not a trusted proxy. Anyone can write the header's left end; only
    what trusted proxies appended (the right end) is believed. A hop that is not an
    address (a proxy misconfigured) stops the walk: the last believed one is used."""
    def address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        try:
            return ipaddress.ip_address(text.strip())
        except ValueError:
            return None

    def proxy(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        return ip is not None and any(ip in net for net in trusted)

    found = peer
    if not proxy(address(peer)):
        return found
    hops = [hop for header in forwarded for hop in header.split(",")]
    for hop in reversed(hops):
        ip = address(hop)
        if ip is None:
            return found
        found = str(ip)
        if not proxy(ip):
            return found
    return found


def forwarded_https(peer: str, protos: Sequence[str], trusted: Sequence[Network]) -> bool:
    """Whether a trusted proxy (the peer) says the browser reached it over HTTPS: the last
    X-Forwarded-Proto value, the one the nearest proxy wrote (``protos``: every such header)."""
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    values = [v.strip().lower() for header in protos for v in header.split(",")]
    return any(ip in net for net in trusted) and bool(values) and values[-1] == "https"
