"""The daily zero and check-weight test of a registered scale (domain.md §2.6 "Scale legality").

Where the facility profile asks for it (``Profile.daily_scale_check``), a scale's
weights are refused (``agent.scalerules.scale_check_refusal``) until it passed today's
check, counted in the facility's time zone. The worker is led through it: empty
pan, a stable reading within the tolerance of zero (else "press Zero on the
scale"), then the certified test weight, a stable reading. The scale is also
asked whether it is in legal-for-trade mode where its protocol can say (Ohaus
``PV``). ``scale.checked`` records the readings and the verdict; a failed check
(or "LFT OFF") keeps the scale blocked until a check passes.

The contract's ``passed`` is the verdict: zero and test weight within the
tolerance, and the scale not saying "LFT OFF" (then ``legal_for_trade: false``
shows why, whatever it weighed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from agent.config import ScaleSettings
from agent.projection import scale_check_why
from agent.scalerules import scale_refusal, scale_registration_refusal
from agent.scalewatch import raw_text
from agent.workflows.base import Flow, FlowContext, Outcome, hint, mass_unit, refused, weight_text
from canopy.events import ScaleChecked
from drivers.faults import DeviceFault
from drivers.scale import Reading, ReadingState, Scale

log = logging.getLogger(__name__)


class ScaleCheckFlow(Flow):
    screen = "scalecheck"
    title = "Scale check"

    def __init__(self, ctx: FlowContext, scale: Scale, settings: ScaleSettings) -> None:
        super().__init__(ctx)
        self.scale = scale
        self.test_weight = settings.check_weight
        self.unit = settings.check_unit
        self.tolerance = settings.check_tolerance
        self._restart()

    def _restart(self) -> None:
        self.step = "empty"  # empty -> weight -> done
        self.zero: Reading | None = None
        self.result: dict[str, Any] | None = None

    @property
    def wants_weight(self) -> bool:
        return self.step in ("empty", "weight")

    @property
    def shown_weight(self) -> str:
        return weight_text(self.test_weight, self.unit)

    async def enter(self) -> Outcome:
        return await self.start()

    async def start(self) -> Outcome:
        """On entering the screen: an empty pan that settled already is the zero reading."""
        settled = self.ctx.settled()
        if settled is not None:
            answer = await self.weighed(settled)
            if answer is not None:
                return answer
        return Outcome(True, "Scale check: take everything off the scale.", quiet=True)

    async def act(self, action: str, args: Mapping[str, Any]) -> Outcome:
        if action == "restart":
            self._restart()
            return await self.start()
        return await super().act(action, args)

    def _unusable(self, reading: Reading) -> Outcome | None:
        scale_id = self.ctx.scale_id()
        refusal = scale_registration_refusal(self.ctx.floor, scale_id, self.ctx.floor.local_day())
        if refusal is not None:
            return refused(refusal)
        if reading.state is not ReadingState.STABLE or reading.value is None:
            return refused("Scale not stable: wait for a steady weight.")
        if not mass_unit(reading.unit) or not reading.is_loggable:
            return refused("That reading is not a weight (tare, total or count): press the scale's"
                           " weigh key.")
        if reading.unit != self.unit:
            return refused(f"Scale shows {reading.unit}: set it to {self.unit} for the check "
                           f"(the test weight is {self.shown_weight}).")
        return None

    async def weighed(self, reading: Reading) -> Outcome | None:
        problem = self._unusable(reading)
        if problem is not None:
            return problem
        assert reading.value is not None
        if self.step == "empty":
            if abs(reading.value) > self.tolerance:
                return refused(f"Scale reads {weight_text(reading.value, reading.unit)} with nothing on"
                               " it: take everything off and press Zero on the scale.")
            self.zero, self.step = reading, "weight"
            return Outcome(True, f"Zero OK. Now place the {self.shown_weight} test weight.")
        if self.step != "weight" or self.zero is None:
            return None
        assert self.zero.value is not None
        if abs(reading.value - self.zero.value) <= self.tolerance:
            return hint(f"Place the {self.shown_weight} test weight on the scale.")
        return await self._record(self.zero.value, reading)

    async def _record(self, zero: Decimal, reading: Reading) -> Outcome:
        assert reading.value is not None
        scale_id = self.ctx.scale_id()
        try:
            lft = await self.scale.legal_for_trade()
            lft_note = "" if lft is not None else "The scale cannot say whether it is legal-for-trade."
        except DeviceFault as exc:  # a scale that weighs but will not say: record "cannot say"
            log.warning("scale %s: legal-for-trade not known: %s", scale_id, exc)
            lft, lft_note = None, f"Legal-for-trade not asked: {exc.message}."
        weighs_right = (abs(zero) <= self.tolerance
                        and abs(reading.value - self.test_weight) <= self.tolerance)
        data = ScaleChecked(scale_id=scale_id, unit=self.unit,
                            zero=zero, reference=self.test_weight, reading=reading.value,
                            tolerance=self.tolerance, passed=weighs_right and lft is not False,
                            legal_for_trade=lft,
                            raw=raw_text(reading.raw))
        read = weight_text(reading.value, reading.unit)
        why = scale_check_why(data)
        passed = data.passed
        event = await self.ctx.record(
            data,
            summary=f"Scale {scale_id} check {'passed' if passed else 'FAILED'}: {read} for "
                    f"{self.shown_weight}" + ("" if lft is None else f", LFT {'ON' if lft else 'OFF'}"))
        if isinstance(event, Outcome):
            return event
        self.ctx.mark_weighed()  # the test weight is never logged as anything else
        self.step = "done"
        self.result = {"passed": passed, "reading": read, "why": why, "lft": lft, "note": lft_note}
        if not passed:
            return Outcome(False, f"Scale failed its check: call a supervisor. {why}", event.id,
                           detail="It stays blocked until a check passes.")
        return Outcome(True, f"Scale check passed ({read}). Take the test weight off: the scale may"
                             " weigh today.", event.id, detail=lft_note)

    def view(self) -> dict[str, Any]:
        scale_id = self.ctx.scale_id()
        floor = self.ctx.floor
        last = floor.last_scale_check(scale_id)
        return {
            "scale": scale_id,
            "step": self.step,
            "test_weight": self.shown_weight,
            "tolerance": weight_text(self.tolerance, self.unit),
            "zero": weight_text(self.zero.value, self.zero.unit)
            if self.zero is not None and self.zero.value is not None else None,
            "result": self.result,
            "blocked": scale_refusal(floor, scale_id, floor.local_day()),
            "last": {"passed": last.passed, "day": last.day} if last else None,
        }
