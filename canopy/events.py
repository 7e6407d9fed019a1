"""The event contract: what the floor produces, validated on both ends.

Every worker action becomes one immutable event. The envelope (ARCHITECTURE.md
"Contracts") is the same for all of them; ``data`` is typed per ``type``. The
JSON Schema in ``schema/events.schema.json`` is generated from these models
(``python -m canopy.events --write-schema``) and checked for drift by the tests.

Rules carried by the model itself, so neither end can get them wrong:

- ids are UUIDv7 text, the idempotency key end to end;
- weights are decimal strings with a unit, never floats, and a weight read from
  a scale names the scale, is stable and keeps the raw frame;
- times are UTC with millisecond precision;
- a correction is a new event pointing at the old one (``corrects``).

Adding an event type: write its payload class (``type_name``, ``label``, and
``facility_only`` if no state takes it), its two-line envelope, and one line in
``AnyEvent``; then ``make schema``. mypy names every mapper that must handle it.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from canopy.ids import UUID7_PATTERN
from canopy.topics import NAME_PATTERN

SCHEMA_VERSION = 1
MAX_EVENT_BYTES = 64 * 1024  # one event on the wire; a room count of ~2,000 tags fits
# One MQTT message on an events topic holds one event, or several, one per line:
# the uplink packs a backlog so a long outage drains in seconds, not minutes.
MAX_MESSAGE_BYTES = 256 * 1024 - 1024  # under the broker's max_packet_size (256 KiB)
MAX_SEQ = 2**63 - 1
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "events.schema.json"

_DECIMAL_RE = re.compile(r"^-?\d{1,9}(\.\d{1,6})?$")


def _decimal_from_text(value: object) -> Decimal:
    # Floats are refused on purpose: 12.3 as a float is not 12.3, and a
    # legal-for-trade weight must survive the trip to the state exactly.
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError("must be a decimal string such as \"12.34\", not a number")
    if not _DECIMAL_RE.match(text):
        raise ValueError(f"{text!r} is not a decimal such as \"12.34\"")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already checked
        raise ValueError(f"{text!r} is not a decimal") from exc


DecimalText = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_text),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": _DECIMAL_RE.pattern}),
]


def _utc_ms(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (UTC)")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def format_utc(value: datetime) -> str:
    """RFC 3339, UTC, milliseconds: the one time format on the wire."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


UtcTime = Annotated[
    datetime,
    AfterValidator(_utc_ms),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

# A state tag or id as scanned: Metrc UIDs are 24 alphanumerics, BioTrack ids
# 16 digits; which one a facility takes is the kiosk's rule, not the contract's.
Tag = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{8,32}$")]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Note = Annotated[str, Field(max_length=500)]
Ident = Annotated[str, Field(pattern=NAME_PATTERN)]


class _Model(BaseModel):
    # defer_build: validators are built on first use. A kiosk makes a handful of
    # event types; building all of them (and the union) up front costs ~10 MB.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


MassUnit = Literal["g", "kg", "lb", "oz"]


class Weight(_Model):
    """A mass with its unit and, when it came from a scale, the evidence."""

    value: DecimalText
    unit: MassUnit
    scale_id: str | None = Field(default=None, description="registered scale that produced it")
    stable: bool = True
    raw: str | None = Field(default=None, max_length=200, description="the scale's frame as text")

    @model_validator(mode="after")
    def _loggable(self) -> Self:
        if self.value <= 0:
            raise ValueError("a logged weight must be more than zero")
        if not self.stable:
            raise ValueError("an unstable reading is never logged as a weight")
        if self.scale_id is not None and self.raw is None:
            raise ValueError("a weight from a scale keeps the scale's raw frame")
        return self


# --- payloads, one per event type -------------------------------------------
#
# Each payload class is the one declaration of its event type: its name on the
# wire, the words the kiosk's Records screen shows for it and, for records that
# stay at the facility, the answer the bridge gives instead of a state call.
# Its envelope below is two lines (``data: ThePayload``) and one line in the
# ``Event`` union, which mypy needs spelled out; every table is derived from that.


class Payload(_Model):
    type_name: ClassVar[str]  # the envelope's ``type``, e.g. "plant.moved"
    label: ClassVar[str]  # what the kiosk's Records screen calls it
    # Set for records the facility keeps and no state system takes: the answer's text.
    facility_only: ClassVar[str | None] = None
    # State systems (``Profile.system``) that have no call for it: there it is kept at the
    # facility too (the system's mapper says why, and checks it covers exactly these).
    not_reported_by: ClassVar[frozenset[str]] = frozenset()



class PlantScanned(Payload):
    type_name = "plant.scanned"
    label = "Plant seen"
    facility_only = "recorded at the facility (a scan is not reported to the state)"

    tag: Tag
    location: Name | None = None
    symbology: str | None = Field(default=None, max_length=4, description="AIM id, e.g. ]C0")
    scanner: str | None = Field(default=None, max_length=200)


class PlantMoved(Payload):
    type_name = "plant.moved"
    label = "Plant moved"

    tag: Tag
    location: Name
    sublocation: Name | None = None


class PlantPhaseChanged(Payload):
    """Vegetative → flowering (or back); tagging an immature lot names ``plant_batch``."""

    type_name = "plant.phase_changed"
    label = "Phase change"

    tag: Tag | None = Field(default=None, description="the plant, when it already has a tag")
    plant_batch: Name | None = Field(default=None, description="the immature lot being tagged")
    new_tag: Tag | None = None
    phase: Literal["Vegetative", "Flowering"]
    location: Name

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.tag is None) == (self.plant_batch is None):
            raise ValueError("name either the plant's tag or the plant batch, not both")
        if self.plant_batch is not None and self.new_tag is None:
            raise ValueError("tagging a plant from a batch needs the new tag")
        return self


class PlantBatchCreated(Payload):
    type_name = "plant_batch.created"
    label = "New lot"

    name: Name
    type: Literal["Seed", "Clone"]
    count: Annotated[int, Field(ge=1, le=100, description="an immature lot holds at most 100")]
    strain: Name
    location: Name
    source_batch: Name | None = None
    mother_tag: Tag | None = None
    source_package: Tag | None = Field(
        default=None,
        description="the clone or seed package the plants came from (BioTrack plant_new's source)",
    )


class PlantHarvested(Payload):
    type_name = "plant.harvested"
    label = "Harvest weight"

    tag: Tag
    harvest_name: Name
    drying_location: Name
    weight: Weight  # wet weight of this one plant


class PlantManicured(Payload):
    """A partial harvest: flower taken from a plant that keeps growing (Metrc manicure)."""

    type_name = "plant.manicured"
    label = "Manicure weight"

    tag: Tag
    harvest_name: Name
    drying_location: Name
    weight: Weight  # wet weight taken from this plant this time


class PlantCured(Payload):
    """The dry weights of a plant after drying (BioTrack plant_cure)."""

    type_name = "plant.cured"
    label = "Dry weight"
    not_reported_by = frozenset({"metrc"})

    tag: Tag
    location: Name = Field(description="the inventory room the cured material goes to")
    weight: Weight = Field(description="dry flower")
    other_material: Weight | None = None
    waste: Weight | None = None


class HarvestWaste(Payload):
    type_name = "harvest.waste"
    label = "Harvest waste"

    harvest_name: Name
    waste_type: Name
    weight: Weight


class PlantDestroyed(Payload):
    type_name = "plant.destroyed"
    label = "Destroyed"

    tag: Tag | None = None
    plant_batch: Name | None = None
    count: Annotated[int, Field(ge=0, le=100)] = 0
    reason: Name
    method: Annotated[str, Field(max_length=120)] = Field(
        default="", description="state list; may be empty where the state has none"
    )
    material_mixed: Annotated[str, Field(max_length=120)] = ""
    weight: Weight
    note: Note = ""

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.tag is None) == (self.plant_batch is None):
            raise ValueError("name either the plant's tag or the plant batch, not both")
        if self.plant_batch is not None and self.count < 1:
            raise ValueError("destroying from a plant batch needs a count")
        return self


class PlantDestroyCompleted(Payload):
    """The held waste of a destroyed plant was made unusable after the hold (BioTrack plant_destroy)."""

    type_name = "plant.destroy_completed"
    label = "Destruction completed"
    not_reported_by = frozenset({"metrc"})

    tag: Tag
    scheduled: Annotated[str, Field(pattern=UUID7_PATTERN,
                                    description="the plant.destroyed event that started the hold")]


class PackageSource(_Model):
    harvest_name: Name
    weight: Weight


class PackageCreated(Payload):
    type_name = "package.created"
    label = "Package"

    tag: Tag
    item: Name
    sources: Annotated[list[PackageSource], Field(min_length=1, max_length=50)]
    location: Name | None = None
    note: Note = ""


class PackageMoved(Payload):
    type_name = "package.moved"
    label = "Package moved"

    tag: Tag
    location: Name
    sublocation: Name | None = None


class PackageAdjusted(Payload):
    """The package re-weighed: ``quantity`` is its new total, not a difference.

    Absolute on purpose: both states can set a final quantity (Metrc ``PUT
    /packages/v2/adjust``, BioTrack ``inventory_adjust``), so a resend after a
    timeout cannot count the change twice.
    """

    type_name = "package.adjusted"
    label = "Package adjusted"

    tag: Tag
    quantity: Weight
    reason: Name = Field(description="the state's adjustment reason")
    note: Note = ""


class TagsReceived(Payload):
    """A roll or box of state tags arrived: the first and last tag scanned (CA: within 3 days)."""

    type_name = "tags.received"
    label = "Tags received"
    facility_only = "tag receipt recorded at the facility (confirm the order in the state system)"

    kind: Literal["plant", "package"]
    first: Tag
    last: Tag
    count: Annotated[int, Field(ge=1, le=100_000)]

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.first > self.last:
            raise ValueError("the first tag sorts after the last one: scan them in order")
        return self


class ScaleChecked(Payload):
    """The daily zero and check-weight test of a registered scale."""

    type_name = "scale.checked"
    label = "Scale check"
    facility_only = "scale check recorded at the facility (not reported to the state)"

    scale_id: Annotated[str, Field(min_length=1, max_length=64)]
    unit: MassUnit
    zero: DecimalText = Field(description="the reading with the pan empty")
    reference: DecimalText = Field(description="the certified test weight's mass")
    reading: DecimalText = Field(description="what the scale showed for the test weight")
    tolerance: DecimalText
    passed: bool
    legal_for_trade: bool | None = Field(
        default=None, description="the scale reported LFT ON (None: it cannot say)")
    raw: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _verdict(self) -> Self:
        if self.reference <= 0 or self.tolerance < 0:
            raise ValueError("the test weight must be more than zero and the tolerance not negative")
        # "passed" means the scale may weigh for the state today: it weighs right and
        # does not say it is out of legal-for-trade mode.
        ok = (abs(self.zero) <= self.tolerance and abs(self.reading - self.reference) <= self.tolerance
              and self.legal_for_trade is not False)
        if self.passed != ok:
            raise ValueError("passed must say whether zero and reading are within the tolerance"
                             " and the scale is not out of legal-for-trade mode")
        return self


PrintedLabelKind = Literal["plant", "lot", "room", "harvest", "package", "hold"]


class LabelPrinted(Payload):
    type_name = "label.printed"
    label = "Label printed"
    facility_only = "recorded at the facility (label printing is not reported to the state)"

    uid: Annotated[str, Field(min_length=1, max_length=64)]
    kind: PrintedLabelKind
    printer: Annotated[str, Field(max_length=200)]
    copies: Annotated[int, Field(ge=1, le=500)] = 1
    reprint: bool = False


class RoomCounted(Payload):
    type_name = "room.counted"
    label = "Room count"
    facility_only = "recorded at the facility for reconciliation (not reported to the state)"

    location: Name
    scanned: Annotated[list[Tag], Field(max_length=2000)]
    expected_count: Annotated[int, Field(ge=0)]
    missing: Annotated[list[Tag], Field(max_length=2000)] = []
    extra: Annotated[list[Tag], Field(max_length=2000)] = []


class RecordCorrected(Payload):
    """The event named by ``corrects`` was wrong; any replacement is its own event."""

    type_name = "record.corrected"
    label = "Correction"
    facility_only = ("correction recorded; if the original was already reported, the office"
                     " must correct it in the state system")

    reason: Name
    note: Note = ""


class RejectionDismissed(Payload):
    """A supervisor reviewed the state's rejection of the event named by ``corrects`` and
    decided nothing is to be redone (e.g. the office already entered it in the state system)."""

    type_name = "rejection.dismissed"
    label = "Rejection dismissed"
    facility_only = "dismissal recorded at the facility (a supervisor reviewed the state's rejection)"

    reason: Name
    note: Note = ""


class SigninAlerted(Payload):
    """Repeated failed sign-in tries at a kiosk: supervisors are alerted, and the ledger keeps it.

    The kiosk records it itself (the envelope's ``user`` is ``KIOSK_USER``): nobody signed in
    did it. ``worker`` is whose PIN was tried, for wrong PINs."""

    type_name = "signin.alerted"
    label = "Sign-in alert"
    facility_only = "sign-in alert recorded at the facility (not reported to the state)"

    kind: Literal["wrong_pin", "unknown_badge"]
    tries: Annotated[int, Field(ge=1, le=1000)]
    worker: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    message: Note


# The envelope's ``user`` of records the kiosk makes itself (a sign-in alert): no worker's.
KIOSK_USER = "kiosk"


# --- envelope -----------------------------------------------------------------


class Envelope(_Model):
    id: Annotated[str, Field(pattern=UUID7_PATTERN, description="UUIDv7, the idempotency key")]
    v: Literal[1] = 1  # SCHEMA_VERSION
    facility: Ident
    device: Ident
    user: Annotated[str, Field(min_length=1, max_length=64, description="worker who did it")]
    witness: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    at: UtcTime
    # A signed 64-bit integer, as the ledgers store it: a larger seq from a hostile
    # or broken client is refused here, not by the database after ingest.
    seq: Annotated[int, Field(ge=1, le=MAX_SEQ, description="per-device, monotonic")]
    corrects: Annotated[str, Field(pattern=UUID7_PATTERN)] | None = None
    if TYPE_CHECKING:
        # Each envelope's ``type`` is ``Literal[<its payload's type_name>]``, added by
        # ``__init_subclass__`` below (pydantic's discriminator needs the literal);
        # code tells the types apart by class (``match``), not by this string.
        type: str
        data: Payload

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Runs before pydantic collects the fields: the payload names the type.
        own = inspect.get_annotations(cls)
        payload = own.get("data")
        if payload is not None:
            if isinstance(payload, str):  # postponed annotations: a name in this module
                payload = globals()[payload]
            # ``type`` before ``data``, as on the wire and in the schema.
            cls.__annotations__ = {"type": Literal[payload.type_name], **own}
        super().__init_subclass__(**kwargs)

    @model_validator(mode="after")
    def _not_self(self) -> Self:
        if self.corrects == self.id:
            raise ValueError("an event cannot correct itself")
        if self.witness is not None and self.witness == self.user:
            raise ValueError("the witness must be a second person")
        return self

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class PlantScannedEvent(Envelope):
    data: PlantScanned


class PlantMovedEvent(Envelope):
    data: PlantMoved


class PlantPhaseChangedEvent(Envelope):
    data: PlantPhaseChanged


class PlantBatchCreatedEvent(Envelope):
    data: PlantBatchCreated


class PlantHarvestedEvent(Envelope):
    data: PlantHarvested


class PlantManicuredEvent(Envelope):
    data: PlantManicured


class PlantCuredEvent(Envelope):
    data: PlantCured


class HarvestWasteEvent(Envelope):
    data: HarvestWaste


class PlantDestroyedEvent(Envelope):
    data: PlantDestroyed


class PlantDestroyCompletedEvent(Envelope):
    data: PlantDestroyCompleted


class PackageCreatedEvent(Envelope):
    data: PackageCreated


class PackageMovedEvent(Envelope):
    data: PackageMoved


class PackageAdjustedEvent(Envelope):
    data: PackageAdjusted


class LabelPrintedEvent(Envelope):
    data: LabelPrinted


class RoomCountedEvent(Envelope):
    data: RoomCounted


class TagsReceivedEvent(Envelope):
    data: TagsReceived


class ScaleCheckedEvent(Envelope):
    data: ScaleChecked


class RecordCorrectedEvent(Envelope):
    data: RecordCorrected

    @model_validator(mode="after")
    def _needs_target(self) -> Self:
        if self.corrects is None:
            raise ValueError("a correction must name the event it corrects (corrects)")
        return self


class RejectionDismissedEvent(Envelope):
    data: RejectionDismissed

    @model_validator(mode="after")
    def _needs_target(self) -> Self:
        if self.corrects is None:
            raise ValueError("a dismissal must name the rejected event (corrects)")
        return self


class SigninAlertedEvent(Envelope):
    data: SigninAlerted


# The one explicit list of event types (mypy checks ``match`` statements against
# it); the order is the schema's. Every runtime table below is read from it.
AnyEvent = (
    PlantScannedEvent
    | PlantMovedEvent
    | PlantPhaseChangedEvent
    | PlantBatchCreatedEvent
    | PlantHarvestedEvent
    | PlantManicuredEvent
    | PlantCuredEvent
    | HarvestWasteEvent
    | PlantDestroyedEvent
    | PlantDestroyCompletedEvent
    | PackageCreatedEvent
    | PackageMovedEvent
    | PackageAdjustedEvent
    | LabelPrintedEvent
    | RoomCountedEvent
    | TagsReceivedEvent
    | ScaleCheckedEvent
    | RecordCorrectedEvent
    | RejectionDismissedEvent
    | SigninAlertedEvent
)
Event = Annotated[AnyEvent, Field(discriminator="type")]

ENVELOPES: tuple[type[Envelope], ...] = get_args(AnyEvent)


def _payload_of(envelope: type[Envelope]) -> type[Payload]:
    payload = envelope.model_fields["data"].annotation
    assert isinstance(payload, type) and issubclass(payload, Payload), envelope
    return payload


EVENT_CLASSES: dict[str, type[Envelope]] = {_payload_of(cls).type_name: cls for cls in ENVELOPES}
PAYLOADS: dict[str, type[Payload]] = {name: _payload_of(cls) for name, cls in EVENT_CLASSES.items()}
EVENT_TYPES = tuple(PAYLOADS)
# What the kiosk's Records screen calls each type.
LABELS: dict[str, str] = {name: payload.label for name, payload in PAYLOADS.items()}
# Records the facility keeps that no state system takes, with the answer's text.
FACILITY_ONLY: dict[str, str] = {name: payload.facility_only for name, payload in PAYLOADS.items()
                                 if payload.facility_only is not None}


def kept_at_facility(type_: str, system: str | None) -> bool:
    """Whether an answered record of ``type_`` stays at the facility (no state call) where the
    state system is ``system`` (None: not known yet, so only the types no system takes)."""
    payload = PAYLOADS.get(type_)
    return payload is not None and (payload.facility_only is not None or system in payload.not_reported_by)


@functools.cache
def _adapter() -> TypeAdapter[Event]:
    """The whole union, for reading any event (the bridge); built on first use."""
    return TypeAdapter(Event)


class InvalidEvent(ValueError):
    """An event that breaks the contract; the message says what, for a person."""


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - 5
    if more > 0:
        parts.append(f"and {more} more problem(s)")
    return "; ".join(parts)


def _shown(value: object) -> str:
    """A value from the wire, quoted and cut short for a message (it may be huge)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def parse_event(payload: bytes | str) -> Event:
    """Validate one event from the wire; raise ``InvalidEvent`` with a clear reason."""
    size = len(payload)
    if size > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event too large: {size} bytes, the limit is {MAX_EVENT_BYTES}")
    try:
        # Fast path: pydantic-core parses and validates in one pass.
        return _adapter().validate_json(payload)
    except ValidationError:
        pass  # fall through to say clearly what is wrong
    try:
        raw = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    except RecursionError:
        raise InvalidEvent("not an event: JSON nested too deeply") from None
    if not isinstance(raw, dict):
        raise InvalidEvent("not an event: expected a JSON object")
    version = raw.get("v")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise InvalidEvent(
            f"unsupported schema version {_shown(version)}: this side speaks v{SCHEMA_VERSION}"
        )
    type_ = raw.get("type")
    if not isinstance(type_, str) or type_ not in PAYLOADS:
        raise InvalidEvent(f"unknown event type {_shown(type_)}")
    try:
        return _adapter().validate_python(raw)
    except ValidationError as exc:
        raise InvalidEvent(_describe(exc)) from None


def split_message(payload: bytes) -> list[bytes]:
    """The events in one message: one per line, each line the event's exact bytes."""
    return [line for line in payload.split(b"\n") if line.strip()]


def join_events(payloads: list[bytes]) -> bytes:
    """Pack events for one message. JSON from ``to_json`` never holds a raw newline."""
    return b"\n".join(payloads)


def build_event(
    type_: str,
    data: BaseModel | dict[str, Any],
    *,
    id: str,
    facility: str,
    device: str,
    user: str,
    at: datetime,
    seq: int,
    witness: str | None = None,
    corrects: str | None = None,
) -> Event:
    """Build and validate an event; raises ``InvalidEvent`` naming the bad field."""
    if type_ not in PAYLOADS:
        raise InvalidEvent(f"unknown event type {type_!r}")
    body = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    raw = {
        "id": id,
        "type": type_,
        "v": SCHEMA_VERSION,
        "facility": facility,
        "device": device,
        "user": user,
        "witness": witness,
        "at": at,
        "seq": seq,
        "corrects": corrects,
        "data": body,
    }
    try:
        # Only this type's validator: what the kiosk never makes is never built.
        return EVENT_CLASSES[type_].model_validate(raw)  # type: ignore[return-value]
    except ValidationError as exc:
        raise InvalidEvent(_describe(exc)) from None


def json_schema() -> dict[str, Any]:
    schema = _adapter().json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://canopy.invalid/schema/events.schema.json"
    schema["title"] = f"Canopy floor event, schema version {SCHEMA_VERSION}"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m canopy.events --write-schema
    if sys.argv[1:] == ["--write-schema"]:
        SCHEMA_PATH.write_text(schema_text())
        print(f"wrote {SCHEMA_PATH}")
    else:
        print(schema_text(), end="")
