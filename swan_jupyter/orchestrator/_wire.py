"""Reading the Orchestrator's answers strictly: every field the client relies on is checked for its type.

A server (or something pretending to be one: a captive portal, a proxy's error page) can answer anything. The
readers here turn a wrong shape into a :class:`~swan_jupyter.errors.ProtocolError` that names the endpoint and
the field, instead of an ``AttributeError`` deep inside the client, and they never default a money field:
a missing or unparsable price is an error, never 0.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ProtocolError, ValidationError


def _what(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, bytes) or type(value).__name__ == "RawReply":
        content_type = getattr(value, "content_type", "") or "not JSON"
        return f"a non-JSON body ({content_type})"
    return f"{type(value).__name__} {value!r}"


def fail(endpoint: str, field: str, expected: str, got: Any) -> ProtocolError:
    """The error for ``field`` of ``endpoint``'s answer not being ``expected``."""
    return ProtocolError(f"The Orchestrator's {endpoint} answered {_what(got)} for {field}, not {expected}.",
                         path=endpoint)


def obj(value: Any, endpoint: str, field: str = "data") -> dict[str, Any]:
    """``value`` as an object (a JSON dict)."""
    if not isinstance(value, dict):
        raise fail(endpoint, field, "an object", value)
    return value


def optional_obj(value: Any, endpoint: str, field: str = "data") -> dict[str, Any]:
    """``value`` as an object; ``None`` reads as an empty one."""
    return {} if value is None else obj(value, endpoint, field)


def items(value: Any, endpoint: str, field: str) -> list[dict[str, Any]]:
    """``value`` as a list of objects; ``None`` reads as an empty list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(endpoint, field, "a list", value)
    return [obj(v, endpoint, f"{field}[{i}]") for i, v in enumerate(value)]


def text(data: dict[str, Any], key: str, endpoint: str, *, where: str = "") -> str:
    """A non-empty string field."""
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise fail(endpoint, where + key, "a non-empty string", value)
    return value


def integer(data: dict[str, Any], key: str, endpoint: str, *, where: str = "") -> int:
    """An integer field (an int, or a string of decimal digits)."""
    value = data.get(key)
    if isinstance(value, bool):
        raise fail(endpoint, where + key, "an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise fail(endpoint, where + key, "an integer", value)


def price(data: dict[str, Any], key: str, endpoint: str, *, where: str = "") -> Decimal:
    """A non-negative, finite decimal price (SWAN). Missing or unparsable is an error, never 0."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise fail(endpoint, where + key, "a decimal price", value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise fail(endpoint, where + key, "a decimal price", value) from None
    if not amount.is_finite() or amount < 0:
        raise fail(endpoint, where + key, "a non-negative price", value)
    return amount


def check_uuid(task_uuid: str) -> None:
    if not isinstance(task_uuid, str) or not task_uuid.strip() or "/" in task_uuid or len(task_uuid) > 100:
        raise ValidationError(f"{task_uuid!r} is not a task uuid.", hint="Task uuids look like 'be49dc4b-...'.")
