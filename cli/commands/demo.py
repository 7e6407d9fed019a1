"""``canopy demo``: the whole system on simulated hardware, on this machine.

Starts a private Mosquitto, the bridge (ledger on SQLite) and one kiosk agent
with simulated devices, each as its own process exactly as in production, and
tells you how to drive it: the kiosk's touch screen (with a simulator panel) is
a page in your browser. Ctrl-C stops everything.

Its state system is the Metrc simulator, seeded with a small facility (rooms,
plants, lots, tags): the bridge reports to it and syncs the facility's reference
data from it to the kiosk, exactly as in production. The demo's workers are the
facility's list at the bridge (`canopy bridge add-worker -c var/demo/bridge.toml`),
published to the kiosk as reference data. A demo worker is signed in by badge
so `canopy sim scan` works straight away.

The demo remembers between runs, all three parts together: the kiosk (its outbox
and floor cache in ``var/agent``), the bridge's ledger and the state simulator
(the writes it took, replayed on start: ``metrc-journal.jsonl``). So a plant
destroyed in one run stays destroyed in the next, everywhere. ``--fresh`` starts
all three over from the seed; so does a demo folder whose simulator journal is
missing (the parts would disagree). A state simulator that stops is started
again with its journal (the bridge holds records meanwhile, as for a real
outage), and reported when it keeps stopping; the kiosk and the bridge stopping
still end the demo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canopy.errors import UserError
from cli.broker import EmbeddedBroker, Mosquitto, find_mosquitto, free_port

DEMO_TAG = "1A4FF0100000022000000123"
FACILITY = "CA-DEMO-0001"
AGENT_STATE = Path("var/agent")  # the kiosk's state folder: `canopy sim` finds it without -c
JOURNAL = "metrc-journal.jsonl"
SEED = "metrc-seed.json"  # written once per farm: the journal's writes replay onto the same seed
# Processes the demo starts again when they stop (the state simulator: an outage, not the end).
RESTARTED = frozenset({"metrc"})
REMEMBERS = "Kiosk, bridge and state simulator remember between runs; `canopy demo --fresh` starts over."
MAX_RESTARTS = 3  # within RESTART_WINDOW_S; then it is reported and left stopped
RESTART_WINDOW_S = 60.0


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo", help="start broker, bridge and a kiosk on simulated hardware"
    )
    parser.add_argument("--dir", type=Path, default=Path("var/demo"),
                        help="where the demo keeps its files (default: var/demo)")
    parser.add_argument("--port", type=int, default=0, help="broker port (default: a free one)")
    parser.add_argument("--broker", choices=["auto", "mosquitto", "embedded"], default="auto",
                        help="auto: Mosquitto when installed, else the embedded Python broker")
    parser.add_argument("--for", dest="duration", type=float, default=0,
                        help="stop by itself after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--fresh", action="store_true",
                        help="start the kiosk, the bridge and the state simulator over from the demo farm")
    parser.set_defaults(func=run)


def _write_configs(root: Path, port: int, protocol: str, ui_port: int,
                   state_url: str) -> tuple[Path, Path]:
    import json

    from agent.demo import SCALE_ID, reference
    from statesim.metrc import DEMO_USER_KEY, DEMO_VENDOR_KEY

    lists = reference()
    scales = ", ".join("{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in scale.items()) + " }"
                       for scale in lists["scales"])

    agent = root / "agent.toml"
    agent.write_text(
        f"""# canopy demo: one kiosk with simulated devices
[kiosk]
facility = "{FACILITY}"
device = "kiosk-01"
room = "Flower Room 1"
state_dir = "{AGENT_STATE}"
simulated_devices = true  # on purpose: `canopy doctor` fails simulated devices otherwise

[mqtt]
host = "127.0.0.1"
port = {port}
protocol = "{protocol}"

# Who may sign in comes from the bridge (the facility's workers_file); this
# kiosk's own file is only used until that list has arrived.
[workers]
file = "{root}/kiosk-workers.json"
idle_sign_out_s = 900

[ui]
port = {ui_port}
sim_panel = true

[scanner]
kind = "sim"

[scale]
kind = "sim"
protocol = "mt-sics"
identity = {{ id = "{SCALE_ID}", model = "Simulated MT-SICS", serial = "SIM0001" }}

[printer]
kind = "sim"

[gpio]
kind = "sim"
green = 17
amber = 27
red = 22
buzzer = 23
pedal = 24
"""
    )
    bridge = root / "bridge.toml"
    bridge.write_text(
        f"""# canopy demo: the central bridge on SQLite
[bridge]
id = "bridge-demo"

[mqtt]
host = "127.0.0.1"
port = {port}
protocol = "{protocol}"

[ledger]
url = "sqlite:///{root}/ledger.db"

# The demo's state system: the Metrc simulator (`canopy sim metrc`).
[[facilities]]
license = "{FACILITY}"
state = "CA"
system = "metrc"
base_url = "{state_url}"
timezone = "{lists['profile']['timezone']}"
witness_required_for_waste = {str(lists['profile']['witness_required_for_waste']).lower()}
flush_interval_s = 0.5
refsync_interval_s = 60
scales = [{scales}]
workers_file = "{root}/workers.json"   # `canopy bridge add-worker -c {root}/bridge.toml`

[facilities.metrc]
vendor_key = "{DEMO_VENDOR_KEY}"
user_key = "{DEMO_USER_KEY}"
"""
    )
    return agent, bridge


def _state_files(root: Path) -> list[Path]:
    """Everything the three parts remember between runs (kept or removed together)."""
    return [*root.glob("ledger.db*"), root / JOURNAL, root / SEED, AGENT_STATE]


def _reset_if_needed(root: Path, fresh: bool) -> str | None:
    """Start all three over when asked, or when they would disagree; what was done, if anything."""
    kept = [p for p in _state_files(root) if p.exists()]
    if not kept:
        return None
    if not fresh and (root / JOURNAL).exists():
        return None
    for path in kept:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    if fresh:
        return "Started over: kiosk, bridge and state simulator are back to the demo farm."
    return (f"Started over: {root / JOURNAL} (what the state simulator took) was missing, so the kiosk "
            "and the bridge were reset with it to the demo farm.")


@dataclass
class _Restarts:
    """When a restarted process stopped, to tell a hiccup from a process that keeps dying."""

    times: list[float] = field(default_factory=list)
    given_up: bool = False

    def allow(self, now: float) -> bool:
        self.times = [t for t in self.times if now - t < RESTART_WINDOW_S] + [now]
        return len(self.times) <= MAX_RESTARTS


def run(args: argparse.Namespace) -> int:
    root: Path = args.dir
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    reset = _reset_if_needed(root, args.fresh)
    broker: Mosquitto | EmbeddedBroker
    if args.broker == "embedded" or (args.broker == "auto" and find_mosquitto() is None):
        broker = EmbeddedBroker(root / "broker", args.port or None)
        broker_name = "embedded Python broker (MQTT 3.1.1)"
    else:
        broker = Mosquitto(root / "broker", args.port or None)
        broker_name = "mosquitto"
    from agent.demo import DEMO_PACKAGES, WORKERS, write_workers
    from cli.demo_farm import metrc_seed

    ui_port = free_port()
    state_port = free_port()
    seed = root / SEED
    if not seed.exists():  # dates in it are relative to the day the farm was made
        seed.write_text(json.dumps(metrc_seed(FACILITY), indent=1))
    agent_conf, bridge_conf = _write_configs(root, broker.port, broker.protocol, ui_port,
                                             f"http://127.0.0.1:{state_port}")
    workers_file = root / "workers.json"
    if not workers_file.exists():
        write_workers(workers_file)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        broker.start()
        commands = {
            "metrc": ["sim", "metrc", "--port", str(state_port), "--seed", str(seed),
                      "--journal", str(root / JOURNAL)],
            "bridge": ["bridge", "-c", str(bridge_conf)],
            "agent": ["agent", "-c", str(agent_conf)],
        }

        def start(name: str) -> None:
            log = (logs / f"{name}.log").open("ab")
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "cli", *commands[name]],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

        for name in commands:
            start(name)
        (root / JOURNAL).touch()  # from now on the three parts remember together
        _wait_for_socket(AGENT_STATE / "sim.sock", procs["agent"], logs / "agent.log")
        _wait_for_workers(agent_conf, logs)
        # Sam scans his badge (Dana, a supervisor, would have to type her PIN as well).
        signed = _sim(agent_conf, "scan", WORKERS[1].badge)
        people = "\n".join(f"    {w.name:<11} PIN {w.pin}   badge {w.badge}"
                           + ("   (supervisor)" if w.supervisor else "") for w in WORKERS)
        print(
            f"""Canopy demo is running (Ctrl-C stops it).

  kiosk screen  http://127.0.0.1:{ui_port}/   (open it in a browser; simulator panel on the right)
  broker   {broker_name} on 127.0.0.1:{broker.port}   log: {broker.log}
  bridge   ledger {root}/ledger.db               log: {logs}/bridge.log
  state    Metrc simulator http://127.0.0.1:{state_port}/_sim/state   log: {logs}/metrc.log
  kiosk    {FACILITY}/kiosk-01, simulated devices   log: {logs}/agent.log

  {reset + chr(10) + "  " if reset else ""}{REMEMBERS}
  {signed}. Demo workers (sign in by PIN on the screen, or scan the badge;
  a supervisor scans the badge and then types the PIN):
{people}

Try, in another terminal:
  .venv/bin/canopy sim scan {DEMO_TAG}    # a worker scans a plant tag
  .venv/bin/canopy sim scan NOT-A-TAG                  # a misread: refused with a reason
  .venv/bin/canopy sim weight 812.4 g                  # a plant on the simulated scale
  .venv/bin/canopy sim weight 500 g                    # the test weight of the daily Scale check
  .venv/bin/canopy sim status                          # backlog, online, faults
  .venv/bin/canopy sim scan {DEMO_PACKAGES[0]["tag"]}    # a package (Packages: move, adjust)
  sqlite3 {root}/ledger.db 'select type, device, seq, status, message from events'
  .venv/bin/canopy bridge report activity {DEMO_TAG} -c {bridge_conf}
  .venv/bin/canopy bridge list-workers -c {bridge_conf}   # the facility's workers, sent to every kiosk
""",
            flush=True,
        )
        deadline = time.monotonic() + args.duration if args.duration else None
        restarts = {name: _Restarts() for name in RESTARTED}
        while not stopping:
            for name, proc in list(procs.items()):
                if proc.poll() is None:
                    continue
                if name not in restarts:
                    raise UserError(f"the {name} stopped (exit {proc.returncode}); see {logs}/{name}.log")
                tries = restarts[name]
                if tries.given_up:
                    continue
                if tries.allow(time.monotonic()):
                    print(f"The {name} simulator stopped (exit {proc.returncode}); started again with its "
                          f"journal. The bridge holds records meanwhile. See {logs}/{name}.log", flush=True)
                    start(name)
                else:
                    tries.given_up = True
                    print(f"The {name} simulator stopped {MAX_RESTARTS + 1} times within "
                          f"{RESTART_WINDOW_S:.0f} s (exit {proc.returncode}); left stopped: the kiosk and "
                          f"the bridge go on and hold records as in a state outage. See {logs}/{name}.log; "
                          "restart the demo to try again.", flush=True)
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        broker.stop()
        print("demo stopped")
    return 0


def _sim(agent_conf: Path, op: str, code: str = "") -> str:
    return str(_ask(agent_conf, {"op": op, "code": code}).get("message", ""))


def _ask(agent_conf: Path, body: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from agent.config import AgentConfig
    from agent.simcontrol import request
    from canopy.config import load_config

    socket = load_config(AgentConfig, agent_conf).sim_socket
    return asyncio.run(request(socket, body))


def _wait_for_workers(agent_conf: Path, logs: Path) -> None:
    """Until the kiosk has the facility's worker list from the bridge (reference data)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _ask(agent_conf, {"op": "status"}).get("workers") == "bridge":
            return
        time.sleep(0.2)
    raise UserError(f"the kiosk did not receive the worker list from the bridge; see {logs}/bridge.log")


def _wait_for_socket(path: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise UserError(f"the kiosk agent did not start; see {log}")
