"""A Metrc v2 simulator over real HTTP: state per license, Metrc's rules and error
bodies, GET rate limits, and fault injection (latency, hangs, 5xx, outages, refused
connections, partial batches, commit-then-fail).

    async with MetrcSimulator() as sim:   # demo seed on 127.0.0.1, a free port
        ...                               # point a MetrcClient at sim.url

``python -m statesim.metrc --port 8090`` runs it standalone. The admin API
under ``/_sim/`` (state, faults, log, reset) is for tests; it has no auth, so the
simulator listens on 127.0.0.1 unless told otherwise.
"""

from statesim.metrc._app import SimCore
from statesim.metrc._config import RateLimit, SimConfig
from statesim.metrc._faults import FaultPlan, FaultRule
from statesim.metrc._limits import GetLimiter
from statesim.metrc._seed import (
    DEMO_LICENSES,
    DEMO_USER_KEY,
    DEMO_VENDOR_KEY,
    SimSeed,
    demo_seed,
    demo_seed_for,
    load_seed,
)
from statesim.metrc._server import DEFAULT_PORT, MetrcSimulator, serve

__all__ = [
    "DEFAULT_PORT",
    "DEMO_LICENSES",
    "DEMO_USER_KEY",
    "DEMO_VENDOR_KEY",
    "FaultPlan",
    "FaultRule",
    "GetLimiter",
    "MetrcSimulator",
    "RateLimit",
    "SimConfig",
    "SimCore",
    "SimSeed",
    "demo_seed",
    "demo_seed_for",
    "load_seed",
    "serve",
]
