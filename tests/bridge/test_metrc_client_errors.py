"""MetrcClient error mapping, against httpx.MockTransport (no network, no patching)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from bridge.state import (
    RowError,
    StateApiError,
    StateAuthError,
    StateRateLimited,
    StateRejected,
    StateRowErrors,
    StateServerError,
    StateUnavailable,
)
from bridge.state.metrc import (
    MetrcAuthError,
    MetrcClient,
    MetrcRateLimited,
    MetrcRejected,
    MetrcRowErrors,
    MetrcServerError,
    MetrcUnavailable,
    MovePlant,
    row_errors_from_body,
)

LICENSE = "CCL24-0000101"
DAY = date(2026, 3, 2)
TAGS = [f"1A4FF01000000220000010{n:02d}" for n in range(1, 4)]

pytestmark = pytest.mark.timeout(30)


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> MetrcClient:
    return MetrcClient(
        "https://api-ca.metrc.test",
        "vendor",
        "user",
        LICENSE,
        transport=httpx.MockTransport(handler),
    )


def moves(count: int) -> list[MovePlant]:
    return [MovePlant(label=TAGS[i], location="Flower Room A", actual_date=DAY) for i in range(count)]


def answer(
    status: int, body: Any = None, *, text: str | None = None, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


@pytest.mark.parametrize(
    ("body", "rows_sent", "expected"),
    [
        pytest.param(
            [{"row": 1, "message": "Tag 1A4FF0100000022000001002 is not available."}],
            2,
            [RowError(1, "Tag 1A4FF0100000022000001002 is not available.")],
            id="documented-row-message",
        ),
        pytest.param(
            [
                {"Row": 0, "Message": "Location Nowhere could not be found."},
                {"row": 2, "message": "Plant X could not be found."},
            ],
            3,
            [RowError(0, "Location Nowhere could not be found."), RowError(2, "Plant X could not be found.")],
            id="mixed-case-keys",
        ),
        pytest.param(
            ["Tag is not available."], 1, [RowError(0, "Tag is not available.")], id="strings-single-row"
        ),
        pytest.param(
            ["Tag is not available.", "Bad date."],
            2,
            [RowError(None, "Tag is not available."), RowError(None, "Bad date.")],
            id="strings-many-rows",
        ),
        pytest.param(
            {"Message": "The request is invalid."},
            2,
            [RowError(None, "The request is invalid.")],
            id="message-object",
        ),
        pytest.param(
            {"message": "No plants."}, 1, [RowError(0, "No plants.")], id="lowercase-message-single-row"
        ),
        pytest.param(
            {
                "Message": "The request is invalid.",
                "ModelState": {"request[2].Label": ["The Label field is required."]},
            },
            3,
            [RowError(2, "request[2].Label: The Label field is required.")],
            id="aspnet-model-state",
        ),
    ],
)
async def test_400_bodies_become_row_errors(body: Any, rows_sent: int, expected: list[RowError]) -> None:
    async with client_for(answer(400, body)) as client:
        with pytest.raises(MetrcRowErrors) as caught:
            await client.move_plants(moves(rows_sent))
    assert list(caught.value.rows) == expected
    assert caught.value.status == 400
    assert not caught.value.maybe_applied
    assert not caught.value.retryable


async def test_400_plain_text_and_empty_bodies() -> None:
    async with client_for(answer(400, text="Bad things happened")) as client:
        with pytest.raises(MetrcRowErrors) as caught:
            await client.move_plants(moves(2))
    assert caught.value.rows == (RowError(None, "Bad things happened"),)

    async with client_for(answer(400)) as client:
        with pytest.raises(MetrcRowErrors) as caught:
            await client.move_plants(moves(1))
    assert caught.value.rows[0].index == 0
    assert caught.value.rows[0].message


def test_row_error_parser_is_usable_alone() -> None:
    rows = row_errors_from_body([{"row": 3, "message": "x"}, "y"], row_count=5)
    assert rows == [RowError(3, "x"), RowError(None, "y")]


async def test_row_errors_are_engine_neutral_too() -> None:
    async with client_for(answer(400, [{"row": 0, "message": "no"}])) as client:
        with pytest.raises(StateRowErrors) as caught:
            await client.move_plants(moves(1))
    error = caught.value
    assert isinstance(error, StateRejected)
    assert isinstance(error, StateApiError)
    assert error.indexes() == {0}
    assert "row 0: no" in str(error)


async def test_401_json_message() -> None:
    body = {"Message": "Authorization has been denied for this request."}
    async with client_for(answer(401, body)) as client:
        with pytest.raises(MetrcAuthError) as caught:
            await client.locations()
    assert caught.value.status == 401
    assert "Authorization has been denied" in caught.value.message
    assert isinstance(caught.value, StateAuthError)
    assert not caught.value.retryable


async def test_401_text_plain_v1_only_key() -> None:
    text = "The provided API key is only valid for V1 API endpoints."
    async with client_for(answer(401, text=text)) as client:
        with pytest.raises(MetrcAuthError) as caught:
            await client.move_plants(moves(1))
    assert "only valid for V1" in caught.value.message
    assert not caught.value.maybe_applied


async def test_403_is_an_auth_error() -> None:
    async with client_for(answer(403, {"Message": "Feature not enabled"})) as client:
        with pytest.raises(MetrcAuthError) as caught:
            await client.strains()
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "7"}, 7.0), ({"Retry-After": "2.5"}, 2.5), ({}, 1.0), ({"Retry-After": "soon"}, 1.0)],
)
async def test_429_retry_after_seconds(headers: dict[str, str], expected: float) -> None:
    async with client_for(answer(429, {"Message": "Too many"}, headers=headers)) as client:
        with pytest.raises(MetrcRateLimited) as caught:
            await client.vegetative_plants()
    assert caught.value.retry_after == expected
    assert caught.value.retryable
    assert not caught.value.maybe_applied
    assert isinstance(caught.value, StateRateLimited)


async def test_429_retry_after_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    headers = {"Retry-After": format_datetime(when, usegmt=True)}
    async with client_for(answer(429, headers=headers)) as client:
        with pytest.raises(MetrcRateLimited) as caught:
            await client.items()
    assert 100 < caught.value.retry_after <= 121


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_after_a_write_may_have_applied(status: int) -> None:
    async with client_for(answer(status, {"Message": "boom"})) as client:
        with pytest.raises(MetrcServerError) as caught:
            await client.move_plants(moves(1))
    error = caught.value
    assert error.status == status
    assert error.maybe_applied
    assert error.retryable
    assert isinstance(error, MetrcUnavailable)
    assert isinstance(error, StateServerError)
    assert isinstance(error, StateUnavailable)


async def test_5xx_on_a_read_applied_nothing() -> None:
    async with client_for(answer(503)) as client:
        with pytest.raises(MetrcServerError) as caught:
            await client.locations()
    assert not caught.value.maybe_applied


@pytest.mark.parametrize("status", [404, 405, 413])
async def test_other_4xx_are_rejections(status: int) -> None:
    async with client_for(answer(status, {"Message": "nope"})) as client:
        with pytest.raises(MetrcRejected) as caught:
            await client.move_plants(moves(1))
    assert caught.value.status == status
    assert not isinstance(caught.value, MetrcRowErrors)
    assert not caught.value.maybe_applied


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow connect"), httpx.PoolTimeout("pool")],
)
async def test_never_sent_means_not_applied(exc: Exception) -> None:
    async with client_for(raising(exc)) as client:
        with pytest.raises(MetrcUnavailable) as caught:
            await client.move_plants(moves(1))
    assert not caught.value.maybe_applied
    assert caught.value.retryable
    assert not isinstance(caught.value, MetrcServerError)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("slow"),
        httpx.WriteTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("reset by peer"),
    ],
)
async def test_sent_without_answer_may_have_applied(exc: Exception) -> None:
    async with client_for(raising(exc)) as client:
        with pytest.raises(MetrcUnavailable) as caught:
            await client.move_plants(moves(1))
    assert caught.value.maybe_applied

    async with client_for(raising(exc)) as client:
        with pytest.raises(MetrcUnavailable) as caught:
            await client.locations()
    assert not caught.value.maybe_applied  # a read changes nothing


async def test_unreadable_success_after_a_write_is_ambiguous() -> None:
    async with client_for(answer(200, text="<html>proxy says hi</html>")) as client:
        with pytest.raises(MetrcServerError) as caught:
            await client.move_plants(moves(1))
    assert caught.value.maybe_applied
    assert caught.value.status == 200


async def test_unexpected_shapes_on_reads() -> None:
    async with client_for(answer(200, text="<html>maintenance</html>")) as client:
        with pytest.raises(MetrcServerError) as caught:
            await client.locations()
    assert not caught.value.maybe_applied

    async with client_for(answer(200, {"Data": [{"Name": "no id"}], "TotalPages": 1})) as client:
        with pytest.raises(MetrcServerError, match="unexpected Location shape"):
            await client.locations()

    async with client_for(answer(200, {"Ids": ["x"], "Warnings": None})) as client:
        with pytest.raises(MetrcServerError, match="Ids"):
            await client.move_plants(moves(1))
