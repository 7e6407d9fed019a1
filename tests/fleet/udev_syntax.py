"""A checker for udev rules files, after udev(7) and systemd 252's udev-rules.c.

Debian 12's udevadm (systemd 252) has no ``udevadm verify`` (it arrived in 253),
so the tests check our rules with this: every line is a list of
``KEY[{attr}] OP "value"`` pairs, each key used with an operator udev accepts
for it, values quoted, GOTO targets defined, MODE octal, substitutions known,
and every rule assigns something (a match-only rule does nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MATCH_OPS = {"==", "!="}
ASSIGN_OPS = {"=", "+=", "-=", ":="}

# key -> (takes {attr}, may match, may assign)
KEYS: dict[str, tuple[bool, bool, bool]] = {
    "ACTION": (False, True, False),
    "DEVPATH": (False, True, False),
    "KERNEL": (False, True, False),
    "KERNELS": (False, True, False),
    "SUBSYSTEM": (False, True, False),
    "SUBSYSTEMS": (False, True, False),
    "DRIVER": (False, True, False),
    "DRIVERS": (False, True, False),
    "ATTRS": (True, True, False),
    "TAGS": (False, True, False),
    "CONST": (True, True, False),
    "TEST": (True, True, False),
    "PROGRAM": (False, True, False),
    "RESULT": (False, True, False),
    "NAME": (False, True, True),
    "SYMLINK": (False, True, True),
    "ATTR": (True, True, True),
    "SYSCTL": (True, True, True),
    "ENV": (True, True, True),
    "TAG": (False, True, True),
    "OWNER": (False, False, True),
    "GROUP": (False, False, True),
    "MODE": (False, False, True),
    "SECLABEL": (True, False, True),
    "RUN": (True, False, True),
    "LABEL": (False, False, True),
    "GOTO": (False, False, True),
    "IMPORT": (True, False, True),
    "OPTIONS": (False, False, True),
}
# Keys whose "=" is not an assignment to the device (they never count as the rule's action).
_CONTROL = {"LABEL", "GOTO"}

_ACTIONS = {"add", "remove", "change", "move", "bind", "unbind", "online", "offline"}
_PAIR = re.compile(r'\s*([A-Z]+)(\{([^}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_SUBST = re.compile(r"\$(\w+)(\{[^}]*\})?|%(.)(\{[^}]*\})?")
_DOLLAR = {"devpath", "kernel", "number", "driver", "attr", "sysfs", "env", "major", "minor",
           "result", "parent", "name", "links", "root", "sys", "devnode", "id", "$"}
_PERCENT = {"p", "k", "n", "b", "s", "E", "M", "m", "c", "P", "N", "D", "r", "S", "%", "d"}


@dataclass(frozen=True)
class Problem:
    line: int
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.text}"


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        out.append((start, pending + raw))
        pending = ""
    if pending:
        out.append((start, pending))
    return out


def check_rules(text: str) -> list[Problem]:
    problems: list[Problem] = []
    labels: set[str] = set()
    gotos: list[tuple[int, str]] = []
    for number, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pos, assigns = 0, 0
        while pos < len(line):
            match = _PAIR.match(line, pos)
            if match is None:
                problems.append(Problem(number, f"cannot parse from {line[pos:pos + 40]!r}"))
                break
            key, _, attr, op, value, _ = match.groups()
            pos = match.end()
            spec = KEYS.get(key)
            if spec is None:
                problems.append(Problem(number, f"unknown key {key}"))
                continue
            takes_attr, may_match, may_assign = spec
            if takes_attr and attr is None and key not in ("IMPORT", "RUN", "TEST"):
                problems.append(Problem(number, f"{key} needs {{attribute}}"))
            if not takes_attr and attr is not None:
                problems.append(Problem(number, f"{key} takes no {{attribute}}"))
            if op in MATCH_OPS and not may_match:
                problems.append(Problem(number, f"{key} cannot be matched ({op})"))
            if key == "PROGRAM" and op in ("=", ":="):
                op = "=="  # udev reads PROGRAM= as a match (with a warning)
            if op in ASSIGN_OPS and not may_assign:
                problems.append(Problem(number, f"{key} cannot be assigned ({op})"))
            if op in ASSIGN_OPS and key not in _CONTROL:
                assigns += 1
            if key == "MODE" and not re.fullmatch(r"0?[0-7]{3,4}", value):
                problems.append(Problem(number, f"MODE {value!r} is not octal"))
            if key == "LABEL":
                labels.add(value)
                assigns += 1
            if key == "GOTO":
                gotos.append((number, value))
                assigns += 1
            if key == "ACTION" and not set(value.split("|")) <= _ACTIONS:
                problems.append(Problem(number, f"unknown ACTION {value!r}"))
            for sub in _SUBST.finditer(value):
                name = sub.group(1) or sub.group(3)
                if sub.group(1) is not None and name not in _DOLLAR:
                    problems.append(Problem(number, f"unknown substitution ${name}"))
                if sub.group(3) is not None and name not in _PERCENT:
                    problems.append(Problem(number, f"unknown substitution %{name}"))
        if assigns == 0:
            problems.append(Problem(number, "rule only matches and assigns nothing"))
    for number, target in gotos:
        if target not in labels:
            problems.append(Problem(number, f"GOTO {target!r} has no LABEL"))
    return problems
