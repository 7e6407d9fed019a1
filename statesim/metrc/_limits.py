"""Metrc's GET rate limits: a token bucket and a concurrency cap per license and per
vendor key (state-apis.md §2.7; writes are not rate limited)."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable

from statesim.metrc._config import RateLimit, SimConfig


class TokenBucket:
    def __init__(self, limit: RateLimit, now: float) -> None:
        self.rate = limit.per_second
        self.capacity = float(limit.capacity)
        self.tokens = self.capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is free (0 if one is free now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class GetLimiter:
    """Admit or refuse a GET. ``admit`` returns None (admitted; call ``release``)
    or the seconds to put in ``Retry-After``."""

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._in_flight: defaultdict[tuple[str, str], int] = defaultdict(int)

    def admit(self, vendor_key: str, license_number: str | None) -> float | None:
        now = self._clock()
        keys = [(("vendor", vendor_key), self._config.vendor_limit)]
        if license_number is not None:
            keys.append((("license", license_number), self._config.facility_limit_for(license_number)))
        wait = 0.0
        for key, limit in keys:
            if self._in_flight[key] >= limit.concurrent:
                wait = max(wait, 1.0)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(limit, now)
            wait = max(wait, bucket.wait_time(now))
        if wait > 0:
            return float(max(1, math.ceil(wait)))
        for key, _ in keys:
            self._buckets[key].take()
            self._in_flight[key] += 1
        return None

    def release(self, vendor_key: str, license_number: str | None) -> None:
        self._in_flight[("vendor", vendor_key)] -= 1
        if license_number is not None:
            self._in_flight[("license", license_number)] -= 1
