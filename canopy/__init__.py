"""Canopy: seed-to-sale tracking for the grow-room floor.

This package holds what both ends share (the event contract and topics) and the
``canopy`` command. Hardware lives in ``drivers``, the kiosk daemon in ``agent``,
the central service in ``bridge``.
"""

__version__ = "0.1.0"
