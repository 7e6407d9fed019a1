"""What each BioTrack classic action does to the simulator's state.

Every write validates the whole request first and only then changes state,
so a refused call changes nothing (BioTrack answers ``success: 0`` for the
call as a whole). Messages and codes follow state-apis.md §3.2: 200 for
validation, 202 for quantity rules, 602 for "not found / not yours / wrong
state" (BioTrack's catch-all). Wording marked [I] is ours where no captured
text was found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from statesim.biotrack._config import SimConfig
from statesim.biotrack._state import (
    Registry,
    SimAdjustment,
    SimCompany,
    SimDerivative,
    SimInventory,
    SimLocation,
    SimPlant,
    SimRoom,
    SimWaste,
    World,
)

VALIDATION = 200
QUANTITY = 202
NOT_FOUND = 602

_GRAMS = {
    "mg": Decimal("0.001"),
    "g": Decimal(1),
    "kg": Decimal(1000),
    "oz": Decimal("28.349523125"),
    "lb": Decimal("453.59237"),
}
_COLLECTION_TYPES = (6, 9, 27)
_PLANT_SOURCE_TYPES = (7, 10, 11)  # clone, seed, plant tissue
_LOT_OF = {6: 13, 9: 14}
_LOT_LIMIT_LB = {13: Decimal(5), 14: Decimal(15)}
_LOT_NAME = {13: "flower", 14: "other plant material"}
_ADJUST_TYPES = range(1, 7)
_WEIGHT_PLACES = Decimal("0.0001")


class ApiError(Exception):
    """A business refusal, answered as HTTP 200 ``success: 0``."""

    def __init__(self, errorcode: int | None, message: str) -> None:
        super().__init__(message)
        self.errorcode = errorcode
        self.message = message


def _possession(identifier: object) -> ApiError:
    return ApiError(NOT_FOUND, f"You do not currently have possession of identifier {identifier}.")


def _wrong_state(plant_id: str, verb: str) -> ApiError:
    # Text seen in erpnext_biotrack comments: "Barcode … is no longer in a state
    # where it can be harvested" / "… can be un-done".
    return ApiError(NOT_FOUND, f"Barcode {plant_id} is no longer in a state where it can be {verb}.")


@dataclass
class Context:
    """One authenticated call: whose it is, which world, and the clock."""

    registry: Registry
    world: World
    company: SimCompany
    config: SimConfig
    now: int
    _txn: int | None = None

    @property
    def txn(self) -> int:
        """The call's transaction id, allocated on first write so refusals don't use one."""
        if self._txn is None:
            self._txn = self.registry.next_transaction()
        return self._txn

    def locations(self) -> list[SimLocation]:
        return [self.world.locations[lic] for lic in self.company.locations
                if lic in self.world.locations]

    def location_for(self, req: Mapping[str, Any]) -> SimLocation:
        """The ``location`` field if given (it must be this company's), else the first one."""
        given = req.get("location")
        mine = self.locations()
        if given is None or given == "":
            if not mine:
                raise ApiError(NOT_FOUND, "Please specify a valid license number.")
            return mine[0]
        for loc in mine:
            if loc.license == str(given).strip():
                return loc
        raise ApiError(NOT_FOUND, "Please specify a valid license number.")

    def plant(self, plant_id: str) -> SimPlant:
        for loc in self.locations():
            plant = loc.plants.get(plant_id)
            if plant is not None:
                return plant
        raise _possession(plant_id)

    def item(self, barcode: str) -> SimInventory:
        for loc in self.locations():
            item = loc.inventory.get(barcode)
            if item is not None and not item.deleted:
                return item
        raise _possession(barcode)

    def location(self, license: str) -> SimLocation:
        return self.world.locations[license]

    def touch(self, *objects: SimPlant | SimInventory | SimRoom) -> None:
        for obj in objects:
            obj.transactionid = self.txn


# -- lenient request parsing (BioTrack accepts strings for numbers too) ---------


def _ids(req: Mapping[str, Any], key: str = "barcodeid") -> list[str]:
    value = req.get(key)
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, list):
        items = value
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        items = []
    ids = [str(v).strip() for v in items if str(v).strip()]
    if not ids:
        raise ApiError(NOT_FOUND, "Please specify at least one identifier.")
    for i in ids:
        if len(i) != 16 or not i.isdigit():
            raise _possession(i)
    return list(dict.fromkeys(ids))


def _int(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return int(number) if number.is_finite() and number == number.to_integral_value() else None


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ApiError(VALIDATION, f"You did not specify a valid {what}.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ApiError(VALIDATION, f"You did not specify a valid {what}.") from None
    if not number.is_finite() or number < 0:
        raise ApiError(VALIDATION, f"You did not specify a valid {what}.")
    return number


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true"}
    return bool(value) and value == 1


def _data_rows(req: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = req.get("data")
    if isinstance(data, Mapping):
        return [data]
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        return data
    raise ApiError(NOT_FOUND, "Please specify at least one identifier.")


def _convert(quantity: Decimal, uom: str, target: str) -> Decimal:
    """``quantity`` in ``uom`` expressed in ``target``; raises on incompatible units."""
    if uom == target:
        return quantity
    if uom in _GRAMS and target in _GRAMS:
        return quantity * _GRAMS[uom] / _GRAMS[target]
    raise ApiError(VALIDATION, "You did not specify a valid unit of measure.")


def _weight_uom(value: object) -> str:
    uom = str(value or "").strip().lower()
    if uom not in _GRAMS:
        raise ApiError(VALIDATION, "You did not specify a valid unit of measure.")
    return uom


def _plant_room(loc: SimLocation, value: object) -> SimRoom | None:
    room = loc.plant_rooms.get(_int(value) or -1)
    return room if room is not None and not room.deleted else None


def _inventory_room(loc: SimLocation, value: object) -> SimRoom | None:
    room = loc.inventory_rooms.get(_int(value) or -1)
    return room if room is not None and not room.deleted else None


def _collection_time(ctx: Context, req: Mapping[str, Any]) -> int:
    value = req.get("collectiontime")
    if value is None or value == "":
        return ctx.now
    epoch = _int(value)
    if epoch is None or epoch <= 0:
        raise ApiError(VALIDATION, "You did not specify a valid collection time.")  # [I]
    return epoch


def _one_location(ctx: Context, req: Mapping[str, Any], plants: list[SimPlant]) -> SimLocation:
    licenses = {p.location for p in plants}
    if len(licenses) != 1:
        raise ApiError(NOT_FOUND, "All identifiers must belong to the same location.")  # [I]
    loc = ctx.location(licenses.pop())
    if req.get("location") not in (None, "") and ctx.location_for(req) is not loc:
        raise ApiError(NOT_FOUND, "Please specify a valid license number.")
    return loc


def _strain_of(strains: Iterable[str]) -> str:
    names = set(strains)
    return names.pop() if len(names) == 1 else "Mixed"


# -- plants ----------------------------------------------------------------------


def plant_new(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    loc = ctx.location_for(req)
    room = _plant_room(loc, req.get("room"))
    if room is None:
        raise ApiError(VALIDATION, "You did not specify a valid room for the new plant(s).")
    quantity = _int(req.get("quantity"))
    if quantity is None or quantity <= 0:
        raise ApiError(QUANTITY, "You did not provide a whole quantity.")
    strain = str(req.get("strain") or "").strip()
    if not strain:
        raise ApiError(VALIDATION, "You did not specify a valid strain.")  # [I]
    source: SimInventory | None = None
    if req.get("source") not in (None, ""):
        source = ctx.item(str(req["source"]).strip())
        if source.location != loc.license:
            raise _possession(source.id)
        if source.inventorytype not in _PLANT_SOURCE_TYPES:
            raise ApiError(NOT_FOUND, f"Identifier {source.id} is not a valid source for plants.")
        if source.remaining_quantity < quantity:
            raise ApiError(QUANTITY, f"The quantity requested exceeds the quantity remaining "
                                     f"for identifier {source.id}.")  # [I]
    elif ctx.config.require_plant_source:
        raise ApiError(NOT_FOUND, "Please specify a source inventory identifier.")  # [I]
    mother = _flag(req.get("mother"))

    ids = [ctx.registry.new_id(loc.license) for _ in range(quantity)]
    for plant_id in ids:
        loc.plants[plant_id] = SimPlant(
            plant_id, loc.license, room.id, strain, mother=mother,
            parentid=source.id if source else None, sessiontime=ctx.now,
            transactionid=ctx.txn, transactionid_original=ctx.txn,
        )
    if source is not None:
        source.remaining_quantity -= quantity
        ctx.touch(source)
    return {"barcode_id": ids}


def _living(ctx: Context, req: Mapping[str, Any], verb: str) -> list[SimPlant]:
    plants = [ctx.plant(pid) for pid in _ids(req)]
    for plant in plants:
        if plant.deleted or plant.converted or plant.state != 0:
            raise _wrong_state(plant.id, verb)
    return plants


def plant_move(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    plants = [ctx.plant(pid) for pid in _ids(req)]
    targets: list[tuple[SimPlant, SimRoom]] = []
    for plant in plants:
        if plant.deleted or plant.converted or plant.state == 2:
            raise _wrong_state(plant.id, "moved")
        room = _plant_room(ctx.location(plant.location), req.get("room"))
        if room is None:
            raise ApiError(VALIDATION, "You did not specify a valid room.")  # [I]
        targets.append((plant, room))
    for plant, room in targets:
        plant.room = room.id
        ctx.touch(plant)
    return {}


def plant_harvest_schedule(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    plants = _living(ctx, req, "scheduled for harvest")
    for plant in plants:
        plant.harvestscheduled = True
        ctx.touch(plant)
    return {}


def plant_harvest_schedule_undo(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    plants = _living(ctx, req, "un-done")
    for plant in plants:
        plant.harvestscheduled = False
        ctx.touch(plant)
    return {}


def _weights(req: Mapping[str, Any]) -> list[tuple[int, Decimal, str]]:
    raw = req.get("weights")
    if not isinstance(raw, list) or not raw:
        raise ApiError(VALIDATION, "You did not specify any weights.")  # [I]
    out: list[tuple[int, Decimal, str]] = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise ApiError(VALIDATION, "You did not specify any weights.")
        invtype = _int(entry.get("invtype"))
        if invtype not in _COLLECTION_TYPES:
            raise ApiError(VALIDATION, "You did not specify a valid inventory type.")  # [I]
        out.append((invtype, _decimal(entry.get("amount"), "weight"), _weight_uom(entry.get("uom"))))
    return out


def _collect(
    ctx: Context,
    req: Mapping[str, Any],
    *,
    stage: int,
    verb: str,
    output_type: Callable[[int], int | None],
    room: int | None,
) -> tuple[list[SimPlant], SimLocation, list[dict[str, Any]]]:
    """Shared by harvest (stage 1) and cure (stage 2): weights in, derivatives out.

    ``collectadditional: 1`` says more collections from these plants will follow
    [I]: they stay where they are (a manicured plant keeps growing, a partly cured
    one keeps drying); the last collection (0) moves them on to ``stage``.
    """
    plants = [ctx.plant(pid) for pid in _ids(req)]
    additional = _flag(req.get("collectadditional"))
    for plant in plants:
        if plant.deleted or plant.converted or plant.state != stage - 1:
            raise _wrong_state(plant.id, verb)
        if stage == 1 and plant.state == 0 and ctx.config.require_harvest_schedule and (
            not plant.harvestscheduled
        ):
            raise ApiError(NOT_FOUND, f"Barcode {plant.id} has not been scheduled for harvest.")
    loc = _one_location(ctx, req, plants)
    weights = _weights(req)
    when = _collection_time(ctx, req)

    derivatives: list[dict[str, Any]] = []
    strain = _strain_of(p.strain for p in plants)
    out_room = loc.default_inventory_room() if room is None else room
    plant_ids = [p.id for p in plants]
    for invtype, amount, uom in weights:
        if amount == 0:
            continue
        produced = output_type(invtype)
        inventory_id: str | None = None
        if produced is not None:
            item = SimInventory(
                ctx.registry.new_id(loc.license), loc.license, produced, strain, amount, uom,
                out_room, plantid=list(plant_ids), sessiontime=ctx.now,
                transactionid=ctx.txn, transactionid_original=ctx.txn,
            )
            loc.inventory[item.id] = item
            inventory_id = item.id
            derivatives.append({"barcode_id": item.id, "barcode_type": produced})
        share = amount if len(plants) == 1 else (amount / len(plants)).quantize(_WEIGHT_PLACES)
        for plant in plants:
            loc.derivatives.append(SimDerivative(
                plant.id, inventory_id, produced if produced is not None else invtype, share,
                amount, uom, harvestcollect=stage == 1, curecollect=stage == 2,
                collectadditional=additional, collectiontime=when, location=loc.license,
                room=out_room, sessiontime=ctx.now, transactionid=ctx.txn,
            ))
        if invtype == 27 and inventory_id is not None:
            loc.waste.append(SimWaste(inventory_id, amount, uom, when,
                                      "plant_harvest" if stage == 1 else "plant_cure",
                                      list(plant_ids), ctx.txn))
    for plant in plants:
        if not additional:
            plant.state = stage
        if stage == 1:
            plant.harvestcollect = True
        else:
            plant.curecollect = True
        ctx.touch(plant)
    return plants, loc, derivatives


def plant_harvest(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    wet = _flag(req.get("wet"))
    new_room: SimRoom | None = None
    if req.get("new_room") not in (None, ""):
        first = ctx.plant(_ids(req)[0])
        new_room = _plant_room(ctx.location(first.location), req.get("new_room"))
        if new_room is None:
            raise ApiError(VALIDATION, "You did not specify a valid room.")

    def output(invtype: int) -> int | None:
        # BUNK: flower becomes 29 (wet flower) with wet=1, otherwise an un-ID'd
        # plant_derivative; other material (9) and waste (27) always get ids.
        if invtype == 6:
            return 29 if wet else None
        return invtype

    plants, _, derivatives = _collect(
        ctx, req, stage=1, verb="harvested", output_type=output, room=None
    )
    if new_room is not None:
        for plant in plants:
            plant.room = new_room.id
    return {"derivatives": derivatives}


def plant_cure(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    room: int | None = None
    if req.get("room") not in (None, ""):
        first = ctx.plant(_ids(req)[0])
        inventory_room = _inventory_room(ctx.location(first.location), req.get("room"))
        if inventory_room is None:
            raise ApiError(VALIDATION, "You did not specify a valid room.")
        room = inventory_room.id
    _, _, derivatives = _collect(
        ctx, req, stage=2, verb="cured", output_type=lambda invtype: invtype, room=room
    )
    return {"derivatives": derivatives}


def plant_waste_weigh(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    loc = ctx.location_for(req)
    weight = _decimal(req.get("weight"), "weight")
    if weight == 0:
        raise ApiError(VALIDATION, "You did not specify a valid weight.")
    uom = _weight_uom(req.get("uom"))
    when = _collection_time(ctx, req)
    item = SimInventory(
        ctx.registry.new_id(loc.license), loc.license, 27, "", weight, uom,
        loc.default_inventory_room(), productname="Waste", sessiontime=ctx.now,
        transactionid=ctx.txn, transactionid_original=ctx.txn,
    )
    loc.inventory[item.id] = item
    loc.waste.append(SimWaste(item.id, weight, uom, when, "plant_waste_weigh", [], ctx.txn))
    return {"barcode_id": item.id, "barcode_type": 27}


def plant_destroy_schedule(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    plants = [ctx.plant(pid) for pid in _ids(req)]
    reason = str(req.get("reason") or "").strip()
    if not reason:
        raise ApiError(VALIDATION, "You did not specify a reason.")  # [I]
    code = _int(req.get("reason_extended"))
    for plant in plants:
        if plant.deleted or plant.converted:
            raise _wrong_state(plant.id, "scheduled for destruction")
    for plant in plants:
        if not plant.removescheduled:
            # Rescheduling keeps the first time, so a replay can't restart the hold.
            plant.removescheduled = True
            plant.removescheduletime = ctx.now
        plant.removereason = reason
        plant.removereason_extended = code
        ctx.touch(plant)
    return {}


def _scheduled(ctx: Context, req: Mapping[str, Any], verb: str) -> list[SimPlant]:
    plants = [ctx.plant(pid) for pid in _ids(req)]
    for plant in plants:
        if plant.deleted or plant.converted:
            raise _wrong_state(plant.id, verb)
        if not plant.removescheduled:
            raise ApiError(NOT_FOUND, f"Barcode {plant.id} has not been scheduled for "
                                      "destruction.")  # [I]
    return plants


def plant_destroy_schedule_undo(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    plants = _scheduled(ctx, req, "un-done")
    for plant in plants:
        plant.removescheduled = False
        plant.removescheduletime = 0
        plant.removereason = ""
        plant.removereason_extended = None
        ctx.touch(plant)
    return {}


def plant_destroy(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    plants = _scheduled(ctx, req, "destroyed")
    hold = ctx.config.destroy_hold_s
    for plant in plants:
        if ctx.now < plant.removescheduletime + hold:
            hours = round(hold / 3600)
            raise ApiError(NOT_FOUND, f"The mandatory {hours} hour waiting period has not passed.")
    for plant in plants:
        plant.deleted = True
        ctx.touch(plant)
    return {}


def plant_convert_to_inventory(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    plants = _living(ctx, req, "converted")
    for plant in plants:
        loc = ctx.location(plant.location)
        # CRE-A keeps the plant's barcode for the new item; it becomes a mature plant (12).
        loc.inventory[plant.id] = SimInventory(
            plant.id, loc.license, 12, plant.strain, Decimal(1), "each",
            loc.default_inventory_room(), productname=f"{plant.strain} Mature Plant",
            plantid=[plant.id], sessiontime=ctx.now, transactionid=ctx.txn,
            transactionid_original=ctx.txn,
        )
        plant.converted = True
        ctx.touch(plant)
    return {"barcode_id": [p.id for p in plants]}


# -- inventory -------------------------------------------------------------------


def inventory_move(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    moves: list[tuple[SimInventory, SimRoom]] = []
    for row in _data_rows(req):
        item = ctx.item(str(row.get("barcodeid") or "").strip())
        room = _inventory_room(ctx.location(item.location), row.get("room"))
        if room is None:
            raise ApiError(VALIDATION, "You did not specify a valid room.")
        moves.append((item, room))
    for item, room in moves:
        item.currentroom = room.id
        ctx.touch(item)
    return {}


def inventory_adjust(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    plan: list[tuple[SimInventory, Decimal, int, str]] = []
    for row in _data_rows(req):
        item = ctx.item(str(row.get("barcodeid") or "").strip())
        quantity = _decimal(row.get("quantity"), "quantity")
        uom = str(row.get("quantity_uom") or item.uom).strip().lower()
        new_quantity = _convert(quantity, uom, item.uom)
        atype = _int(row.get("type"))
        if atype is None or atype not in _ADJUST_TYPES:
            raise ApiError(VALIDATION, "You did not specify a valid adjustment type.")  # [I]
        reason = str(row.get("reason") or "").strip()
        if not reason:
            raise ApiError(VALIDATION, "You did not specify a reason.")  # [I]
        plan.append((item, new_quantity, atype, reason))
    for item, new_quantity, atype, reason in plan:
        ctx.location(item.location).adjustments.append(SimAdjustment(
            item.id, item.location, atype, item.remaining_quantity, new_quantity, reason,
            ctx.now, ctx.txn,
        ))
        item.remaining_quantity = new_quantity
        ctx.touch(item)
    return {}


def _removals(ctx: Context, req: Mapping[str, Any]) -> list[tuple[SimInventory, Decimal]]:
    """``data: [{barcodeid, remove_quantity, remove_quantity_uom}]`` in each item's unit."""
    removals: list[tuple[SimInventory, Decimal]] = []
    taken: dict[str, Decimal] = {}
    for row in _data_rows(req):
        item = ctx.item(str(row.get("barcodeid") or "").strip())
        quantity = _decimal(row.get("remove_quantity"), "quantity")
        if quantity == 0:
            raise ApiError(VALIDATION, "You did not specify a valid quantity.")
        uom = str(row.get("remove_quantity_uom") or item.uom).strip().lower()
        amount = _convert(quantity, uom, item.uom)
        taken[item.id] = taken.get(item.id, Decimal(0)) + amount
        if taken[item.id] > item.remaining_quantity:
            raise ApiError(QUANTITY, "A derivative amount greater than the deduction amount "
                                     "was entered.")
        removals.append((item, amount))
    return removals


def inventory_split(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    loc = ctx.location_for(req)
    removals = _removals(ctx, req)
    for item, _ in removals:
        if item.location != loc.license:
            raise _possession(item.id)
    ids: list[str] = []
    for item, amount in removals:
        sub = SimInventory(
            ctx.registry.new_id(loc.license), loc.license, item.inventorytype, item.strain,
            amount, item.uom, item.currentroom, productname=item.productname,
            parentid=[item.id], plantid=list(item.plantid), sessiontime=ctx.now,
            transactionid=ctx.txn, transactionid_original=ctx.txn,
        )
        loc.inventory[sub.id] = sub
        item.remaining_quantity -= amount
        ctx.touch(item)
        ids.append(sub.id)
    return {"barcode_id": ids}


def inventory_create_lot(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
    removals = _removals(ctx, req)
    types = {item.inventorytype for item, _ in removals}
    licenses = {item.location for item, _ in removals}
    if len(types) != 1 or next(iter(types)) not in _LOT_OF or len(licenses) != 1:
        raise ApiError(VALIDATION, "Lots can only be created from flower or other plant "
                                   "material of one type and location.")  # [I]
    lot_type = _LOT_OF[types.pop()]
    requested = req.get("lot_type")
    if requested not in (None, "") and _int(requested) != lot_type:
        raise ApiError(VALIDATION, "You did not specify a valid lot type.")  # [I]
    grams = sum((_convert(amount, item.uom, "g") for item, amount in removals), Decimal(0))
    limit = _LOT_LIMIT_LB[lot_type]
    if grams > limit * _GRAMS["lb"]:
        raise ApiError(QUANTITY, f"You cannot create {_LOT_NAME[lot_type]} lots greater than "
                                 f"{limit} pounds.")
    loc = ctx.location(licenses.pop())
    lot = SimInventory(
        ctx.registry.new_id(loc.license), loc.license, lot_type,
        _strain_of(item.strain for item, _ in removals), grams, "g",
        removals[0][0].currentroom, productname=f"{_LOT_NAME[lot_type].title()} Lot",
        parentid=list(dict.fromkeys(item.id for item, _ in removals)),
        sessiontime=ctx.now, transactionid=ctx.txn, transactionid_original=ctx.txn,
    )
    for item, amount in removals:
        item.remaining_quantity -= amount
        ctx.touch(item)
    loc.inventory[lot.id] = lot
    return {"barcode_id": [lot.id]}


# -- sync reads ------------------------------------------------------------------


def _window(req: Mapping[str, Any]) -> Callable[[int], bool]:
    start = _int(req.get("transaction_start"))
    end = _int(req.get("transaction_end"))
    return lambda txn: (start is None or txn >= start) and (end is None or txn <= end)


def _active(req: Mapping[str, Any]) -> bool | None:
    value = req.get("active")
    return None if value in (None, "") else _flag(value)


def _sync(table: str, rows: Callable[[Context, SimLocation, bool | None], Iterable[dict[str, Any]]]
          ) -> Callable[[Context, Mapping[str, Any]], dict[str, Any]]:
    def handler(ctx: Context, req: Mapping[str, Any]) -> dict[str, Any]:
        keep = _window(req)
        active = _active(req)
        out = [row for loc in ctx.locations() for row in rows(ctx, loc, active)
               if keep(int(row["transactionid"]))]
        return {table: out}
    return handler


def _room_rows(kind: str) -> Callable[[Context, SimLocation, bool | None], list[dict[str, Any]]]:
    def rows(ctx: Context, loc: SimLocation, active: bool | None) -> list[dict[str, Any]]:
        rooms = loc.plant_rooms if kind == "plant" else loc.inventory_rooms
        return [r.row() for r in rooms.values() if not (active and r.deleted)]
    return rows


def _plant_rows(ctx: Context, loc: SimLocation, active: bool | None) -> list[dict[str, Any]]:
    return [p.row() for p in loc.plants.values()
            if not (active and (p.deleted or p.converted))]


def _inventory_rows(ctx: Context, loc: SimLocation, active: bool | None) -> list[dict[str, Any]]:
    return [i.row() for i in loc.inventory.values()
            if not (active and (i.deleted or i.remaining_quantity <= 0))]


def _vendor_rows(ctx: Context, loc: SimLocation, active: bool | None) -> list[dict[str, Any]]:
    # Vendors are the other licensees in the state; list them once (from the first location).
    if loc is not ctx.locations()[0]:
        return []
    return [other.vendor_row(1) for other in ctx.world.locations.values()
            if other.ubi != ctx.company.ubi]


Handler = Callable[[Context, Mapping[str, Any]], dict[str, Any]]

WRITES: dict[str, Handler] = {
    "plant_new": plant_new,
    "plant_move": plant_move,
    "plant_harvest_schedule": plant_harvest_schedule,
    "plant_harvest_schedule_undo": plant_harvest_schedule_undo,
    "plant_harvest": plant_harvest,
    "plant_cure": plant_cure,
    "plant_waste_weigh": plant_waste_weigh,
    "plant_destroy_schedule": plant_destroy_schedule,
    "plant_destroy_schedule_undo": plant_destroy_schedule_undo,
    "plant_destroy": plant_destroy,
    "plant_convert_to_inventory": plant_convert_to_inventory,
    "inventory_move": inventory_move,
    "inventory_adjust": inventory_adjust,
    "inventory_split": inventory_split,
    "inventory_create_lot": inventory_create_lot,
}

READS: dict[str, Handler] = {
    "sync_plant_room": _sync("plant_room", _room_rows("plant")),
    "sync_inventory_room": _sync("inventory_room", _room_rows("inventory")),
    "sync_plant": _sync("plant", _plant_rows),
    "sync_inventory": _sync("inventory", _inventory_rows),
    "sync_plant_derivative": _sync(
        "plant_derivative", lambda ctx, loc, active: [d.row() for d in loc.derivatives]
    ),
    "sync_inventory_adjust": _sync(
        "inventory_adjust", lambda ctx, loc, active: [a.row() for a in loc.adjustments]
    ),
    "sync_employee": _sync(
        "employee",
        lambda ctx, loc, active: [e.row() for e in loc.employees if not (active and e.deleted)],
    ),
    "sync_vendor": _sync("vendor", _vendor_rows),
}
