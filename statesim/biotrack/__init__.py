"""A simulator of BioTrack's classic JSON API (``POST /serverjson.asp``, API 4.0).

Real HTTP, in-memory state per company/location in a live and a training
world, seeded demo licenses, the string-or-number answer quirks, sessions
that expire into errorcode 63, and scriptable faults (latency, hangs,
resets, 5xx/429, outage windows, commit-then-500). Test-only admin routes
under ``/_sim/``: ``GET state``, ``GET|POST|DELETE faults``,
``POST sessions/expire``, ``POST clock``.
"""

from statesim.biotrack._app import BioTrackSimulator
from statesim.biotrack._config import FaultPlan, FaultRule, SimConfig
from statesim.biotrack._seed import DEMO_ACCOUNTS, DEMO_PASSWORD, DemoAccount
from statesim.biotrack._server import BioTrackServer, serve, start

__all__ = [
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "BioTrackServer",
    "BioTrackSimulator",
    "DemoAccount",
    "FaultPlan",
    "FaultRule",
    "SimConfig",
    "serve",
    "start",
]
