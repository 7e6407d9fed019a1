"""``MetrcClient``: the Metrc v2 protocol for one license, and nothing more.

No retries, no batching decisions, no ledger: each write method sends the rows it
is given as ONE call and either returns what Metrc answered or raises one of the
errors in ``_errors`` (every HTTP and transport outcome is mapped in ``_send``).
Reads walk every page. Read-back helpers (``plant``, ``package``, ``find_harvest``
…) let the submitter see whether an ambiguous write landed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bridge.state import Throttle
from bridge.state.metrc import _wire
from bridge.state.metrc._errors import (
    MetrcServerError,
    MetrcUnavailable,
    error_from_response,
)
from bridge.state.metrc._records import (
    Facility,
    Harvest,
    HarvestWasteRecord,
    HarvestWasteType,
    Item,
    Location,
    Package,
    PackageAdjustment,
    Plant,
    PlantBatch,
    PlantWasteRecord,
    Strain,
    Tag,
    UnitOfMeasure,
    WasteMethod,
    WasteReason,
    WriteResult,
)
from bridge.state.metrc._requests import (
    AdjustPackage,
    ChangePlantBatchGrowthPhase,
    ChangePlantGrowthPhase,
    CreateHarvestPackage,
    CreatePackagePlantings,
    CreatePlantings,
    CreatePlantPlantings,
    DestroyPlant,
    DestroyPlantBatch,
    FinishHarvest,
    HarvestPlant,
    ManicurePlant,
    MetrcRow,
    MovePackage,
    MovePlant,
    RecordHarvestWaste,
    RecordPlantWaste,
    UnfinishHarvest,
)

R = TypeVar("R", bound=BaseModel)

#: ``(lastModifiedStart, lastModifiedEnd)``, both timezone-aware.
Window = tuple[datetime, datetime]

# Metrc's documented maximum page size for v2 lists.
MAX_PAGE_SIZE = 20
# The request surely never reached Metrc: no connection was made or no request formed.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.ProxyError,
)


class MetrcClient:
    """Async client for Metrc v2, scoped to one facility license.

    ``transport`` is the test seam (``httpx.MockTransport``); ``timeout`` is the
    httpx timeout (seconds or ``httpx.Timeout``). ``throttle`` is the licence's
    one gate (``bridge.state.Throttle``) that every request passes; without one
    requests go out as they come (``Throttle.passive``).
    """

    def __init__(
        self,
        base_url: str,
        vendor_key: str,
        user_key: str,
        license_number: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        page_size: int = MAX_PAGE_SIZE,
        throttle: Throttle | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        self.license_number = license_number
        self.throttle = throttle or Throttle.passive(license_number)
        self._page_size = page_size
        self._http = httpx.AsyncClient(
            base_url=base_url,
            auth=httpx.BasicAuth(vendor_key, user_key),
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
        )

    async def __aenter__(self) -> MetrcClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- writes: one call per list of rows ---------------------------------------------

    async def create_plantings(self, rows: Sequence[CreatePlantings]) -> WriteResult:
        return await self._write("POST", "/plantbatches/v2/plantings", rows)

    async def create_package_plantings(self, rows: Sequence[CreatePackagePlantings]) -> WriteResult:
        """Plant batches from clone or seed packages (the package gives up the plants)."""
        return await self._write("POST", "/packages/v2/plantings", rows)

    async def create_plant_plantings(self, rows: Sequence[CreatePlantPlantings]) -> WriteResult:
        """Plant batches of clones or seeds taken from a (mother) plant."""
        return await self._write("POST", "/plants/v2/plantings", rows)

    async def destroy_plant_batches(self, rows: Sequence[DestroyPlantBatch]) -> WriteResult:
        """Destroy part of plant batches. Collection-level DELETE with a JSON body, like
        ``destroy_plants``; not idempotent (a resend destroys more)."""
        return await self._write("DELETE", "/plantbatches/v2", rows)

    async def change_plant_batch_growth_phase(
        self, rows: Sequence[ChangePlantBatchGrowthPhase]
    ) -> WriteResult:
        return await self._write("POST", "/plantbatches/v2/growthphase", rows)

    async def move_plants(self, rows: Sequence[MovePlant]) -> WriteResult:
        return await self._write("PUT", "/plants/v2/location", rows)

    async def change_plant_growth_phase(self, rows: Sequence[ChangePlantGrowthPhase]) -> WriteResult:
        return await self._write("PUT", "/plants/v2/growthphase", rows)

    async def harvest_plants(self, rows: Sequence[HarvestPlant]) -> WriteResult:
        return await self._write("PUT", "/plants/v2/harvest", rows)

    async def manicure_plants(self, rows: Sequence[ManicurePlant]) -> WriteResult:
        return await self._write("POST", "/plants/v2/manicure", rows)

    async def destroy_plants(self, rows: Sequence[DestroyPlant]) -> WriteResult:
        # Collection-level DELETE with a JSON body: httpx keeps the body.
        return await self._write("DELETE", "/plants/v2", rows)

    async def record_plant_waste(self, rows: Sequence[RecordPlantWaste]) -> WriteResult:
        return await self._write("POST", "/plants/v2/waste", rows)

    async def record_harvest_waste(self, rows: Sequence[RecordHarvestWaste]) -> WriteResult:
        return await self._write("POST", "/harvests/v2/waste", rows)

    async def create_harvest_packages(self, rows: Sequence[CreateHarvestPackage]) -> WriteResult:
        return await self._write("POST", "/harvests/v2/packages", rows)

    async def adjust_packages(self, rows: Sequence[AdjustPackage]) -> WriteResult:
        """Relative adjustments (``quantity`` is a signed delta). Not idempotent."""
        return await self._write("POST", "/packages/v2/adjust", rows)

    async def set_package_quantities(self, rows: Sequence[AdjustPackage]) -> WriteResult:
        """Absolute form (``quantity`` is the final quantity): safe to repeat."""
        return await self._write("PUT", "/packages/v2/adjust", rows)

    async def move_packages(self, rows: Sequence[MovePackage]) -> WriteResult:
        return await self._write("PUT", "/packages/v2/location", rows)

    async def finish_harvests(self, rows: Sequence[FinishHarvest]) -> WriteResult:
        return await self._write("PUT", "/harvests/v2/finish", rows)

    async def unfinish_harvests(self, rows: Sequence[UnfinishHarvest]) -> WriteResult:
        return await self._write("PUT", "/harvests/v2/unfinish", rows)

    # -- reference data ------------------------------------------------------------------

    async def facilities(self) -> list[Facility]:
        return await self._list("/facilities/v2", Facility, licensed=False)

    async def units_of_measure(self) -> list[UnitOfMeasure]:
        return await self._list("/unitsofmeasure/v2/active", UnitOfMeasure, licensed=False)

    async def waste_methods(self) -> list[WasteMethod]:
        return await self._list("/wastemethods/v2", WasteMethod, licensed=False)

    async def plant_waste_methods(self) -> list[WasteMethod]:
        return await self._list("/plants/v2/waste/methods/all", WasteMethod, licensed=False)

    async def plant_waste_reasons(self) -> list[WasteReason]:
        return await self._list("/plants/v2/waste/reasons", WasteReason)

    async def harvest_waste_types(self) -> list[HarvestWasteType]:
        return await self._list("/harvests/v2/waste/types", HarvestWasteType, licensed=False)

    async def package_adjust_reasons(self) -> list[WasteReason]:
        return await self._list("/packages/v2/adjust/reasons", WasteReason)

    async def locations(self, *, modified: Window | None = None) -> list[Location]:
        return await self._list("/locations/v2/active", Location, modified=modified)

    async def strains(self, *, modified: Window | None = None) -> list[Strain]:
        return await self._list("/strains/v2/active", Strain, modified=modified)

    async def items(self, *, modified: Window | None = None) -> list[Item]:
        return await self._list("/items/v2/active", Item, modified=modified)

    async def available_plant_tags(self) -> list[Tag]:
        return await self._list("/tags/v2/plant/available", Tag)

    async def available_package_tags(self) -> list[Tag]:
        return await self._list("/tags/v2/package/available", Tag)

    # -- inventory lists -----------------------------------------------------------------

    async def vegetative_plants(self, *, modified: Window | None = None) -> list[Plant]:
        return await self._list("/plants/v2/vegetative", Plant, modified=modified)

    async def flowering_plants(self, *, modified: Window | None = None) -> list[Plant]:
        return await self._list("/plants/v2/flowering", Plant, modified=modified)

    async def active_plants(self, *, modified: Window | None = None) -> list[Plant]:
        """Vegetative then flowering plants (v2 has no single "active plants" list)."""
        return await self.vegetative_plants(modified=modified) + await self.flowering_plants(
            modified=modified
        )

    async def inactive_plants(self, *, modified: Window | None = None) -> list[Plant]:
        return await self._list("/plants/v2/inactive", Plant, modified=modified)

    async def active_plant_batches(self, *, modified: Window | None = None) -> list[PlantBatch]:
        return await self._list("/plantbatches/v2/active", PlantBatch, modified=modified)

    async def inactive_plant_batches(self, *, modified: Window | None = None) -> list[PlantBatch]:
        return await self._list("/plantbatches/v2/inactive", PlantBatch, modified=modified)

    async def active_harvests(self, *, modified: Window | None = None) -> list[Harvest]:
        return await self._list("/harvests/v2/active", Harvest, modified=modified)

    async def inactive_harvests(self, *, modified: Window | None = None) -> list[Harvest]:
        return await self._list("/harvests/v2/inactive", Harvest, modified=modified)

    async def active_packages(self, *, modified: Window | None = None) -> list[Package]:
        return await self._list("/packages/v2/active", Package, modified=modified)

    async def inactive_packages(self, *, modified: Window | None = None) -> list[Package]:
        return await self._list("/packages/v2/inactive", Package, modified=modified)

    async def plant_waste(self) -> list[PlantWasteRecord]:
        return await self._list("/plants/v2/waste", PlantWasteRecord)

    async def harvest_waste(self, harvest_id: int) -> list[HarvestWasteRecord]:
        return await self._list(
            "/harvests/v2/waste", HarvestWasteRecord, params={"harvestId": str(harvest_id)}
        )

    async def package_adjustments(self) -> list[PackageAdjustment]:
        return await self._list("/packages/v2/adjustments", PackageAdjustment)

    # -- read-back after an ambiguous outcome --------------------------------------------

    async def plant(self, id_or_label: int | str) -> Plant | None:
        """One plant by id or tag, in any state; ``None`` if Metrc has no such plant.

        Another license's plant raises ``MetrcAuthError`` (Metrc answers 401).
        """
        return await self._one(f"/plants/v2/{id_or_label}", Plant)

    async def package(self, id_or_label: int | str) -> Package | None:
        return await self._one(f"/packages/v2/{id_or_label}", Package)

    async def harvest(self, harvest_id: int) -> Harvest | None:
        return await self._one(f"/harvests/v2/{harvest_id}", Harvest)

    async def plant_batch(self, batch_id: int) -> PlantBatch | None:
        return await self._one(f"/plantbatches/v2/{batch_id}", PlantBatch)

    async def find_harvest(self, name: str, *, modified: Window | None = None) -> Harvest | None:
        """A harvest by name, active first, then finished (v2 has no by-name read)."""
        for harvest in await self.active_harvests(modified=modified):
            if harvest.name == name:
                return harvest
        for harvest in await self.inactive_harvests(modified=modified):
            if harvest.name == name:
                return harvest
        return None

    async def find_plant_batch(self, name: str, *, modified: Window | None = None) -> PlantBatch | None:
        """A plant batch by name, active first, then inactive."""
        for batch in await self.active_plant_batches(modified=modified):
            if batch.name == name:
                return batch
        for batch in await self.inactive_plant_batches(modified=modified):
            if batch.name == name:
                return batch
        return None

    # -- plumbing ------------------------------------------------------------------------

    async def _write(self, method: str, path: str, rows: Sequence[MetrcRow]) -> WriteResult:
        if not rows:
            raise ValueError("a Metrc write needs at least one row")
        response = await self._send(
            method,
            path,
            content=_wire.dumps([row.to_metrc() for row in rows]),
            row_count=len(rows),
        )
        return _write_result(response)

    async def _list(
        self,
        path: str,
        model: type[R],
        *,
        licensed: bool = True,
        params: Mapping[str, str] | None = None,
        modified: Window | None = None,
    ) -> list[R]:
        """Every record of a list endpoint: walks the pages, or takes a bare array."""
        query = dict(params or {})
        if modified is not None:
            query["lastModifiedStart"] = _wire.utc_timestamp(modified[0])
            query["lastModifiedEnd"] = _wire.utc_timestamp(modified[1])
        records: list[R] = []
        page = 1
        while True:
            query |= {"pageNumber": str(page), "pageSize": str(self._page_size)}
            response = await self._send("GET", path, params=query, licensed=licensed)
            body = _json(response)
            if isinstance(body, list):  # endpoints documented as bare arrays
                return _validate_all(model, body, response)
            if not isinstance(body, Mapping) or not isinstance(body.get("Data"), list):
                raise _unreadable(response, "expected a list or a paged envelope")
            data = body["Data"]
            records.extend(_validate_all(model, data, response))
            total_pages = body.get("TotalPages")
            if not data or not isinstance(total_pages, int) or page >= total_pages:
                return records
            page += 1

    async def _one(self, path: str, model: type[R]) -> R | None:
        response = await self._send("GET", path, allow_404=True)
        if response.status_code == 404:
            return None
        body = _json(response)
        if not isinstance(body, Mapping):
            raise _unreadable(response, "expected an object")
        return _validate_all(model, [body], response)[0]

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        licensed: bool = True,
        row_count: int = 0,
        allow_404: bool = False,
    ) -> httpx.Response:
        """Send one request; map every failure to a Metrc error (the one place)."""
        is_write = method != "GET"
        query = dict(params or {})
        if licensed:
            query["licenseNumber"] = self.license_number
        headers = {"Content-Type": "application/json"} if content is not None else None
        async with self.throttle.call("write" if is_write else "read"):
            try:
                response = await self._http.request(method, path, params=query, content=content,
                                                     headers=headers)
            except _NOT_SENT as exc:
                raise MetrcUnavailable(
                    f"{method} {path}: Metrc not reachable ({type(exc).__name__}: {exc})",
                    maybe_applied=False,
                ) from exc
            except httpx.TransportError as exc:
                # Sent (or partly sent) and no answer: a write may have been applied.
                raise MetrcUnavailable(
                    f"{method} {path}: no answer from Metrc ({type(exc).__name__}: {exc})",
                    maybe_applied=is_write,
                ) from exc
            if response.is_success or (allow_404 and response.status_code == 404):
                return response
            raise error_from_response(response, is_write=is_write, row_count=row_count)


def _json(response: httpx.Response) -> Any:
    try:
        return _wire.loads(response.content)
    except ValueError as exc:
        raise _unreadable(response, "body is not JSON") from exc


def _validate_all(model: type[R], items: Sequence[Any], response: httpx.Response) -> list[R]:
    try:
        return [model.model_validate(item) for item in items]
    except ValidationError as exc:
        raise _unreadable(response, f"unexpected {model.__name__} shape: {exc}") from exc


def _write_result(response: httpx.Response) -> WriteResult:
    """``{"Ids": [...], "Warnings": ...}`` for most POSTs, an empty body for most PUTs."""
    if not response.content.strip():
        return WriteResult()
    body = _json(response)
    if not isinstance(body, Mapping):
        raise _unreadable(response, "expected {Ids, Warnings}")
    ids, warnings = body.get("Ids") or [], body.get("Warnings") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise _unreadable(response, "Ids is not a list of integers")
    if not isinstance(warnings, list):
        warnings = [warnings]
    return WriteResult(ids=tuple(ids), warnings=tuple(str(w) for w in warnings))


def _unreadable(response: httpx.Response, why: str) -> MetrcServerError:
    """A 2xx we cannot read. For a write, Metrc did answer success: it probably landed,
    but what came back is unknown, so treat it like any other ambiguous outcome."""
    request = response.request
    return MetrcServerError(
        f"{request.method} {request.url.path}: unreadable response ({why})",
        maybe_applied=request.method != "GET",
        status=response.status_code,
    )
