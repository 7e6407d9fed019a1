"""Label rendering benchmark; prints one JSON object.

- ``render_ms``: render a 62 mm plant label (Code 128), p50/p99.
- ``render_raster_ms``: render plus brother_ql raster conversion for a QL-820NWB,
  i.e. everything before the bytes go to the printer (target <= 50 ms); the
  driver sends uncompressed rasters. ``render_raster_packbits_ms`` is the same
  with brother_ql's (pure Python) packbits compression, for comparison.
- ``decode``: 1,000 random valid UIDs (Metrc-shaped, letter-heavy, BioTrack),
  across 62 mm and 29 mm and all three symbologies (2D twins drawn with
  ``fragile_twin``: labels refuse them), decoded with zxing-cpp; success means
  every symbol on the label reads back as the UID (target 100 %).
- ``wear``: every label kind on every roll the config accepts (Brother at
  300 dpi, common Zebra sizes at 203 and 300 dpi), as printed (Code 128 along
  the tape), worn as a year-old printer wears it (``drivers.labels.testing``:
  3 dead head dots, one dot of gain, read at 203 dpi, 2 degrees, and all
  together), read by zxing-cpp and by zbar. Rates per roll, kind, wear and
  decoder; ``summary`` pools them per wear (target >= 0.99); ``below_target``
  lists the cells under it. ``refused`` lists the rolls config refuses, with its
  message.
- ``cuts``: why labels carry no DataMatrix or QR twin. One dead head dot through
  the twin (at evenly spaced columns across it, nothing else worn): on a plant
  label at 300 and 203 dpi, read by zxing-cpp and by the twin's second decoder
  (libdmtx, zbar); and on the bare symbol at 6 and 12 dots a module, upright and
  turned 90 degrees, read by the second decoder. (zxing reads cut twins on a
  300 dpi label because it also tries the image scaled down, which greys the
  line; at 203 dpi, with 4-dot cells, that does not save it.)

Every timed run uses a new UID, so zxing's symbol cache never helps.

    .venv/bin/python bench/labels.py [--runs 300] [--uids 1000] [--samples 3]
        [--rolls 62,4x6in@203] [--cuts 24]
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
from dataclasses import replace
from typing import Literal

import PIL
import zxingcpp

from drivers.labels import (
    BROTHER_MEDIA,
    LABEL_KINDS,
    SYMBOLS,
    WORST_METRC_TAG,
    ZEBRA_ROLLS,
    LabelError,
    Media,
    PlantTag,
    check_roll,
    get_media,
    render,
    sample_label,
)
from drivers.labels.testing import (
    QUIET_2D,
    SECOND_DECODER,
    WEARS,
    apply_wear,
    bare_symbol,
    decode_results,
    twin_columns,
    with_dead_dots,
)
from drivers.printer import brother_raster

ALNUM = string.digits + string.ascii_uppercase
TWINS: tuple[Literal["datamatrix", "qr"], ...] = ("datamatrix", "qr")


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
    pooled: dict[str, dict[str, list[int]]] = {}
    for media in accepted:
        key = f"{media.name}@{media.dpi}"
        for kind in LABEL_KINDS:
            for wear in WEARS:
                cell = cells.setdefault(key, {}).setdefault(kind, {}).setdefault(wear.name, {})
                for i in range(samples):
                    uid = f"ROOM-{rng.randrange(10**6):06d}" if kind == "location" else issued_uid(rng, i)
                    label = render(sample_label(kind, uid), media)  # as printed: Code 128 alone
                    worn = apply_wear(label, wear, rng, dpi=media.dpi)
                    for _, decoder, ok in decode_results(worn, uid, "code128"):
                        for table in (cell, pooled.setdefault(wear.name, {})):
                            counts = table.setdefault(decoder, [0, 0])
                            counts[0] += ok
                            counts[1] += 1
    below = [
        {"roll": roll, "kind": kind, "wear": wear, "decoder": name, **rate(*hits)}
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


def spaced(columns: range, count: int) -> list[int]:
    """``count`` columns evenly spread over ``columns`` (all of them when fewer)."""
    step = max(1, len(columns) / count)
    return sorted({columns[int(i * step)] for i in range(min(count, len(columns)))})


def cut_sweep(cuts: int) -> dict[str, object]:
    uid = WORST_METRC_TAG
    on_label: dict[str, dict[str, object]] = {}
    for roll in ("62", "4in@203"):
        name, _, dpi = roll.partition("@")
        media = get_media(name, dpi=int(dpi or 300))
        for symbol in TWINS:
            clean = render(replace(sample_label("plant", uid), symbol=symbol), media, fragile_twin=True)
            clean_l = clean.convert("L")
            counts: dict[str, list[int]] = {}
            columns = spaced(twin_columns(clean_l, symbol), cuts)
            for x in columns:
                for sym, decoder, ok in decode_results(with_dead_dots(clean_l, [x]), uid, symbol):
                    if sym == symbol:
                        hits = counts.setdefault(decoder, [0, 0])
                        hits[0] += ok
                        hits[1] += 1
            on_label[f"{roll}/{symbol}"] = {d: rate(*h) for d, h in counts.items()}
    bare: dict[str, object] = {}
    for symbol in TWINS:
        decoder, read = SECOND_DECODER[symbol]
        for module in (6, 12):
            for turned in (False, True):
                image = bare_symbol(uid, symbol, module, turned=turned)
                assert read(image, symbol) == [uid], "the uncut symbol must read"
                quiet = QUIET_2D[symbol] * module
                columns = spaced(range(quiet, image.width - quiet), cuts)
                reads = sum(read(with_dead_dots(image, [x]), symbol) == [uid] for x in columns)
                key = f"{symbol}/{module} dots/{'turned' if turned else 'upright'}"
                bare[key] = {decoder: rate(reads, len(columns))}
    return {"one_dead_dot_through_the_twin": on_label, "bare_symbol": bare}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--uids", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=3, help="worn labels per roll, kind and wear")
    parser.add_argument("--rolls", default="", help="comma-separated rolls (name or name@dpi); default all")
    parser.add_argument("--cuts", type=int, default=24, help="dead-dot positions across each 2D twin")
    args = parser.parse_args()
    rng = random.Random(20250314)
    m62, m29 = get_media("62"), get_media("29")

    def plant(uid: str) -> PlantTag:
        return PlantTag(uid=uid, strain="Blue Dream", room="Flower 2")

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
        image = render(PlantTag(uid=uid, strain="Blue Dream", symbol=symbol), media, fragile_twin=True)
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
                "cuts": cut_sweep(args.cuts),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
