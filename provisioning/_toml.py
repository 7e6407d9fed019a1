"""A small TOML writer for the config files provisioning generates.

Python reads TOML (``tomllib``) but does not write it. Our files hold strings,
numbers, booleans, lists of those and nested tables, which is all this covers;
every file written is read back with ``tomllib`` and validated by the caller.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    scalars = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars.items() if v is not None)
    _tables(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _tables(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    for key, value in data.items():
        if not isinstance(value, Mapping):
            continue
        here = (*path, key)
        lines.append("")
        lines.append(f"[{'.'.join(_key(p) for p in here)}]")
        lines.extend(
            f"{_key(k)} = {_value(v)}"
            for k, v in value.items()
            if not isinstance(v, Mapping) and v is not None
        )
        _tables(value, here, lines)


def _key(key: str) -> str:
    if key and all(c.isalnum() or c in "_-" for c in key) and key.isascii():
        return key
    return _string(key)


def _string(text: str) -> str:
    # JSON string escapes (\" \\ \n \t \uXXXX, never \/) are all valid TOML basic-string escapes.
    return json.dumps(text, ensure_ascii=True)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("TOML config values must be finite numbers")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
