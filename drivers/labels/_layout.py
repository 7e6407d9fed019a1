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

The Code 128 decides the orientation: across the tape when it fits at the
preferred module width, else across at the smallest module, else along the tape
(the whole layout turned 90°, text reading bottom to top).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from drivers.labels._errors import LabelError
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
_MARGIN_MM = 1.0
_GAP_MM = 0.6

# Module widths. Code 128: 0.254 mm (10 mil; 3 dots at 300 dpi) preferred, 0.169 mm
# (2 dots) as the fallback, never under 2 dots because thermal dot gain cannot be
# corrected below one dot. 2D cells: 0.42 mm preferred, 0.33 mm smallest.
_BAR_MM = (0.254, 0.169)
_CELL_MM = (0.42, 0.33)
_MIN_DOTS = 2


def _module_sizes(media: Media, sizes_mm: tuple[float, ...]) -> tuple[int, ...]:
    dots: list[int] = []
    for mm in sizes_mm:
        d = max(_MIN_DOTS, round(mm * media.dpi / 25.4))
        if d not in dots:
            dots.append(d)
    return tuple(dots)


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


def _compose(label: LabelBase, media: Media, plan: _Plan) -> Image.Image | None:
    """Draw in reading orientation, or return None if it does not fit."""
    style = plan.style
    fixed_w = media.length if plan.along else media.width
    fixed_h = media.width if plan.along else media.length
    margin, gap = media.dots(_MARGIN_MM), media.dots(_GAP_MM)

    modules = code128_modules(label.uid)
    bars_w = (len(modules) + 2 * QUIET_CODE128) * plan.bar_module
    min_len = media.dots(MIN_ENDLESS_MM)
    width = fixed_w if fixed_w is not None else max(bars_w + 2 * margin, min_len)
    if bars_w > width:
        return None
    inner = width - 2 * margin

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

    cell = plan.cell_module
    symbol: Image.Image | None = None
    quiet2d = 0
    if label.symbol != "code128":
        symbol = draw_matrix(matrix_2d(label.uid, label.symbol), cell)
        quiet2d = QUIET_2D[label.symbol] * cell
    sym_w = symbol.width + quiet2d if symbol else 0
    sym_h = symbol.height if symbol else 0
    if sym_w > inner:
        return None
    details_w = inner - sym_w
    details = [_fit(d, detail_font, details_w) for d in (*extra_lines, *label.details()) if d]
    details = [d for d in details if d]

    head_h = _line_height(head_font)
    uid_h = _line_height(uid_font)
    detail_h = _line_height(detail_font) * len(details)
    bar_h = media.dots(style.bar_mm)
    block_gap = max(gap, quiet2d) if symbol else gap
    block_h = max(detail_h, sym_h)
    used = 2 * margin + head_h + gap + bar_h + gap + uid_h + (block_gap + block_h if block_h else 0)
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

    bars_x = (width - bars_w) // 2 + QUIET_CODE128 * plan.bar_module
    image.paste(draw_bars(modules, plan.bar_module, bar_h), (bars_x, y))
    y += bar_h + gap

    draw.text((width // 2, y), label.uid, font=uid_font, fill=0, anchor="ma")
    y += uid_h + block_gap

    line_h = _line_height(detail_font)
    for i, text in enumerate(details):
        draw.text((margin, y + i * line_h), text, font=detail_font, fill=0, anchor="la")
    if symbol is not None:
        image.paste(symbol, (width - margin - symbol.width, y))
    return image


def _plans(label: LabelBase, media: Media) -> list[_Plan]:
    cells = _module_sizes(media, _CELL_MM) if label.symbol != "code128" else (0,)
    plans: list[_Plan] = []
    for along in (False, True):
        if along and media.length is not None and media.length <= media.width:
            continue  # turning a short label only makes the room for the bars smaller
        for bar in _module_sizes(media, _BAR_MM):
            for style in _STYLES:
                plans.extend(_Plan(along, bar, cell, style) for cell in cells)
    return plans


def render(label: LabelBase, media: Media) -> Image.Image:
    """Draw ``label`` for ``media``: a mode "1" image ``media.width`` dots wide.

    Die-cut media give exactly ``media.width`` x ``media.length``; endless media a
    label as long as its content. Raises ``LabelError`` when it cannot fit.
    """
    for plan in _plans(label, media):
        image = _compose(label, media, plan)
        if image is not None:
            # ROTATE_90 is a lossless transpose: dots stay dots.
            return image.transpose(Image.Transpose.ROTATE_90) if plan.along else image
    raise LabelError(
        f"{label.title.lower()} label for {label.uid!r} does not fit on {media.describe()} media"
    )
