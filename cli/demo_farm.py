"""The demo farm as the demo's Metrc simulator sees it.

``agent.demo.reference`` is what the bridge publishes to the kiosk for the demo
facility; ``metrc_seed`` turns the same lists into a simulator seed, so the demo's
state system holds exactly the rooms, plants, lots and tags the kiosk is shown.
It lives here, at the top, because it is the one place that knows both the
agent's demo facility and the state simulator.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from agent.demo import DEMO_PACKAGES, reference
from statesim.metrc import demo_seed

# Location types the demo's Metrc simulator uses, named so the bridge's
# reference sync can tell flowering from vegetative rooms (bridge.state.metrc.room_kind).
_LOCATION_TYPES = {"vegetative": "Vegetative", "flowering": "Flowering", "drying": "Drying",
                   "storage": "Storage"}


def metrc_seed(facility: str, lists: dict[str, Any] | None = None) -> dict[str, Any]:
    """The demo facility as a Metrc simulator seed (JSON-ready), so the demo's state
    system holds exactly the rooms, plants, lots and tags the kiosk is shown."""
    lists = lists or reference()
    base = demo_seed().model_dump(mode="json")
    planted = (date.today() - timedelta(days=60)).isoformat()
    flowering = (date.today() - timedelta(days=20)).isoformat()
    license_ = {
        "number": facility, "name": "Canopy Demo Farm", "timezone": lists["profile"]["timezone"],
        "locations": [{"name": r["name"], "type": _LOCATION_TYPES.get(r["kind"], "Default")}
                      for r in lists["rooms"]],
        "strains": lists["strains"],
        "items": [{"name": i["name"], "category": i["category"], "unit_of_measure": i["unit"]}
                  for i in lists["items"]],
        "plant_tags": [{"first": lists["plant_tags"][0], "count": len(lists["plant_tags"])}],
        "package_tags": [{"first": lists["package_tags"][0], "count": len(lists["package_tags"])}],
        "plant_batches": [{"name": b["name"], "strain": b["strain"], "location": b["location"],
                           "count": b["count"], "planted_date": planted} for b in lists["plant_batches"]],
        "plants": [{"label": p["tag"], "strain": p["strain"], "location": p["location"],
                    "growth_phase": p["phase"], "planted_date": planted, "vegetative_date": planted,
                    "flowering_date": flowering if p["phase"] == "Flowering" else None}
                   for p in lists["plants"]],
        "harvests": [{"name": h["name"], "drying_location": h["location"], "wet_weight": "0",
                      "strains": [h["strain"]], "start_date": flowering} for h in lists["harvests"]],
        "packages": [{"label": p["tag"], "item": p["item"], "quantity": p["grams"],
                      "unit_of_measure": "Grams", "location": p["location"], "source_harvest": p["harvest"],
                      "packaged_date": flowering}
                     for p in DEMO_PACKAGES],
    }
    types = {t["name"] for t in base["location_types"]}
    base["location_types"] += [{"name": n, "for_harvests": False, "for_packages": False,
                                "for_plant_batches": n == "Vegetative"}
                               for n in ("Vegetative", "Flowering") if n not in types]
    base["waste_methods"] = lists["waste_methods"]
    base["harvest_waste_types"] = [t["name"] for t in lists["harvest_waste_types"]]
    base["package_adjust_reasons"] = [{"name": r["name"], "requires_note": r.get("requires_note", False)}
                                      for r in lists["adjust_reasons"]]
    base["plant_waste_reasons"] = [{"name": r["name"], "requires_note": r.get("requires_note", False)}
                                   for r in lists["waste_reasons"]]
    base["licenses"] = [license_]
    base["users"] = [{**u, "licenses": [facility]} for u in base["users"]]
    return base
