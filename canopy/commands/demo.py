"""``canopy demo``: the whole system on simulated hardware, on this machine.

Starts a private Mosquitto, the bridge (ledger on SQLite) and one kiosk agent
with simulated devices, each as its own process exactly as in production, and
tells you how to drive it. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from canopy.broker import EmbeddedBroker, Mosquitto, find_mosquitto
from canopy.errors import UserError

DEMO_TAG = "1A4FF0100000022000000123"


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


def _write_configs(root: Path, port: int, protocol: str) -> tuple[Path, Path]:
    agent = root / "agent.toml"
    agent.write_text(
        f"""# canopy demo: one kiosk with simulated devices
[kiosk]
facility = "CA-DEMO-0001"
device = "kiosk-01"
room = "Flower Room 1"
state_dir = "var/agent"

[mqtt]
host = "127.0.0.1"
port = {port}
protocol = "{protocol}"

[scanner]
kind = "sim"
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
    agent_conf, bridge_conf = _write_configs(root, broker.port, broker.protocol)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        broker.start()
        for name, conf in (("bridge", bridge_conf), ("agent", agent_conf)):
            log = (logs / f"{name}.log").open("ab")
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "canopy", name, "-c", str(conf)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        _wait_for_socket(Path("var/agent/sim.sock"), procs["agent"], logs / "agent.log")
        print(
            f"""Canopy demo is running (Ctrl-C stops it).

  broker   {broker_name} on 127.0.0.1:{broker.port}   log: {broker.log}
  bridge   ledger {root}/ledger.db               log: {logs}/bridge.log
  kiosk    CA-DEMO-0001/kiosk-01, simulated devices   log: {logs}/agent.log

Try, in another terminal:
  .venv/bin/canopy sim scan {DEMO_TAG}    # a worker scans a plant tag
  .venv/bin/canopy sim scan NOT-A-TAG                  # a misread: refused with a reason
  .venv/bin/canopy sim status                          # backlog, online, faults
  sqlite3 {root}/ledger.db 'select type, device, seq, status from events'
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


def _wait_for_socket(path: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise UserError(f"the kiosk agent did not start; see {log}")
