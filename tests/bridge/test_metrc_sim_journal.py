"""A Metrc simulator with a journal remembers across restarts what it took (the demo's memory):
a plant destroyed in one run is refused the next, with the same ids as before; a reset forgets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.state.metrc import DestroyPlant, MetrcClient, MetrcRowErrors, MovePlant
from statesim.metrc import DEMO_LICENSES, DEMO_USER_KEY, DEMO_VENDOR_KEY, MetrcSimulator
from tests.bridge.test_metrc_sim_writes import VEG, by_label, state, today

pytestmark = pytest.mark.timeout(60)
FARM_A = DEMO_LICENSES[0]


def destroy(label: str) -> DestroyPlant:
    return DestroyPlant(label=label, waste_method_name="Compost", waste_material_mixed="Soil",
                        waste_weight=Decimal("15.5"), waste_unit_of_measure_name="Grams",
                        waste_reason_name="Contamination", reason_note="mold", actual_date=today())


def facts(snapshot: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    fields = ("Id", "State", "LocationName", "DestroyedDate", "GrowthPhase")
    return {label: tuple(p.get(f) for f in fields) for label, p in by_label(snapshot).items()}


def client(sim: MetrcSimulator) -> MetrcClient:
    return MetrcClient(sim.url, DEMO_VENDOR_KEY, DEMO_USER_KEY, FARM_A, timeout=10)


async def test_a_restarted_simulator_remembers_what_it_took_and_a_reset_forgets(tmp_path: Path) -> None:
    journal = tmp_path / "metrc-journal.jsonl"
    async with MetrcSimulator(journal=journal) as first, client(first) as metrc:
        await metrc.destroy_plants([destroy(VEG[0])])
        with pytest.raises(MetrcRowErrors):  # refused: nothing changed, nothing to remember
            await metrc.move_plants([MovePlant(label=VEG[0], location="Veg Room", actual_date=today())])
        await metrc.move_plants([MovePlant(label=VEG[1], location="Flower Room B", actual_date=today())])
        before = facts(await state(first))
    assert len(journal.read_text().splitlines()) == 2
    async with MetrcSimulator(journal=journal) as second, client(second) as metrc:
        assert second.replayed == 2
        assert facts(await state(second)) == before  # same states, places, ids and dates
        with pytest.raises(MetrcRowErrors) as again:
            await metrc.destroy_plants([destroy(VEG[0])])
        assert again.value.rows[0].message == f"Plant {VEG[0]} has been destroyed."
        async with httpx.AsyncClient(base_url=second.url) as admin:
            (await admin.post("/_sim/reset")).raise_for_status()
    async with MetrcSimulator(journal=journal) as third:
        assert third.replayed == 0
        assert by_label(await state(third))[VEG[0]]["State"] != "Destroyed"
