"""The compliance console's pages on a filled ledger: how long each takes to answer.

    .venv/bin/python bench/console.py [--events 200000] [--samples 30] [--url LEDGER]

Fills a SQLite ledger in bulk (bench/bulk.py: bench/ledger.py's events, 20 facilities,
7 years, each a real contract event), or takes one filled earlier (``--url``, SQLite or
PostgreSQL; ``--events`` then only says its size), verifies the chain of the facility
shown (so the chain page has a verification to show), serves the console in-process
and signs in as a compliance manager, then requests every page of one facility (floor
status, each register, activity of random tags, one month of each register that takes
a period, the chain, the console log) and the CSV and PDF of the rejections (and one
month of waste as PDF), ``--samples`` times each, through HTTP as a browser would; then
the floor page again and again while all years of waste are made into a PDF (another
user's page while an export renders: ``floor_while_a_pdf_renders``).
Prints one JSON object: the fill, and p50/p95 (ms) per page. Each request also appends
its row to the console log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from bench.bulk import bulk_fill, every  # noqa: E402
from bench.ledger import Shape, facility_name, tag_for  # noqa: E402
from bridge.ledger import UserExists, open_ledger, verify_and_record  # noqa: E402
from bridge.reports import REGISTERS, Clock  # noqa: E402
from canopy.kiosk_status import KioskStatus  # noqa: E402
from console.accounts import hash_password  # noqa: E402
from console.views import Context, Facility  # noqa: E402
from console.web import Console  # noqa: E402

PASSWORD = "bench password"


async def no_kiosks() -> list[KioskStatus]:
    return []


async def fetch_ms(client: TestClient[web.Request, web.Application], path: str) -> float:
    """One page asked for and read whole, as a browser would: how long it took, ms."""
    began = time.perf_counter()
    response = await client.get(path)
    await response.read()
    assert response.status == 200, (path, response.status)
    return (time.perf_counter() - began) * 1000


def spread(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1)}


async def timed(client: TestClient[web.Request, web.Application], paths: list[str]) -> dict[str, float]:
    return spread([await fetch_ms(client, path) for path in paths])


async def while_rendering(client: TestClient[web.Request, web.Application], export: str,
                          page: str) -> dict[str, float]:
    """Another user's page asked for again and again while a large PDF (all years of waste)
    is made: how long that page takes meanwhile, and how long the PDF took."""
    began = time.perf_counter()
    rendering = asyncio.create_task(fetch_ms(client, export))
    times: list[float] = []
    while not rendering.done():
        times.append(await fetch_ms(client, page))
    await rendering
    return {"pdf_ms": round((time.perf_counter() - began) * 1000, 1), "pages": len(times),
            **spread(times), "max_ms": round(max(times), 1)}


async def run(events: int, samples: int, url: str, reuse: bool, month: str = "2023-03") -> dict[str, Any]:
    shape = Shape(events)
    first = date.fromisoformat(f"{month}-01")
    last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
    month = f"from={first}&to={last}"
    lic = facility_name(3)
    filled: dict[str, Any] = ({"reused": url.split("@")[-1]} if reuse
                              else await bulk_fill(url, shape, progress=every(30)))
    ledger = await open_ledger(url)
    try:
        filled["events"] = (await ledger.counts()).events
        began = time.perf_counter()
        await verify_and_record(ledger, lic)
        filled["verify_one_facility_s"] = round(time.perf_counter() - began, 1)
        try:
            await ledger.add_console_user("bench", "compliance", hash_password(PASSWORD))
        except UserExists:  # a ledger kept from an earlier run
            pass
        facilities = [Facility(facility_name(n), f"Farm {n}", "America/Los_Angeles")
                      for n in range(shape.facilities)]
        console = Console(Context(ledger, facilities, no_kiosks,
                                  Clock({f.license: f.timezone for f in facilities})))
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(console.app()))
        await client.start_server()
        try:
            page = await (await client.get("/login")).text()
            token = re.search(r'name="csrf" value="([^"]+)"', page)
            assert token
            await client.post("/login", data={"csrf": token.group(1), "name": "bench", "password": PASSWORD})
            rng = random.Random(5)
            pages: dict[str, list[str]] = {
                "floor": [f"/f/{lic}/floor"] * samples,
                **{r.name: [f"/f/{lic}/{r.name}"] * samples for r in REGISTERS},
                "activity_per_tag": [f"/f/{lic}/activity?q={tag_for(3, rng.randrange(shape.plants))}"
                                     for _ in range(samples)],
                # An inspector's usual question: one month of a register (the ledger runs 2019-12 on).
                **{f"{r.name}_one_month": [f"/f/{lic}/{r.name}?{month}"] * samples
                   for r in REGISTERS if r.dated},
                "waste_one_month_pdf": [f"/f/{lic}/waste.pdf?{month}"]
                * max(3, samples // 5),
                "chain": [f"/f/{lic}/chain"] * samples,
                "console_log": ["/console/console-log"] * samples,
                "rejections_csv": [f"/f/{lic}/rejections.csv"] * samples,
                "rejections_pdf": [f"/f/{lic}/rejections.pdf"] * max(3, samples // 5),
            }
            timings = {name: await timed(client, paths) for name, paths in pages.items()}
            timings["floor_while_a_pdf_renders"] = await while_rendering(
                client, f"/f/{lic}/waste.pdf?from=&to=", f"/f/{lic}/floor")
        finally:
            await client.close()
        rejected = len(await ledger.rejections(lic))
    finally:
        await ledger.close()
    return {"fill": filled, "facility_rejections": rejected, "pages": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--url", help="a ledger filled earlier by bench/bulk.py (sqlite:///… or postgresql://…)")
    parser.add_argument("--month", default="2023-03", help="the month of the one-month pages (YYYY-MM)")
    args = parser.parse_args()
    if args.url:
        print(json.dumps(asyncio.run(run(args.events, args.samples, args.url, True, args.month)), indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="canopy-console-bench-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'ledger.db'}"
        print(json.dumps(asyncio.run(run(args.events, args.samples, url, False, args.month)), indent=2))


if __name__ == "__main__":
    main()
