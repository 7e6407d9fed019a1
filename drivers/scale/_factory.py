"""``open_scale``: pick the implementation from the config (the pin-factory idea)."""

from __future__ import annotations

from drivers.scale._api import Scale, StateCallback
from drivers.scale._config import ScaleConfig
from drivers.scale._serial import SerialScale
from drivers.scale._sim import SimScale


def open_scale(config: ScaleConfig, *, on_state: StateCallback | None = None) -> Scale:
    """The scale ``config`` describes. Call inside a running event loop: it starts
    connecting at once (and keeps retrying) without waiting; use
    ``await scale.wait_connected(t)`` where a caller must know it is up."""
    if config.kind == "serial":
        return SerialScale(config, on_state=on_state)
    return SimScale(config, on_state=on_state)
