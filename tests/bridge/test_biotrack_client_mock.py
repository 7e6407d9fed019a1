"""BioTrack client against httpx.MockTransport: every wire quirk and error path.

The fake server below is deliberately dumb: it answers scripted bodies and
records what the client sent, so each test pins one behaviour of the client.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bridge.state import (
    StateApiError,
    StateAuthError,
    StateRateLimited,
    StateRejected,
    StateServerError,
    StateUnavailable,
)
from bridge.state.biotrack import (
    AdjustReason,
    BioTrackAmbiguous,
    BioTrackAuthError,
    BioTrackClient,
    BioTrackConfig,
    BioTrackError,
    BioTrackNotSent,
    BioTrackProtocolError,
    BioTrackRateLimited,
    BioTrackRejected,
    BioTrackServerError,
    BioTrackUnavailable,
    InventoryAdjust,
    InventoryType,
    PlantHarvest,
    PlantMove,
    PlantNew,
    PlantState,
    PlantWasteWeigh,
    Removal,
    Weight,
    barcode_id,
)

PLANT = "9900100000000001"
PLANT_2 = "9900100000000002"
URL = "https://bt.example/serverjson.asp"

Reply = httpx.Response | dict[str, Any] | Callable[[dict[str, Any]], httpx.Response | dict[str, Any]]


class FakeBioTrack:
    """Answers login with a fresh session id and other actions from a script."""

    def __init__(self, *replies: Reply, login: Reply | None = None) -> None:
        self.replies = list(replies)
        self.login_reply = login
        self.requests: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []
        self.logins = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.headers.append(request.headers)
        if body["action"] == "login":
            self.logins += 1
            reply: Reply = self.login_reply or {"success": "1", "sessionid": f"s{self.logins}",
                                                "admin": 1, "time": 1}
        else:
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if callable(reply) and not isinstance(reply, httpx.Response):
            reply = reply(body)
        if isinstance(reply, httpx.Response):
            return reply
        return httpx.Response(200, json=reply)

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["action"] != "login"]


def client_for(fake: FakeBioTrack | Callable[[httpx.Request], httpx.Response], *,
               training: bool = False, location: str | None = "990010") -> BioTrackClient:
    return BioTrackClient(URL, "999000100", "grower@north.example", "pw", training=training,
                          location=location, transport=httpx.MockTransport(fake))


def move() -> PlantMove:
    return PlantMove(barcode_ids=(PLANT,), room=2)


# -- success and failure shapes ---------------------------------------------------


@pytest.mark.parametrize("success", [1, "1", True, "true"])
async def test_success_in_any_type_is_success(success: object) -> None:
    fake = FakeBioTrack({"success": success, "transactionid": 4711, "sessiontime": "1700000000"})
    async with client_for(fake) as client:
        result = await client.submit(move(), nonce="n-1")
    assert result.transaction_id == "4711"
    assert result.session_time == 1700000000
    assert result.nonce == "n-1"
    assert result.action == "plant_move"


@pytest.mark.parametrize("success", [0, "0", False, "", None])
@pytest.mark.parametrize("errorcode", [602, "602", 602.0, " 602 "])
async def test_failure_in_any_type_is_rejected(success: object, errorcode: object) -> None:
    fake = FakeBioTrack({"success": success, "errorcode": errorcode,
                         "error": "You do not currently have possession of identifier X."})
    async with client_for(fake) as client:
        with pytest.raises(BioTrackRejected) as info:
            await client.submit(move())
    assert info.value.errorcode == 602
    assert "possession" in info.value.message
    assert info.value.maybe_applied is False
    assert info.value.retryable is False


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ({"success": 0, "error": "Invalid username or password."}, None, "Invalid username"),
        ({"success": "0", "errorcode": "200"}, 200, "without a message"),
        ({"error": "no success field at all", "errorcode": 202}, 202, "no success field"),
        ({"success": 0, "errorcode": "", "error": "blank code"}, None, "blank code"),
    ],
)
async def test_missing_fields_still_reject(body: dict[str, Any], code: int | None,
                                          text: str) -> None:
    async with client_for(FakeBioTrack(body)) as client:
        with pytest.raises(BioTrackRejected) as info:
            await client.submit(move())
    assert info.value.errorcode == code
    assert text in info.value.message


async def test_answer_without_success_or_error_is_ambiguous() -> None:
    async with client_for(FakeBioTrack({"transactionid": 5})) as client:
        with pytest.raises(BioTrackAmbiguous) as info:
            await client.submit(move())
    assert info.value.maybe_applied is True


async def test_leaked_header_in_body_is_stripped() -> None:
    leaked = httpx.Response(
        200, text='Content-Type: text/plain\r\n\r\n{"success":"1","transactionid":"9"}'
    )
    async with client_for(FakeBioTrack(leaked)) as client:
        result = await client.submit(move())
    assert result.transaction_id == "9"


async def test_garbled_200_is_ambiguous() -> None:
    async with client_for(FakeBioTrack(httpx.Response(200, text="<html>oops"))) as client:
        with pytest.raises(BioTrackAmbiguous):
            await client.submit(move())


async def test_success_with_unreadable_ids_is_ambiguous_not_success() -> None:
    fake = FakeBioTrack({"success": 1, "barcode_id": ["12ab"]})
    async with client_for(fake) as client:
        with pytest.raises(BioTrackAmbiguous, match="applied"):
            await client.submit(PlantNew(room=1, quantity=1, strain="X", source=PLANT))


async def test_write_result_ids_and_derivatives() -> None:
    fake = FakeBioTrack(
        {"success": 1, "barcode_id": PLANT_2, "barcode_type": "27"},
        {"success": 1, "derivatives": [{"barcode_id": PLANT, "barcode_type": "29"},
                                       {"barcode_id": PLANT_2, "barcode_type": 27}]},
        {"success": 1, "barcode_id": f"{PLANT},{PLANT_2}"},
    )
    async with client_for(fake) as client:
        waste = await client.submit(PlantWasteWeigh(weight=Decimal("12.5"), collectiontime=1))
        harvest = await client.submit(PlantHarvest(
            barcode_ids=(PLANT,), collectiontime=1,
            weights=(Weight(amount=Decimal(800), invtype=InventoryType.FLOWER),
                     Weight(amount=Decimal(30), invtype=InventoryType.WASTE)),
        ))
        new = await client.submit(PlantNew(room=1, quantity=2, strain="X", source=PLANT))
    assert waste.barcode_ids == (PLANT_2,)
    assert [(d.barcode_id, d.inventory_type) for d in waste.derivatives] == [(PLANT_2, 27)]
    assert [d.inventory_type for d in harvest.derivatives] == [29, 27]
    assert new.barcode_ids == (PLANT, PLANT_2)


# -- sessions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expired",
    [
        {"success": 0, "errorcode": 63, "error": "Your session has expired."},
        {"success": "0", "errorcode": "63", "error": "Your session has expired."},
        {"success": 0, "error": "Your session has expired."},  # text only, no code
    ],
)
async def test_expired_session_relogs_in_and_retries_once(expired: dict[str, Any]) -> None:
    fake = FakeBioTrack(expired, {"success": 1, "transactionid": "77"})
    async with client_for(fake) as client:
        result = await client.submit(move(), nonce="op-1")
    assert result.transaction_id == "77"
    assert fake.logins == 2
    first, second = fake.calls
    assert first["sessionid"] == "s1"
    assert second["sessionid"] == "s2"
    # Same nonce on the resend: the 63 means the first send was refused.
    assert first["nonce"] == second["nonce"] == "op-1"


async def test_session_expiring_again_after_login_is_an_auth_error() -> None:
    fake = FakeBioTrack({"success": 0, "errorcode": 63, "error": "Your session has expired."})
    async with client_for(fake) as client:
        with pytest.raises(BioTrackAuthError):
            await client.submit(move())
    assert fake.logins == 2
    assert len(fake.calls) == 2


async def test_login_happens_once_and_session_is_reused() -> None:
    fake = FakeBioTrack({"success": 1, "plant_room": []})
    async with client_for(fake) as client:
        await asyncio.gather(*(client.plant_rooms() for _ in range(5)))
        await client.plant_rooms()
    assert fake.logins == 1
    assert {c["sessionid"] for c in fake.calls} == {"s1"}


@pytest.mark.parametrize(
    "login",
    [
        {"success": 0, "error": "Invalid username or password."},
        {"success": "0", "error": "Company identifier not provided (license_number)"},
        {"success": 0},
        {"success": 1},  # success without a sessionid
        {"success": 0, "errorcode": "62", "error": "no privilege"},
    ],
)
async def test_login_refusal_is_auth_error_and_nothing_is_sent(login: dict[str, Any]) -> None:
    fake = FakeBioTrack({"success": 1}, login=login)
    async with client_for(fake) as client:
        with pytest.raises(BioTrackAuthError) as info:
            await client.submit(move())
    assert info.value.maybe_applied is False
    assert fake.calls == []


async def test_privilege_error_is_auth_error() -> None:
    fake = FakeBioTrack({"success": 0, "errorcode": "62",
                         "error": "The current session does not possess access to the "
                                  "plant_move privilege."})
    async with client_for(fake) as client:
        with pytest.raises(BioTrackAuthError) as info:
            await client.submit(move())
    assert info.value.errorcode == 62


# -- HTTP statuses and transport failures ------------------------------------------------


@pytest.mark.parametrize(
    ("response", "kind", "maybe_applied", "retry_after"),
    [
        (httpx.Response(500, text="boom"), BioTrackServerError, True, None),
        (httpx.Response(503, headers={"Retry-After": "7"}), BioTrackServerError, True, 7.0),
        (httpx.Response(429, headers={"Retry-After": "2.5"}), BioTrackRateLimited, False, 2.5),
        (httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
         BioTrackRateLimited, False, 0.0),  # a date in the past: go now
        (httpx.Response(429), BioTrackRateLimited, False, 5.0),  # no hint: the default
    ],
)
async def test_http_status_errors(
    response: httpx.Response, kind: type[BioTrackUnavailable | BioTrackRateLimited],
    maybe_applied: bool, retry_after: float | None,
) -> None:
    async with client_for(FakeBioTrack(response)) as client:
        with pytest.raises(kind) as info:
            await client.submit(move())
    error = info.value
    assert isinstance(error, BioTrackUnavailable | BioTrackRateLimited)
    assert error.maybe_applied is maybe_applied
    assert error.retryable is True
    assert error.retry_after == retry_after
    assert error.status == response.status_code


@pytest.mark.parametrize(
    ("error", "shared"),
    [
        (BioTrackRejected(602, "x"), StateRejected),
        (BioTrackAuthError("x"), StateAuthError),
        (BioTrackRateLimited("x", retry_after=1), StateRateLimited),
        (BioTrackNotSent("x"), StateUnavailable),
        (BioTrackAmbiguous("x"), StateUnavailable),
        (BioTrackServerError("x", status=500), StateServerError),
        (BioTrackProtocolError("x"), StateApiError),
    ],
)
def test_errors_fit_the_engine_neutral_hierarchy(error: BioTrackError,
                                                 shared: type[StateApiError]) -> None:
    # The submitter decides by these classes, whatever the engine.
    assert isinstance(error, shared)
    assert isinstance(error, BioTrackError)
    assert isinstance(error, StateApiError)
    expected_maybe = isinstance(error, BioTrackAmbiguous)
    assert error.maybe_applied is expected_maybe
    assert error.retryable is isinstance(error, StateUnavailable | StateRateLimited)


async def test_not_found_status_is_protocol_error() -> None:
    async with client_for(FakeBioTrack(httpx.Response(404))) as client:
        with pytest.raises(BioTrackProtocolError) as info:
            await client.submit(move())
    assert info.value.status == 404
    assert info.value.maybe_applied is False


def raising(exc: Exception, *, on: str = "plant_move") -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["action"] == on:
            raise exc
        if body["action"] == "login":
            return httpx.Response(200, json={"success": 1, "sessionid": "s"})
        return httpx.Response(200, json={"success": 1})
    return handler


@pytest.mark.parametrize(
    ("exc", "kind", "maybe_applied"),
    [
        (httpx.ConnectError("refused"), BioTrackNotSent, False),
        (httpx.ConnectTimeout("slow connect"), BioTrackNotSent, False),
        (httpx.ReadTimeout("slow answer"), BioTrackAmbiguous, True),
        (httpx.WriteTimeout("slow send"), BioTrackAmbiguous, True),
        (httpx.RemoteProtocolError("Server disconnected"), BioTrackAmbiguous, True),
        (httpx.ReadError("reset"), BioTrackAmbiguous, True),
    ],
)
async def test_transport_errors(exc: Exception, kind: type[BioTrackError],
                                maybe_applied: bool) -> None:
    async with client_for(raising(exc)) as client:
        with pytest.raises(kind) as info:
            await client.submit(move())
    assert info.value.maybe_applied is maybe_applied
    assert info.value.retryable is True


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("gone"), httpx.ConnectError("no")],
)
async def test_login_failure_means_write_not_sent(failure: Exception) -> None:
    async with client_for(raising(failure, on="login")) as client:
        with pytest.raises(BioTrackNotSent):
            await client.submit(move())


async def test_login_server_error_means_write_not_sent() -> None:
    fake = FakeBioTrack({"success": 1}, login=httpx.Response(502))
    async with client_for(fake) as client:
        with pytest.raises(BioTrackNotSent) as info:
            await client.submit(move())
    assert info.value.status == 502
    assert fake.calls == []


# -- what goes on the wire --------------------------------------------------------------


async def test_request_envelope() -> None:
    fake = FakeBioTrack({"success": 1, "barcode_id": [PLANT_2]})
    async with client_for(fake, training=True) as client:
        await client.submit(PlantNew(room=3, quantity=1, strain=" Blue Dream ", source=PLANT),
                            nonce="ev-1")
        await client.submit(move())
    login, new, moved = fake.requests
    assert login == {"API": "4.0", "action": "login", "license_number": "999000100",
                     "username": "grower@north.example", "password": "pw", "training": 1,
                     "nonce": login["nonce"]}
    assert new == {"API": "4.0", "action": "plant_new", "sessionid": "s1", "training": 1,
                   "room": 3, "quantity": 1, "strain": "Blue Dream", "source": PLANT,
                   "mother": 0, "location": "990010", "nonce": "ev-1"}
    # plant_move carries no location; barcodeid is always a list.
    assert "location" not in moved
    assert moved["barcodeid"] == [PLANT]
    assert fake.headers[1]["content-type"] == "text/JSON"


async def test_live_mode_sends_no_training_flag_and_no_location_when_unset() -> None:
    fake = FakeBioTrack({"success": 1, "barcode_id": PLANT_2, "barcode_type": 27})
    async with client_for(fake, location=None) as client:
        await client.submit(PlantWasteWeigh(weight=Decimal("1.25"), uom="kg", collectiontime=5))
    call = fake.calls[0]
    assert "training" not in call
    assert "location" not in call
    assert call["weight"] == 1.25 and call["uom"] == "kg"


async def test_adjust_sends_six_decimals_and_reason_code() -> None:
    fake = FakeBioTrack({"success": 1})
    async with client_for(fake) as client:
        await client.submit(InventoryAdjust(barcode_id=PLANT, quantity=Decimal("8"), uom="g",
                                            reason_code=AdjustReason.MOISTURE_LOSS,
                                            reason="dried down"))
    assert fake.calls[0]["data"] == {"barcodeid": PLANT, "quantity": "8.000000",
                                     "quantity_uom": "g", "type": 5, "reason": "dried down"}


async def test_endpoint_is_appended_to_a_bare_host() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"success": 1, "sessionid": "s", "employee": []})

    client = BioTrackClient("https://bt.example/", "1", "u", "p", training=False,
                            transport=httpx.MockTransport(handler))
    async with client:
        await client.employees()
    assert seen == ["https://bt.example/serverjson.asp"] * 2


async def test_from_config() -> None:
    config = BioTrackConfig.model_validate({
        "url": URL, "license_number": "999000100", "username": "u", "password": "secret",
        "location": "990010", "training": True,
    })
    fake = FakeBioTrack({"success": 1, "vendor": []})
    async with BioTrackClient.from_config(config, transport=httpx.MockTransport(fake)) as client:
        assert client.training is True
        assert client.location == "990010"
        await client.vendors()
    assert fake.requests[0]["password"] == "secret"
    with pytest.raises(ValueError, match="Extra inputs"):
        BioTrackConfig.model_validate({"url": URL, "license_number": "1", "username": "u",
                                       "password": "p", "pasword": "typo"})


# -- sync rows ----------------------------------------------------------------------------


async def test_sync_rows_normalise_quirks_and_skip_bad_rows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeBioTrack(
        {"success": "1", "plant": {
            "0": {"id": PLANT, "location": 990010, "room": "3", "strain": "OG", "mother": "1",
                  "state": "1", "harvestscheduled": "1", "removescheduled": 0,
                  "removescheduletime": "0", "transactionid": "41", "deleted": "0"},
            "1": {"id": "not-an-id", "state": 0},
            "2": {"id": PLANT_2, "state": 2, "deleted": 1, "converted": "0",
                  "parentid": "", "transactionid": 42},
        }},
        {"success": 1, "inventory": [
            {"id": PLANT, "inventorytype": "29", "remaining_quantity": "812.50", "uom": "g",
             "currentroom": "5", "plantid": f"{PLANT},{PLANT_2}", "parentid": None},
        ]},
        {"success": 1},  # no table key at all: nothing to sync
    )
    async with client_for(fake) as client:
        with caplog.at_level(logging.WARNING):
            plants = await client.plants(active=True, transaction_start=40)
        inventory = await client.inventory()
        employees = await client.employees()
    assert [p.id for p in plants] == [PLANT, PLANT_2]
    first, second = plants
    assert first.room == 3 and first.mother and first.state is PlantState.DRYING
    assert first.harvest_scheduled and first.destroy_scheduled_at is None
    assert first.location == "990010" and first.transaction_id == 41
    assert first.alive is False
    assert second.state is PlantState.CURED and second.deleted and second.parent_id is None
    assert "skipping unreadable row" in caplog.text
    assert fake.calls[0]["active"] == 1 and fake.calls[0]["transaction_start"] == 40
    assert fake.calls[0]["download"] == 1
    (item,) = inventory
    assert item.remaining_quantity == Decimal("812.50")
    assert item.plant_ids == (PLANT, PLANT_2) and item.parent_ids == () and item.room == 5
    assert employees == ()


async def test_sync_table_of_wrong_shape_is_protocol_error() -> None:
    async with client_for(FakeBioTrack({"success": 1, "plant_room": "nope"})) as client:
        with pytest.raises(BioTrackProtocolError):
            await client.plant_rooms()


async def test_read_back_helpers_filter_by_id() -> None:
    fake = FakeBioTrack(
        {"success": 1, "plant": [{"id": PLANT, "room": 1}, {"id": PLANT_2, "room": 2}]},
        {"success": 1, "plant_derivative": [
            {"plantid": PLANT, "inventorytype": 29, "weight": "400.0", "wholeweight": "800",
             "uom": "g", "harvestcollect": "1", "inventoryid": PLANT_2},
            {"plantid": PLANT_2, "inventorytype": 29, "weight": 400, "uom": "g"},
        ]},
        {"success": 1, "plant": [{"id": PLANT, "room": 1}]},
    )
    async with client_for(fake) as client:
        plant = await client.find_plant(PLANT_2)
        weights = await client.plant_weights(PLANT)
        missing = await client.find_plant(PLANT_2)
    assert plant is not None and plant.room == 2
    (weight,) = weights
    assert weight.weight == Decimal("400.0") and weight.whole_weight == Decimal(800)
    assert weight.harvest and not weight.cure and weight.inventory_id == PLANT_2
    assert missing is None


async def test_replay_sends_the_original_nonce() -> None:
    fake = FakeBioTrack({"success": 1, "barcode_id": [PLANT], "transactionid": "12"})
    async with client_for(fake) as client:
        result = await client.replay("event-123")
    assert fake.calls[0]["action"] == "nonce_replay"
    assert fake.calls[0]["nonce"] == "event-123"
    assert result.barcode_ids == (PLANT,) and result.transaction_id == "12"


# -- request validation -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["123", "99001000000000011", "99001000000000a1", "", 12345])
def test_barcode_ids_must_be_16_digits(bad: object) -> None:
    with pytest.raises(ValueError, match="16 digits"):
        barcode_id(bad)


def test_request_models_validate_on_construction() -> None:
    assert barcode_id("0358560579655604") == "0358560579655604"
    assert barcode_id(6033499030000217) == "6033499030000217"
    with pytest.raises(ValueError):
        PlantMove(barcode_ids=(), room=1)
    with pytest.raises(ValueError):
        PlantMove(barcode_ids=(PLANT, PLANT), room=1)
    with pytest.raises(ValueError):
        PlantMove(barcode_ids=("123",), room=1)
    with pytest.raises(ValueError):
        PlantMove(barcode_ids=(PLANT,), room=0)
    with pytest.raises(ValueError):
        PlantNew(room=1, quantity=0, strain="X", source=PLANT)
    with pytest.raises(ValueError):
        Weight(amount=Decimal(-1), invtype=InventoryType.FLOWER)
    with pytest.raises(ValueError):
        Weight(amount=Decimal(1), invtype=InventoryType.CLONE)
    with pytest.raises(ValueError):
        Removal(barcode_id=PLANT, quantity=Decimal("NaN"))
    with pytest.raises(ValueError):
        InventoryAdjust(barcode_id=PLANT, quantity=Decimal(1), reason_code=AdjustReason.THEFT,
                        reason="  ")
    with pytest.raises(ValueError):
        PlantHarvest(barcode_ids=(PLANT,), weights=(), collectiontime=1)
    # A single id string is accepted as a one-element list.
    assert PlantMove(barcode_ids=PLANT, room=1).barcode_ids == (PLANT,)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        move().room = 5  # type: ignore[misc]
