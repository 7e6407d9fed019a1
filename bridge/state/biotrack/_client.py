"""The async BioTrack classic JSON client: protocol only, no retries beyond re-login.

Every call is ``POST {url}`` with ``{"API": "4.0", "action": …, "sessionid": …}``.
The client logs in on first use, and when BioTrack answers errorcode 63
("Your session has expired.") it logs in again and resends once: a 63 means
the server refused the call, so the resend cannot double-apply anything.

Anything else is raised as a ``BioTrackError`` from ``_errors`` (one place),
and retry policy (backoff, read-back after an ambiguous outcome) belongs to
the submitter, which has the ledger to decide with.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from bridge.state import Throttle
from bridge.state.biotrack import _errors, _models, _wire
from bridge.state.biotrack._config import BioTrackConfig
from bridge.state.biotrack._errors import BioTrackAmbiguous, BioTrackAuthError
from bridge.state.biotrack._models import (
    Employee,
    InventoryAdjustment,
    InventoryItem,
    Plant,
    PlantDerivative,
    Room,
    Vendor,
    WriteResult,
)
from bridge.state.biotrack._requests import BioTrackWrite

log = logging.getLogger(__name__)

API_VERSION = "4.0"
_ENDPOINT = "serverjson.asp"
_Row = TypeVar("_Row")


def _endpoint(base_url: str) -> str:
    url = base_url.rstrip("/")
    return url if url.lower().endswith(".asp") else f"{url}/{_ENDPOINT}"


class BioTrackClient:
    """One BioTrack account (company login) in live or training mode.

    ``transport`` is the seam for ``httpx.MockTransport`` in tests. ``throttle``
    is the licence's one gate (``bridge.state.Throttle``) every call passes (the
    ``sync_*`` reads and ``nonce_replay`` as reads, the rest as writes); without
    one calls go out as they come (``Throttle.passive``).
    """

    def __init__(
        self,
        base_url: str,
        license_number: str,
        username: str,
        password: str,
        *,
        training: bool,
        location: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        throttle: Throttle | None = None,
    ) -> None:
        self._url = _endpoint(base_url)
        self.throttle = throttle or Throttle.passive(location or license_number)
        self._license_number = license_number
        self._username = username
        self._password = password
        self._training = training
        self._location = location
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            headers={
                # BioTrack wants this (incorrect) media type [O CRE-A].
                "Content-Type": "text/JSON",
                "Accept": "application/json",
            },
        )
        self._session: str | None = None
        self._login_lock = asyncio.Lock()

    @classmethod
    def from_config(
        cls, config: BioTrackConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> Self:
        return cls(
            config.url,
            config.license_number,
            config.username,
            config.password.get_secret_value(),
            training=config.training,
            location=config.location,
            transport=transport,
            timeout=config.timeout_s,
        )

    @property
    def training(self) -> bool:
        return self._training

    @property
    def location(self) -> str | None:
        return self._location

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- writes ------------------------------------------------------------

    async def submit(self, request: BioTrackWrite, *, nonce: str | None = None) -> WriteResult:
        """Send one write. Pass a ``nonce`` that is stable for the logical operation
        (e.g. derived from the event id) so ``replay`` can find it after a restart."""
        fields = request.fields()
        if request.takes_location and self._location is not None:
            fields["location"] = self._location
        nonce = nonce or uuid.uuid4().hex
        body = await self._call(request.action, fields, nonce=nonce)
        return self._result(request.action, nonce, body)

    async def replay(self, nonce: str) -> WriteResult:
        """``nonce_replay``: BioTrack's stored answer to the call sent with ``nonce``.

        [I] state-apis.md §3.2: the semantics are inferred from the action's
        name. Raises ``BioTrackRejected`` when no call with that nonce was
        processed, which after an ambiguous outcome means "not applied".
        """
        # The call's own nonce names the call to replay (as CRE-A sends it).
        body = await self._call("nonce_replay", {}, nonce=nonce)
        return self._result("nonce_replay", nonce, body)

    # -- reads (sync_*) ----------------------------------------------------

    async def plant_rooms(self) -> tuple[Room, ...]:
        return await self._sync(
            "sync_plant_room", "plant_room", lambda r: _models.parse_room(r, "plant")
        )

    async def inventory_rooms(self) -> tuple[Room, ...]:
        return await self._sync(
            "sync_inventory_room", "inventory_room", lambda r: _models.parse_room(r, "inventory")
        )

    async def plants(
        self,
        *,
        active: bool | None = None,
        transaction_start: int | None = None,
        transaction_end: int | None = None,
    ) -> tuple[Plant, ...]:
        return await self._sync(
            "sync_plant", "plant", _models.parse_plant,
            active=active, transaction_start=transaction_start, transaction_end=transaction_end,
        )

    async def inventory(
        self,
        *,
        active: bool | None = None,
        transaction_start: int | None = None,
        transaction_end: int | None = None,
    ) -> tuple[InventoryItem, ...]:
        return await self._sync(
            "sync_inventory", "inventory", _models.parse_inventory,
            active=active, transaction_start=transaction_start, transaction_end=transaction_end,
        )

    async def plant_derivatives(
        self, *, transaction_start: int | None = None, transaction_end: int | None = None
    ) -> tuple[PlantDerivative, ...]:
        return await self._sync(
            "sync_plant_derivative", "plant_derivative", _models.parse_plant_derivative,
            transaction_start=transaction_start, transaction_end=transaction_end,
        )

    async def inventory_adjustments(
        self, *, transaction_start: int | None = None, transaction_end: int | None = None
    ) -> tuple[InventoryAdjustment, ...]:
        return await self._sync(
            "sync_inventory_adjust", "inventory_adjust", _models.parse_inventory_adjustment,
            transaction_start=transaction_start, transaction_end=transaction_end,
        )

    async def employees(self) -> tuple[Employee, ...]:
        return await self._sync("sync_employee", "employee", _models.parse_employee)

    async def vendors(self) -> tuple[Vendor, ...]:
        return await self._sync("sync_vendor", "vendor", _models.parse_vendor)

    # -- read-back after an ambiguous outcome -------------------------------

    async def find_plant(self, plant_id: str) -> Plant | None:
        """The plant with its room and state, or None if this account can't see it.

        The classic API has no get-by-id for plants, so this filters ``sync_plant``.
        """
        wanted = _wire.barcode_id(plant_id)
        return next((p for p in await self.plants() if p.id == wanted), None)

    async def find_inventory(self, barcode_id: str) -> InventoryItem | None:
        wanted = _wire.barcode_id(barcode_id)
        return next((i for i in await self.inventory() if i.id == wanted), None)

    async def plant_weights(self, plant_id: str) -> tuple[PlantDerivative, ...]:
        """Every harvest and cure weight (flower, other, waste) recorded for a plant."""
        wanted = _wire.barcode_id(plant_id)
        return tuple(d for d in await self.plant_derivatives() if d.plant_id == wanted)

    # -- protocol ------------------------------------------------------------

    def _result(self, action: str, nonce: str, body: Mapping[str, Any]) -> WriteResult:
        try:
            return _models.parse_write_result(action, nonce, body)
        except (ValueError, KeyError, TypeError) as exc:
            # BioTrack said success, so it applied the write; we just can't read the ids.
            raise BioTrackAmbiguous(f"applied, but the answer is unreadable: {exc}",
                                    action=action) from exc

    async def _sync(
        self,
        action: str,
        table: str,
        parse: Callable[[Mapping[str, Any]], _Row],
        *,
        active: bool | None = None,
        transaction_start: int | None = None,
        transaction_end: int | None = None,
    ) -> tuple[_Row, ...]:
        fields: dict[str, Any] = {"download": 1}
        if active is not None:
            fields["active"] = int(active)
        if transaction_start is not None:
            fields["transaction_start"] = transaction_start
        if transaction_end is not None:
            fields["transaction_end"] = transaction_end
        body = await self._call(action, fields, nonce=uuid.uuid4().hex)
        try:
            raw_rows = _wire.rows(body, table)
        except _wire.WireError as exc:
            raise _errors.BioTrackProtocolError(str(exc), action=action) from exc
        out: list[_Row] = []
        for row in raw_rows:
            try:
                out.append(parse(row))
            except (ValueError, KeyError, TypeError) as exc:
                # One bad row must not hide the rest of the reference data.
                log.warning("biotrack %s: skipping unreadable row (%s): %r", action, exc, row)
        return tuple(out)

    async def _call(self, action: str, fields: Mapping[str, Any], *, nonce: str) -> dict[str, Any]:
        read = action.startswith("sync_") or action == "nonce_replay"
        async with self.throttle.call("read" if read else "write"):
            return await self._call_once(action, fields, nonce=nonce)

    async def _call_once(self, action: str, fields: Mapping[str, Any], *, nonce: str) -> dict[str, Any]:
        """One call, logging in first if needed and once more if the session expired."""
        for attempt in (1, 2):
            session = await self._ensure_session()
            body: dict[str, Any] = {"API": API_VERSION, "action": action, "sessionid": session}
            if self._training:
                body["training"] = 1
            body.update(fields)
            body["nonce"] = nonce
            answer = await self._post(body, action=action, login=False)
            if _wire.flag(answer.get("success")):
                return answer
            if attempt == 1 and _errors.is_session_expired(answer):
                log.info("biotrack session expired during %s; logging in again", action)
                self._forget(session)
                continue
            raise _errors.from_body(answer, action=action)
        raise BioTrackAuthError("session expired again right after logging in", action=action)

    async def _ensure_session(self) -> str:
        session = self._session
        if session is not None:
            return session
        async with self._login_lock:
            # Concurrent callers wait here and share the one login.
            if self._session is None:
                self._session = await self._login()
            return self._session

    def _forget(self, session: str) -> None:
        # Only drop the session that failed; another task may have logged in already.
        if self._session == session:
            self._session = None

    async def _login(self) -> str:
        body: dict[str, Any] = {
            "API": API_VERSION,
            "action": "login",
            "license_number": self._license_number,
            "username": self._username,
            "password": self._password,
            "nonce": uuid.uuid4().hex,
        }
        if self._training:
            body["training"] = 1
        answer = await self._post(body, action="login", login=True)
        if not _wire.flag(answer.get("success")):
            raise _errors.from_body(answer, action="login", login=True)
        session = _wire.optional_str(answer.get("sessionid"))
        if session is None:
            raise BioTrackAuthError("login answered success without a sessionid", action="login")
        return session

    async def _post(self, body: Mapping[str, Any], *, action: str, login: bool) -> dict[str, Any]:
        try:
            response = await self._http.post(self._url, content=json.dumps(body))
        except httpx.TransportError as exc:
            raise _errors.from_transport(exc, action=action, login=login) from exc
        if response.status_code != 200:
            raise _errors.from_status(response, action=action, login=login)
        try:
            return _wire.parse_body(response.text)
        except _wire.WireError as exc:
            raise _errors.from_unreadable(exc, action=action, login=login) from exc
