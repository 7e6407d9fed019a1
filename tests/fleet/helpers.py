"""Shared pieces of the fleet tests: the CLI in-process, a broker running the
generated config, MQTT clients logging in with enrolled credentials."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import signal
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from canopy.errors import UserError
from canopy.mqtt import (
    ConnectFailed,
    Message,
    MqttConnection,
    MqttSettings,
    TlsSettings,
    stop,
    wait_connected,
)
from cli.broker import find_mosquitto, free_port, wait_port
from cli.commands import bridge_fleet, doctor, provision
from cli.commands.bridge import common
from provisioning import BrokerOptions, FacilityCA, write_broker


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


def parser() -> argparse.ArgumentParser:
    """`canopy` with our command modules, as canopy/cli.py will register them."""
    top = argparse.ArgumentParser(prog="canopy")
    sub = top.add_subparsers(dest="command", required=True)
    provision.register(sub)
    doctor.register(sub)
    bridge = sub.add_parser("bridge")
    common(bridge)
    bridge_fleet.register(bridge.add_subparsers(dest="action", required=True))
    return top


def run_cli(*argv: str) -> CliResult:
    """Run one command like canopy/cli.py's main(): UserError is one line on stderr."""
    args = parser().parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = int(args.func(args))
        except UserError as exc:
            print(f"canopy {args.command}: {exc}", file=err)
            code = exc.exit_code
    return CliResult(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def open_dir() -> Iterator[Path]:
    """A scratch directory the broker's own user can enter.

    pytest's tmp_path sits under a 0700 folder; Mosquitto started as root drops
    to user `mosquitto` and must still reach its password file and ACL.
    """
    path = Path(tempfile.mkdtemp(prefix="canopy-fleet-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class GeneratedBroker:
    """Mosquitto running exactly the config `canopy provision broker` wrote."""

    def __init__(self, base: Path, ca: FacilityCA) -> None:
        self.ca = ca
        self.dir = base / "broker"
        data = base / "mosquitto-data"
        self.port = free_port()
        # The log goes to the data folder: it belongs to the broker's user.
        self.log = data / "mosquitto.log"
        self.options = BrokerOptions(hosts=("127.0.0.1", "localhost"), port=self.port, bind="127.0.0.1",
                                     data_dir=data, log_file=self.log)
        self.proc: subprocess.Popen[bytes] | None = None

    def write(self) -> list[str]:
        return write_broker(self.ca, self.dir, self.options)

    def start(self) -> None:
        binary = find_mosquitto()
        assert binary is not None, "mosquitto is needed (scripts/bootstrap installs it)"
        self.proc = subprocess.Popen([binary, "-c", str(self.dir / "mosquitto.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        if not wait_port("127.0.0.1", self.port, 10):
            self.kill()
            raise AssertionError(f"generated broker did not start:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"

    def reload(self, timeout: float = 10) -> None:
        """SIGHUP, and wait until Mosquitto says it re-read its config."""
        assert self.proc is not None
        before = self.log_text().count("Reloading config")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.log_text().count("Reloading config") == before:
            assert time.monotonic() < deadline, f"no reload in the log:\n{self.log_text()[-2000:]}"
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def bundle_settings(bundle: Path, *, port: int | None = None, password: str | None = None,
                    tls: TlsSettings | None = None, config: str = "agent.toml") -> MqttSettings:
    """The MQTT settings in a bundle's config, with its TLS files where the bundle is."""
    raw = tomllib.loads((bundle / config).read_text())["mqtt"]
    raw["tls"] = tls or TlsSettings(ca_file=bundle / "ca.crt", cert_file=bundle / "client.crt",
                                    key_file=bundle / "client.key")
    raw.update(backoff_min_s=0.1, backoff_max_s=0.5, connect_timeout_s=5)
    if port is not None:
        raw["port"] = port
    if password is not None:
        raw["password"] = password
    return MqttSettings.model_validate(raw)


def localize(bundle: Path, config: str, **extra: str) -> Path:
    """A copy of the bundle's config whose TLS paths point into the bundle (as on a kiosk)."""
    text = (bundle / config).read_text().replace('"/etc/canopy/', f'"{bundle}/')
    for old, new in extra.items():
        text = text.replace(old, new)
    target = bundle / f"local-{config}"
    target.write_text(text)
    target.chmod(0o600)
    return target


class Client:
    """An asyncio MQTT client on the project's own connection class, recording messages."""

    def __init__(self, settings: MqttSettings, client_id: str, subscriptions: tuple[str, ...] = (),
                 **kw: Any) -> None:
        self.messages: list[Message] = []
        self._arrived = asyncio.Event()
        self.disconnects: list[str] = []
        self.conn = MqttConnection(settings, client_id=client_id, subscriptions=subscriptions,
                                   on_message=self._on_message,
                                   on_disconnect=self.disconnects.append, **kw)
        self.task: asyncio.Task[None] | None = None

    def _on_message(self, message: Message) -> None:
        self.messages.append(message)
        self._arrived.set()

    async def __aenter__(self) -> Client:
        self.task = asyncio.create_task(self.conn.run())
        await wait_connected(self.conn, self.task, 10, self.disconnects)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self.task is not None
        await stop(self.conn, self.task)

    def payloads(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.messages if m.topic == topic]

    async def wait_for(self, check: Callable[[], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self._arrived.clear()
                await self._arrived.wait()


async def login_error(settings: MqttSettings, client_id: str = "probe") -> str | None:
    """None if these settings log in, else why not (the first attempt's reason)."""
    dropped: list[str] = []
    conn = MqttConnection(settings, client_id=client_id, on_disconnect=dropped.append)
    task = asyncio.create_task(conn.run())
    try:
        await wait_connected(conn, task, 10, dropped)
    except ConnectFailed as exc:
        return str(exc)
    finally:
        await stop(conn, task)
    return None
