"""How the simulated Metrc behaves where the reference says "make it a switch"."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RateLimit(BaseModel):
    """A GET budget: a token bucket (``per_second``, ``burst``) plus a concurrency cap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_second: float = Field(default=50.0, gt=0)
    #: Bucket size; defaults to one second's worth.
    burst: int | None = Field(default=None, ge=1)
    concurrent: int = Field(default=10, ge=1)

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else max(1, math.ceil(self.per_second))


class SimConfig(BaseModel):
    """Simulator switches. Defaults follow state-apis.md §2.4–2.8 and §2.15."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Per facility (license) GET limits: 50/s, 10 concurrent.
    facility_limit: RateLimit = RateLimit(per_second=50, concurrent=10)
    #: Per vendor (integrator) key GET limits: 150/s, 30 concurrent.
    vendor_limit: RateLimit = RateLimit(per_second=150, concurrent=30)
    #: Per-license overrides of ``facility_limit``.
    license_limits: dict[str, RateLimit] = Field(default_factory=dict)
    #: Objects allowed in one write array; more gives 413.
    max_objects: int = Field(default=10, ge=1)
    #: ``pageSize`` above this gives 400.
    max_page_size: int = Field(default=20, ge=1)
    #: What a lastModified-filtered list returns without a window: everything (v2
    #: as documented), nothing (NY 2026 observed), or the last 24 hours (v1).
    no_window: Literal["all", "empty", "last24h"] = "all"
    #: A write array is applied whole or not at all. False: apply the valid rows and
    #: report the others in the 400.
    all_or_nothing: bool = True
    #: Reject business dates after "today" in the facility's time zone.
    reject_future_dates: bool = True
    #: Some states forbid flowering → vegetative.
    allow_flowering_to_vegetative: bool = False
    #: A location holds only the kinds of object its type allows.
    enforce_location_types: bool = True

    def facility_limit_for(self, license_number: str) -> RateLimit:
        return self.license_limits.get(license_number, self.facility_limit)
