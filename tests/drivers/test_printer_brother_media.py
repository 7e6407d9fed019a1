"""Config accepts a Brother model/roll pair exactly when brother_ql can print it."""

from __future__ import annotations

import pytest
from brother_ql import BrotherQLError
from brother_ql.models import ModelsManager
from PIL import Image
from pydantic import ValidationError

from drivers.labels import BROTHER_MEDIA, MIN_ENDLESS_MM
from drivers.printer import PrinterConfig, brother_raster
from drivers.printer.testing import brother_models_for

MODELS = tuple(ModelsManager().identifiers())
# The models the issue found accepting 62x29 die-cut and failing every print.
NO_62X29 = ("QL-500", "QL-550", "QL-560", "QL-650TD", "QL-1050", "QL-1060N",
            "QL-1100", "QL-1100NWB", "QL-1110NWB", "QL-1115NWB")  # fmt: skip


def config(model: str, media: str) -> PrinterConfig:
    # Room labels only: the roll-size check (test_labels_wear) is not what this file tests.
    return PrinterConfig(kind="brother", url="/dev/usb/lp0", model=model, media=media, labels=("location",))


def library_prints(model: str, media_name: str) -> bool:
    """Ask brother_ql itself: convert a blank label of the roll's printable size."""
    media = BROTHER_MEDIA[media_name]
    length = media.length if media.length is not None else media.dots(MIN_ENDLESS_MM)
    try:
        brother_raster(Image.new("1", (media.width, length), 1), model=model, label=media_name)
    except (ValueError, BrotherQLError):
        return False
    return True


@pytest.mark.parametrize("media_name", list(BROTHER_MEDIA))
@pytest.mark.parametrize("model", MODELS)
def test_config_accepts_exactly_what_the_library_prints(model: str, media_name: str) -> None:
    prints = library_prints(model, media_name)
    assert (model in brother_models_for(media_name)) is prints
    if prints and media_name not in ("29x42", "62x29"):
        assert config(model, media_name).media == media_name
    elif prints:  # the library prints it, but no label kind fits it readably
        with pytest.raises(ValidationError, match="too small for labels that still scan"):
            config(model, media_name)
    else:
        with pytest.raises(ValidationError, match=f"Brother {model} cannot print media '{media_name}'"):
            config(model, media_name)


@pytest.mark.parametrize("model", NO_62X29)
def test_62x29_refused_on_the_ten_models_naming_the_ones_that_can(model: str) -> None:
    with pytest.raises(ValidationError) as info:
        config(model, "62x29")
    message = str(info.value)
    assert "outside the model's" in message
    can = message.split("models that can: ")[1].split(";")[0].split(", ")
    assert set(can) == set(MODELS) - set(NO_62X29)
    assert "QL-820NWB" in can
    rolls = message.split("can print: ")[1].split("[")[0].strip().split(", ")
    assert "62" in rolls  # and says what this model can print instead
    assert "62x29" not in rolls


def test_every_model_prints_some_roll_and_every_roll_some_model() -> None:
    assert all(brother_models_for(name) for name in BROTHER_MEDIA)
    assert all(any(m in brother_models_for(name) for name in BROTHER_MEDIA) for m in MODELS)
