"""Key presses of a keyboard-wedge scanner -> characters (US layout). Pure, no I/O.

evdev reports key *positions*, so what matters is the layout the scanner itself
is set to (hardware.md 1.6); only "us" exists so far. The decoder follows shift,
caps lock (letters only), Ctrl (ASCII control characters: Ctrl+] is GS 0x1D) and
Alt+keypad codes (Alt+0029 is GS too), and ignores EV_MSC / EV_SYN and autorepeat.
"""

from __future__ import annotations

from dataclasses import dataclass

from evdev import ecodes as e

from drivers.scanner._framing import MAX_SCAN_CHARS, TOO_LONG_PROBLEM

# key code -> (unshifted, shifted)
US_KEYS: dict[int, tuple[str, str]] = {
    **{getattr(e, f"KEY_{c}"): (c.lower(), c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    e.KEY_1: ("1", "!"),
    e.KEY_2: ("2", "@"),
    e.KEY_3: ("3", "#"),
    e.KEY_4: ("4", "$"),
    e.KEY_5: ("5", "%"),
    e.KEY_6: ("6", "^"),
    e.KEY_7: ("7", "&"),
    e.KEY_8: ("8", "*"),
    e.KEY_9: ("9", "("),
    e.KEY_0: ("0", ")"),
    e.KEY_MINUS: ("-", "_"),
    e.KEY_EQUAL: ("=", "+"),
    e.KEY_LEFTBRACE: ("[", "{"),
    e.KEY_RIGHTBRACE: ("]", "}"),
    e.KEY_BACKSLASH: ("\\", "|"),
    e.KEY_SEMICOLON: (";", ":"),
    e.KEY_APOSTROPHE: ("'", '"'),
    e.KEY_GRAVE: ("`", "~"),
    e.KEY_COMMA: (",", "<"),
    e.KEY_DOT: (".", ">"),
    e.KEY_SLASH: ("/", "?"),
    e.KEY_SPACE: (" ", " "),
    e.KEY_TAB: ("\t", "\t"),
    e.KEY_ENTER: ("\r", "\r"),
}

# Keypad keys ignore shift and caps lock. Num Lock is assumed on: a scanner that
# sends keypad digits means digits, and a grabbed device's LED state is ours anyway.
KEYPAD_KEYS: dict[int, str] = {
    e.KEY_KP0: "0",
    e.KEY_KP1: "1",
    e.KEY_KP2: "2",
    e.KEY_KP3: "3",
    e.KEY_KP4: "4",
    e.KEY_KP5: "5",
    e.KEY_KP6: "6",
    e.KEY_KP7: "7",
    e.KEY_KP8: "8",
    e.KEY_KP9: "9",
    e.KEY_KPDOT: ".",
    e.KEY_KPMINUS: "-",
    e.KEY_KPPLUS: "+",
    e.KEY_KPASTERISK: "*",
    e.KEY_KPSLASH: "/",
    e.KEY_KPEQUAL: "=",
    e.KEY_KPCOMMA: ",",
    e.KEY_KPENTER: "\r",
}

TERMINATOR_KEYS: dict[str, int] = {
    "enter": e.KEY_ENTER,
    "kp_enter": e.KEY_KPENTER,
    "tab": e.KEY_TAB,
}

_TERMINATOR_CHARS = {e.KEY_ENTER: "\r", e.KEY_KPENTER: "\r", e.KEY_TAB: "\t"}
_SHIFT = {e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT}
_CTRL = {e.KEY_LEFTCTRL, e.KEY_RIGHTCTRL}
_ALT = {e.KEY_LEFTALT, e.KEY_RIGHTALT}
_IGNORED = {e.KEY_NUMLOCK, e.KEY_LEFTMETA, e.KEY_RIGHTMETA}
# Ctrl+digit conventions from xterm for control characters that have no letter key.
_CTRL_DIGITS = {"2": "\x00", "6": "\x1e", "-": "\x1f"}

UNMAPPED_PROBLEM = "scan had keys Canopy cannot read (check the scanner's keyboard layout)"
# The kernel's queue of this device's events overflowed while the kiosk was busy, and it
# dropped what was queued (linux drivers/input/evdev.c ``__pass_event``: the unread events
# are replaced by one SYN_DROPPED and the newest event). Keys of the scan under way are
# gone, and the next one may have lost its first keys.
DROPPED_PROBLEM = "some of the scanner's keystrokes were lost while the kiosk was busy"


@dataclass(frozen=True, slots=True)
class KeyFrame:
    """One finished scan from key presses.

    ``chars`` is everything typed before the terminator; ``terminator`` is the
    terminator's character ("" when ended by an idle pause or the length cap).
    """

    chars: str
    terminator: str
    problem: str | None = None


def control_char(char: str) -> str | None:
    """The ASCII control character Ctrl+``char`` types, or None if there is none."""
    if char in _CTRL_DIGITS:
        return _CTRL_DIGITS[char]
    code = ord(char.upper())
    return chr(code - 0x40) if 0x40 <= code <= 0x5F else None


class KeyDecoder:
    """Feed EV_KEY events one by one; get a ``KeyFrame`` when a scan ends."""

    def __init__(self, terminators: frozenset[int] | set[int]) -> None:
        unknown = set(terminators) - set(_TERMINATOR_CHARS)
        if unknown:
            raise ValueError(f"only Enter, keypad Enter and Tab can end a scan, not {unknown}")
        self._terminators = frozenset(terminators)
        self._chars: list[str] = []
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self._alt_digits = ""
        self._caps = False
        self._unmapped = 0
        self._dropped = False  # keys were lost: the scan ending next carries DROPPED_PROBLEM
        self._skipping = False  # after SYN_DROPPED, until the next SYN_REPORT

    @property
    def pending(self) -> bool:
        """True while characters of an unfinished scan are buffered."""
        return bool(self._chars) or bool(self._alt_digits) or self._unmapped > 0 or self._dropped

    def feed(self, ev_type: int, code: int, value: int) -> KeyFrame | None:
        """Process one input event; return the finished scan, if this event ended one."""
        if ev_type == e.EV_SYN:
            if code == e.SYN_DROPPED:
                # Linux Documentation/input/event-codes.rst: ignore every event up to and
                # including the next SYN_REPORT. Which modifiers are held is not known
                # either; a scanner presses them per character, so none is assumed.
                self._dropped = self._skipping = True
                self._shift.clear()
                self._ctrl.clear()
                self._alt.clear()
                self._alt_digits = ""
            elif code == e.SYN_REPORT:
                self._skipping = False
            return None
        if self._skipping or ev_type != e.EV_KEY or value == 2:  # MSC_SCAN, LEDs; autorepeat
            return None
        pressed = value == 1
        if code in _SHIFT:
            self._toggle(self._shift, code, pressed)
            return None
        if code in _CTRL:
            self._toggle(self._ctrl, code, pressed)
            return None
        if code in _ALT:
            self._toggle(self._alt, code, pressed)
            if not self._alt:
                self._finish_alt_code()
            return None
        if not pressed:
            return None
        if code == e.KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in self._terminators:
            return self._end(_TERMINATOR_CHARS[code])
        if self._alt and code in KEYPAD_KEYS and KEYPAD_KEYS[code].isdigit():
            self._alt_digits += KEYPAD_KEYS[code]
            return None
        self._type(code)
        if len(self._chars) >= MAX_SCAN_CHARS:
            return self._end("", TOO_LONG_PROBLEM)
        return None

    def flush(self) -> KeyFrame | None:
        """End the buffered scan without a terminator (idle pause); None if empty."""
        self._finish_alt_code()
        if not self._chars and not self._unmapped and not self._dropped:
            return None
        return self._end("")

    def discard(self) -> str:
        """Drop the unfinished scan (device gone) and reset all key state; return it."""
        partial = "".join(self._chars)
        self._chars.clear()
        self._shift.clear()
        self._ctrl.clear()
        self._alt.clear()
        self._alt_digits = ""
        self._unmapped = 0
        self._dropped = self._skipping = False
        return partial

    @staticmethod
    def _toggle(held: set[int], code: int, pressed: bool) -> None:
        if pressed:
            held.add(code)
        else:
            held.discard(code)

    def _type(self, code: int) -> None:
        if code in KEYPAD_KEYS:
            self._chars.append(KEYPAD_KEYS[code])
            return
        pair = US_KEYS.get(code)
        if pair is None:
            if code not in _IGNORED:
                self._unmapped += 1
            return
        shifted = bool(self._shift)
        if self._caps and pair[0].isalpha():
            shifted = not shifted
        char = pair[1] if shifted else pair[0]
        if self._ctrl:
            ctrl = control_char(char)
            if ctrl is None:
                self._unmapped += 1
                return
            char = ctrl
        self._chars.append(char)

    def _finish_alt_code(self) -> None:
        """Alt released after keypad digits: Windows "Alt code" entry (Alt+0029 = GS).

        A leading 0 means the ANSI code page (cp1252), otherwise the OEM one (cp437);
        both agree with ASCII below 128.
        """
        digits, self._alt_digits = self._alt_digits, ""
        if not digits:
            return
        value = int(digits) % 256
        if value < 128:
            self._chars.append(chr(value))
        else:
            codec = "cp1252" if digits.startswith("0") else "cp437"
            self._chars.append(bytes([value]).decode(codec, errors="replace"))

    def _end(self, terminator: str, problem: str | None = None) -> KeyFrame | None:
        chars = "".join(self._chars)
        unmapped, dropped = self._unmapped, self._dropped
        self._chars.clear()
        self._unmapped = 0
        self._dropped = False
        if dropped:  # whatever else is wrong, the worker must scan again
            # A scanner that shifts by Caps Lock taps it on and off within each scan: a
            # lost tap would leave every later scan in the wrong case. Between scans it is off.
            self._caps = False
            return KeyFrame(chars=chars, terminator=terminator, problem=DROPPED_PROBLEM)
        if not chars and not unmapped:
            return None  # a lone Enter: nothing was scanned
        if unmapped and problem is None:
            problem = UNMAPPED_PROBLEM
        return KeyFrame(chars=chars, terminator=terminator, problem=problem)
