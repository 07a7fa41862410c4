"""The message of a ``%%actor_send`` cell body, and a synchronous answer as a person reads it."""

from __future__ import annotations

import json
from typing import Any

from IPython.core.error import UsageError

__all__ = ["decoded", "looks_like_json", "message_from_body"]


def looks_like_json(text: str) -> bool:
    """True for text meant as a JSON object or array: it starts with ``{``, or is wrapped in ``[...]``."""
    text = text.strip()
    return text.startswith("{") or (text.startswith("[") and text.endswith("]"))


def message_from_body(body: str, kind: str | None) -> Any:
    """The message of a ``%%actor_send`` body: JSON object/array (auto-detected, or forced by ``--json``) or text.

    A body that looks like JSON (:func:`looks_like_json`) but does not parse is refused with the parse error
    (``--text`` sends it as text), rather than sent as text without a word."""
    text = body.strip()
    if not text:
        raise UsageError("The cell body is empty: write the message in the cell.")
    if kind == "text":
        return text
    try:
        value = json.loads(text)
    except ValueError as exc:
        if kind == "json" or looks_like_json(text):
            raise UsageError(f"The cell body is not valid JSON: {exc}. Fix it, or send it as text with --text."
                             ) from None
        return text
    if isinstance(value, dict | list) and value:
        return value
    if kind == "json":
        raise UsageError("Abaco JSON messages must be a non-empty object or array (use --text for scalars).")
    return text


def decoded(answer: Any) -> Any:
    """A synchronous answer as a person reads it: JSON bytes as the object, UTF-8 bytes as text; other bytes
    stay bytes."""
    if not isinstance(answer, bytes):
        return answer
    try:
        text = answer.decode("utf-8")
    except UnicodeDecodeError:
        return answer
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text
