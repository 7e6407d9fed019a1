"""Floor events → Metrc v2 operations, and how to read each one back."""

from __future__ import annotations

from typing import Any

from bridge.ledger import Answer
from bridge.state.metrc import (
    ChangePlantBatchGrowthPhase,
    ChangePlantGrowthPhase,
    CreateHarvestPackage,
    CreatePlantings,
    DestroyPlant,
    HarvestIngredient,
    HarvestPlant,
    MetrcClient,
    MovePlant,
    RecordHarvestWaste,
)
from bridge.submit._ops import LOCAL_ONLY, Op, business_date
from canopy.events import Event

_UNITS = {"g": "Grams", "kg": "Kilograms", "lb": "Pounds", "oz": "Ounces"}


class MetrcSender:
    def __init__(self, client: MetrcClient) -> None:
        self.client = client

    async def send(self, endpoint: str, rows: list[Any]) -> None:
        await getattr(self.client, endpoint)(rows)


class MetrcMapper:
    def __init__(self, client: MetrcClient, timezone: str) -> None:
        self.client = client
        self.timezone = timezone

    async def map(self, event: Event) -> Op | Answer:
        if event.type in LOCAL_ONLY:
            return Answer(event.id, "accepted", LOCAL_ONLY[event.type])
        day = business_date(event.at, self.timezone)
        d: Any = event.data
        if event.type == "plant.moved":
            tag, room = d.tag, d.location
            return Op(event.id, "move_plants",
                      MovePlant(label=tag, location=room, sublocation=d.sublocation, actual_date=day),
                      double_counts=False, landed=lambda: self._plant_in(tag, room))
        if event.type == "plant.phase_changed":
            if d.plant_batch is not None:
                new_tag = d.new_tag
                return Op(event.id, "change_plant_batch_growth_phase",
                          ChangePlantBatchGrowthPhase(name=d.plant_batch, count=1, starting_tag=new_tag,
                                                      growth_phase=d.phase, new_location=d.location,
                                                      growth_date=day),
                          double_counts=True, landed=lambda: self._plant_exists(new_tag))
            tag, phase = d.tag, d.phase
            return Op(event.id, "change_plant_growth_phase",
                      ChangePlantGrowthPhase(label=tag, new_tag=d.new_tag, growth_phase=phase,
                                             new_location=d.location, growth_date=day),
                      double_counts=False, landed=lambda: self._plant_phase(d.new_tag or tag, phase))
        if event.type == "plant_batch.created":
            name = d.name
            return Op(event.id, "create_plantings",
                      CreatePlantings(name=name, type=d.type, count=d.count, strain=d.strain,
                                      location=d.location, actual_date=day),
                      double_counts=True, landed=lambda: self._batch_exists(name))
        if event.type == "plant.harvested":
            tag = d.tag
            return Op(event.id, "harvest_plants",
                      HarvestPlant(plant=tag, weight=d.weight.value, unit_of_weight=_UNITS[d.weight.unit],
                                   drying_location=d.drying_location, harvest_name=d.harvest_name,
                                   actual_date=day),
                      double_counts=True, landed=lambda: self._harvested(tag))
        if event.type == "harvest.waste":
            return await self._harvest_waste(event, day)
        if event.type == "plant.destroyed":
            if d.tag is None:
                return Answer(event.id, "rejected",
                              "Canopy cannot report destroying part of a plant batch to Metrc yet;"
                              " record it in Metrc's web UI")
            tag = d.tag
            return Op(event.id, "destroy_plants",
                      DestroyPlant(label=tag, waste_method_name=d.method,
                                   waste_material_mixed=d.material_mixed, waste_weight=d.weight.value,
                                   waste_unit_of_measure_name=_UNITS[d.weight.unit],
                                   waste_reason_name=d.reason, reason_note=d.note, actual_date=day),
                      double_counts=True, landed=lambda: self._destroyed(tag))
        if event.type == "package.created":
            tag = d.tag
            ingredients = tuple(
                HarvestIngredient(harvest_name=s.harvest_name, weight=s.weight.value,
                                  unit_of_weight=_UNITS[s.weight.unit]) for s in d.sources)
            return Op(event.id, "create_harvest_packages",
                      CreateHarvestPackage(tag=tag, location=d.location, item=d.item,
                                           unit_of_weight=_UNITS[d.sources[0].weight.unit],
                                           note=d.note or None, actual_date=day,
                                           ingredients=ingredients),
                      double_counts=True, landed=lambda: self._package_exists(tag))
        return Answer(event.id, "rejected", f"Canopy does not report {event.type} to Metrc")

    async def _harvest_waste(self, event: Event, day: Any) -> Op | Answer:
        d: Any = event.data
        # A failing read raises the same errors as a write: the submitter retries later.
        harvest = await self.client.find_harvest(d.harvest_name)
        if harvest is None:
            return Answer(event.id, "rejected", f"Metrc has no harvest named {d.harvest_name!r}")
        harvest_id = harvest.id
        weight, unit = d.weight.value, _UNITS[d.weight.unit]
        seen: set[int] = set()

        async def before() -> None:
            seen.clear()
            seen.update(r.id for r in await self.client.harvest_waste(harvest_id))

        async def landed() -> bool | None:
            records = await self.client.harvest_waste(harvest_id)
            return any(r.id not in seen and r.waste_weight == weight for r in records)

        return Op(event.id, "record_harvest_waste",
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
        plant = await self.client.plant(tag)
        return plant is not None and (plant.harvest_id is not None or plant.harvested_date is not None)

    async def _destroyed(self, tag: str) -> bool | None:
        plant = await self.client.plant(tag)
        return plant is not None and plant.destroyed_date is not None

    async def _batch_exists(self, name: str) -> bool | None:
        return await self.client.find_plant_batch(name) is not None

    async def _package_exists(self, tag: str) -> bool | None:
        return await self.client.package(tag) is not None
