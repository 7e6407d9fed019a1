"""Simulators of the state APIs (Metrc, BioTrack) over real HTTP, with fault injection.

Both answer to one interface, ``StateSimulator``: ``start``, ``stop``, ``url``,
``state()``, ``set_faults()``, ``clear_faults()``. Each keeps its own fault-rule
vocabulary (its ``FaultPlan``: Metrc's rules match paths, BioTrack's match actions),
given as the model or as its JSON form. ``SIMULATORS`` lists them by the name a
facility profile uses; ``canopy sim <system>``, the demo and the tests start them
from there:

    async with simulator("metrc") as sim:
        await sim.set_faults({"outage_seconds": 5})
        sim.state()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self


class StateSimulator(Protocol):
    """One simulated state API on a socket."""

    @property
    def system(self) -> str:
        """The name a facility profile's ``system`` uses, e.g. "metrc"."""
        ...

    @property
    def url(self) -> str:
        """What a facility profile's ``base_url`` takes (valid once started)."""
        ...

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen (0 picks a free port); returns ``url``."""
        ...

    async def stop(self) -> None: ...

    def state(self) -> dict[str, Any]:
        """Everything the simulator holds, for tests to assert on (``GET /_sim/state``)."""
        ...

    async def set_faults(self, plan: Any) -> None:
        """Install a fault plan in the system's own vocabulary: its ``FaultPlan`` or that
        model's JSON form as a mapping (what ``POST /_sim/faults`` takes)."""
        ...

    async def clear_faults(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...


@dataclass(frozen=True)
class SimulatorKind:
    """How to make one system's simulator, and its command line (``canopy sim <name>``)."""

    label: str
    make: Callable[..., StateSimulator]
    main: Callable[[Sequence[str] | None, str], int]


# Each system's package is imported only when it is used: building ``canopy``'s
# parser (on a kiosk too) names the simulators without loading them.
def _metrc(**options: Any) -> StateSimulator:
    from statesim.metrc import MetrcSimulator

    return MetrcSimulator(**options)


def _metrc_main(argv: Sequence[str] | None, prog: str) -> int:
    from statesim.metrc.__main__ import main

    return main(argv, prog)


def _biotrack(**options: Any) -> StateSimulator:
    from statesim.biotrack import BioTrackServer

    return BioTrackServer(**options)


def _biotrack_main(argv: Sequence[str] | None, prog: str) -> int:
    from statesim.biotrack.__main__ import main

    return main(argv, prog)


SIMULATORS: dict[str, SimulatorKind] = {
    "metrc": SimulatorKind("Metrc v2", _metrc, _metrc_main),
    "biotrack": SimulatorKind("BioTrack classic JSON", _biotrack, _biotrack_main),
}


def simulator(system: str, **options: Any) -> StateSimulator:
    """An unstarted simulator of ``system``; ``options`` are its own (seed, config…)."""
    try:
        kind = SIMULATORS[system]
    except KeyError:
        raise ValueError(f"no simulator for {system!r} (there are: {', '.join(SIMULATORS)})") from None
    return kind.make(**options)


__all__ = ["SIMULATORS", "SimulatorKind", "StateSimulator", "simulator"]
