"""Floor events → BioTrack (classic JSON API) operations.

BioTrack refers to rooms by number and to plants and inventory by their 16-digit
ids (the tags kiosks scan in BioTrack states). Moves to one room share a call
(the actions take a list of ids); everything else is one call per event, sent
with the event id as its nonce so that ``nonce_replay`` answers "did it land?"
after an ambiguous outcome, and hands back BioTrack's original answer (the ids
it assigned) for the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import assert_never

from bridge.ledger import Answer
from bridge.state import StateRejected
from bridge.state.biotrack import (
    AdjustReason,
    BioTrackClient,
    BioTrackRejected,
    BioTrackWrite,
    InventoryAdjust,
    InventoryMove,
    InventoryType,
    PlantCure,
    PlantDestroy,
    PlantDestroySchedule,
    PlantHarvest,
    PlantHarvestSchedule,
    PlantMove,
    PlantNew,
    PlantWasteWeigh,
    Weight,
    WriteResult,
)
from bridge.state.biotrack._refsource import adjust_reason_name
from bridge.submit._ops import Call, CallSender, Op, facility_record
from canopy.events import (
    Event,
    HarvestWasteEvent,
    LabelPrintedEvent,
    PackageAdjustedEvent,
    PackageCreatedEvent,
    PackageMovedEvent,
    PlantBatchCreatedEvent,
    PlantCuredEvent,
    PlantDestroyCompletedEvent,
    PlantDestroyedEvent,
    PlantHarvestedEvent,
    PlantManicuredEvent,
    PlantMovedEvent,
    PlantPhaseChangedEvent,
    PlantScannedEvent,
    RecordCorrectedEvent,
    RejectionDismissedEvent,
    RoomCountedEvent,
    ScaleCheckedEvent,
    SigninAlertedEvent,
    TagsReceivedEvent,
)

# Reasons BioTrack's destroy schedule takes as a code (reason_extended); the text goes along.
_DESTROY_CODES = {"male plants": 1, "contamination": 2, "pest infestation": 3, "disease": 4}
# Adjust reasons by the names the kiosk shows (refsync publishes them), matched without case.
_ADJUST_REASONS = {adjust_reason_name(r).casefold(): r for r in AdjustReason}

# Events BioTrack has no action for as Canopy records them: why, and what to do instead.
_NO_PACKAGE_CREATE = ("BioTrack assigns lot and package ids itself, so Canopy cannot create a package"
                      " under a tag; create the lot in BioTrack and scan its new id")
_NO_BATCH_DESTROY = ("BioTrack tracks each plant by its own id, not by batch; scan each plant you"
                     " destroy instead of the batch")

def _epoch(at: datetime) -> int:
    return int(at.timestamp())


@dataclass
class _Call:
    """One event's BioTrack call: scheduling steps first, then the step that counts.

    ``result`` is BioTrack's answer to the last step once there is one (from the
    send or from ``nonce_replay``), so the accepted answer can repeat it.
    """

    nonce: str
    steps: list[BioTrackWrite]
    result: WriteResult | None = None


def _created_plants(call: _Call) -> str:
    ids = call.result.barcode_ids if call.result is not None else ()
    if not ids:
        return ""
    if len(ids) == 1:
        return f"BioTrack created 1 plant: {ids[0]}"
    consecutive = all(int(b) - int(a) == 1 for a, b in pairwise(ids))
    listed = f"{ids[0]} – {ids[-1]}" if consecutive else ", ".join(ids)
    return f"BioTrack created {len(ids)} plants: {listed}"


class _Actions:
    """BioTrack's writes as the submitter sends them: each op carries one of these
    bound methods (``Op.call``), and its name is the action the ledger records."""

    def __init__(self, client: BioTrackClient) -> None:
        self.client = client

    # Moves into one room share a call; rows: (event id, a move of one id into the room).
    async def plant_move(self, rows: Sequence[tuple[str, PlantMove]]) -> None:
        ids = tuple(i for _, move in rows for i in move.barcode_ids)
        await self.client.submit(PlantMove(barcode_ids=ids, room=rows[0][1].room))

    async def inventory_move(self, rows: Sequence[tuple[str, InventoryMove]]) -> None:
        ids = tuple(i for _, move in rows for i in move.barcode_ids)
        await self.client.submit(InventoryMove(barcode_ids=ids, room=rows[0][1].room))

    # Everything else is one event per call (never batched: see Op.batchable).
    async def plant_new(self, rows: Sequence[_Call]) -> None:
        await self._steps(rows)

    async def plant_harvest(self, rows: Sequence[_Call]) -> None:
        await self._steps(rows)

    async def plant_cure(self, rows: Sequence[_Call]) -> None:
        await self._steps(rows)

    async def plant_waste_weigh(self, rows: Sequence[_Call]) -> None:
        await self._steps(rows)

    async def plant_destroy_schedule(self, rows: Sequence[_Call]) -> None:
        await self._steps(rows)

    async def plant_destroy(self, rows: Sequence[_Call]) -> None:
        await self._steps(rows)

    async def inventory_adjust(self, rows: Sequence[_Call]) -> None:
        await self._steps(rows)

    async def _steps(self, rows: Sequence[_Call]) -> None:
        (call,) = rows
        *first, last = call.steps
        for step in first:  # scheduling steps: skipped when an earlier try did them
            assert isinstance(step, PlantHarvestSchedule | PlantDestroySchedule)
            plant = await self.client.find_plant(step.barcode_ids[0])
            done = plant is not None and (
                plant.harvest_scheduled if isinstance(step, PlantHarvestSchedule)
                else plant.destroy_scheduled)
            if not done:
                await self.client.submit(step)
        # The step that counts carries the event's nonce: replaying it says whether it landed.
        call.result = await self.client.submit(last, nonce=call.nonce)


class BioTrackSender(CallSender):
    """Each op carries the bound action that sends it (see ``_Actions``)."""

    def __init__(self, client: BioTrackClient) -> None:
        self.client = client


class BioTrackMapper:
    def __init__(self, client: BioTrackClient) -> None:
        self.client = client
        self._actions = _Actions(client)
        self._plant_rooms: dict[str, int] = {}
        self._inventory_rooms: dict[str, int] = {}

    async def _room(self, name: str) -> int | None:
        if name not in self._plant_rooms:
            self._plant_rooms = {r.name: r.id for r in await self.client.plant_rooms() if not r.deleted}
        return self._plant_rooms.get(name)

    async def _inventory_room(self, name: str) -> int | None:
        if name not in self._inventory_rooms:
            self._inventory_rooms = {r.name: r.id for r in await self.client.inventory_rooms()
                                     if not r.deleted}
        return self._inventory_rooms.get(name)

    async def _replayed(self, call: _Call) -> bool | None:
        try:
            call.result = await self.client.replay(call.nonce)
        except (BioTrackRejected, StateRejected):
            return False
        return True

    def _single(self, event: Event, action: Call, steps: list[BioTrackWrite], *,
                told: Callable[[_Call], str] | None = None) -> Op:
        call = _Call(event.id.replace("-", ""), steps)
        return Op(event.id, action, call, double_counts=True,
                  landed=lambda: self._replayed(call), batchable=False,
                  told=(lambda: told(call)) if told is not None else (lambda: ""))

    async def map(self, event: Event) -> Op | Answer:
        try:
            return await self._map(event)
        except ValueError as exc:  # a request the client refuses to build, e.g. a tag that is no BioTrack id
            return Answer(event.id, "rejected", f"BioTrack cannot take this: {exc}")

    async def _map(self, event: Event) -> Op | Answer:
        actions = self._actions
        match event:
            case (PlantScannedEvent() | LabelPrintedEvent() | RoomCountedEvent() | TagsReceivedEvent()
                  | ScaleCheckedEvent() | RecordCorrectedEvent() | RejectionDismissedEvent()
                  | SigninAlertedEvent()):
                return facility_record(event)
            case PlantPhaseChangedEvent(data=d) if d.plant_batch is not None:
                return Answer(event.id, "rejected", "BioTrack gives each plant its own id when it is"
                              " created: there is no tagging step; scan the plant's BioTrack id instead")
            case PlantMovedEvent() | PlantPhaseChangedEvent():
                return await self._move_plant(event)
            case PlantBatchCreatedEvent():
                return await self._plant_new(event)
            case PlantHarvestedEvent(data=d) | PlantManicuredEvent(data=d):
                # A manicure is a harvest with more to come: the plant keeps growing.
                w = d.weight
                return self._single(event, actions.plant_harvest, [
                    PlantHarvestSchedule(barcode_ids=(d.tag,)),
                    PlantHarvest(barcode_ids=(d.tag,), collectiontime=_epoch(event.at),
                                 weights=(Weight(amount=w.value, invtype=InventoryType.FLOWER, uom=w.unit),),
                                 collect_additional=isinstance(event, PlantManicuredEvent)),
                ])
            case PlantCuredEvent():
                return await self._cure(event)
            case HarvestWasteEvent(data=d):
                w = d.weight
                return self._single(event, actions.plant_waste_weigh, [
                    PlantWasteWeigh(weight=w.value, uom=w.unit, collectiontime=_epoch(event.at))])
            case PlantDestroyedEvent(data=d):
                if d.tag is None:
                    return Answer(event.id, "rejected", _NO_BATCH_DESTROY)
                code = _DESTROY_CODES.get(d.reason.casefold(), 0)
                return self._single(event, actions.plant_destroy_schedule, [
                    PlantDestroySchedule(barcode_ids=(d.tag,), reason_code=code,
                                         reason=f"{d.reason}: {d.note}" if d.note else d.reason),
                    PlantWasteWeigh(weight=d.weight.value, uom=d.weight.unit,
                                    collectiontime=_epoch(event.at)),
                ])
            case PlantDestroyCompletedEvent(data=d):
                # Before the hold is over BioTrack refuses (602) in its own words, which the worker sees.
                return self._single(event, actions.plant_destroy, [PlantDestroy(barcode_ids=(d.tag,))])
            case PackageMovedEvent():
                return await self._move_package(event)
            case PackageAdjustedEvent():
                return self._adjust(event)
            case PackageCreatedEvent():
                return Answer(event.id, "rejected", _NO_PACKAGE_CREATE)
            case _:
                assert_never(event)

    async def _move_plant(self, event: PlantMovedEvent | PlantPhaseChangedEvent) -> Op | Answer:
        # BioTrack does not track vegetative vs flowering: a phase change reports
        # where the plant now is, which is all BioTrack keeps of it.
        d = event.data
        room = await self._room(d.location)
        if room is None:
            return Answer(event.id, "rejected", f"BioTrack has no plant room named {d.location!r}")
        assert d.tag is not None  # the payload's validator: tagging a batch was answered above
        tag = d.tag

        async def plant_landed() -> bool | None:
            plant = await self.client.find_plant(tag)
            return plant is not None and plant.room == room

        told = ("BioTrack does not track growth phase: the plant's room was reported"
                if isinstance(event, PlantPhaseChangedEvent) else "")
        return Op(event.id, self._actions.plant_move, (event.id, PlantMove(barcode_ids=(tag,), room=room)),
                  double_counts=False, landed=plant_landed, told=lambda: told, group=str(room))

    async def _move_package(self, event: PackageMovedEvent) -> Op | Answer:
        d = event.data
        room = await self._inventory_room(d.location)
        if room is None:
            return Answer(event.id, "rejected", f"BioTrack has no inventory room named {d.location!r}")
        tag = d.tag

        async def item_landed() -> bool | None:
            item = await self.client.find_inventory(tag)
            return item is not None and item.room == room

        return Op(event.id, self._actions.inventory_move,
                  (event.id, InventoryMove(barcode_ids=(tag,), room=room)),
                  double_counts=False, landed=item_landed, group=str(room))

    async def _plant_new(self, event: PlantBatchCreatedEvent) -> Op | Answer:
        d = event.data
        if d.source_package is None:
            return Answer(event.id, "rejected",
                          "BioTrack creates plants from the clone or seed package they came from:"
                          " scan that package's 16-digit id and record the plants again")
        room = await self._room(d.location)
        if room is None:
            return Answer(event.id, "rejected", f"BioTrack has no plant room named {d.location!r}")
        return self._single(event, self._actions.plant_new, [
            PlantNew(room=room, quantity=d.count, strain=d.strain, source=d.source_package)],
            told=_created_plants)

    async def _cure(self, event: PlantCuredEvent) -> Op | Answer:
        d = event.data
        room = await self._inventory_room(d.location)
        if room is None:
            return Answer(event.id, "rejected", f"BioTrack has no inventory room named {d.location!r}")
        buckets = ((d.weight, InventoryType.FLOWER), (d.other_material, InventoryType.OTHER_PLANT_MATERIAL),
                   (d.waste, InventoryType.WASTE))
        weights = tuple(Weight(amount=w.value, invtype=kind, uom=w.unit)
                        for w, kind in buckets if w is not None)
        return self._single(event, self._actions.plant_cure, [
            PlantCure(barcode_ids=(d.tag,), collectiontime=_epoch(event.at), weights=weights,
                      room=room)])

    def _adjust(self, event: PackageAdjustedEvent) -> Op | Answer:
        d = event.data
        reason = _ADJUST_REASONS.get(d.reason.casefold())
        if reason is None:
            known = ", ".join(adjust_reason_name(r) for r in AdjustReason)
            return Answer(event.id, "rejected",
                          f"BioTrack has no adjustment reason {d.reason!r}; pick one of: {known}")
        # The quantity is the new total, so a resend is harmless; the nonce still
        # lets a read-back keep BioTrack's adjustment history free of doubles.
        return self._single(event, self._actions.inventory_adjust, [
            InventoryAdjust(barcode_id=d.tag, quantity=d.quantity.value, uom=d.quantity.unit,
                            reason_code=reason,
                            reason=f"{d.reason}: {d.note}" if d.note else d.reason)])
