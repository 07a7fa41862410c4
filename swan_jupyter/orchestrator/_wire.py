"""Reading the Orchestrator's answers strictly: every field the client relies on is checked for its type.

A server (or something pretending to be one: a captive portal, a proxy's error page) can answer anything. The
readers here turn a wrong shape into a :class:`~swan_jupyter.errors.ProtocolError` that names the endpoint and
the field, instead of an ``AttributeError`` deep inside the client, and they never default a money field:
a missing or unparsable price is an error, never 0. Numbers are read by :mod:`swan_jupyter.numbers` (ASCII
digits only, bounded digits and exponent), so a hostile number is refused at once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import ProtocolError, ValidationError
from ..numbers import NumberError, parse_decimal, parse_int
from .amounts import MAX_SWAN


def _what(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value[:40]!r}" + (f" ({len(value)} characters)" if len(value) > 40 else "")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, bytes) or type(value).__name__ == "RawReply":
        content_type = getattr(value, "content_type", "") or "not JSON"
        return f"a non-JSON body ({content_type})"
    return f"{type(value).__name__} {value!r}"


def fail(endpoint: str, field: str, expected: str, got: Any, why: str = "") -> ProtocolError:
    """The error for ``field`` of ``endpoint``'s answer not being ``expected`` (``why``: what is wrong with it)."""
    because = f" (it {why})" if why else ""
    return ProtocolError(f"The Orchestrator's {endpoint} answered {_what(got)} for {field}, not {expected}{because}.",
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
    """An integer field (an int, or a string of ASCII decimal digits), at most a ``uint256``."""
    value = data.get(key)
    try:
        return parse_int(value, where + key, minimum=None)
    except NumberError as exc:
        raise fail(endpoint, where + key, "an integer", value, exc.problem) from None


def price(data: dict[str, Any], key: str, endpoint: str, *, where: str = "") -> Decimal:
    """A non-negative, finite decimal price (SWAN), bounded. Missing or unparsable is an error, never 0."""
    value = data.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise fail(endpoint, where + key, "a decimal price", value)
    try:
        return parse_decimal(value, where + key, minimum=0, maximum=MAX_SWAN, allow_float=True)
    except NumberError as exc:
        raise fail(endpoint, where + key, "a non-negative decimal price", value, exc.problem) from None


def check_uuid(task_uuid: str) -> None:
    if not isinstance(task_uuid, str) or not task_uuid.strip() or "/" in task_uuid or len(task_uuid) > 100:
        raise ValidationError(f"{task_uuid!r} is not a task uuid.", hint="Task uuids look like 'be49dc4b-...'.")
