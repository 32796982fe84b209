"""One API call's arguments: the query string merged with the JSON body, read by type.

MLflow's clients send GET arguments in the query string (a repeated field as a repeated
parameter) and the others as a JSON object; either way a handler asks for ``args.text("name")``
and gets a 400 naming the field when it is missing or of the wrong type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelpack.server._errors import ApiError

__all__ = ["Args"]

_MISSING = object()


class Args:
    """The arguments of one call (see the module docstring)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __contains__(self, name: str) -> bool:
        return self._values.get(name) is not None

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> Any:
        value = self._values.get(name, _MISSING)
        if value is _MISSING or value is None or (required and value == ""):
            if required:
                raise ApiError(f"missing value for required parameter {name!r}")
            return default
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ApiError(f"parameter {name!r} must be a string, got {type(value).__name__}")
        return str(value)

    def first(self, *names: str, required: bool = False) -> Any:
        """The first of ``names`` given (MLflow accepts ``run_id`` or the older ``run_uuid``)."""
        for name in names:
            if name in self:
                return self.text(name)
        if required:
            raise ApiError(f"missing value for required parameter {names[0]!r}")
        return None

    def integer(self, name: str, *, default: int | None = None) -> Any:
        value = self.text(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError(f"parameter {name!r} must be an integer, got {value!r}") from None

    def number(self, name: str, *, required: bool = False) -> Any:
        value = self._values.get(name)
        if value is None:
            if required:
                raise ApiError(f"missing value for required parameter {name!r}")
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # MLflow writes NaN and infinities as strings
            try:
                return float(value)
            except ValueError:
                pass
        raise ApiError(f"parameter {name!r} must be a number, got {value!r}")

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value[0] if isinstance(value, list) and value else value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0", ""):
            return False
        raise ApiError(f"parameter {name!r} must be true or false, got {value!r}")

    def strings(self, name: str) -> list[str]:
        value = self._values.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
            raise ApiError(f"parameter {name!r} must be a list of strings")
        return [str(v) for v in items]

    def objects(self, name: str) -> list[dict[str, Any]]:
        value = self._values.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ApiError(f"parameter {name!r} must be a list of objects")
        return value

    def pairs(self, name: str) -> dict[str, str]:
        """``[{"key": k, "value": v}, ...]`` -> ``{k: v}`` (MLflow's tags and params)."""
        out: dict[str, str] = {}
        for item in self.objects(name):
            key, value = item.get("key"), item.get("value", "")
            if not isinstance(key, str) or not key:
                raise ApiError(f"every entry of {name!r} needs a non-empty string 'key'")
            out[key] = "" if value is None else str(value)
        return out
