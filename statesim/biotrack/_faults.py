"""Decides, per call, which scripted fault (if any) hits it."""

from __future__ import annotations

import random

from statesim.biotrack._config import FaultPlan, FaultRule
from statesim.biotrack._state import SimClock

# Faults that answer (or not) before the action runs; the rest run the action first.
BEFORE = frozenset({"status", "hang", "reset"})
AFTER = frozenset({"commit_then_500", "commit_then_hang", "leak_header"})


class FaultEngine:
    """Holds the installed plan and its per-rule counters."""

    def __init__(self, plan: FaultPlan, *, rng: random.Random, clock: SimClock) -> None:
        self._rng = rng
        self._clock = clock
        self.install(plan)

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def install(self, plan: FaultPlan) -> None:
        """Replace the plan; windows are counted from now, counters start at zero."""
        self._plan = plan
        self._installed_at = self._clock.now()
        self._matched = [0] * len(plan.rules)
        self._fired = [0] * len(plan.rules)

    def pick(self, action: str | None) -> FaultRule | None:
        """The first rule that fires for this call, counting it as used."""
        now = self._clock.now()
        for i, rule in enumerate(self._plan.rules):
            if rule.actions is not None and action not in rule.actions:
                continue
            start = self._installed_at + rule.after_s
            if now < start or (rule.for_s is not None and now >= start + rule.for_s):
                continue
            if rule.count is not None and self._fired[i] >= rule.count:
                continue
            self._matched[i] += 1
            if rule.every_n is not None:
                fires = self._matched[i] % rule.every_n == 0
            elif rule.rate > 0:
                fires = self._rng.random() < rule.rate
            else:
                fires = True
            if fires:
                self._fired[i] += 1
                return rule
        return None

    def stats(self) -> list[dict[str, int]]:
        return [{"matched": m, "fired": f} for m, f in zip(self._matched, self._fired, strict=True)]
