"""The kiosk's one reader of the scale: live display, settled loads, and the weight rules.

The flows need to see a reading the moment it happens (an overload must be
refused now, not after a stable-weight timeout), so the kiosk reads the
driver's ``readings()`` stream itself rather than calling ``next_stable``:

- a load is *settled* when the same stable value has been read
  ``stable_repeats`` times in a row (the scale config's debounce);
- a settled load is offered to the current flow once;
- after a weight is logged, the next one is accepted only after the platter
  was empty (a reading at or below zero): the same plant is never logged twice
  because nobody took it off, and a new scan does not inherit the last load.

``check`` is the single place the weight rules live: stable, a mass unit the
contract knows, more than zero, loggable (not a tare or a total), from a
registered, unexpired scale, and a fresh load.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

from agent.floor import Floor
from agent.scalerules import scale_refusal, scale_registration_refusal
from agent.workflows.base import Outcome, hint, mass_unit, refused
from canopy.events import MassUnit, Weight
from drivers.scale import Reading, ReadingState, Scale, ScaleStatus


def raw_text(raw: bytes) -> str:
    """The scale's frame as printable text (control bytes escaped), within the contract's limit."""
    return repr(raw)[2:-1][:200]


class ScaleWatch:
    def __init__(self, scale: Scale, floor: Floor, *, repeats: int) -> None:
        self.scale = scale
        self.floor = floor
        self.repeats = max(1, repeats)
        self.live: Reading | None = None
        self.settled: Reading | None = None
        self._run = 0
        self._key: tuple[Any, ...] | None = None
        self.load_logged = False  # the load now on the platter was logged already

    @property
    def scale_id(self) -> str:
        return self.scale.identity.id

    def feed(self, reading: Reading) -> Reading | None:
        """Take one reading; the reading when it completes a settled load, else None."""
        self.live = reading
        if reading.state is ReadingState.UNDERLOAD or (
            reading.value is not None and reading.value <= 0
        ):
            self.load_logged = False  # empty platter: the next load is a new one
        if reading.state is not ReadingState.STABLE:
            self._run, self._key, self.settled = 0, None, None
            return None
        key = (reading.value, reading.unit, reading.basis)
        self._run = self._run + 1 if key == self._key else 1
        self._key = key
        if self._run < self.repeats:
            self.settled = None
            return None
        self.settled = reading
        return reading if self._run == self.repeats else None

    def mark_logged(self) -> None:
        self.load_logged = True

    def check(self, reading: Reading, today: date | None = None) -> Weight | Outcome:
        """The reading as a loggable ``Weight``, or the reason it is refused."""
        if reading.state is not ReadingState.STABLE or reading.value is None:
            return refused("Scale not stable: wait for a steady weight.")
        if not mass_unit(reading.unit):
            return refused(f"Scale shows {reading.unit!r}, not a weight: set it to g, kg, lb or oz.")
        if not reading.is_loggable:
            return refused("That reading is not a weight of what is on the scale (tare, total or"
                           " service mode). Press the scale's weigh key.")
        if reading.value <= Decimal(0):
            return hint(f"Scale shows {format(reading.value, 'f')} {reading.unit}: put it on the scale.")
        refusal = scale_refusal(self.floor, reading.scale_id, today or date.today())
        if refusal is not None:
            return refused(refusal)
        if self.load_logged:
            return refused("This load was already logged. Take everything off the scale, then put"
                           " the next one on.")
        return Weight(value=reading.value, unit=cast(MassUnit, reading.unit),
                      scale_id=reading.scale_id, stable=True, raw=raw_text(reading.raw))

    def view(self) -> dict[str, Any]:
        status: ScaleStatus = self.scale.status
        live = self.live
        refusal = scale_refusal(self.floor, self.scale_id, date.today())
        return {
            "id": self.scale_id,
            "connected": status.connected,
            "fault": status.fault.message if status.fault else None,
            "registered": refusal is None,
            "refusal": refusal,
            "check_due": refusal is not None
            and scale_registration_refusal(self.floor, self.scale_id, date.today()) is None,
            "value": format(live.value, "f") if live and live.value is not None else None,
            "unit": live.unit if live else None,
            "state": live.state.value if live else None,
            "settled": self.settled is not None,
            "logged": self.load_logged,
        }
