"""Load one TOML file into a pydantic model, or stop with a message a person can act on.

Every process (agent, bridge) has one TOML file. A wrong key, a missing value or
a bad type ends in ``ConfigError`` naming the file and the dotted key, with a
"did you mean" for typos, and never in a traceback.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ValidationError

from canopy.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use e.g. America/Los_Angeles)") from None
    return value


#: An IANA time zone name, checked when the config is read (business dates are its dates).
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


def read_text(path: Path, error: Callable[[str], Exception], *, missing: str, unreadable: str) -> str:
    """``path`` as UTF-8 text; a missing file raises ``error(missing)``, one that cannot
    be read (permissions, not UTF-8) ``error("{unreadable}: {cause}")``."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(missing) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{unreadable}: {exc}") from None


def load_config(model: type[M], path: Path | None) -> M:
    """Read ``path`` (or use the model's defaults when None) and validate it."""
    if path is None:
        return validate_config(model, {}, "built-in defaults")
    text = read_text(path, ConfigError, missing=f"{path}: config file not found",
                     unreadable=f"{path}: cannot read config file")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return validate_config(model, raw, str(path))


def validate_config(model: type[M], raw: dict[str, Any], source: str) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(model, err) for err in exc.errors()]
        listing = "\n  ".join(problems)
        raise ConfigError(f"{source}: {len(problems)} problem(s):\n  {listing}") from None


def _describe(model: type[BaseModel], err: Any) -> str:
    loc = tuple(str(p) for p in err["loc"])
    key = ".".join(loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        hint = _suggest(model, loc)
        return f"unknown key '{key}'" + (f" (did you mean '{hint}'?)" if hint else "")
    if kind == "missing":
        return f"missing value for '{key}'"
    got = err.get("input")
    shown = f" (got {got!r})" if not isinstance(got, dict | list) and got is not None else ""
    return f"'{key}': {err['msg']}{shown}"


def _suggest(model: type[BaseModel], loc: tuple[str, ...]) -> str | None:
    """Walk the model along ``loc`` and offer the closest real key for the last part."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None or part not in current.model_fields:
            return None
        annotation = current.model_fields[part].annotation
        current = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    if current is None:
        return None
    matches = difflib.get_close_matches(loc[-1], list(current.model_fields), n=1, cutoff=0.6)
    return ".".join((*loc[:-1], matches[0])) if matches else None
