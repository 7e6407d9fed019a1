"""Shared pieces of the fleet tests: the CLI in-process, MQTT clients logging in
with enrolled credentials (the broker itself: tests/provisioned.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
from collections.abc import Callable
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
    stop,
    wait_connected,
)
from cli.commands import bridge_fleet, doctor, provision
from cli.commands.bridge import common
from tests.provisioned import bundle_settings, open_dir

__all__ = [
    "CliResult",
    "Client",
    "bundle_settings",
    "localize",
    "login_error",
    "open_dir",
    "parser",
    "run_cli",
]


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
    common(bridge, top=True)
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
