"""Public test seam for GPIO: the debouncing switch behind the foot pedal, and the
faults a pin library's errors become (what a worker and IT read)."""

from drivers.gpio._errors import NO_PERMISSION, NOT_AVAILABLE, fault_from_error
from drivers.gpio._switch import Switch

__all__ = ["NOT_AVAILABLE", "NO_PERMISSION", "Switch", "fault_from_error"]
