"""Certified (legal-for-trade) scales over serial: MT-SICS, Toledo 8217, Ohaus,
A&D, SMA and NCI.

    from drivers.scale import ScaleConfig, open_scale

    scale = open_scale(ScaleConfig(kind="serial", protocol="mt-sics",
                                   port="/dev/serial/by-id/usb-FTDI_…-if00-port0"))
    reading = await scale.weigh()          # stable, or DeviceFault
    if reading.is_loggable: ...

Only stable mass readings are loggable; the raw frame travels with every
reading. Faults are ``drivers.faults.DeviceFault`` with floor wording.

Tests use ``drivers.scale.testing``: each protocol's frame generators, the
frames from the manuals with their sources, a fake scale on a real pty.
"""

from drivers.scale._api import LinkState, Scale, ScaleStatus, StateCallback
from drivers.scale._config import ScaleConfig, ScaleIdentity
from drivers.scale._factory import open_scale
from drivers.scale._reading import MASS_UNITS, Reading, ReadingState, WeightBasis
from drivers.scale._serial import ReadingStream, SerialScale
from drivers.scale._sim import SimScale

__all__ = [
    "MASS_UNITS",
    "LinkState",
    "Reading",
    "ReadingState",
    "ReadingStream",
    "Scale",
    "ScaleConfig",
    "ScaleIdentity",
    "ScaleStatus",
    "SerialScale",
    "SimScale",
    "StateCallback",
    "WeightBasis",
    "open_scale",
]
