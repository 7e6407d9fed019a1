"""The protocol registry: protocol name → its ``Dialect``."""

from __future__ import annotations

from drivers.scale import _a_and_d, _mt_sics, _nci, _ohaus, _sma, _toledo_8217
from drivers.scale._frames import Dialect, ProtocolName

DIALECTS: dict[ProtocolName, Dialect] = {
    d.name: d
    for d in (
        _mt_sics.DIALECT,
        _toledo_8217.DIALECT,
        _ohaus.DIALECT,
        _a_and_d.DIALECT,
        _sma.DIALECT,
        _nci.DIALECT,
    )
}


def dialect(name: ProtocolName) -> Dialect:
    return DIALECTS[name]
