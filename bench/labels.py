"""Label rendering benchmark; prints one JSON object.

- ``render_ms``: render a 62 mm plant label (Code 128 + DataMatrix), p50/p99.
- ``render_raster_ms``: render plus brother_ql raster conversion for a QL-820NWB,
  i.e. everything before the bytes go to the printer (target <= 50 ms); the
  driver sends uncompressed rasters. ``render_raster_packbits_ms`` is the same
  with brother_ql's (pure Python) packbits compression, for comparison.
- ``decode``: 1,000 random valid UIDs (Metrc-shaped, letter-heavy, BioTrack),
  across 62 mm and 29 mm and all three symbologies, decoded with zxing-cpp;
  success means every symbol on the label reads back as the UID (target 100 %).

Every timed run uses a new UID, so zxing's symbol cache never helps.

    .venv/bin/python bench/labels.py [--runs 300] [--uids 1000]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import string
import time
from collections.abc import Callable

import PIL
import zxingcpp

from drivers.labels import SYMBOLS, PlantTag, get_media, render
from drivers.printer import brother_raster

ALNUM = string.digits + string.ascii_uppercase


def random_uid(rng: random.Random, i: int) -> str:
    shape = i % 4
    if shape == 0:  # BioTrack: 16 digits
        return "".join(rng.choice(string.digits) for _ in range(16))
    if shape == 1:  # Metrc worst case: 24 random alphanumerics
        return "1A4" + "".join(rng.choice(ALNUM) for _ in range(21))
    # Metrc as issued: 1A4, a 6-hex facility part, zero padding, a sequence number
    facility = "".join(rng.choice("0123456789ABCDEF") for _ in range(6))
    seq = str(rng.randrange(1, 10 ** rng.randint(1, 9)))
    return "1A4" + facility + seq.rjust(15, "0")


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50": round(statistics.median(samples), 2),
        "p99": round(cuts[98], 2),
        "max": round(max(samples), 2),
        "runs": len(samples),
    }


def timed(fn: Callable[[str], object], uids: list[str]) -> list[float]:
    out = []
    for uid in uids:
        start = time.perf_counter()
        fn(uid)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--uids", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(20250314)
    m62, m29 = get_media("62"), get_media("29")

    def plant(uid: str) -> PlantTag:
        return PlantTag(uid=uid, strain="Blue Dream", room="Flower 2", symbol="datamatrix")

    render(plant("WARMUP0000000001"), m62)  # font loading, imports
    render_ms = timed(lambda uid: render(plant(uid), m62), [random_uid(rng, i) for i in range(args.runs)])
    raster_ms = timed(
        lambda uid: brother_raster(render(plant(uid), m62), model="QL-820NWB", label="62"),
        [random_uid(rng, i) for i in range(args.runs)],
    )
    packbits_ms = timed(
        lambda uid: brother_raster(render(plant(uid), m62), model="QL-820NWB", label="62", compress=True),
        [random_uid(rng, i) for i in range(args.runs)],
    )

    failures: list[str] = []
    for i in range(args.uids):
        uid = random_uid(rng, i)
        symbol = SYMBOLS[i % 3]
        media = m62 if i % 2 == 0 else m29
        image = render(PlantTag(uid=uid, strain="Blue Dream", symbol=symbol), media)
        texts = sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(image))
        want = 2 if symbol != "code128" else 1
        if len(texts) != want or any(text != uid for _, text in texts):
            failures.append(f"{uid} {symbol} {media.name}: {texts}")

    print(
        json.dumps(
            {
                "bench": "labels",
                "python": platform.python_version(),
                "machine": platform.machine(),
                "pillow": PIL.__version__,
                "render_ms": percentiles(render_ms),
                "render_raster_ms": percentiles(raster_ms) | {"target_ms": 50},
                "render_raster_packbits_ms": percentiles(packbits_ms),
                "decode": {
                    "uids": args.uids,
                    "success_rate": round(1 - len(failures) / args.uids, 4),
                    "target": 1.0,
                    "failures": failures[:10],
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
