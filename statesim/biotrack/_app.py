"""The HTTP face of the simulator: ``POST /serverjson.asp`` plus ``/_sim/*`` admin routes.

Per state-apis.md §3.2 and §7: one endpoint, ``API: "4.0"`` required,
business errors as HTTP 200 with ``success: 0``, sessions that expire into
errorcode 63, ``nosession: 1`` with inline credentials, and ``success`` /
``errorcode`` typed as numbers or strings at random so clients must
normalise. Faults come from the installed ``FaultPlan``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from statesim.biotrack import _actions
from statesim.biotrack._actions import ApiError, Context
from statesim.biotrack._config import FaultPlan, FaultRule, SimConfig
from statesim.biotrack._faults import BEFORE, FaultEngine
from statesim.biotrack._seed import seed as seed_demo
from statesim.biotrack._state import Registry, SimClock, SimCompany, SimUser, World

log = logging.getLogger(__name__)

API_VERSION = "4.0"
ENDPOINT = "/serverjson.asp"
SESSION_EXPIRED = 63
NO_PRIVILEGE = 62
BAD_API_VERSION = 17
_LEAKED_HEADER = "Content-Type: text/plain\r\n\r\n"


@dataclass
class Session:
    sessionid: str
    ubi: str
    username: str
    training: bool
    expires_at: float


def _fail(errorcode: int | None, message: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"success": 0, "error": message}
    if errorcode is not None:
        payload["errorcode"] = errorcode
    return payload


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true"}
    return value is True or value == 1


class BioTrackSimulator:
    """State, sessions and faults of one simulated BioTrack classic host."""

    def __init__(self, config: SimConfig | None = None, *, seed: int = 0) -> None:
        self.config = config or SimConfig()
        self.clock = SimClock()
        self.registry = Registry(self.clock)
        seed_demo(self.registry, random.Random(seed), demo_data=self.config.demo_data)
        self.faults = FaultEngine(
            self.config.faults, rng=random.Random(seed + 1), clock=self.clock
        )
        self._quirk_rng = random.Random(seed + 2)
        self._sessions: dict[str, Session] = {}
        self._calls: deque[dict[str, Any]] = deque(maxlen=5000)
        self._closing = asyncio.Event()

    # -- in-process controls (the admin routes call these too) ----------------

    def install_faults(self, plan: FaultPlan) -> None:
        self.faults.install(plan)

    def expire_sessions(self, ubi: str | None = None) -> int:
        doomed = [sid for sid, s in self._sessions.items() if ubi is None or s.ubi == ubi]
        for sid in doomed:
            del self._sessions[sid]
        return len(doomed)

    def state(self) -> dict[str, Any]:
        return {
            "now": self.clock.now(),
            **self.registry.dump(),
            "sessions": [
                {"ubi": s.ubi, "username": s.username, "training": s.training,
                 "expires_at": s.expires_at}
                for s in self._sessions.values()
            ],
            "faults": self.faults.plan.model_dump(mode="json"),
            "fault_stats": self.faults.stats(),
            "calls": list(self._calls),
        }

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post(ENDPOINT, self._serverjson)
        app.router.add_get("/_sim/state", self._admin_state)
        app.router.add_get("/_sim/faults", self._admin_get_faults)
        app.router.add_post("/_sim/faults", self._admin_set_faults)
        app.router.add_delete("/_sim/faults", self._admin_clear_faults)
        app.router.add_post("/_sim/sessions/expire", self._admin_expire)
        app.router.add_post("/_sim/clock", self._admin_clock)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        # Wake every hanging handler so the server can stop promptly.
        self._closing.set()

    # -- the API endpoint -------------------------------------------------------

    async def _serverjson(self, request: web.Request) -> web.StreamResponse:
        text = await request.text()
        try:
            req: dict[str, Any] | None = json.loads(text)
        except json.JSONDecodeError:
            req = None
        if not isinstance(req, dict):
            req = None
        action = req.get("action") if req is not None else None
        action_name = action if isinstance(action, str) else None

        plan = self.faults.plan
        if plan.latency_s:
            await self._pause(plan.latency_s)
        rule = self.faults.pick(action_name)
        if rule is not None and rule.kind in BEFORE:
            self._log(action_name, req, None, rule)
            return await self._fault_before(request, rule)

        payload = (
            self._process(req) if req is not None else _fail(None, "Invalid JSON request.")
        )
        self._log(action_name, req, payload, rule)
        body = json.dumps(self._render(payload))
        if rule is not None:
            if rule.kind == "commit_then_500":
                return web.Response(status=500, text="Internal Server Error")
            if rule.kind == "commit_then_hang":
                await self._pause(plan.hang_s)
                return self._drop(request)
            if rule.kind == "leak_header":
                body = _LEAKED_HEADER + body
        return web.Response(text=body, content_type="application/json")

    async def _fault_before(self, request: web.Request, rule: FaultRule) -> web.StreamResponse:
        if rule.kind == "status":
            headers = {}
            if rule.retry_after_s is not None:
                headers["Retry-After"] = f"{rule.retry_after_s:g}"
            return web.Response(status=rule.status, text=f"simulated HTTP {rule.status}",
                                headers=headers)
        if rule.kind == "hang":
            await self._pause(self.faults.plan.hang_s)
        return self._drop(request)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)
        except TimeoutError:
            pass

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without an answer (the client sees a disconnect)."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    def _log(self, action: str | None, req: Mapping[str, Any] | None,
             payload: Mapping[str, Any] | None, rule: FaultRule | None) -> None:
        self._calls.append({
            "at": self.clock.now(),
            "action": action,
            "training": _flag(req.get("training")) if req else False,
            "success": payload.get("success") if payload else None,
            "errorcode": payload.get("errorcode") if payload else None,
            "fault": rule.kind if rule else None,
        })

    def _render(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Type ``success``/``errorcode`` as the quirks setting says (§3.2, §7.4)."""
        out = dict(payload)
        for key in ("success", "errorcode"):
            if key in out and out[key] is not None:
                value = int(out[key])
                mode = self.config.quirks
                as_text = mode == "strings" or (mode == "random" and self._quirk_rng.random() < 0.5)
                out[key] = str(value) if as_text else value
        return out

    # -- request processing -----------------------------------------------------

    def _process(self, req: Mapping[str, Any]) -> dict[str, Any]:
        if str(req.get("API", "")).strip() != API_VERSION:
            return _fail(BAD_API_VERSION, "Invalid API Version")
        action = req.get("action")
        if action == "login":
            return self._login(req)
        who = self._authenticate(req)
        if isinstance(who, dict):
            return who
        company, user, training = who
        world = self.registry.world(training)
        nonce = str(req.get("nonce") or "")
        key = (company.ubi, nonce)

        if action == "nonce_replay":
            stored = world.nonces.get(key) if nonce else None
            if stored is None:
                return _fail(_actions.NOT_FOUND, "The nonce specified could not be found.")  # [I]
            return dict(stored)
        if not isinstance(action, str) or (
            action not in _actions.WRITES and action not in _actions.READS
        ):
            return _fail(_actions.VALIDATION, f"Invalid action: {action!r}.")  # [I]
        if action in _actions.WRITES:
            if user.read_only:
                return _fail(NO_PRIVILEGE, "The current session does not possess access to the "
                                           f"{action} privilege.")
            if nonce and self.config.nonce_mode == "replay" and key in world.nonces:
                return dict(world.nonces[key])
            payload = self._run(action, company, world, req, write=True)
            if nonce:
                world.remember(key, payload)
            return payload
        return self._run(action, company, world, req, write=False)

    def _run(self, action: str, company: SimCompany, world: World, req: Mapping[str, Any], *,
             write: bool) -> dict[str, Any]:
        now = int(self.clock.now())
        ctx = Context(self.registry, world, company, self.config, now)
        handler = _actions.WRITES[action] if write else _actions.READS[action]
        try:
            extra = handler(ctx, req)
        except ApiError as exc:
            return _fail(exc.errorcode, exc.message)
        payload: dict[str, Any] = {"success": 1, **extra}
        if write:
            # BioTrack answers the transaction id as a string ("71373995") [O].
            payload["transactionid"] = str(ctx.txn)
            payload["sessiontime"] = now
        return payload

    def _credentials(self, req: Mapping[str, Any]) -> tuple[SimCompany, SimUser] | dict[str, Any]:
        ubi = str(req.get("license_number") or "").strip()
        if not ubi:
            # BioTrack sends no errorcode on these two [O BUNK login.php].
            return _fail(None, "Company identifier not provided (license_number)")
        company = self.registry.companies.get(ubi)
        user = company.users.get(str(req.get("username") or "")) if company else None
        if company is None or user is None or user.password != req.get("password"):
            return _fail(None, "Invalid username or password.")
        return company, user

    def _login(self, req: Mapping[str, Any]) -> dict[str, Any]:
        found = self._credentials(req)
        if isinstance(found, dict):
            return found
        company, user = found
        now = self.clock.now()
        # Drop expired sessions here so a long-running simulator doesn't grow forever.
        for sid in [sid for sid, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[sid]
        sessionid = secrets.token_hex(64)
        self._sessions[sessionid] = Session(
            sessionid, company.ubi, user.username, _flag(req.get("training")),
            now + self.config.session_ttl_s,
        )
        return {"success": 1, "sessionid": sessionid, "admin": int(not user.read_only),
                "time": int(now)}

    def _authenticate(
        self, req: Mapping[str, Any]
    ) -> tuple[SimCompany, SimUser, bool] | dict[str, Any]:
        if _flag(req.get("nosession")):
            found = self._credentials(req)
            if isinstance(found, dict):
                return found
            return found[0], found[1], _flag(req.get("training"))
        sessionid = str(req.get("sessionid") or "")
        session = self._sessions.get(sessionid)
        if session is None or self.clock.now() >= session.expires_at:
            self._sessions.pop(sessionid, None)
            return _fail(SESSION_EXPIRED, "Your session has expired.")
        company = self.registry.companies[session.ubi]
        # [I] The session's mode picks the world; a login in training mode stays there.
        return company, company.users[session.username], session.training

    # -- admin routes -------------------------------------------------------------

    async def _admin_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())

    async def _admin_get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.plan.model_dump(mode="json"))

    async def _admin_set_faults(self, request: web.Request) -> web.Response:
        try:
            plan = FaultPlan.model_validate_json(await request.text())
        except ValidationError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.install_faults(plan)
        log.info("biotrack simulator: installed fault plan %s", plan.model_dump_json())
        return web.json_response(plan.model_dump(mode="json"))

    async def _admin_clear_faults(self, request: web.Request) -> web.Response:
        self.install_faults(FaultPlan())
        return web.json_response(FaultPlan().model_dump(mode="json"))

    async def _admin_expire(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        ubi = body.get("ubi")
        return web.json_response({"expired": self.expire_sessions(str(ubi) if ubi else None)})

    async def _admin_clock(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        try:
            seconds = float(body.get("advance_s", 0))
        except (TypeError, ValueError):
            return web.json_response({"error": "advance_s must be a number"}, status=400)
        if seconds < 0:
            return web.json_response({"error": "the clock only moves forward"}, status=400)
        return web.json_response({"now": self.clock.advance(seconds)})


async def _json_object(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}
