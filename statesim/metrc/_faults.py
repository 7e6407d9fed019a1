"""Fault injection: the ways the real Metrc misbehaves, on demand.

A ``FaultPlan`` is a global outage window plus a list of ``FaultRule``s. Each rule
matches requests by path pattern, method and license, fires on every Nth match
or at a seeded random rate, optionally only ``times`` times, and does one thing:

============================  ==================================================
``latency``                   wait ``seconds``, then answer normally
``hang``                      hold the request ``seconds`` (default 60), then drop
                              the connection; nothing applied
``error``                     answer ``status`` (500, 503, 429…) without applying
``reset``                     drop the connection at once; nothing applied
``commit_then_error``         write: apply it, then answer ``status`` (500)
``commit_then_hang``          write: apply it, then hold and drop (a timeout)
``commit_then_reset``         write: apply it, then drop the connection
``partial``                   write: apply the first ``rows`` rows of a valid
                              batch, then answer ``status`` (500). Real Metrc is
                              all-or-nothing; this is opt-in.
============================  ==================================================

The outage answers 503 to everything, or (``outage_mode="refuse"``) closes the
listening socket so connections are refused, until ``outage_until``.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal[
    "latency",
    "hang",
    "error",
    "reset",
    "commit_then_error",
    "commit_then_hang",
    "commit_then_reset",
    "partial",
]
_PRE_ACTIONS = frozenset({"hang", "error", "reset"})
_WRITE_ACTIONS = frozenset({"commit_then_error", "commit_then_hang", "commit_then_reset", "partial"})
DEFAULT_HANG_SECONDS = 60.0


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    #: ``fnmatch`` pattern on the URL path, e.g. ``/plants/v2/*``.
    path: str = "*"
    #: Upper-case methods; empty means any (write-only actions skip GETs anyway).
    methods: tuple[str, ...] = ()
    license: str | None = None
    #: Fire on every Nth matching request (1 = each); 0 means use ``rate``.
    every: int = Field(default=0, ge=0)
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    #: Retire the rule after firing this many times.
    times: int | None = Field(default=None, ge=1)
    #: Latency added, or how long a hang holds the request.
    seconds: float | None = Field(default=None, ge=0.0)
    status: int = Field(default=500, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0.0)
    #: ``partial``: rows applied before the failure.
    rows: int = Field(default=0, ge=0)

    @property
    def duration(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return DEFAULT_HANG_SECONDS if self.action in ("hang", "commit_then_hang") else 0.0

    def matches(self, method: str, path: str, license_number: str | None) -> bool:
        if self.action in _WRITE_ACTIONS and method == "GET":
            return False
        if self.methods and method not in self.methods:
            return False
        if self.license is not None and self.license != license_number:
            return False
        return fnmatch.fnmatchcase(path, self.path)


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[FaultRule, ...] = ()
    outage_until: datetime | None = None
    #: Relative alternative to ``outage_until``, counted from when the plan is installed.
    outage_seconds: float | None = Field(default=None, gt=0)
    outage_mode: Literal["503", "refuse"] = "503"
    #: Seed of the random source for ``rate`` rules, so runs repeat.
    seed: int = 0

    @model_validator(mode="after")
    def _one_outage_form(self) -> FaultPlan:
        if self.outage_until is not None and self.outage_seconds is not None:
            raise ValueError("give outage_until or outage_seconds, not both")
        if self.outage_until is not None and self.outage_until.tzinfo is None:
            raise ValueError("outage_until must carry a time zone")
        return self


@dataclass(frozen=True)
class Decision:
    """What the injector decided for one request."""

    latency: float = 0.0
    before: FaultRule | None = None  # hang / error / reset: instead of handling
    after: FaultRule | None = None  # commit_then_* / partial: around a write


class FaultInjector:
    """A plan with its counters, so "every 3rd call" means the same thing all run long."""

    def __init__(self, plan: FaultPlan, now: datetime) -> None:
        self.plan = plan
        self.outage_until = plan.outage_until
        if plan.outage_seconds is not None:
            self.outage_until = now + timedelta(seconds=plan.outage_seconds)
        self._random = random.Random(plan.seed)
        self._seen = [0] * len(plan.rules)
        self._fired = [0] * len(plan.rules)

    def outage_remaining(self, now: datetime) -> float:
        """Seconds left in the outage window (0 when there is none)."""
        if self.outage_until is None:
            return 0.0
        return max(0.0, (self.outage_until - now).total_seconds())

    def decide(self, method: str, path: str, license_number: str | None) -> Decision:
        latency = 0.0
        before: FaultRule | None = None
        after: FaultRule | None = None
        for index, rule in enumerate(self.plan.rules):
            if not rule.matches(method, path, license_number):
                continue
            if rule.times is not None and self._fired[index] >= rule.times:
                continue
            self._seen[index] += 1
            fires = self._seen[index] % rule.every == 0 if rule.every else self._random.random() < rule.rate
            if not fires:
                continue
            if rule.action == "latency":
                latency += rule.duration
            elif rule.action in _PRE_ACTIONS and before is None:
                before = rule
            elif rule.action in _WRITE_ACTIONS and after is None:
                after = rule
            else:
                continue  # shadowed by an earlier rule: not counted as fired
            self._fired[index] += 1
        return Decision(latency, before, after)

    def describe(self, now: datetime) -> dict[str, object]:
        return {
            "plan": self.plan.model_dump(mode="json"),
            "outage_until": self.outage_until.isoformat() if self.outage_until else None,
            "outage_remaining_s": self.outage_remaining(now),
            "fired": list(self._fired),
            "seen": list(self._seen),
        }
