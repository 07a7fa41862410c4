"""Checks and encodings for messages sent to actors: environment names, binary size, bodies (how Abaco reads
them: TACC/abaco actors/controllers.py, MessagesResource.validate_post and MessagesResource.post)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError

#: Largest binary message the client sends (Abaco's server limit is larger; this guards notebooks).
MAX_BINARY_BYTES = 10 * 1024 * 1024

#: Names Abaco reads itself (``message``, ``x-nonce``) or overwrites (``MSG``, ``_actor_configs``).
_RESERVED_EXACT = frozenset({"message", "x-nonce", "msg", "_actor_configs"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_environment(environment: Mapping[str, Any] | None) -> dict[str, str]:
    """Validate the per-message environment and return it as query parameters (all values as text).

    Abaco passes every query parameter to the actor as an environment variable. ``message`` would replace the
    message, ``x-nonce`` is a credential, and ``MSG``, ``_actor_configs`` and ``_abaco_*`` are set by Abaco
    itself (``_abaco_synchronous`` switches to a synchronous run): those names, and names that are not valid
    variable names, are refused with :class:`ValidationError` before anything is sent. Values that are not
    strings are sent as JSON text.
    """
    if not environment:
        return {}
    out: dict[str, str] = {}
    for key, value in environment.items():
        name = str(key)
        if name.lower() in _RESERVED_EXACT or name.lower().startswith("_abaco_"):
            raise ValidationError(
                f"Environment variable name {name!r} is reserved by Abaco and cannot be sent with a message.",
                hint="Rename it; message, MSG, x-nonce, _actor_configs and names starting with _abaco_ are reserved.",
            )
        if not _ENV_NAME.fullmatch(name):
            raise ValidationError(
                f"Environment variable name {name!r} is not valid.",
                hint="Use letters, digits and underscores, not starting with a digit (e.g. MODE, run_id).",
            )
        if isinstance(value, str):
            out[name] = value
            continue
        try:
            out[name] = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"Environment variable {name!r} has a value that cannot be sent: {exc}.",
                hint="Pass text, or a number, bool, list or dict (sent as JSON text); decode bytes first.",
            ) from None
    return out


def check_binary(data: bytes | bytearray | memoryview, limit: int = MAX_BINARY_BYTES) -> bytes:
    """Return ``data`` as bytes, refusing more than ``limit`` bytes (default :data:`MAX_BINARY_BYTES`)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError(
            f"A binary message must be bytes, bytearray or memoryview, not {type(data).__name__}.",
            hint="Encode text first (text.encode()), or send it with send_message().",
        )
    raw = bytes(data)
    if len(raw) > limit:
        raise ValidationError(
            f"Binary message of {len(raw)} bytes exceeds the limit of {limit} bytes.",
            hint="Store large data elsewhere (object storage) and send its location in the message, "
            "or raise Actors(max_binary_bytes=...) up to the server's own limit.",
        )
    if not raw:
        raise ValidationError("A binary message cannot be empty.", hint="Send at least one byte.")
    return raw


def message_body(message: Any) -> Any:
    """The JSON body for a message: a dict/list is sent as a JSON message, anything else as ``{"message": str}``."""
    if isinstance(message, bytes | bytearray | memoryview):
        raise ValidationError("Bytes must be sent with send_binary().", hint="Use client.send_binary(actor, data).")
    if isinstance(message, Mapping | list):
        if not message:
            raise ValidationError(
                "An empty JSON message cannot be sent (Abaco refuses falsy JSON bodies).",
                hint="Send a non-empty object, or a string.",
            )
        return dict(message) if isinstance(message, Mapping) else message
    return {"message": str(message)}


__all__ = ["MAX_BINARY_BYTES", "check_binary", "check_environment", "message_body"]
