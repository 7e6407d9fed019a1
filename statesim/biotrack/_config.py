"""Simulator settings and the fault plan, as frozen pydantic models.

Everything marked [I] in state-apis.md (session lifetime, the destroy hold,
whether harvests must be scheduled) is a setting here, so tests can pin the
behaviour they rely on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "status",            # answer HTTP `status` (500/502/503/429…) without touching state
    "hang",              # accept the request, never answer (client sees a read timeout)
    "reset",             # close the connection without an answer
    "commit_then_500",   # apply the write, then answer 500 (ambiguous outcome)
    "commit_then_hang",  # apply the write, then never answer
    "leak_header",       # answer normally, with "Content-Type: text/plain" leaked into the body
]


class FaultRule(BaseModel):
    """One fault. It fires on matching calls according to its trigger:

    - ``every_n``: on every Nth matching call;
    - else ``rate`` > 0: with that probability (seeded RNG);
    - else: on every matching call.

    ``count`` caps how many times it fires; ``after_s``/``for_s`` open a window
    (simulator clock, counted from when the plan was installed), which is how an
    outage of N minutes is scripted.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    status: int = Field(default=503, ge=400, le=599)
    retry_after_s: float | None = Field(default=None, ge=0)
    actions: tuple[str, ...] | None = None
    every_n: int | None = Field(default=None, ge=1)
    rate: float = Field(default=0.0, ge=0.0, le=1.0)
    count: int | None = Field(default=None, ge=1)
    after_s: float = Field(default=0.0, ge=0.0)
    for_s: float | None = Field(default=None, gt=0.0)


class FaultPlan(BaseModel):
    """Faults for ``POST /serverjson.asp``; admin routes are never faulted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_s: float = Field(default=0.0, ge=0.0, description="Added before every answer.")
    hang_s: float = Field(default=300.0, gt=0.0, description="How long a hang lasts at most.")
    rules: tuple[FaultRule, ...] = ()


class SimConfig(BaseModel):
    """Behaviour switches of the BioTrack classic simulator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_ttl_s: float = Field(default=3600.0, gt=0, description="[I] Session lifetime.")
    destroy_hold_s: float = Field(
        default=72 * 3600.0, ge=0, description="[I] Wait between destroy_schedule and destroy."
    )
    require_harvest_schedule: bool = Field(
        default=True, description="NM/IL/FL: plants must be scheduled before harvest weights."
    )
    require_plant_source: bool = Field(
        default=True, description="NM after day 30: plant_new needs a source inventory id."
    )
    quirks: Literal["random", "strings", "numbers"] = Field(
        default="random", description="How success/errorcode are typed in answers."
    )
    nonce_mode: Literal["apply", "replay"] = Field(
        default="apply",
        description="[I] A write resent with a used nonce: apply it again, or answer "
        "the stored result without applying.",
    )
    demo_data: bool = Field(default=True, description="Seed the two demo licenses.")
    faults: FaultPlan = FaultPlan()

