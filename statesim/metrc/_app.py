"""The aiohttp application: Metrc's routes, and one middleware that plays the network.

For every API request, in this order: outage window → Basic auth and the license
(401) → GET rate limits (429) → fault rules (latency, hang, error, reset) → the
handler (writes may carry a commit-then-fail or partial fault) → request log.
``/_sim/*`` is the test-only admin API and skips all of it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bridge.state.metrc import wire_dumps, wire_loads
from statesim.metrc import _reads, _shapes
from statesim.metrc._config import SimConfig
from statesim.metrc._faults import FaultInjector, FaultPlan, FaultRule
from statesim.metrc._fields import NotYourLicense
from statesim.metrc._journal import Journal
from statesim.metrc._limits import GetLimiter
from statesim.metrc._seed import SimSeed, UserKey
from statesim.metrc._state import World, utc_now
from statesim.metrc._writes import WRITE_OPS, WriteOp, run_batch

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DENIED = "Authorization has been denied for this request."
V1_ONLY = "The provided API key is only valid for V1 API endpoints."


@dataclass
class _Exchange:
    """What the pipeline learned about the request in flight, for its handler.

    Kept in a context variable (the middleware and the handler run in one task)
    rather than in request storage, whose typed keys vary across aiohttp versions.
    """

    entry: dict[str, Any]
    caller: Caller | None = None
    after: FaultRule | None = None


_EXCHANGE: ContextVar[_Exchange] = ContextVar("metrc_exchange")


@dataclass(frozen=True)
class Caller:
    vendor_key: str
    user: UserKey
    license_number: str | None


class SimCore:
    """The simulator without its socket: world, faults, limits, log."""

    def __init__(self, seed: SimSeed, config: SimConfig, faults: FaultPlan,
                 journal: Journal | None = None) -> None:
        self.seed = seed
        self.config = config
        self.world = World(seed, config)
        self.journal = journal  # the writes taken, replayed on start (see ``_journal``)
        self.replayed = journal.replay(self.world) if journal is not None else 0
        self.injector = FaultInjector(faults, utc_now())
        self.limiter = GetLimiter(config)
        self.log: deque[dict[str, Any]] = deque(maxlen=5000)
        self.unlicensed_paths = frozenset(route.path for route in _reads.LIST_ROUTES if not route.licensed)
        self._stopping = asyncio.Event()
        #: Transports with a request in progress; the others are idle keep-alives.
        self.busy: set[asyncio.BaseTransport] = set()

    def reset(self) -> None:
        """Back to the seed (faults and log are kept; the journal is emptied)."""
        self.world = World(self.seed, self.config)
        if self.journal is not None:
            self.journal.clear()

    async def set_faults(self, plan: FaultPlan | Mapping[str, Any]) -> None:
        """Install a fault plan (Metrc's rule vocabulary: ``FaultPlan`` or its JSON form)."""
        plan = plan if isinstance(plan, FaultPlan) else FaultPlan.model_validate(plan)
        self.injector = FaultInjector(plan, utc_now())
        await self._faults_changed()

    async def clear_faults(self) -> None:
        await self.set_faults(FaultPlan())

    async def _faults_changed(self) -> None:
        """Hook for the server (refused connections need the listener closed)."""

    async def pause(self, seconds: float) -> None:
        """Sleep, but wake up when the simulator stops (hung requests must not block it)."""
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    def snapshot(self, license_number: str | None = None) -> dict[str, Any]:
        """Everything in memory, in Metrc's shapes, for tests to assert on."""
        licenses: dict[str, Any] = {}
        for number, lic in self.world.licenses.items():
            if license_number is not None and number != license_number:
                continue
            licenses[number] = {
                "name": lic.name,
                "timezone": lic.zone.key,
                "locations": [_shapes.location(x) for x in lic.locations.values()],
                "strains": [_shapes.strain(x) for x in lic.strains.values()],
                "items": [_shapes.item(x) for x in lic.items.values()],
                "plant_batches": [_shapes.plant_batch(x) for x in lic.batches.values()],
                "plants": [_shapes.plant(x) for x in lic.plants.values()],
                "harvests": [_shapes.harvest(x) for x in lic.harvests.values()],
                "harvest_waste": [
                    {**_shapes.harvest_waste(x), "HarvestId": x.harvest_id} for x in lic.harvest_waste
                ],
                "packages": [_shapes.package(x) for x in lic.packages.values()],
                "package_adjustments": [_shapes.package_adjustment(x) for x in lic.adjustments],
                "plant_waste": [
                    {**_shapes.plant_waste(x), "PlantLabels": x.plant_labels, "LocationName": x.location}
                    for x in lic.plant_waste
                ],
                "plant_tags": _tag_lists(lic.plant_tags),
                "package_tags": _tag_lists(lic.package_tags),
            }
        return {"licenses": licenses}


def _tag_lists(pool: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "available": [label for label, tag in pool.items() if not tag.used],
        "used": [label for label, tag in pool.items() if tag.used],
    }


CORE = web.AppKey("metrc_core", SimCore)


def build_app(core: SimCore) -> web.Application:
    app = web.Application(middlewares=[_pipeline], client_max_size=4 * 1024 * 1024)
    app[CORE] = core
    router = app.router
    # Admin (test-only).
    router.add_get("/_sim/state", _admin_state)
    router.add_get("/_sim/faults", _admin_get_faults)
    router.add_post("/_sim/faults", _admin_set_faults)
    router.add_delete("/_sim/faults", _admin_clear_faults)
    router.add_get("/_sim/log", _admin_log)
    router.add_delete("/_sim/log", _admin_clear_log)
    router.add_post("/_sim/reset", _admin_reset)
    # Writes.
    for op in WRITE_OPS:
        router.add_route(op.method, op.path, _write_handler(op))
    # Lists before the single-object routes: /plants/v2/flowering is not a plant label.
    router.add_get("/plants/v2/growthphases", _growth_phases)
    for route in _reads.LIST_ROUTES:
        router.add_get(route.path, _list_handler(route))
    for path, getter in _reads.SINGLE_ROUTES:
        router.add_get(path, _single_handler(getter))
    return app


# -- responses ---------------------------------------------------------------------------


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=wire_dumps(data), content_type="application/json")


def message(status: int, text: str, *, retry_after: float | None = None) -> web.Response:
    response = json_response({"Message": text}, status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (a reset or a timeout, to the client)."""
    if request.transport is not None:
        request.transport.abort()
    _EXCHANGE.get().entry["dropped"] = True
    return web.Response(status=499)  # never reaches anyone


# -- the pipeline ------------------------------------------------------------------------


@web.middleware
async def _pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
    core = request.app[CORE]
    transport = request.transport
    if transport is not None:
        core.busy.add(transport)
    try:
        if request.path.startswith("/_sim/"):
            return await handler(request)
        return await _logged(core, request, handler)
    finally:
        if transport is not None:
            core.busy.discard(transport)


async def _logged(core: SimCore, request: web.Request, handler: Handler) -> web.StreamResponse:
    now = utc_now()
    entry: dict[str, Any] = {
        "at": now.isoformat(),
        "method": request.method,
        "path": request.path,
        "license": request.query.get("licenseNumber"),
        "status": None,
        "rows": None,
        "fault": None,
        "dropped": False,
    }
    _EXCHANGE.set(_Exchange(entry))
    core.log.append(entry)
    response = await _handle(core, request, handler, now)
    if not entry.get("dropped"):
        entry["status"] = response.status
    return response


async def _handle(core: SimCore, request: web.Request, handler: Handler, now: datetime) -> web.StreamResponse:
    exchange = _EXCHANGE.get()
    entry = exchange.entry
    remaining = core.injector.outage_remaining(now)
    if remaining > 0:
        entry["fault"] = "outage"
        if core.injector.plan.outage_mode == "refuse":
            return drop(request)
        return message(503, "The service is temporarily unavailable.", retry_after=remaining)

    caller_or_denial = _authenticate(core, request)
    if isinstance(caller_or_denial, web.Response):
        return caller_or_denial
    caller = exchange.caller = caller_or_denial

    limited = request.method == "GET"
    if limited:
        retry_after = core.limiter.admit(caller.vendor_key, caller.license_number)
        if retry_after is not None:
            entry["fault"] = "rate_limit"
            return message(429, "Too many requests.", retry_after=retry_after)
    try:
        decision = core.injector.decide(request.method, request.path, caller.license_number)
        await core.pause(decision.latency)
        rule = decision.before
        if rule is not None:
            entry["fault"] = rule.action
            if rule.action == "hang":
                await core.pause(rule.duration)
                return drop(request)
            if rule.action == "reset":
                return drop(request)
            return message(rule.status, f"Simulated HTTP {rule.status}.", retry_after=rule.retry_after)
        exchange.after = decision.after
        return await handler(request)
    finally:
        if limited:
            core.limiter.release(caller.vendor_key, caller.license_number)


def _authenticate(core: SimCore, request: web.Request) -> Caller | web.Response:
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    world = core.world
    if credentials is None:
        return message(401, DENIED)
    vendor_key, user_key = credentials
    vendor, user = world.vendor_keys.get(vendor_key), world.users.get(user_key)
    if vendor is None or user is None:
        return message(401, DENIED)
    if vendor.v1_only:
        return web.Response(status=401, text=V1_ONLY, content_type="text/plain")
    license_number = request.query.get("licenseNumber")
    if request.path in core.unlicensed_paths:
        return Caller(vendor_key, user, None)
    if not license_number:
        return message(400, "licenseNumber is required.")
    if license_number not in user.licenses or license_number not in world.licenses:
        return message(401, DENIED)
    return Caller(vendor_key, user, license_number)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    vendor, sep, user = decoded.partition(":")
    return (vendor, user) if sep else None


# -- handlers ----------------------------------------------------------------------------


def _write_handler(op: WriteOp) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        core = request.app[CORE]
        exchange = _EXCHANGE.get()
        caller = exchange.caller
        assert caller is not None and caller.license_number is not None
        try:
            rows = wire_loads(await request.read())
        except ValueError:
            return message(400, "The request body is not valid JSON.")
        if not isinstance(rows, list) or not rows:
            return message(400, "The request body must be a JSON array of objects.")
        exchange.entry["rows"] = len(rows)
        if len(rows) > core.config.max_objects:
            return message(413, f"{len(rows)} objects sent; at most {core.config.max_objects} are allowed.")
        after = exchange.after
        try:
            now = utc_now()
            outcome = run_batch(
                core.world,
                caller.license_number,
                op,
                rows,
                now=now,
                user_name=caller.user.name,
                apply_first=after.rows if after and after.action == "partial" else None,
            )
        except NotYourLicense:
            return message(401, DENIED)
        if core.journal is not None and (outcome.ids or not outcome.errors or after is not None):
            core.journal.add(caller.license_number, op, rows, at=now, user_name=caller.user.name,
                             apply_first=after.rows if after and after.action == "partial" else None)
        if outcome.errors:
            return json_response([{"row": i, "message": m} for i, m in outcome.errors], 400)
        if after is not None:
            exchange.entry["fault"] = after.action
            if after.action == "commit_then_hang":
                await core.pause(after.duration)
                return drop(request)
            if after.action == "commit_then_reset":
                return drop(request)
            return message(after.status, f"Simulated HTTP {after.status} after the write.")
        if op.returns_ids:
            return json_response({"Ids": outcome.ids, "Warnings": None})
        return web.Response(status=200)

    return handle


def _read_context(request: web.Request) -> _reads.ReadContext:
    core = request.app[CORE]
    caller = _EXCHANGE.get().caller
    assert caller is not None
    lic = core.world.licenses[caller.license_number] if caller.license_number else None
    return _reads.ReadContext(core.world, lic, caller.user, dict(request.query))


def _list_handler(route: _reads.ListRoute) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        core = request.app[CORE]
        ctx = _read_context(request)
        try:
            records = route.source(ctx)
            if route.windowed:
                records = _in_window(records, ctx.query, core.config)
            if not route.paged:
                return json_response([record for _, record in records])
            return json_response(_page(records, ctx.query, core.config))
        except _reads.BadQuery as exc:
            return message(400, str(exc))

    return handle


def _single_handler(getter: Callable[[_reads.ReadContext, str], dict[str, Any]]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        try:
            return json_response(getter(_read_context(request), key))
        except _reads.OtherLicense:
            return message(401, DENIED)
        except _reads.NotFound:
            return message(404, f"No object with Id or Label {key} was found.")

    return handle


async def _growth_phases(request: web.Request) -> web.StreamResponse:
    return json_response(_reads.GROWTH_PHASES)


def _in_window(records: list[_reads.Record], query: dict[str, str], config: SimConfig) -> list[_reads.Record]:
    start_text, end_text = query.get("lastModifiedStart"), query.get("lastModifiedEnd")
    now = utc_now()
    if start_text is None and end_text is None:
        if config.no_window == "all":
            return records
        if config.no_window == "empty":
            return []
        start, end = now - timedelta(hours=24), now
    else:
        start = _timestamp(start_text, "lastModifiedStart") if start_text else datetime.min
        end = _timestamp(end_text, "lastModifiedEnd") if end_text else now
        if start.tzinfo is None:
            start = start.replace(tzinfo=now.tzinfo)
        if start > end:
            raise _reads.BadQuery("lastModifiedStart is after lastModifiedEnd.")
    return [r for r in records if r[0] is None or start <= r[0] <= end]


def _timestamp(text: str, key: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        # A "+" sent unescaped arrives as a space: say so rather than filter wrongly.
        raise _reads.BadQuery(f"{key} {text!r} is not an ISO-8601 timestamp.") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=utc_now().tzinfo)


def _page(records: list[_reads.Record], query: dict[str, str], config: SimConfig) -> dict[str, Any]:
    data = [record for _, record in records]
    total = len(data)
    if "pageSize" not in query and "pageNumber" not in query:
        size, number, pages = total, 1, 1  # pagination is off unless asked for
    else:
        size = _positive_int(query.get("pageSize", str(config.max_page_size)), "pageSize")
        number = _positive_int(query.get("pageNumber", "1"), "pageNumber")
        if size > config.max_page_size:
            raise _reads.BadQuery(f"pageSize must not exceed {config.max_page_size}.")
        pages = max(1, math.ceil(total / size))
        data = data[(number - 1) * size : number * size]
    return {
        "Data": data,
        "Total": total,
        "TotalRecords": total,
        "PageSize": size,
        "RecordsOnPage": len(data),
        "Page": number,
        "CurrentPage": number,
        "TotalPages": pages,
    }


def _positive_int(text: str, key: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise _reads.BadQuery(f"{key} must be a positive whole number.")
    return int(text)


# -- admin -------------------------------------------------------------------------------


async def _admin_state(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[CORE].snapshot(request.query.get("license")))


async def _admin_get_faults(request: web.Request) -> web.StreamResponse:
    return json_response(request.app[CORE].injector.describe(utc_now()))


async def _admin_set_faults(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    try:
        plan = FaultPlan.model_validate_json(await request.read())
    except ValidationError as exc:
        return json_response(
            {
                "Message": "Invalid fault plan.",
                "Errors": exc.errors(include_url=False, include_context=False, include_input=False),
            },
            400,
        )
    await core.set_faults(plan)
    return json_response(core.injector.describe(utc_now()))


async def _admin_clear_faults(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    await core.clear_faults()
    return json_response(core.injector.describe(utc_now()))


async def _admin_log(request: web.Request) -> web.StreamResponse:
    return json_response(list(request.app[CORE].log))


async def _admin_clear_log(request: web.Request) -> web.StreamResponse:
    request.app[CORE].log.clear()
    return json_response([])


async def _admin_reset(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    core.reset()
    return json_response({"reset": True})
