"""Floor events → BioTrack (classic JSON API) operations.

BioTrack refers to rooms by number and to plants by their 16-digit ids (the
tags kiosks scan in BioTrack states). Moves to one room share a call (the
action takes a list of ids); everything else is one call per event, sent with
the event id as its nonce so that ``nonce_replay`` answers "did it land?"
after an ambiguous outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.ledger import Answer
from bridge.state import StateRejected
from bridge.state.biotrack import (
    BioTrackClient,
    BioTrackRejected,
    BioTrackWrite,
    InventoryType,
    PlantDestroySchedule,
    PlantHarvest,
    PlantHarvestSchedule,
    PlantMove,
    PlantWasteWeigh,
    Weight,
)
from bridge.submit._ops import LOCAL_ONLY, Op
from canopy.events import Event

# Reasons BioTrack's destroy schedule takes as a code (reason_extended); the text goes along.
_DESTROY_CODES = {"male plants": 1, "contamination": 2, "pest infestation": 3, "disease": 4}


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


class BioTrackSender:
    def __init__(self, client: BioTrackClient) -> None:
        self.client = client

    async def send(self, endpoint: str, rows: list[Any]) -> None:
        if endpoint.startswith("plant_move:"):
            ids = tuple(i for row in rows for i in row[1].barcode_ids)
            await self.client.submit(PlantMove(barcode_ids=ids, room=rows[0][1].room))
            return
        (row,) = rows  # never batched: see Op.batchable
        nonce, steps = row
        *first, last = steps
        for step in first:  # scheduling steps: skipped when an earlier try did them
            plant = await self.client.find_plant(step.barcode_ids[0])
            done = plant is not None and (
                plant.harvest_scheduled if isinstance(step, PlantHarvestSchedule)
                else plant.destroy_scheduled)
            if not done:
                await self.client.submit(step)
        # The step that counts carries the event's nonce: replaying it says whether it landed.
        await self.client.submit(last, nonce=nonce)


class BioTrackMapper:
    def __init__(self, client: BioTrackClient) -> None:
        self.client = client
        self._rooms: dict[str, int] = {}

    async def _room(self, name: str) -> int | None:
        if name not in self._rooms:
            self._rooms = {r.name: r.id for r in await self.client.plant_rooms() if not r.deleted}
        return self._rooms.get(name)

    async def _replayed(self, nonce: str) -> bool | None:
        try:
            await self.client.replay(nonce)
        except (BioTrackRejected, StateRejected):
            return False
        return True

    def _single(self, event: Event, endpoint: str, steps: list[BioTrackWrite]) -> Op:
        nonce = event.id.replace("-", "")
        return Op(event.id, endpoint, (nonce, steps), double_counts=True,
                  landed=lambda: self._replayed(nonce), batchable=False)

    async def map(self, event: Event) -> Op | Answer:
        if event.type in LOCAL_ONLY:
            return Answer(event.id, "accepted", LOCAL_ONLY[event.type])
        d: Any = event.data
        if event.type == "plant.moved":
            room = await self._room(d.location)
            if room is None:
                return Answer(event.id, "rejected", f"BioTrack has no plant room named {d.location!r}")
            tag = d.tag

            async def landed() -> bool | None:
                plant = await self.client.find_plant(tag)
                return plant is not None and plant.room == room

            return Op(event.id, f"plant_move:{room}", (event.id, PlantMove(barcode_ids=(tag,), room=room)),
                      double_counts=False, landed=landed)
        if event.type == "plant.harvested":
            w = d.weight
            return self._single(event, "plant_harvest", [
                PlantHarvestSchedule(barcode_ids=(d.tag,)),
                PlantHarvest(barcode_ids=(d.tag,), collectiontime=_epoch(event.at),
                             weights=(Weight(amount=w.value, invtype=InventoryType.FLOWER, uom=w.unit),)),
            ])
        if event.type == "harvest.waste":
            w = d.weight
            return self._single(event, "plant_waste_weigh", [
                PlantWasteWeigh(weight=w.value, uom=w.unit, collectiontime=_epoch(event.at))])
        if event.type == "plant.destroyed" and d.tag is not None:
            code = _DESTROY_CODES.get(d.reason.casefold(), 0)
            return self._single(event, "plant_destroy_schedule", [
                PlantDestroySchedule(barcode_ids=(d.tag,), reason_code=code,
                                     reason=f"{d.reason}: {d.note}" if d.note else d.reason),
                PlantWasteWeigh(weight=d.weight.value, uom=d.weight.unit,
                                collectiontime=_epoch(event.at)),
            ])
        return Answer(event.id, "rejected",
                      f"Canopy cannot report {event.type} to BioTrack yet; record it in BioTrack")
