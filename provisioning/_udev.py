"""udev rules for the kiosk's devices: permissions for the agent's groups, stable names.

The agent runs as the system user ``canopy`` in groups ``input`` (HID scanners),
``dialout`` (serial scales and scanners), ``lp`` (label printers) and, on a Pi,
``gpio``. Debian already gives most of these nodes to those groups; the rules
(``70-canopy.rules`` next to this module) make it explicit for the device makers
we support and add ``/dev/canopy/...`` names next to the kernel's ``by-id``
links (reference/edge-anchors.md §6.3). Nothing uses ``TAG+="uaccess"``: that
grants the logged-in seat user, never a system service.
"""

from __future__ import annotations

from importlib.resources import files

RULES_NAME = "70-canopy.rules"


def rules_bytes() -> bytes:
    return files("provisioning").joinpath(RULES_NAME).read_bytes()
