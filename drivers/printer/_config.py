"""Printer configuration, embeddable in the agent's TOML config."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.labels import BROTHER_MEDIA, LABEL_KINDS, LabelError, LabelKind, Media, check_roll, get_media


class PrinterConfig(BaseModel):
    """Which printer, on which roll, reached how.

    ``url`` by kind:

    - brother: ``file:///dev/usb/lp0`` or ``/dev/usb/lp0`` (usblp, status read-back),
      ``usb://0x04f9:0x209b[/serial]`` (pyusb, status read-back),
      ``tcp://host[:9100]`` (network, no read-back).
    - zebra: ``tcp://host[:9100]``.
    - sim: unused; PNGs go to ``out_dir``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["sim", "brother", "zebra"] = "sim"
    name: str = "label printer"
    model: str = "QL-820NWB"  # Brother model as brother_ql names it; informational otherwise
    media: str = "62"  # Brother roll ("62", "29", "29x90"...) or WxL in mm ("50.8x25.4")
    dpi: Literal[203, 300, 600] = 300  # Zebra heads come in all three; Brother QL is 300
    url: str | None = None
    backend: Literal["auto", "linux_kernel", "pyusb", "network"] = "auto"
    out_dir: Path = Path("printed-labels")
    retries: int = Field(default=2, ge=0, le=20)
    retry_delay: float = Field(default=1.0, ge=0, le=60, description="seconds between tries")
    timeout: float = Field(default=10.0, gt=0, le=300, description="seconds to wait for a printer")
    check_status: bool = True  # ask the printer before each job where it can answer
    # The label kinds this printer prints; the roll must carry each of them readably.
    labels: tuple[LabelKind, ...] = LABEL_KINDS

    @model_validator(mode="after")
    def _check(self) -> PrinterConfig:
        try:
            media = get_media(self.media, dpi=self.dpi)
        except LabelError as exc:
            raise ValueError(str(exc)) from None
        if self.kind == "brother":
            self._check_brother_model()
        try:
            check_roll(media, self.labels, self._rolls_this_printer_takes())
        except LabelError as exc:
            raise ValueError(str(exc)) from None
        if self.kind == "sim":
            return self
        if not self.url:
            raise ValueError(f"a {self.kind} printer needs url (e.g. tcp://192.0.2.10:9100)")
        if self.kind == "zebra" and not self.url.startswith("tcp://"):
            raise ValueError("a zebra printer url must be tcp://host[:port]")
        if self.kind == "brother":
            self._check_brother(self.url)
        return self

    def _check_brother_model(self) -> None:
        from brother_ql.models import ModelsManager

        from drivers.printer._brother_media import check_brother_pair

        if self.dpi != 300:
            raise ValueError("Brother QL printers are 300 dpi; leave dpi at 300")
        if self.media not in BROTHER_MEDIA:
            raise ValueError(
                f"media {self.media!r} is not a Brother roll; use one of {', '.join(BROTHER_MEDIA)}"
            )
        models = ModelsManager().identifiers()
        if self.model not in models:
            raise ValueError(f"unknown Brother model {self.model!r}; known: {', '.join(models)}")
        check_brother_pair(self.model, self.media)

    def _rolls_this_printer_takes(self) -> tuple[str, ...] | None:
        if self.kind != "brother":
            return None
        from drivers.printer._brother_media import brother_rolls_for

        return brother_rolls_for(self.model)

    def _check_brother(self, url: str) -> None:
        from brother_ql.backends import guess_backend

        if self.backend == "auto":
            try:
                guess_backend(url)
            except ValueError:
                raise ValueError(
                    f"cannot tell the connection from url {url!r}; "
                    "use file:///dev/usb/lpN, usb://0x04f9:0xPPPP or tcp://host:9100"
                ) from None

    def label_media(self) -> Media:
        return get_media(self.media, dpi=self.dpi)

    def brother_backend(self) -> str:
        """The brother_ql backend name for ``url`` (``linux_kernel``, ``pyusb``, ``network``)."""
        if self.backend != "auto":
            return self.backend
        from brother_ql.backends import guess_backend

        backend: str = guess_backend(self.url or "")
        return backend
