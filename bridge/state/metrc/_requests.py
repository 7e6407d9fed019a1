"""Typed rows for the Metrc v2 writes the floor produces.

Each class is one object of a write array. Attribute names are the snake_case of
Metrc's field names and ``to_metrc()`` gives Metrc's exact JSON keys (PascalCase,
optional fields sent as ``null`` as in Metrc's own examples). Business dates are
``datetime.date``: the caller derives them in the facility's time zone, the wire
carries ``YYYY-MM-DD``. Weights are ``Decimal``.

The client sends a list of these in one call; the caller chooses the batch size.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_pascal

GrowthPhase = Literal["Vegetative", "Flowering"]
PlantBatchType = Literal["Seed", "Clone"]

__all__ = [
    "AdjustPackage",
    "ChangePlantBatchGrowthPhase",
    "ChangePlantGrowthPhase",
    "CreateHarvestPackage",
    "CreatePackagePlantings",
    "CreatePlantings",
    "DestroyPlant",
    "DestroyPlantBatch",
    "FinishHarvest",
    "HarvestIngredient",
    "HarvestPlant",
    "ManicurePlant",
    "MetrcRow",
    "MovePackage",
    "MovePlant",
    "RecordHarvestWaste",
    "RecordPlantWaste",
    "SourcePlantBatch",
    "UnfinishHarvest",
]


class MetrcRow(BaseModel):
    """One object of a Metrc write array."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_pascal,
        validate_by_name=True,
        validate_by_alias=True,
    )

    # Fields left out of the body when they have no value: Metrc takes an absent
    # optional field, but an empty string is a value (an empty WasteMaterialMixed
    # would be recorded as mixed with "").
    omit_when_empty: ClassVar[frozenset[str]] = frozenset()

    def to_metrc(self) -> dict[str, Any]:
        """The JSON object Metrc expects (dates and Decimals left for the encoder)."""
        body = self.model_dump(by_alias=True, mode="python")
        for name in self.omit_when_empty:
            alias = to_pascal(name)
            if body.get(alias) in (None, ""):
                del body[alias]
        return body


class _PlantRef(MetrcRow):
    """Rows that name a plant by ``Id`` or by ``Label`` (the tag): exactly one of them."""

    id: int | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> Self:
        if (self.id is None) == (self.label is None):
            raise ValueError("give exactly one of id and label")
        return self


class SourcePlantBatch(MetrcRow):
    plant_batch_name: str


class CreatePlantings(MetrcRow):
    """``POST /plantbatches/v2/plantings``: seeds or clones become a plant batch."""

    name: str
    type: PlantBatchType
    count: int = Field(gt=0)
    strain: str
    location: str | None = None
    sublocation: str | None = None
    patient_license_number: str | None = None
    actual_date: date
    source_plant_batches: tuple[SourcePlantBatch, ...] | None = None


class CreatePackagePlantings(MetrcRow):
    """``POST /packages/v2/plantings``: a plant batch from a clone or seed package.

    The reference (state-apis §2.12) names the endpoint but gives no body; these
    field names are the ones every public client sends (Metrc's Postman example as
    mirrored by them). ``package_adjustment_amount`` is what leaves the package, in
    ``package_adjustment_unit_of_measure_name`` (``"Each"`` for clones and seeds).
    """

    package_label: str
    package_adjustment_amount: Decimal | None = Field(default=None, ge=0)
    package_adjustment_unit_of_measure_name: str | None = None
    plant_batch_name: str
    plant_batch_type: PlantBatchType
    plant_count: int = Field(gt=0)
    location_name: str | None = None
    sublocation_name: str | None = None
    strain_name: str
    patient_license_number: str | None = None
    planted_date: date
    unpackaged_date: date


class CreatePlantPlantings(MetrcRow):
    """``POST /plants/v2/plantings``: clones (or seeds) taken from a plant become a new batch.

    The body every public client sends (v1 ``/plants/v1/create/plantings`` had ``RoomName``
    where v2 has ``LocationName``); the mother plant stays where it is.
    """

    plant_label: str
    plant_batch_name: str
    plant_batch_type: PlantBatchType
    plant_count: int = Field(gt=0)
    location_name: str | None = None
    sublocation_name: str | None = None
    strain_name: str
    patient_license_number: str | None = None
    actual_date: date


class ChangePlantBatchGrowthPhase(MetrcRow):
    """``POST /plantbatches/v2/growthphase``: tag ``count`` immature plants.

    Metrc uses ``count`` consecutive tags from ``starting_tag``
    (see ``consecutive_tags``).
    """

    name: str
    count: int = Field(gt=0)
    starting_tag: str
    growth_phase: GrowthPhase
    new_location: str
    new_sublocation: str | None = None
    growth_date: date
    patient_license_number: str | None = None


class MovePlant(_PlantRef):
    """``PUT /plants/v2/location``."""

    location: str
    sublocation: str | None = None
    actual_date: date


class ChangePlantGrowthPhase(_PlantRef):
    """``PUT /plants/v2/growthphase`` (e.g. vegetative → flowering, optionally re-tagged)."""

    new_tag: str | None = None
    growth_phase: GrowthPhase
    new_location: str
    new_sublocation: str | None = None
    growth_date: date


class _HarvestFields(MetrcRow):
    """``harvest_name=None`` lets Metrc name a new harvest; an active harvest's
    name adds the weight to it."""

    plant: str
    weight: Decimal = Field(gt=0)
    unit_of_weight: str
    drying_location: str
    drying_sublocation: str | None = None
    harvest_name: str | None = None
    patient_license_number: str | None = None
    actual_date: date


class HarvestPlant(_HarvestFields):
    """``PUT /plants/v2/harvest``: whole-plant harvest with this plant's wet weight."""


class ManicurePlant(_HarvestFields):
    """``POST /plants/v2/manicure``: partial harvest; the plant keeps flowering."""

    plant_count: int = Field(default=1, gt=0)


class DestroyPlant(_PlantRef):
    """``DELETE /plants/v2`` (JSON body): destroy with waste method, reason and weight.

    The unit field here is ``WasteUnitOfMeasureName`` (state-apis.md §2 (f); Metrc API
    docs, Plants, ``DELETE /plants/v2``); the plant-batch destroy spells it differently.
    """

    omit_when_empty = frozenset({"waste_material_mixed"})

    waste_method_name: str
    waste_material_mixed: str | None = None
    waste_weight: Decimal = Field(ge=0)
    waste_unit_of_measure_name: str
    waste_reason_name: str
    reason_note: str = ""
    count: int = Field(default=0, ge=0)
    actual_date: date


class DestroyPlantBatch(MetrcRow):
    """``DELETE /plantbatches/v2`` (JSON body): destroy ``count`` untracked plants of a batch.

    Fields per the Metrc API docs (PlantBatches, ``DELETE /plantbatches/v2``) and
    state-apis.md §2 (f): the unit is ``WasteUnitOfMeasure``, not the plants
    endpoint's ``WasteUnitOfMeasureName`` (found against an independent Metrc).
    ``reason_note`` carries the op id so a read of ``/plants/v2/waste`` can find this
    write after an ambiguous outcome.
    """

    omit_when_empty = frozenset({"waste_method_name", "waste_material_mixed", "waste_unit_of_measure"})

    plant_batch: str
    count: int = Field(gt=0)
    waste_method_name: str | None = None
    waste_material_mixed: str | None = None
    waste_reason_name: str
    reason_note: str = ""
    waste_weight: Decimal = Field(ge=0)
    waste_unit_of_measure: str | None = None
    actual_date: date


class RecordPlantWaste(MetrcRow):
    """``POST /plants/v2/waste``: waste from plants (or a location) without destroying them."""

    waste_method_name: str
    mixed_material: str
    waste_weight: Decimal = Field(gt=0)
    unit_of_measure_name: str
    reason_name: str
    note: str = ""
    location_name: str | None = None
    sublocation_name: str | None = None
    waste_date: date
    plant_labels: tuple[str, ...] = ()


class RecordHarvestWaste(MetrcRow):
    """``POST /harvests/v2/waste``; ``id`` is the harvest's id."""

    id: int
    waste_type: str
    unit_of_weight: str
    waste_weight: Decimal = Field(gt=0)
    actual_date: date


class HarvestIngredient(MetrcRow):
    """One harvest a package draws from, by ``harvest_id`` or ``harvest_name``."""

    harvest_id: int | None = None
    harvest_name: str | None = None
    weight: Decimal = Field(gt=0)
    unit_of_weight: str

    @model_validator(mode="after")
    def _names_a_harvest(self) -> Self:
        if self.harvest_id is None and self.harvest_name is None:
            raise ValueError("give harvest_id or harvest_name")
        return self


class CreateHarvestPackage(MetrcRow):
    """``POST /harvests/v2/packages``: a new package (``tag``) from one or more harvests."""

    tag: str
    location: str | None = None
    sublocation: str | None = None
    item: str
    unit_of_weight: str
    patient_license_number: str | None = None
    note: str | None = None
    is_production_batch: bool = False
    production_batch_number: str | None = None
    is_trade_sample: bool = False
    is_donation: bool = False
    product_requires_remediation: bool = False
    remediate_product: bool = False
    product_requires_decontamination: bool = False
    decontaminate_product: bool = False
    actual_date: date
    expiration_date: date | None = None
    sell_by_date: date | None = None
    use_by_date: date | None = None
    ingredients: tuple[HarvestIngredient, ...] = Field(min_length=1)


class AdjustPackage(MetrcRow):
    """``POST /packages/v2/adjust`` (signed delta) or ``PUT`` (the final quantity)."""

    label: str
    quantity: Decimal
    unit_of_measure: str
    adjustment_reason: str
    adjustment_date: date
    reason_note: str | None = None


class MovePackage(MetrcRow):
    """``PUT /packages/v2/location``."""

    label: str
    location: str
    sublocation: str | None = None
    move_date: date


class FinishHarvest(MetrcRow):
    """``PUT /harvests/v2/finish``."""

    id: int
    actual_date: date


class UnfinishHarvest(MetrcRow):
    """``PUT /harvests/v2/unfinish``."""

    id: int
