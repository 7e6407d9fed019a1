"""Floor events → Metrc v2 operations, and how to read each one back.

Read-backs that compare the state before and after a send (weights and waste,
which Metrc adds up) keep what they saw in ``_Snapshots`` by event id: the
submitter maps an event afresh each round, so the ``Op`` that reads back after
an ambiguous outcome is not the one that took the "before" picture.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, assert_never

from bridge.ledger import Answer
from bridge.state.metrc import (
    AdjustPackage,
    ChangePlantBatchGrowthPhase,
    ChangePlantGrowthPhase,
    CreateHarvestPackage,
    CreatePackagePlantings,
    CreatePlantings,
    CreatePlantPlantings,
    DestroyPlant,
    DestroyPlantBatch,
    HarvestIngredient,
    HarvestPlant,
    ManicurePlant,
    MetrcClient,
    MovePackage,
    MovePlant,
    PlantWasteRecord,
    RecordHarvestWaste,
    convert_quantity,
)
from bridge.submit._ops import CallSender, Op, business_date, facility_record
from canopy.events import (
    Event,
    HarvestWasteEvent,
    LabelPrintedEvent,
    PackageAdjustedEvent,
    PackageCreatedEvent,
    PackageMovedEvent,
    Payload,
    PlantBatchCreatedEvent,
    PlantCured,
    PlantCuredEvent,
    PlantDestroyCompleted,
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

_UNITS = {"g": "Grams", "kg": "Kilograms", "lb": "Pounds", "oz": "Ounces"}
# Weights come back from Metrc as decimals of what we sent, perhaps converted to the
# harvest's or package's unit: compare within this.
_WEIGHT_SLACK = Decimal("0.001")

# Records Metrc has no call for, and why (BioTrack takes them).
_NOT_REPORTED: dict[type[Payload], str] = {
    PlantCured: "dry weight recorded at the facility; Metrc has no per-plant dry weight and"
                " takes it when packages are made from the harvest",
    PlantDestroyCompleted: "recorded at the facility; Metrc recorded the destruction when it"
                           " was reported (Metrc has no hold or completion step)",
}


def _with_op_id(note: str, event_id: str) -> str:
    """A note carrying the event id, so a later read of the state can find this write
    (state-apis §2.6: Metrc has no idempotency key)."""
    tag = f"Canopy event {event_id}"
    return f"{note} ({tag})" if note else tag


class Pictures(Protocol):
    """Where a read-back's "before" picture is kept (the ledger: it survives a restart)."""

    async def keep_readback(self, event_id: str, picture: str) -> None: ...

    async def readback(self, event_id: str) -> str | None: ...


class MemoryPictures:
    """Pictures for a mapper without a ledger (tests, benchmarks); the oldest are dropped."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._seen: OrderedDict[str, str] = OrderedDict()

    async def keep_readback(self, event_id: str, picture: str) -> None:
        self._seen[event_id] = picture
        self._seen.move_to_end(event_id)
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    async def readback(self, event_id: str) -> str | None:
        return self._seen.get(event_id)


class MetrcSender(CallSender):
    """Each op names the client's batch method itself (``client.move_plants``)."""

    def __init__(self, client: MetrcClient) -> None:
        self.client = client


class MetrcMapper:
    def __init__(self, client: MetrcClient, timezone: str, pictures: Pictures | None = None) -> None:
        self.client = client
        self.timezone = timezone
        self._pictures = pictures or MemoryPictures()

    async def _keep(self, event_id: str, value: Any) -> None:
        await self._pictures.keep_readback(event_id, json.dumps(value))

    async def _picture(self, event_id: str) -> Any:
        """What was kept before the send; ``None`` only if it was never taken."""
        raw = await self._pictures.readback(event_id)
        return None if raw is None else json.loads(raw)

    async def map(self, event: Event) -> Op | Answer:
        day = business_date(event.at, self.timezone)
        match event:
            case (PlantScannedEvent() | LabelPrintedEvent() | RoomCountedEvent() | TagsReceivedEvent()
                  | ScaleCheckedEvent() | RecordCorrectedEvent() | RejectionDismissedEvent()
                  | SigninAlertedEvent()):
                return facility_record(event)
            case PlantCuredEvent() | PlantDestroyCompletedEvent():
                return Answer(event.id, "accepted", _NOT_REPORTED[type(event.data)])
            case PlantMovedEvent(data=d):
                tag, room = d.tag, d.location
                return Op(event.id, self.client.move_plants,
                          MovePlant(label=tag, location=room, sublocation=d.sublocation, actual_date=day),
                          double_counts=False, landed=lambda: self._plant_in(tag, room))
            case PlantPhaseChangedEvent(data=d) if d.plant_batch is not None:
                assert d.new_tag is not None  # the payload's validator: tagging names the new tag
                new_tag = d.new_tag
                return Op(event.id, self.client.change_plant_batch_growth_phase,
                          ChangePlantBatchGrowthPhase(name=d.plant_batch, count=1, starting_tag=new_tag,
                                                      growth_phase=d.phase, new_location=d.location,
                                                      growth_date=day),
                          double_counts=True, landed=lambda: self._plant_exists(new_tag))
            case PlantPhaseChangedEvent(data=d):
                assert d.tag is not None  # the payload's validator: a plant or a batch
                tag, phase, now_tag = d.tag, d.phase, d.new_tag or d.tag
                return Op(event.id, self.client.change_plant_growth_phase,
                          ChangePlantGrowthPhase(label=tag, new_tag=d.new_tag, growth_phase=phase,
                                                 new_location=d.location, growth_date=day),
                          double_counts=False, landed=lambda: self._plant_phase(now_tag, phase))
            case PlantBatchCreatedEvent(data=d):
                name = d.name
                if d.source_package is not None:
                    # Clones or seeds out of a package: the package gives up ``count`` plants.
                    return Op(event.id, self.client.create_package_plantings,
                              CreatePackagePlantings(package_label=d.source_package,
                                                     package_adjustment_amount=Decimal(d.count),
                                                     package_adjustment_unit_of_measure_name="Each",
                                                     plant_batch_name=name, plant_batch_type=d.type,
                                                     plant_count=d.count, location_name=d.location,
                                                     strain_name=d.strain, planted_date=day,
                                                     unpackaged_date=day),
                              double_counts=True, landed=lambda: self._batch_exists(name))
                if d.mother_tag is not None:
                    # Clones taken from a mother plant (California asks for the source).
                    return Op(event.id, self.client.create_plant_plantings,
                              CreatePlantPlantings(plant_label=d.mother_tag, plant_batch_name=name,
                                                   plant_batch_type=d.type, plant_count=d.count,
                                                   location_name=d.location, strain_name=d.strain,
                                                   actual_date=day),
                              double_counts=True, landed=lambda: self._batch_exists(name))
                return Op(event.id, self.client.create_plantings,
                          CreatePlantings(name=name, type=d.type, count=d.count, strain=d.strain,
                                          location=d.location, actual_date=day),
                          double_counts=True, landed=lambda: self._batch_exists(name))
            case PlantHarvestedEvent(data=d):
                tag = d.tag
                return Op(event.id, self.client.harvest_plants,
                          HarvestPlant(plant=tag, weight=d.weight.value, unit_of_weight=_UNITS[d.weight.unit],
                                       drying_location=d.drying_location, harvest_name=d.harvest_name,
                                       actual_date=day),
                          double_counts=True, landed=lambda: self._harvested(tag))
            case PlantManicuredEvent():
                return self._manicure(event, day)
            case HarvestWasteEvent():
                return await self._harvest_waste(event, day)
            case PlantDestroyedEvent(data=d):
                if d.tag is None:
                    return self._destroy_from_batch(event, day)
                tag = d.tag
                return Op(event.id, self.client.destroy_plants,
                          DestroyPlant(label=tag, waste_method_name=d.method,
                                       waste_material_mixed=d.material_mixed or None,
                                       waste_weight=d.weight.value,
                                       waste_unit_of_measure_name=_UNITS[d.weight.unit],
                                       waste_reason_name=d.reason, reason_note=d.note, actual_date=day),
                          double_counts=True, landed=lambda: self._destroyed(tag))
            case PackageCreatedEvent(data=d):
                tag = d.tag
                ingredients = tuple(
                    HarvestIngredient(harvest_name=s.harvest_name, weight=s.weight.value,
                                      unit_of_weight=_UNITS[s.weight.unit]) for s in d.sources)
                return Op(event.id, self.client.create_harvest_packages,
                          CreateHarvestPackage(tag=tag, location=d.location, item=d.item,
                                               unit_of_weight=_UNITS[d.sources[0].weight.unit],
                                               note=d.note or None, actual_date=day,
                                               ingredients=ingredients),
                          double_counts=True, landed=lambda: self._package_exists(tag))
            case PackageMovedEvent(data=d):
                label, room = d.tag, d.location
                return Op(event.id, self.client.move_packages,
                          MovePackage(label=label, location=room, sublocation=d.sublocation, move_date=day),
                          double_counts=False, landed=lambda: self._package_in(label, room))
            case PackageAdjustedEvent():
                return self._set_package_quantity(event, day)
            case _:
                assert_never(event)

    def _manicure(self, event: PlantManicuredEvent, day: date) -> Op:
        """Metrc adds a manicure's wet weight to the harvest named: a resend counts twice,
        so the read-back compares the harvest's wet weight before and after."""
        d = event.data
        tag, name = d.tag, d.harvest_name
        weight, unit = d.weight.value, _UNITS[d.weight.unit]

        async def before() -> None:
            harvest = await self.client.find_harvest(name)
            await self._keep(event.id, str(harvest.total_wet_weight if harvest else Decimal(0)))

        async def landed() -> bool | None:
            harvest = await self.client.find_harvest(name)
            if harvest is None:
                return False
            kept = await self._picture(event.id)
            if kept is None:
                # No picture was ever taken: the plant names the harvest it gave to. [I]
                plant = await self.client.plant(tag)
                return plant is not None and plant.harvest_id == harvest.id
            added = convert_quantity(weight, unit, harvest.unit_of_weight_name or unit)
            return harvest.total_wet_weight - Decimal(kept) + _WEIGHT_SLACK >= added

        return Op(event.id, self.client.manicure_plants,
                  ManicurePlant(plant=tag, weight=weight, unit_of_weight=unit,
                                drying_location=d.drying_location, harvest_name=name, actual_date=day),
                  double_counts=True, landed=landed, before=before)

    def _destroy_from_batch(self, event: PlantDestroyedEvent, day: date) -> Op:
        """Part of an immature plant batch destroyed. A resend would destroy more, so the
        event id rides in ``ReasonNote`` and the read-back looks for it in the waste list;
        where the state does not return notes, it looks for a new waste record of this
        batch, count and weight (taken before the send)."""
        d = event.data
        assert d.plant_batch is not None  # the payload's validator: a plant or a batch
        name, count = d.plant_batch, d.count
        weight, unit = d.weight.value, _UNITS[d.weight.unit]

        def this_batch(records: list[PlantWasteRecord]) -> list[PlantWasteRecord]:
            return [r for r in records if r.plant_batch_name == name]

        def same_destroy(r: PlantWasteRecord) -> bool:
            return (r.plant_count == count and r.waste_weight is not None
                    and abs(convert_quantity(r.waste_weight, r.waste_unit_of_measure_name or unit, unit)
                            - weight) <= _WEIGHT_SLACK)

        async def before() -> None:
            records = this_batch(await self.client.plant_waste())
            await self._keep(event.id, sorted({r.plant_waste_number or "" for r in records}))

        async def landed() -> bool | None:
            everything = await self.client.plant_waste()
            records = this_batch(everything)
            if any(event.id in (r.note or "") for r in records):
                return True
            if any(r.note is not None for r in everything):
                return False  # notes come back, and none carries this event
            kept = await self._picture(event.id)
            if kept is None:  # no picture was ever taken: same batch, count, weight and day
                return any(same_destroy(r) and r.waste_date == day for r in records)
            seen = set(kept)
            return any((r.plant_waste_number or "") not in seen and same_destroy(r) for r in records)

        return Op(event.id, self.client.destroy_plant_batches,
                  DestroyPlantBatch(plant_batch=name, count=count, waste_method_name=d.method or None,
                                    waste_material_mixed=d.material_mixed or None,
                                    waste_reason_name=d.reason, reason_note=_with_op_id(d.note, event.id),
                                    waste_weight=weight, waste_unit_of_measure=unit,
                                    actual_date=day),
                  double_counts=True, landed=landed, before=before)

    def _set_package_quantity(self, event: PackageAdjustedEvent, day: date) -> Op:
        """``PUT /packages/v2/adjust`` sets the final quantity, so a resend cannot count
        twice; the read-back still spares Metrc's history a second adjustment."""
        d = event.data
        label = d.tag
        quantity, unit = d.quantity.value, _UNITS[d.quantity.unit]

        async def landed() -> bool | None:
            package = await self.client.package(label)
            if package is None:
                return False
            try:
                wanted = convert_quantity(quantity, unit, package.unit_of_measure_name or unit)
            except ValueError:  # a count-based package: the state will say so on resend
                return False
            return abs(package.quantity - wanted) <= _WEIGHT_SLACK

        return Op(event.id, self.client.set_package_quantities,
                  AdjustPackage(label=label, quantity=quantity, unit_of_measure=unit,
                                adjustment_reason=d.reason, adjustment_date=day,
                                reason_note=_with_op_id(d.note, event.id)),
                  double_counts=True, landed=landed)

    async def _harvest_waste(self, event: HarvestWasteEvent, day: date) -> Op | Answer:
        d = event.data
        # A failing read raises the same errors as a write: the submitter retries later.
        harvest = await self.client.find_harvest(d.harvest_name)
        if harvest is None:
            return Answer(event.id, "rejected", f"Metrc has no harvest named {d.harvest_name!r}")
        harvest_id = harvest.id
        weight, unit = d.weight.value, _UNITS[d.weight.unit]

        async def before() -> None:
            await self._keep(event.id, sorted(r.id for r in await self.client.harvest_waste(harvest_id)))

        async def landed() -> bool | None:
            records = await self.client.harvest_waste(harvest_id)
            seen = set(await self._picture(event.id) or [])
            return any(r.id not in seen and r.waste_weight == weight for r in records)

        return Op(event.id, self.client.record_harvest_waste,
                  RecordHarvestWaste(id=harvest_id, waste_type=d.waste_type, unit_of_weight=unit,
                                     waste_weight=weight, actual_date=day),
                  double_counts=True, landed=landed, before=before)

    # --- read-backs -----------------------------------------------------------

    async def _plant_in(self, tag: str, room: str) -> bool | None:
        plant = await self.client.plant(tag)
        return plant is not None and plant.location_name == room

    async def _plant_phase(self, tag: str, phase: str) -> bool | None:
        plant = await self.client.plant(tag)
        return plant is not None and plant.growth_phase == phase

    async def _plant_exists(self, tag: str) -> bool | None:
        return await self.client.plant(tag) is not None

    async def _harvested(self, tag: str) -> bool | None:
        # Not ``harvest_id``: a manicured plant already names a harvest and keeps growing.
        plant = await self.client.plant(tag)
        return plant is not None and (plant.state == "Harvested" or plant.harvested_date is not None)

    async def _destroyed(self, tag: str) -> bool | None:
        plant = await self.client.plant(tag)
        return plant is not None and plant.destroyed_date is not None

    async def _package_in(self, label: str, room: str) -> bool | None:
        package = await self.client.package(label)
        return package is not None and package.location_name == room

    async def _batch_exists(self, name: str) -> bool | None:
        return await self.client.find_plant_batch(name) is not None

    async def _package_exists(self, tag: str) -> bool | None:
        return await self.client.package(tag) is not None
