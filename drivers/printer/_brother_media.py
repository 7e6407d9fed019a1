"""Which Brother model can print which roll, read from brother_ql's own tables.

brother_ql's ``convert()``/``add_raster_data()`` refuse a job when the label is
wider than the model's head, when its length in dots is outside the model's
``min_max_length_dots`` (so 62x29 die-cut, 271 dots long, fails on every model
whose minimum is 295 or 301 dots), or when the roll is ``restricted_to_models``
and the model is not listed. ``Label.works_with_model`` cannot be used: it
checks the model against *all* known models, not the label's list. The same
three rules are applied here, from the library's data, so config refuses at
start-up exactly the pairs the library would refuse on every print.
"""

from __future__ import annotations

from functools import cache

from brother_ql.labels import FormFactor, LabelsManager
from brother_ql.models import ModelsManager

from drivers.labels import BROTHER_MEDIA, MIN_ENDLESS_MM


def _why_not(model: str, label: str) -> str | None:
    """Why ``model`` cannot print ``label`` (None: it can)."""
    spec = ModelsManager()[model]
    roll = LabelsManager()[label]
    if roll.restricted_to_models and model not in roll.restricted_to_models:
        return "the roll is made for other models"
    head = spec.number_bytes_per_row * 8
    width, length = roll.dots_printable
    if width > head:
        return f"the roll is {width} dots wide, the head {head}"
    low, high = spec.min_max_length_dots
    if roll.form_factor == FormFactor.ENDLESS:
        length = BROTHER_MEDIA[label].dots(MIN_ENDLESS_MM)  # the renderer's shortest endless label
    if not low <= length <= high:
        return f"a label {length} dots long is outside the model's {low}-{high} dots"
    return None


@cache
def brother_models_for(label: str) -> tuple[str, ...]:
    """The brother_ql model names that can print roll ``label``, in the library's order."""
    return tuple(m for m in ModelsManager().identifiers() if _why_not(m, label) is None)


@cache
def brother_rolls_for(model: str) -> tuple[str, ...]:
    """The rolls of ``BROTHER_MEDIA`` that ``model`` can print."""
    return tuple(name for name in BROTHER_MEDIA if _why_not(model, name) is None)


def check_brother_pair(model: str, label: str) -> None:
    """Raise ``ValueError`` (an IT-readable config message) when ``model`` cannot print ``label``."""
    reason = _why_not(model, label)
    if reason is None:
        return
    can = brother_models_for(label)
    rolls = brother_rolls_for(model)
    raise ValueError(
        f"Brother {model} cannot print media {label!r} ({reason}); "
        f"models that can: {', '.join(can) or 'none'}; "
        f"rolls the {model} can print: {', '.join(rolls) or 'none'}"
    )
