"""The simulated devices' control socket: how `canopy sim scan|weight` reach a running agent.

A Unix socket in the agent's state folder (owner-only), one JSON request per
line, one JSON answer per line. A scan is fed to the simulated scanner and the
answer waits for what the floor made of it, so the caller learns "saved" only
after the event is committed, exactly like a worker would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agent.workflows.scan import Outcome

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 10.0


class SimControl:
    def __init__(
        self,
        path: Path,
        *,
        feed_scan: Callable[[str], None] | None,
        set_weight: Callable[[str, str, bool], Awaitable[None]] | None,
        status: Callable[[], Awaitable[dict[str, Any]]],
    ) -> None:
        self.path = path
        self._feed_scan = feed_scan
        self._set_weight = set_weight
        self._status = status
        self._waiting: deque[asyncio.Future[Outcome]] = deque()

    def scan_handled(self, outcome: Outcome) -> None:
        """Called for each scan from the simulated scanner, in order."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(outcome)
                return

    async def serve(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        server = await asyncio.start_unix_server(self._client, path=str(self.path))
        os.chmod(self.path, 0o600)
        try:
            async with server:
                await server.serve_forever()
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    answer = await self._answer(request if isinstance(request, dict) else {})
                except ValueError as exc:
                    answer = {"ok": False, "message": f"bad request: {exc}"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "scan":
            code = request.get("code")
            if not isinstance(code, str) or not code:
                return {"ok": False, "message": "scan needs a code"}
            if self._feed_scan is None:
                return {"ok": False, "message": "this kiosk's scanner is not simulated"}
            waiter: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            self._feed_scan(code)
            try:
                outcome = await asyncio.wait_for(waiter, ANSWER_TIMEOUT_S)
            except TimeoutError:
                return {"ok": False, "message": "the scanner did not deliver the scan (unplugged?)"}
            return {"ok": outcome.ok, "message": outcome.message, "event": outcome.event_id}
        if op == "weight":
            if self._set_weight is None:
                return {"ok": False, "message": "this kiosk's scale is not simulated"}
            value, unit = request.get("value"), request.get("unit", "g")
            stable = bool(request.get("stable", True))
            if not isinstance(value, str) or not isinstance(unit, str):
                return {"ok": False, "message": "weight needs a value such as \"12.34\" and a unit"}
            try:
                await self._set_weight(value, unit, stable)
            except ValueError as exc:
                return {"ok": False, "message": str(exc)}
            return {"ok": True, "message": f"scale now shows {value} {unit}"
                    + ("" if stable else " (unstable)")}
        if op == "status":
            return {"ok": True, **(await self._status())}
        return {"ok": False, "message": f"unknown request {op!r}"}


async def request(path: Path, body: dict[str, Any], wait_s: float = ANSWER_TIMEOUT_S + 5) -> dict[str, Any]:
    """Send one request to a running agent (used by `canopy sim …` and tests)."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        raise ConnectionError(
            f"no running agent with simulated devices at {path} (start `canopy demo` or"
            " `canopy agent` first)"
        ) from None
    try:
        writer.write(json.dumps(body).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), wait_s)
    finally:
        writer.close()
    if not line:
        raise ConnectionError("the agent closed the connection without an answer")
    answer: dict[str, Any] = json.loads(line)
    return answer
