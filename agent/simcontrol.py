"""Simulated devices, and the control socket `canopy sim scan|weight` use to reach them.

``SimDevices`` is the one place that drives the simulated scanner, scale, pedal
and printer: the Unix socket below and the demo's simulator panel on the kiosk
page both go through it.

The socket lives in the agent's state folder (owner-only), one JSON request per
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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agent.floor import Floor
from agent.workflows.base import Outcome
from drivers.gpio import SimGpio
from drivers.printer import SimPrinter
from drivers.scale import SimScale
from drivers.scanner import SimScanner

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 10.0
SCALE_CONDITIONS = ("overload", "underload", "unstable", "unplug", "replug")


@dataclass
class SimDevices:
    """The simulated twins among the kiosk's devices (None where a device is real)."""

    scanner: SimScanner | None = None
    scale: SimScale | None = None
    gpio: SimGpio | None = None
    printer: SimPrinter | None = None

    @property
    def any(self) -> bool:
        return any((self.scanner, self.scale, self.gpio, self.printer))

    def scan(self, code: str) -> None:
        if self.scanner is None:
            raise ValueError("this kiosk's scanner is not simulated")
        self.scanner.feed(code)

    def weight(self, value: str, unit: str, stable: bool) -> str:
        if self.scale is None:
            raise ValueError("this kiosk's scale is not simulated")
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a weight; give a number such as 12.34") from None
        if not amount.is_finite():
            raise ValueError(f"{value!r} is not a weight")
        self.scale.set_weight(amount, unit, stable=stable)
        return f"scale now shows {value} {unit}" + ("" if stable else " (unstable)")

    def scale_condition(self, condition: str) -> str:
        scale = self.scale
        if scale is None:
            raise ValueError("this kiosk's scale is not simulated")
        actions: dict[str, Callable[[], None]] = {
            "overload": scale.set_overload, "underload": scale.set_underload,
            "unstable": scale.set_unstable, "unplug": scale.unplug, "replug": scale.replug,
        }
        if condition not in actions:
            raise ValueError(f"scale condition is one of {', '.join(SCALE_CONDITIONS)}")
        actions[condition]()
        return f"scale: {condition}"

    def pedal(self) -> str:
        if self.gpio is None or not self.gpio.pedal.fitted:
            raise ValueError("this kiosk has no simulated foot pedal")
        self.gpio.press_pedal()
        return "pedal pressed"

    def printer_fault(self, fault: str | None) -> str:
        if self.printer is None:
            raise ValueError("this kiosk's printer is not simulated")
        self.printer.set_fault(fault or None)
        return f"printer: {fault}" if fault else "printer: ready"

    def printed(self, limit: int = 8) -> list[Path]:
        """The latest labels the simulated printer produced, newest first."""
        if self.printer is None:
            return []
        return list(reversed(self.printer.printed[-limit:]))


class SimControl:
    def __init__(
        self,
        path: Path,
        devices: SimDevices,
        *,
        status: Callable[[], Awaitable[dict[str, Any]]],
    ) -> None:
        self.path = path
        self.devices = devices
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
                    answer = await self.answer(request if isinstance(request, dict) else {})
                except ValueError as exc:
                    answer = {"ok": False, "message": f"bad request: {exc}"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "scan":
            code = request.get("code")
            if not isinstance(code, str) or not code:
                return {"ok": False, "message": "scan needs a code"}
            if self.devices.scanner is None:
                return {"ok": False, "message": "this kiosk's scanner is not simulated"}
            waiter: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            self.devices.scan(code)
            try:
                outcome = await asyncio.wait_for(waiter, ANSWER_TIMEOUT_S)
            except TimeoutError:
                return {"ok": False, "message": "the scanner did not deliver the scan (unplugged?)"}
            return {"ok": outcome.ok, "message": outcome.message, "event": outcome.event_id}
        if op == "status":
            return {"ok": True, **(await self._status())}
        try:
            if op == "weight":
                value, unit = request.get("value"), request.get("unit", "g")
                if not isinstance(value, str) or not isinstance(unit, str):
                    raise ValueError("weight needs a value such as \"12.34\" and a unit")
                message = self.devices.weight(value, unit, bool(request.get("stable", True)))
            elif op == "scale":
                message = self.devices.scale_condition(str(request.get("condition")))
            elif op == "pedal":
                message = self.devices.pedal()
            elif op == "printer":
                fault = request.get("fault")
                message = self.devices.printer_fault(fault if isinstance(fault, str) else None)
            else:
                return {"ok": False, "message": f"unknown request {op!r}"}
        except ValueError as exc:
            return {"ok": False, "message": str(exc)}
        return {"ok": True, "message": message}


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


def panel_view(devices: SimDevices, floor: Floor) -> dict[str, Any]:
    """What the demo's simulator panel offers: codes worth scanning, and what was printed."""
    plants = [floor.plant(tag) for tag in floor.known_plant_tags()[:400]]
    alive = [p for p in plants if p is not None and p.alive]
    by_phase: dict[str, list[str]] = {}
    for plant in alive:
        by_phase.setdefault(plant.phase, []).append(plant.tag)
    codes: list[dict[str, str]] = []
    codes += [{"label": "Room", "code": r.name} for r in floor.rooms(for_plants=False)]
    for phase, tags in sorted(by_phase.items()):
        codes += [{"label": f"{phase} plant", "code": t} for t in tags[:4]]
    codes += [{"label": "Unused plant tag", "code": t} for t in floor.fresh_plant_tags(3)]
    codes += [{"label": "Unused package tag", "code": t} for t in floor.package_tags(1)]
    codes += [{"label": "Package", "code": t} for t in floor.packages_made()[:3]]
    codes += [{"label": f"Lot ({lot.count})", "code": lot.name} for lot in floor.lots()[:3]]
    codes += [{"label": "Harvest batch", "code": h.name} for h in floor.harvests()[:3]]
    return {
        "scanner": devices.scanner is not None,
        "scale": devices.scale is not None,
        "pedal": devices.gpio is not None and devices.gpio.pedal.fitted,
        "printer": devices.printer is not None,
        "codes": codes,
        "printed": [p.name for p in devices.printed()],
    }
