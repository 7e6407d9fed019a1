"""The reads the kiosks and the submitter need, over real HTTP: reference lists, v2
pagination, lastModified windows, single objects; and the standalone entry point."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from bridge.state.metrc import (
    ChangePlantBatchGrowthPhase,
    MetrcClient,
    MetrcRowErrors,
    MovePlant,
)
from statesim.metrc import (
    DEMO_LICENSES,
    DEMO_USER_KEY,
    DEMO_VENDOR_KEY,
    MetrcSimulator,
    SimConfig,
    demo_seed,
    load_seed,
)

FARM_A, FARM_B = DEMO_LICENSES
FREE_PLANT_TAG = "1A4FF0100000022000001013"

pytestmark = pytest.mark.timeout(60)


def today() -> date:
    return datetime.now(ZoneInfo("America/Los_Angeles")).date()


@pytest.fixture
async def sim() -> AsyncIterator[MetrcSimulator]:
    async with MetrcSimulator() as simulator:
        yield simulator


@pytest.fixture
async def metrc(sim: MetrcSimulator) -> AsyncIterator[MetrcClient]:
    async with MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A) as client:
        yield client


@pytest.fixture
async def raw(sim: MetrcSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, auth=(DEMO_VENDOR_KEY, DEMO_USER_KEY)) as http:
        yield http


async def test_reference_lists_for_the_kiosks(metrc: MetrcClient) -> None:
    locations = {loc.name: loc for loc in await metrc.locations()}
    assert set(locations) == {
        "Clone Room",
        "Veg Room",
        "Flower Room A",
        "Flower Room B",
        "Dry Room",
        "Vault",
        "Quarantine",
    }
    assert locations["Dry Room"].for_harvests and not locations["Dry Room"].for_plants
    assert {s.name for s in await metrc.strains()} == {"Blue Dream", "OG Kush", "Sour Diesel", "Gelato"}
    items = {i.name: i for i in await metrc.items()}
    assert items["Blue Dream - Clones"].quantity_type == "CountBased"
    assert items["Mixed Shake/Trim"].unit_of_measure_name == "Pounds"
    assert {u.name for u in await metrc.units_of_measure()} >= {"Grams", "Ounces", "Each"}
    assert [m.name for m in await metrc.waste_methods()] == ["Grinder", "Compost", "Landfill", "Incinerator"]
    assert "Incinerator" not in {m.name for m in await metrc.plant_waste_methods()}
    reasons = {r.name: r for r in await metrc.plant_waste_reasons()}
    assert reasons["Other"].requires_note and reasons["Contamination"].requires_waste_weight
    assert {t.name for t in await metrc.harvest_waste_types()} == {
        "Plant Material",
        "Fibrous",
        "Root Ball",
        "Stems",
    }
    assert {r.name for r in await metrc.package_adjust_reasons()} >= {"Drying", "Entry Error"}
    plant_tags = await metrc.available_plant_tags()
    assert len(plant_tags) == 250 - 12
    assert plant_tags[0].label == FREE_PLANT_TAG
    assert len(await metrc.available_package_tags()) == 100
    facilities = await metrc.facilities()
    assert [f.license.number for f in facilities] == list(DEMO_LICENSES)


async def test_inventory_lists(metrc: MetrcClient) -> None:
    assert len(await metrc.vegetative_plants()) == 5
    assert len(await metrc.flowering_plants()) == 7
    assert len(await metrc.active_plants()) == 12
    assert await metrc.inactive_plants() == []
    batches = await metrc.active_plant_batches()
    assert {(b.name, b.untracked_count) for b in batches} == {
        ("BD Clone 2025-10-01", 60),
        ("OGK Seed 2025-10-15", 40),
    }
    [harvest] = await metrc.active_harvests()
    assert harvest.total_packaged_weight == 450
    buds, clones = await metrc.active_packages()
    assert (clones.label, clones.quantity, clones.unit_of_measure_name) == (
        "1A4FF0300000022000004002", Decimal(50), "Each")
    package = buds
    assert package.label == "1A4FF0300000022000004001"
    assert package.location_name == "Vault"
    by_id = await metrc.package(package.id)
    assert by_id is not None and by_id.label == package.label
    plant = await metrc.plant("1A4FF0100000022000001001")
    assert plant is not None
    again = await metrc.plant(plant.id)  # digits are an id, anything else a label
    assert again == plant
    batch = await metrc.find_plant_batch("BD Clone 2025-10-01")
    assert batch is not None and await metrc.plant_batch(batch.id) == batch


async def test_pagination_over_http(metrc: MetrcClient, raw: httpx.AsyncClient) -> None:
    await metrc.change_plant_batch_growth_phase(
        [
            ChangePlantBatchGrowthPhase(
                name="BD Clone 2025-10-01",
                count=45,
                starting_tag=FREE_PLANT_TAG,
                growth_phase="Vegetative",
                new_location="Veg Room",
                growth_date=today(),
            ),
        ]
    )
    plants = await metrc.vegetative_plants()  # walks pages of 20
    assert len(plants) == 50
    assert len({p.label for p in plants}) == 50

    params = {"licenseNumber": FARM_A, "pageSize": "20", "pageNumber": "3"}
    page = (await raw.get("/plants/v2/vegetative", params=params)).json()
    assert {
        k: page[k]
        for k in ("Total", "TotalRecords", "PageSize", "RecordsOnPage", "Page", "CurrentPage", "TotalPages")
    } == {
        "Total": 50,
        "TotalRecords": 50,
        "PageSize": 20,
        "RecordsOnPage": 10,
        "Page": 3,
        "CurrentPage": 3,
        "TotalPages": 3,
    }
    everything = (await raw.get("/plants/v2/vegetative", params={"licenseNumber": FARM_A})).json()
    assert everything["RecordsOnPage"] == 50 and everything["TotalPages"] == 1
    too_big = await raw.get("/plants/v2/vegetative", params={**params, "pageSize": "21"})
    assert too_big.status_code == 400
    assert too_big.json() == {"Message": "pageSize must not exceed 20."}
    beyond = (await raw.get("/plants/v2/vegetative", params={**params, "pageNumber": "9"})).json()
    assert beyond["Data"] == []


async def test_last_modified_window(metrc: MetrcClient, raw: httpx.AsyncClient) -> None:
    # Windows go out in whole seconds: start the window after the second of the seed.
    now = datetime.now(UTC)
    await asyncio.sleep(1.01 - now.microsecond / 1_000_000)
    start = datetime.now(UTC)
    await metrc.move_plants(
        [
            MovePlant(label="1A4FF0100000022000001002", location="Quarantine", actual_date=today()),
        ]
    )
    window = (start, datetime.now(UTC) + timedelta(minutes=1))
    changed = await metrc.vegetative_plants(modified=window)
    assert [p.label for p in changed] == ["1A4FF0100000022000001002"]
    assert await metrc.locations(modified=window) == []
    old = (start - timedelta(days=2), start - timedelta(days=1))
    assert await metrc.vegetative_plants(modified=old) == []
    unescaped = await raw.get(
        "/plants/v2/vegetative",
        params={"licenseNumber": FARM_A, "lastModifiedStart": "2026-01-01T00:00:00 00:00"},
    )
    assert unescaped.status_code == 400  # a "+" sent as a space is refused, not misread


async def test_no_window_behaviours() -> None:
    async with (
        MetrcSimulator(config=SimConfig(no_window="empty")) as sim,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A) as metrc,
    ):
        assert await metrc.locations() == []  # like NY in 2026 without a window
        wide = (datetime(2015, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(minutes=1))
        assert len(await metrc.locations(modified=wide)) == 7
        assert len(await metrc.waste_methods()) == 4  # unwindowed lists are unaffected
    async with (
        MetrcSimulator(config=SimConfig(no_window="last24h")) as sim,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A) as metrc,
    ):
        assert len(await metrc.locations()) == 7  # seeded just now


async def test_harvest_waste_needs_a_harvest(metrc: MetrcClient, raw: httpx.AsyncClient) -> None:
    [harvest] = await metrc.active_harvests()
    assert await metrc.harvest_waste(harvest.id) == []
    with pytest.raises(MetrcRowErrors, match="could not be found"):
        await metrc.harvest_waste(424242)
    missing = await raw.get("/harvests/v2/waste", params={"licenseNumber": FARM_A})
    assert missing.status_code == 400


async def test_growth_phases_and_license_rules(raw: httpx.AsyncClient) -> None:
    phases = await raw.get("/plants/v2/growthphases", params={"licenseNumber": FARM_A})
    assert phases.json() == ["Vegetative", "Flowering"]
    no_license = await raw.get("/plants/v2/flowering")
    assert no_license.status_code == 400
    units = await raw.get("/unitsofmeasure/v2/active")  # needs no licenseNumber
    assert units.status_code == 200 and isinstance(units.json(), list)
    other = await raw.get("/plants/v2/1A4FF0100000023000001001", params={"licenseNumber": FARM_A})
    assert other.status_code == 401
    assert other.json() == {"Message": "Authorization has been denied for this request."}
    farm_b = await raw.get("/plants/v2/1A4FF0100000023000001001", params={"licenseNumber": FARM_B})
    assert farm_b.status_code == 200 and farm_b.json()["StrainName"] == "Gelato"
    unknown_route = await raw.get("/plants/v2/vegetative/extra", params={"licenseNumber": FARM_A})
    assert unknown_route.status_code == 404
    no_auth = await httpx.AsyncClient(base_url=str(raw.base_url)).get(
        "/plants/v2/flowering", params={"licenseNumber": FARM_A}
    )
    assert no_auth.status_code == 401


async def test_module_entry_point_serves_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "statesim.metrc",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line.startswith("Metrc simulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        async with MetrcClient(url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_B) as metrc:
            assert len(await metrc.flowering_plants()) == 2
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_custom_seed_file(tmp_path: Path) -> None:
    seed = demo_seed().model_dump(mode="json")
    seed["licenses"] = [
        seed["licenses"][1] | {"number": "OR-1", "name": "Solo", "timezone": "America/Denver"}
    ]
    seed["users"] = [{"user_key": "solo-key", "licenses": ["OR-1"]}]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    async with (
        MetrcSimulator(load_seed(path)) as sim,
        MetrcClient(sim.url, DEMO_VENDOR_KEY, "solo-key", "OR-1") as metrc,
    ):
        assert len(await metrc.flowering_plants()) == 2
        assert sim.snapshot()["licenses"]["OR-1"]["timezone"] == "America/Denver"

    seed["licenses"][0]["timezone"] = "Mars/Olympus_Mons"
    path.write_text(json.dumps(seed), encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown time zone"):
        load_seed(path)
    seed["licenses"][0]["timezone"] = "UTC"
    seed["licenses"][0]["plants"][0]["strain"] = "No Such Strain"
    path.write_text(json.dumps(seed), encoding="utf-8")
    with pytest.raises(ValueError, match="No Such Strain"):
        MetrcSimulator(load_seed(path))


def test_the_entry_point_refuses_a_bad_seed(tmp_path: Path) -> None:
    seed = demo_seed().model_dump(mode="json")
    seed["licenses"][0]["items"][0]["strain"] = "No Such Strain"
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "statesim.metrc", "--port", "0", "--seed", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "No Such Strain" in result.stderr
    assert "Traceback" not in result.stderr
