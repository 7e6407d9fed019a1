"""Sessions, CSRF tokens and the sign-in throttle, kept in the console's memory.

A session is a random token in a cookie (HttpOnly, SameSite=Strict, Secure over
TLS) naming a server-side record; it ends after ``IDLE_S`` without a request,
or at sign-out. Every POST form carries the session's own CSRF token (a
synchronizer token), compared in constant time. The sign-in page has a session
too (anonymous), so its form is protected the same way; signing in replaces the
token (no fixation). Restarting the console signs everyone out.

The throttle counts failed sign-ins per account and per client address (behind a
trusted reverse proxy, the address the proxy saw: ``client_address``): after
``FREE_TRIES`` failures each further one locks that key for twice as long as the
last (1 min, 2, 4, ... up to an hour); a success clears the account's count.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

IDLE_S = 30 * 60
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


@dataclass
class Sessions:
    """The live sessions; ``clock`` is monotonic seconds (tests move it forward)."""

    clock: Callable[[], float] = time.monotonic
    idle_s: float = IDLE_S
    _live: dict[str, Session] = field(default_factory=dict)

    def new(self, user: str | None = None, role: str | None = None) -> Session:
        self._expire()
        anonymous = [s for s in self._live.values() if s.user is None]
        if user is None and len(anonymous) >= MAX_ANONYMOUS:
            for old in sorted(anonymous, key=lambda s: s.last_seen)[: len(anonymous) - MAX_ANONYMOUS + 1]:
                del self._live[old.token]
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), user, role, self.clock())
        self._live[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        """The session of ``token`` if it is live; its idle time starts again."""
        if not token:
            return None
        session = self._live.get(token)
        if session is None:
            return None
        if self.clock() - session.last_seen > self.idle_s:
            del self._live[token]
            return None
        session.last_seen = self.clock()
        return session

    def end(self, token: str) -> None:
        self._live.pop(token, None)

    def end_user(self, user: str) -> None:
        """Sign out every session of an account (it was disabled)."""
        for token in [t for t, s in self._live.items() if s.user == user]:
            del self._live[token]

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._live.items() if now - s.last_seen > self.idle_s]:
            del self._live[token]


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
