"""Lay a label out on a medium and draw it at the printer's true resolution.

The output image is already in print-head orientation: ``width`` equals the
medium's printable dots across the head, rows run along the feed. Printers send
it as it is (no scaling, no rotation), so the barcode's dot widths survive.

Layout, in reading orientation::

    TITLE  Headline
    ||| |||| | ||| ||  Code 128, centred, with 10X quiet zones
        1A4FF0100000022000000123
    detail line            [2D]
    detail line            [2D]

The Code 128 always runs along the tape (the whole layout turned 90°, text
reading bottom to top): see ``_plans`` for why. A roll too short for it is
refused (``LabelError``); ``check_roll`` says so at config time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from drivers.labels._errors import LabelError
from drivers.labels._geometry import BAR_MM, CELL_MM, MARGIN_MM, MIN_BAR_DOTS, MIN_CELL_DOTS, module_dots
from drivers.labels._kinds import LabelBase
from drivers.labels._media import MIN_ENDLESS_MM, Media
from drivers.labels._symbols import (
    QUIET_2D,
    QUIET_CODE128,
    code128_modules,
    draw_bars,
    draw_matrix,
    matrix_2d,
)


@dataclass(frozen=True, slots=True)
class _Style:
    """Text and bar sizes in mm; tried from roomy to compact until the label fits."""

    headline_mm: float
    uid_mm: float
    detail_mm: float
    bar_mm: float


_STYLES = (
    _Style(headline_mm=3.4, uid_mm=2.6, detail_mm=2.2, bar_mm=10.0),
    _Style(headline_mm=3.0, uid_mm=2.3, detail_mm=2.0, bar_mm=8.0),
    _Style(headline_mm=2.6, uid_mm=2.0, detail_mm=1.8, bar_mm=6.5),
)
_MIN_TEXT_MM = 1.6  # below this the human-readable UID is no use on the floor
_MAX_BAR_MM = 15.0  # fixed-size labels give spare height to the bars, up to this
_GAP_MM = 0.6


def _module_sizes(media: Media, mm: float, least: int) -> tuple[int, ...]:
    return (module_dots(media, mm, least),)


@lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.FreeTypeFont:
    # Pillow's built-in scalable font (Aileron): no system font package needed.
    font = ImageFont.load_default(size=px)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise LabelError("Pillow was built without FreeType; cannot draw label text")
    return font


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return int(ascent + descent)


def _fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """Shorten ``text`` with an ellipsis until it is at most ``width`` dots long."""
    if font.getlength(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid].rstrip() + "...") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "..." if lo else ""


@dataclass(frozen=True, slots=True)
class _Plan:
    along: bool  # True: the layout runs along the tape and is turned 90°
    bar_module: int
    cell_module: int  # 0 when there is no 2D symbol
    style: _Style
    side: bool = False  # the 2D symbol beside everything else, not under the bars


def _compose(label: LabelBase, media: Media, plan: _Plan) -> Image.Image | None:
    """Draw in reading orientation, or return None if it does not fit."""
    style = plan.style
    fixed_w = media.length if plan.along else media.width
    fixed_h = media.width if plan.along else media.length
    margin, gap = media.dots(MARGIN_MM), media.dots(_GAP_MM)

    cell = plan.cell_module
    symbol: Image.Image | None = None
    quiet2d = 0
    if label.symbol != "code128":
        symbol = draw_matrix(matrix_2d(label.uid, label.symbol), cell)
        quiet2d = QUIET_2D[label.symbol] * cell
    # Beside: a column of its own at the end of the label, quiet zone before it.
    side_w = symbol.width + quiet2d if symbol is not None and plan.side else 0

    modules = code128_modules(label.uid)
    bars_w = (len(modules) + 2 * QUIET_CODE128) * plan.bar_module
    min_len = media.dots(MIN_ENDLESS_MM)
    width = fixed_w if fixed_w is not None else max(bars_w + 2 * margin + side_w, min_len)
    main_w = width - side_w  # the part holding text and bars
    if bars_w > main_w:
        return None
    inner = main_w - 2 * margin

    title_font = _font(media.dots(style.detail_mm))
    head_font = _font(media.dots(style.headline_mm))
    detail_font = _font(media.dots(style.detail_mm))
    title = label.title + "  "
    title_w = title_font.getlength(title)
    headline = label.headline()
    extra_lines: list[str] = []
    if title_w + head_font.getlength(headline) > inner:
        # The headline (strain, room) matters more than the kind: give it the whole
        # row and move the kind down to the small lines.
        title, title_w, extra_lines = "", 0.0, [label.title]
    headline = _fit(headline, head_font, inner - title_w)

    uid_px = media.dots(style.uid_mm)
    while _font(uid_px).getlength(label.uid) > inner:
        uid_px -= 1
        if uid_px < media.dots(_MIN_TEXT_MM):
            return None
    uid_font = _font(uid_px)

    below = symbol if symbol is not None and not plan.side else None
    sym_w = below.width + quiet2d if below else 0
    sym_h = below.height if below else 0
    if sym_w > inner:
        return None
    details_w = inner - sym_w
    details = [_fit(d, detail_font, details_w) for d in (*extra_lines, *label.details()) if d]
    details = [d for d in details if d]

    head_h = _line_height(head_font)
    uid_h = _line_height(uid_font)
    detail_h = _line_height(detail_font) * len(details)
    bar_h = media.dots(style.bar_mm)
    block_gap = max(gap, quiet2d) if below else gap
    block_h = max(detail_h, sym_h)
    used = 2 * margin + head_h + gap + bar_h + gap + uid_h + (block_gap + block_h if block_h else 0)
    if symbol is not None and plan.side:
        used = max(used, symbol.height + 2 * quiet2d)
    height = fixed_h if fixed_h is not None else max(used, min_len)
    if used > height:
        return None

    slack = height - used
    if fixed_h is not None:
        # Taller bars scan more easily from an angle; spend spare height there first.
        grow = min(slack, max(0, media.dots(_MAX_BAR_MM) - bar_h))
        bar_h += grow
        slack -= grow

    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    y = margin + slack // 2
    baseline = y + head_font.getmetrics()[0]
    if title:
        draw.text((margin, baseline), title, font=title_font, fill=0, anchor="ls", stroke_width=1)
    draw.text((margin + title_w, baseline), headline, font=head_font, fill=0, anchor="ls")
    y += head_h + gap

    bars_x = (main_w - bars_w) // 2 + QUIET_CODE128 * plan.bar_module
    image.paste(draw_bars(modules, plan.bar_module, bar_h), (bars_x, y))
    y += bar_h + gap

    draw.text((main_w // 2, y), label.uid, font=uid_font, fill=0, anchor="ma")
    y += uid_h + block_gap

    line_h = _line_height(detail_font)
    for i, text in enumerate(details):
        draw.text((margin, y + i * line_h), text, font=detail_font, fill=0, anchor="la")
    if below is not None:
        image.paste(below, (main_w - margin - below.width, y))
    elif symbol is not None:
        image.paste(symbol, (width - margin - symbol.width, (height - symbol.height) // 2))
    return image


def _plans(label: LabelBase, media: Media) -> list[_Plan]:
    """Layouts to try, best first.

    The Code 128 always runs along the tape (bars across the head): a dead head
    dot then draws a thin white line through every bar, which a scanner line
    beside it never sees. Across the tape the same dead dot splits a bar in two
    along its whole height, and the label stops reading (issue 14: 32-61 % with
    zbar). Where the bars do not fit along the roll the label is refused.
    """
    cells = _module_sizes(media, CELL_MM, MIN_CELL_DOTS) if label.symbol != "code128" else (0,)
    plans: list[_Plan] = []
    for bar in _module_sizes(media, BAR_MM, MIN_BAR_DOTS):
        for style in _STYLES:
            plans.extend(_Plan(True, bar, cell, style) for cell in cells)
    if label.symbol != "code128":  # a narrow tape: the 2D symbol goes beside the bars instead
        plans.extend(_Plan(True, p.bar_module, p.cell_module, p.style, side=True) for p in list(plans))
    return plans


_TWIN_NAMES = {"datamatrix": "DataMatrix", "qr": "QR"}


def render(label: LabelBase, media: Media, *, fragile_twin: bool = False) -> Image.Image:
    """Draw ``label`` for ``media``: a mode "1" image ``media.width`` dots wide.

    Die-cut media give exactly ``media.width`` x ``media.length``; endless media a
    label as long as its content. Raises ``LabelError`` when it cannot fit.

    A DataMatrix or QR twin is refused on every roll unless ``fragile_twin`` (for
    measuring it): it does not scan on a worn printer. A dead head dot leaves a
    one-dot white line along the feed through the whole symbol wherever it falls
    on it. Through the core of a QR finder pattern it costs zbar that finder (a
    third of the places it can fall on a 62 mm label); through a DataMatrix it
    cuts the solid L border, and libdmtx stops for over half of them. Larger
    modules and turning the symbol do not change that (``cuts`` in
    bench/labels.py); one dot of gain closes the line, but a printer does not
    always add one. The Code 128 along the tape reads through such lines (see
    ``_plans``), so labels carry it alone.
    """
    if label.symbol != "code128" and not fragile_twin:
        raise LabelError(
            f"a {_TWIN_NAMES[label.symbol]} twin does not scan on a worn printer (one dead print-head "
            "dot through it often stops other decoders, at any size): labels carry the Code 128 alone, "
            'choose symbol "code128"'
        )
    for plan in _plans(label, media):
        image = _compose(label, media, plan)
        if image is not None:
            # ROTATE_90 is a lossless transpose: dots stay dots.
            return image.transpose(Image.Transpose.ROTATE_90) if plan.along else image
    raise LabelError(
        f"{label.title.lower()} label for {label.uid!r} does not fit on {media.describe()} media"
    )
