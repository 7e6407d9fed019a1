"""Reading one object of a write array the way Metrc's model binder would.

Every problem becomes a ``RowRejected`` with a message for that row; touching
another license's object raises ``NotYourLicense`` (the whole request gets 401).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class RowRejected(Exception):
    """This row breaks a rule; the message goes into the 400 body for the row."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotYourLicense(Exception):
    """The row names an object that belongs to another license: Metrc answers 401."""


class Row:
    """Typed access to one JSON object of the request array."""

    def __init__(self, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            raise RowRejected("The object is not a JSON object.")
        self._raw: Mapping[str, Any] = raw

    def present(self, key: str) -> bool:
        return self._raw.get(key) is not None

    def text(self, key: str) -> str:
        value = self.optional_text(key)
        if value is None:
            raise RowRejected(f"{key} is required.")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise RowRejected(f"{key} must be a string.")
        return value.strip() or None

    def integer(self, key: str, *, default: int | None = None, minimum: int | None = None) -> int:
        value = self._raw.get(key)
        if value is None:
            if default is None:
                raise RowRejected(f"{key} is required.")
            return default
        if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
            raise RowRejected(f"{key} must be a whole number.")
        if isinstance(value, Decimal | float) and value != int(value):
            raise RowRejected(f"{key} must be a whole number.")
        number = int(value)
        if minimum is not None and number < minimum:
            raise RowRejected(f"{key} must be at least {minimum}.")
        return number

    def optional_integer(self, key: str) -> int | None:
        return self.integer(key) if self.present(key) else None

    def decimal(self, key: str, *, positive: bool = False, allow_missing: bool = False) -> Decimal:
        value = self._raw.get(key)
        if value is None:
            if allow_missing:
                return Decimal(0)
            raise RowRejected(f"{key} is required.")
        if isinstance(value, bool):
            raise RowRejected(f"{key} must be a number.")
        try:
            number = Decimal(str(value)) if isinstance(value, int | float | str) else value
        except InvalidOperation:
            raise RowRejected(f"{key} must be a number.") from None
        if not isinstance(number, Decimal) or not number.is_finite():
            raise RowRejected(f"{key} must be a number.")
        if positive and number <= 0:
            raise RowRejected(f"{key} must be greater than zero.")
        return number

    def boolean(self, key: str) -> bool:
        value = self._raw.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise RowRejected(f"{key} must be true or false.")
        return value

    def day(self, key: str) -> date:
        value = self.optional_day(key)
        if value is None:
            raise RowRejected(f"{key} is required.")
        return value

    def optional_day(self, key: str) -> date | None:
        """``YYYY-MM-DD``; a full timestamp is accepted and its written date kept."""
        value = self._raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise RowRejected(f"{key} must be a date (YYYY-MM-DD).")
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            return datetime.fromisoformat(value).date()
        except ValueError:
            raise RowRejected(f"{key} must be a date (YYYY-MM-DD), not {value!r}.") from None

    def text_list(self, key: str) -> list[str]:
        value = self._raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RowRejected(f"{key} must be a list of strings.")
        return list(value)

    def rows(self, key: str) -> list[Row]:
        value = self._raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise RowRejected(f"{key} must be a list.")
        return [Row(entry) for entry in value]
