"""Label rendering benchmark; prints one JSON object.

- ``render_ms``: render a 62 mm plant label (Code 128 + DataMatrix), p50/p99.
- ``render_raster_ms``: render plus brother_ql raster conversion for a QL-820NWB,
  i.e. everything before the bytes go to the printer (target <= 50 ms); the
  driver sends uncompressed rasters. ``render_raster_packbits_ms`` is the same
  with brother_ql's (pure Python) packbits compression, for comparison.
- ``decode``: 1,000 random valid UIDs (Metrc-shaped, letter-heavy, BioTrack),
  across 62 mm and 29 mm and all three symbologies, decoded with zxing-cpp;
  success means every symbol on the label reads back as the UID (target 100 %).
- ``wear``: every label kind on every roll the config accepts (Brother at
  300 dpi, common Zebra sizes at 203 and 300 dpi), worn as a year-old printer
  wears it (``drivers.labels.testing``: 3 dead head dots, one dot of gain, read
  at 203 dpi, 2 degrees, and all together), read by zxing-cpp and by a second
  decoder (zbar for Code 128 and QR, libdmtx for DataMatrix). Rates per roll,
  kind, wear, symbol and decoder; ``summary`` pools them per wear (target
  >= 0.99); ``label_reads``: the UID read off the label by each decoder family
  from at least one symbol on it (a decoder answering anything but the UID,
  or two different texts, counts as not read). ``refused`` lists the rolls config
  refuses, with its message.

Every timed run uses a new UID, so zxing's symbol cache never helps.

    .venv/bin/python bench/labels.py [--runs 300] [--uids 1000] [--samples 3] [--rolls 62,4x6in@203]
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import random
import statistics
import string
import time
from collections.abc import Callable
from dataclasses import replace

import PIL
import zxingcpp

from drivers.labels import (
    BROTHER_MEDIA,
    LABEL_KINDS,
    SYMBOLS,
    ZEBRA_ROLLS,
    LabelError,
    Media,
    PlantTag,
    check_roll,
    get_media,
    render,
    sample_label,
)
from drivers.labels.testing import WEARS, apply_wear, decode_results
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


def issued_uid(rng: random.Random, i: int) -> str:
    """A UID as issued (BioTrack, or Metrc 1A4 + hex facility + sequence): these fit every accepted roll."""
    return random_uid(rng, 0 if i % 3 == 0 else 2)


def rate(hits: int, total: int) -> dict[str, float | int]:
    return {"rate": round(hits / total, 4) if total else 0.0, "n": total}


def wear_sweep(samples: int, only: set[str] | None) -> dict[str, object]:
    rng = random.Random(20261207)
    rolls = [*BROTHER_MEDIA.values()] + [get_media(n, dpi=d) for d in (203, 300) for n in ZEBRA_ROLLS]
    refused: dict[str, str] = {}
    accepted: list[Media] = []
    for media in rolls:
        key = f"{media.name}@{media.dpi}"
        if only and key not in only and media.name not in only:
            continue
        try:
            check_roll(media)
            accepted.append(media)
        except LabelError as exc:
            refused[key] = str(exc)
    cells: dict[str, dict[str, dict[str, dict[str, list[int]]]]] = {}
    turn = itertools.count()
    pooled: dict[str, dict[str, list[int]]] = {}
    label_level: dict[str, dict[str, list[int]]] = {}
    for media in accepted:
        key = f"{media.name}@{media.dpi}"
        for kind in LABEL_KINDS:
            for wear in WEARS:
                cell = cells.setdefault(key, {}).setdefault(kind, {}).setdefault(wear.name, {})
                for i in range(samples):
                    # Symbols take turns across all samples, so every cell sees each in time.
                    symbol = SYMBOLS[next(turn) % len(SYMBOLS)]
                    uid = f"ROOM-{rng.randrange(10**6):06d}" if kind == "location" else issued_uid(rng, i)
                    label = render(replace(sample_label(kind, uid), symbol=symbol), media)
                    worn = apply_wear(label, wear, rng, dpi=media.dpi)
                    read = {"zxing": False, "second": False}
                    for sym, decoder, ok in decode_results(worn, uid, symbol):
                        name = f"{sym}/{decoder}"
                        for table in (cell, pooled.setdefault(wear.name, {})):
                            counts = table.setdefault(name, [0, 0])
                            counts[0] += ok
                            counts[1] += 1
                        family = "zxing" if decoder == "zxing" else "second"
                        read[family] = read[family] or ok
                    for family, ok in read.items():
                        counts = label_level.setdefault(wear.name, {}).setdefault(family, [0, 0])
                        counts[0] += ok
                        counts[1] += 1
    below = [
        {"roll": roll, "kind": kind, "wear": wear, "symbol/decoder": name, **rate(*hits)}
        for roll, kinds in cells.items()
        for kind, wears in kinds.items()
        for wear, names in wears.items()
        for name, hits in names.items()
        if hits[0] < 0.99 * hits[1]
    ]
    return {
        "samples_per_cell": samples,
        "wears": [w.name for w in WEARS],
        "rolls": sorted(cells),
        "summary": {w: {n: rate(*h) for n, h in sorted(t.items())} for w, t in pooled.items()},
        "label_reads": {w: {n: rate(*h) for n, h in t.items()} for w, t in label_level.items()},
        "below_target": below,
        "rates": {
            roll: {
                k: {w: {n: round(h[0] / h[1], 3) for n, h in t.items()} for w, t in ws.items()}
                for k, ws in kinds.items()
            }
            for roll, kinds in cells.items()
        },
        "refused": refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--uids", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=3, help="worn labels per roll, kind and wear")
    parser.add_argument("--rolls", default="", help="comma-separated rolls (name or name@dpi); default all")
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
                "wear": wear_sweep(args.samples, set(filter(None, args.rolls.split(","))) or None),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
