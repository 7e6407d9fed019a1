"""``canopy label preview``: draw a label to a PNG exactly as the printer would get it.

The PNG is at the printer's true resolution (one pixel = one dot), so what you
see is what prints; scan it off the screen to check the barcode.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from canopy.errors import UserError
from drivers.labels import (
    SYMBOLS,
    HarvestBatchTag,
    ImmatureLot,
    Label,
    LabelError,
    LocationTag,
    PackageTag,
    PlantTag,
    get_media,
    render,
)

# kind -> (label class, {option name: field name}, options that must be given)
_KINDS: dict[str, tuple[type[Label], dict[str, str], tuple[str, ...]]] = {
    "plant": (PlantTag, {"strain": "strain", "room": "room", "date": "planted"}, ("strain",)),
    "lot": (
        ImmatureLot,
        {"strain": "strain", "count": "count", "date": "created"},
        ("strain", "count", "date"),
    ),
    "location": (LocationTag, {"name": "name", "area": "area"}, ("name",)),
    "harvest": (
        HarvestBatchTag,
        {"name": "name", "strain": "strain", "date": "harvested", "weight": "weight"},
        ("name", "strain", "date"),
    ),
    "package": (
        PackageTag,
        {"item": "item", "quantity": "quantity", "date": "packaged", "source": "source"},
        ("item", "quantity"),
    ),
}
_TEXT_OPTIONS = ("strain", "room", "name", "area", "item", "quantity", "weight", "source", "count", "date")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "label", help="label tools", description="Draw labels as the printer would print them."
    )
    actions = parser.add_subparsers(dest="label_command", metavar="ACTION", required=True)
    preview = actions.add_parser(
        "preview",
        help="render a label to a PNG at printer resolution",
        description=__doc__,
    )
    preview.add_argument("kind", choices=sorted(_KINDS), help="what the label is for")
    preview.add_argument("uid", help="the tag UID the barcode carries (Metrc tag, BioTrack id)")
    fields = preview.add_argument_group("label text (which ones apply depends on the kind)")
    fields.add_argument("--strain")
    fields.add_argument("--room")
    fields.add_argument("--name", help="location or harvest batch name")
    fields.add_argument("--area", help="location: building, row or shelf")
    fields.add_argument("--item", help="package: item name")
    fields.add_argument("--quantity", help='package: amount with unit, e.g. "28.00 g"')
    fields.add_argument("--weight", help='harvest: e.g. "12.40 kg wet"')
    fields.add_argument("--source", help="package: harvest batch or package it came from")
    fields.add_argument("--count", type=int, help="immature lot: number of plants")
    fields.add_argument("--date", type=_date, help="YYYY-MM-DD (planted, created, harvested...)")
    preview.add_argument(
        "--media", default="62", help='roll: Brother "62", "29", "29x90"... or WxL mm (default 62)'
    )
    preview.add_argument("--dpi", type=int, default=300, choices=(203, 300, 600), help="printer resolution")
    preview.add_argument(
        "--symbol",
        choices=SYMBOLS,
        default="code128",
        help="code128 (the default, and the only one printed: a DataMatrix or QR twin is refused, "
        "it does not scan once a print-head dot is dead)",
    )
    preview.add_argument("-o", "--output", type=Path, help="PNG to write (default KIND-UID.png)")
    preview.set_defaults(func=run_preview)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def build_label(args: argparse.Namespace) -> Label:
    cls, options, required = _KINDS[args.kind]
    missing = [f"--{name}" for name in required if getattr(args, name) is None]
    if missing:
        raise UserError(f"a {args.kind} label needs {' '.join(missing)}")
    given = {field: getattr(args, option) for option, field in options.items()}
    values = {field: value for field, value in given.items() if value is not None}
    unused = [
        f"--{name}" for name in _TEXT_OPTIONS if name not in options and getattr(args, name) is not None
    ]
    if unused:
        raise UserError(f"a {args.kind} label has no use for {' '.join(unused)}")
    try:
        return cls(uid=args.uid, symbol=args.symbol, **values)
    except LabelError as exc:
        raise UserError(str(exc)) from None


def run_preview(args: argparse.Namespace) -> int:
    label = build_label(args)
    try:
        media = get_media(args.media, dpi=args.dpi)
        image = render(label, media)
    except LabelError as exc:
        raise UserError(str(exc)) from None
    safe_uid = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in args.uid)
    output: Path = args.output or Path(f"{args.kind}-{safe_uid}.png")
    try:
        image.save(output, format="PNG", dpi=(media.dpi, media.dpi))
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"{output}: {image.width} x {image.height} dots, {media.describe()}")
    return 0
