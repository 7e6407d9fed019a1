"""Public test seam for the printer protocols: the frames and status codes the tests
and simulators speak, next to the parsers that read them (as ``drivers.scale.testing``).

Brother QL status frames (32 bytes; Brother's "Raster Command Reference", status
information) and Zebra ZPL host-status replies (``~HS``), and which Brother models
brother_ql can print a roll on.
"""

from drivers.printer._brother_media import brother_models_for
from drivers.printer._brother_status import (
    FRAME_SIZE,
    HEADER,
    MEDIA_DIE_CUT,
    MEDIA_ENDLESS,
    MEDIA_NONE,
    NOTE_COOLING_FINISHED,
    NOTE_COOLING_STARTED,
    PHASE_PRINTING,
    PHASE_WAITING,
    STATUS_ERROR,
    STATUS_NOTIFICATION,
    STATUS_PHASE,
    STATUS_PRINTED,
    STATUS_REPLY,
    FrameBuffer,
    StatusFrame,
    media_mismatch,
)
from drivers.printer._zpl import parse_status, split_replies

__all__ = [
    "FRAME_SIZE",
    "HEADER",
    "MEDIA_DIE_CUT",
    "MEDIA_ENDLESS",
    "MEDIA_NONE",
    "NOTE_COOLING_FINISHED",
    "NOTE_COOLING_STARTED",
    "PHASE_PRINTING",
    "PHASE_WAITING",
    "STATUS_ERROR",
    "STATUS_NOTIFICATION",
    "STATUS_PHASE",
    "STATUS_PRINTED",
    "STATUS_REPLY",
    "FrameBuffer",
    "StatusFrame",
    "brother_models_for",
    "media_mismatch",
    "parse_status",
    "split_replies",
]
