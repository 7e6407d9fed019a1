"""Fault injection and rate limits of the Metrc simulator, seen through MetrcClient over
real HTTP: outages, refused connections, hangs, 5xx, commit-then-fail, partial batches,
429s — and the read-back that tells whether an ambiguous write landed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bridge.state.metrc import (
    AdjustPackage,
    HarvestPlant,
    MetrcClient,
    MetrcRateLimited,
    MetrcRowErrors,
    MetrcServerError,
    MetrcUnavailable,
    MovePlant,
)
from statesim.metrc import (
    DEMO_LICENSES,
    DEMO_USER_KEY,
    DEMO_VENDOR_KEY,
    FaultPlan,
    FaultRule,
    GetLimiter,
    MetrcSimulator,
    RateLimit,
    SimConfig,
)

FARM_A, FARM_B = DEMO_LICENSES
VEG = [f"1A4FF01000000220000010{n:02d}" for n in range(1, 6)]
FLOWER = [f"1A4FF01000000220000010{n:02d}" for n in range(6, 13)]
SEEDED_PACKAGE = "1A4FF0300000022000004001"

pytestmark = pytest.mark.timeout(60)


def today() -> date:
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()


@pytest.fixture
async def sim() -> AsyncIterator[MetrcSimulator]:
    async with MetrcSimulator() as simulator:
        yield simulator


@pytest.fixture
async def metrc(sim: MetrcSimulator) -> AsyncIterator[MetrcClient]:
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=5) as client:
        yield client


async def admin(sim: MetrcSimulator, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=sim.url) as http:
        response = await http.request(method, path, json=body)
    response.raise_for_status()
    return response.json()


async def plant_location(sim: MetrcSimulator, label: str) -> str:
    snapshot = await admin(sim, "GET", f"/_sim/state?license={FARM_A}")
    plants = {p["Label"]: p for p in snapshot["licenses"][FARM_A]["plants"]}
    return str(plants[label]["LocationName"])


def move(label: str, location: str) -> MovePlant:
    return MovePlant(label=label, location=location, actual_date=today())


# -- outages -------------------------------------------------------------------------------


async def test_outage_answers_503_until_cleared(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await admin(sim, "POST", "/_sim/faults", {"outage_seconds": 600})
    with pytest.raises(MetrcServerError) as caught:
        await metrc.locations()
    assert caught.value.status == 503
    assert not caught.value.maybe_applied
    with pytest.raises(MetrcUnavailable) as caught_write:
        await metrc.move_plants([move(VEG[0], "Flower Room A")])
    assert caught_write.value.maybe_applied  # the client cannot know; the read-back can
    assert await plant_location(sim, VEG[0]) == "Veg Room"

    await admin(sim, "DELETE", "/_sim/faults")
    assert len(await metrc.locations()) == 7


async def test_refused_connections_until_the_window_ends(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    assert await metrc.locations()  # a pooled keep-alive connection now exists
    reply = await admin(sim, "POST", "/_sim/faults", {"outage_seconds": 1.0, "outage_mode": "refuse"})
    assert reply["outage_remaining_s"] > 0
    with pytest.raises(MetrcUnavailable) as caught:
        await metrc.move_plants([move(VEG[0], "Flower Room A")])
    assert not caught.value.maybe_applied  # never connected: surely not applied
    assert "ConnectError" in caught.value.message
    ambiguous = []
    while True:  # the listener comes back by itself when the window ends
        try:
            await metrc.move_plants([move(VEG[0], "Flower Room A")])
            break
        except MetrcUnavailable as exc:
            ambiguous.append(exc.maybe_applied)
            await asyncio.sleep(0.1)
    assert not any(ambiguous)
    assert await plant_location(sim, VEG[0]) == "Flower Room A"


async def test_refusal_can_be_ended_early(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await sim.set_faults(FaultPlan(outage_seconds=600, outage_mode="refuse"))
    with pytest.raises(MetrcUnavailable):
        await metrc.locations()
    await sim.set_faults(FaultPlan())
    assert len(await metrc.locations()) == 7


# -- ambiguous outcomes and the read-back --------------------------------------------------


async def test_commit_then_500_the_read_back_shows_the_write_landed(
    sim: MetrcSimulator, metrc: MetrcClient
) -> None:
    await sim.set_faults(
        FaultPlan(rules=(FaultRule(action="commit_then_error", path="/plants/v2/harvest", times=1),))
    )
    row = HarvestPlant(
        plant=FLOWER[0],
        weight=Decimal("812.5"),
        unit_of_weight="Grams",
        drying_location="Dry Room",
        harvest_name="Room A Run 7",
        actual_date=today(),
    )
    with pytest.raises(MetrcServerError) as caught:
        await metrc.harvest_plants([row])
    assert caught.value.status == 500
    assert caught.value.maybe_applied

    harvest = await metrc.find_harvest("Room A Run 7")
    assert harvest is not None and harvest.total_wet_weight == Decimal("812.5")
    plant = await metrc.plant(FLOWER[0])
    assert plant is not None and plant.state == "Harvested" and plant.harvest_id == harvest.id
    with pytest.raises(MetrcRowErrors, match="already been harvested"):
        await metrc.harvest_plants([row])  # a blind retry would be refused, not doubled
    again = await metrc.find_harvest("Room A Run 7")
    assert again is not None and again.total_wet_weight == Decimal("812.5")


async def test_commit_then_timeout_on_a_relative_adjustment(sim: MetrcSimulator) -> None:
    await sim.set_faults(
        FaultPlan(
            rules=(
                FaultRule(
                    action="commit_then_hang", path="/packages/v2/adjust", methods=("POST",), seconds=30
                ),
            )
        )
    )
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=0.5) as metrc:
        with pytest.raises(MetrcUnavailable) as caught:
            await metrc.adjust_packages(
                [
                    AdjustPackage(
                        label=SEEDED_PACKAGE,
                        quantity=Decimal("-2.5"),
                        unit_of_measure="Grams",
                        adjustment_reason="Drying",
                        adjustment_date=today(),
                        reason_note="op-0193",
                    ),
                ]
            )
        assert caught.value.maybe_applied
        assert "ReadTimeout" in caught.value.message
        package = await metrc.package(SEEDED_PACKAGE)
        assert package is not None and package.quantity == Decimal("447.5")
        adjustments = await metrc.package_adjustments()
        assert [a.adjustment_note for a in adjustments] == ["op-0193"]


async def test_commit_then_reset(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await sim.set_faults(FaultPlan(rules=(FaultRule(action="commit_then_reset"),)))
    with pytest.raises(MetrcUnavailable) as caught:
        await metrc.move_plants([move(VEG[1], "Flower Room B")])
    assert caught.value.maybe_applied
    assert await plant_location(sim, VEG[1]) == "Flower Room B"
    assert len(await metrc.locations()) == 7  # reads are not affected by write faults


@pytest.mark.parametrize(
    "rule",
    [FaultRule(action="hang", seconds=30), FaultRule(action="reset"), FaultRule(action="error", status=500)],
    ids=["hang", "reset", "500"],
)
async def test_failures_before_applying_leave_no_trace(sim: MetrcSimulator, rule: FaultRule) -> None:
    await sim.set_faults(FaultPlan(rules=(rule,)))
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=0.5) as metrc:
        with pytest.raises(MetrcUnavailable) as caught:
            await metrc.move_plants([move(VEG[2], "Flower Room B")])
    assert caught.value.maybe_applied  # from the client's side it is ambiguous …
    await sim.set_faults(FaultPlan())
    assert await plant_location(sim, VEG[2]) == "Veg Room"  # … the read-back says "not applied"


async def test_partial_batch_applies_the_first_rows(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await sim.set_faults(
        FaultPlan(rules=(FaultRule(action="partial", path="/plants/v2/location", rows=2, status=503),))
    )
    with pytest.raises(MetrcServerError) as caught:
        await metrc.move_plants([move(label, "Quarantine") for label in VEG[:4]])
    assert caught.value.status == 503
    assert [await plant_location(sim, label) for label in VEG[:4]] == [
        "Quarantine",
        "Quarantine",
        "Veg Room",
        "Veg Room",
    ]


async def test_partial_fault_does_not_hide_row_errors(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await sim.set_faults(FaultPlan(rules=(FaultRule(action="partial", rows=1),)))
    with pytest.raises(MetrcRowErrors):
        await metrc.move_plants([move(VEG[0], "Quarantine"), move(VEG[1], "Nowhere")])
    assert await plant_location(sim, VEG[0]) == "Veg Room"


# -- scripted errors ---------------------------------------------------------------------


async def test_every_third_call_fails(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await sim.set_faults(
        FaultPlan(rules=(FaultRule(action="error", path="/strains/*", every=3, status=503, retry_after=30),))
    )
    outcomes = []
    for _ in range(6):
        try:
            await metrc.strains()
            outcomes.append("ok")
        except MetrcServerError as exc:
            outcomes.append(str(exc.status))
    assert outcomes == ["ok", "ok", "503", "ok", "ok", "503"]
    assert len(await metrc.locations()) == 7  # other paths untouched
    described = await admin(sim, "GET", "/_sim/faults")
    assert described["fired"] == [2]
    log = await admin(sim, "GET", "/_sim/log")
    assert [e["status"] for e in log if e["path"] == "/strains/v2/active"] == [200, 200, 503, 200, 200, 503]


async def test_injected_429_and_times(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await sim.set_faults(
        FaultPlan(rules=(FaultRule(action="error", status=429, retry_after=12, times=1, license=FARM_A),))
    )
    with pytest.raises(MetrcRateLimited) as caught:
        await metrc.move_plants([move(VEG[0], "Quarantine")])
    assert caught.value.retry_after == 12
    await metrc.move_plants([move(VEG[0], "Quarantine")])  # the rule is spent
    assert await plant_location(sim, VEG[0]) == "Quarantine"


async def test_random_rate_is_seeded(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    async def run() -> list[bool]:
        await sim.set_faults(
            FaultPlan(seed=7, rules=(FaultRule(action="error", path="/items/*", rate=0.5),))
        )
        failed = []
        for _ in range(12):
            try:
                await metrc.items()
                failed.append(False)
            except MetrcServerError:
                failed.append(True)
        return failed

    first, second = await run(), await run()
    assert first == second
    assert any(first) and not all(first)


async def test_latency_still_answers(sim: MetrcSimulator, metrc: MetrcClient) -> None:
    await sim.set_faults(FaultPlan(rules=(FaultRule(action="latency", seconds=0.2),)))
    assert len(await metrc.locations()) == 7
    assert (await admin(sim, "GET", "/_sim/faults"))["fired"] == [1]


async def test_faults_given_at_start_and_bad_plans() -> None:
    plan = FaultPlan(rules=(FaultRule(action="error", status=500, every=1, times=1),))
    async with (
        MetrcSimulator(faults=plan) as sim,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A) as metrc,
    ):
        with pytest.raises(MetrcServerError):
            await metrc.locations()
        assert len(await metrc.locations()) == 7
        async with httpx.AsyncClient(base_url=sim.url) as http:
            bad = await http.post("/_sim/faults", json={"rules": [{"action": "explode"}]})
            assert bad.status_code == 400
            both = await http.post(
                "/_sim/faults", json={"outage_seconds": 5, "outage_until": "2030-01-01T00:00:00Z"}
            )
            assert both.status_code == 400


# -- rate limits ---------------------------------------------------------------------------


async def test_get_rate_limit_per_license_with_retry_after() -> None:
    config = SimConfig(license_limits={FARM_A: RateLimit(per_second=0.01, burst=2)})
    async with (
        MetrcSimulator(config=config) as sim,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A) as farm_a,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_B) as farm_b,
    ):
        await farm_a.strains()
        await farm_a.items()
        with pytest.raises(MetrcRateLimited) as caught:
            await farm_a.locations()
        assert caught.value.retry_after >= 1
        assert len(await farm_b.locations()) == 4  # another facility has its own budget
        await farm_a.move_plants([move(VEG[0], "Quarantine")])  # writes are not limited
        async with httpx.AsyncClient(base_url=sim.url, auth=(DEMO_VENDOR_KEY, DEMO_USER_KEY)) as raw:
            response = await raw.get("/strains/v2/active", params={"licenseNumber": FARM_A})
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json() == {"Message": "Too many requests."}


def test_limiter_concurrency_and_refill() -> None:
    clock = [100.0]
    limiter = GetLimiter(
        SimConfig(
            facility_limit=RateLimit(per_second=2, burst=2, concurrent=1),
            vendor_limit=RateLimit(per_second=100, concurrent=30),
        ),
        clock=lambda: clock[0],
    )
    assert limiter.admit("v", "L") is None
    assert limiter.admit("v", "L") == 1.0  # one already in flight for this facility
    assert limiter.admit("v", "other") is None
    limiter.release("v", "L")
    assert limiter.admit("v", "L") is None  # second token of the burst
    limiter.release("v", "L")
    assert limiter.admit("v", "L") == 1.0  # bucket empty: 0.5 s → Retry-After 1
    clock[0] += 0.5
    assert limiter.admit("v", "L") is None
    assert limiter.admit("v", None) is None  # unlicensed GETs count for the vendor only
