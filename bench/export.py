"""The console's PDF export alone: how long a month of waste takes to lay out; one JSON object.

    .venv/bin/python bench/export.py [--rows 415] [--samples 15]

A month of waste at one licence of the 10M-event ledger is 415 rows (bench/console.py
through HTTP, on a filled ledger); here the rows are made up in the waste register's
columns (``WASTE_COLUMNS``) with the lengths real ones have (a plant tag, a licence, a
UUID, a completed hold, a witness's note on some), so the cost per row of the layout is
measured without filling a ledger. Prints p50/p95 ms, ms per row and the page count.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from bridge.reports import WASTE_COLUMNS, Report  # noqa: E402
from console.export import Heading, as_pdf  # noqa: E402

REASONS = ("Male plant", "Pest infestation found on the leaves", "Mold")
NOTES = ("", "Destroyed in the presence of the county inspector, bagged and logged")
HOLDS = ("", "completed 2026-10-05 10:00:00 PDT by worker-3, witness sup-1 (accepted)")


def waste_rows(count: int, rng: random.Random) -> list[tuple[object, ...]]:
    return [(f"2026-10-{i % 28 + 1:02d} 10:{i % 60:02d}:00 PDT", "CCL24-0000101", "plant destroyed",
             f"plant 1A4FF0100000022000001{i:03d}", rng.choice(REASONS), "Grind and mix with soil 50/50",
             "soil", f"{rng.random() * 900:.1f} g", "SCALE-7", "witness-user-12", "worker-34",
             rng.choice(NOTES), rng.choice(HOLDS), "accepted", "", "kiosk-01", i,
             "01a24fd5-f910-7080-bf57-295cf783acf0") for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=415)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    report = Report("Waste and destruction", WASTE_COLUMNS, waste_rows(args.rows, random.Random(1)))
    heading = Heading("Waste", "Green Valley Farms (CCL24-0000101)", "2026-10-01 to 2026-10-31",
                      "2026-11-01 10:00:00 PDT", "casey")
    pdf = as_pdf([report], heading)  # warm: imports, fonts
    times = []
    for _ in range(args.samples):
        began = time.perf_counter()
        pdf = as_pdf([report], heading)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p50 = statistics.median(times)
    print(json.dumps({"rows": args.rows, "samples": args.samples, "p50_ms": round(p50, 1),
                      "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
                      "ms_per_row": round(p50 / max(args.rows, 1), 2), "bytes": len(pdf),
                      "pages": len(PdfReader(io.BytesIO(pdf)).pages)}))


if __name__ == "__main__":
    main()
