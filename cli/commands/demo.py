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
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from canopy.errors import UserError
from cli.broker import EmbeddedBroker, Mosquitto, find_mosquitto, free_port

DEMO_TAG = "1A4FF0100000022000000123"
FACILITY = "CA-DEMO-0001"


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
state_dir = "var/agent"
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


def run(args: argparse.Namespace) -> int:
    root: Path = args.dir
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    broker: Mosquitto | EmbeddedBroker
    if args.broker == "embedded" or (args.broker == "auto" and find_mosquitto() is None):
        broker = EmbeddedBroker(root / "broker", args.port or None)
        broker_name = "embedded Python broker (MQTT 3.1.1)"
    else:
        broker = Mosquitto(root / "broker", args.port or None)
        broker_name = "mosquitto"
    from agent.demo import WORKERS, write_workers
    from cli.demo_farm import metrc_seed

    ui_port = free_port()
    state_port = free_port()
    seed = root / "metrc-seed.json"
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
            "metrc": ["sim", "metrc", "--port", str(state_port), "--seed", str(seed)],
            "bridge": ["bridge", "-c", str(bridge_conf)],
            "agent": ["agent", "-c", str(agent_conf)],
        }
        for name, command in commands.items():
            log = (logs / f"{name}.log").open("ab")
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "cli", *command],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        _wait_for_socket(Path("var/agent/sim.sock"), procs["agent"], logs / "agent.log")
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

  {signed}. Demo workers (sign in by PIN on the screen, or scan the badge;
  a supervisor scans the badge and then types the PIN):
{people}

Try, in another terminal:
  .venv/bin/canopy sim scan {DEMO_TAG}    # a worker scans a plant tag
  .venv/bin/canopy sim scan NOT-A-TAG                  # a misread: refused with a reason
  .venv/bin/canopy sim weight 812.4 g                  # a plant on the simulated scale
  .venv/bin/canopy sim weight 500 g                    # the test weight of the daily Scale check
  .venv/bin/canopy sim status                          # backlog, online, faults
  sqlite3 {root}/ledger.db 'select type, device, seq, status, message from events'
  .venv/bin/canopy bridge report activity {DEMO_TAG} -c {bridge_conf}
  .venv/bin/canopy bridge list-workers -c {bridge_conf}   # the facility's workers, sent to every kiosk
""",
            flush=True,
        )
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise UserError(f"the {name} stopped (exit {proc.returncode}); see {logs}/{name}.log")
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
