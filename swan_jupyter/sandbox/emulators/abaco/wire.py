"""Wire helpers for the Abaco emulator: ids, times, case conversion, envelopes and errors (spec §3-§6)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from hashids import Hashids
from starlette.responses import Response

HASHIDS = Hashids(salt="eJa5wZlEX4eWU")
TENANT = "SANDBOX"
NOT_ALLOWED = "Invalid request: the API endpoint does not exist or the provided HTTP method is not allowed."
NOT_AUTHORIZED = "Not authorized -- you do not have access to this actor."
LEVELS = {"NONE": 0, "READ": 1, "EXECUTE": 2, "UPDATE": 3}
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Tapis-Token, X-Nonce",
}


class AbacoError(Exception):
    """An error answered as an Abaco error envelope with ``status`` (default 400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def new_id() -> str:
    """Return a new Abaco hashid (same scheme and salt as Abaco)."""
    return str(HASHIDS.encode(uuid.uuid1().int >> 64))


def is_hashid(value: str) -> bool:
    """True when ``value`` decodes as an Abaco hashid (otherwise it is an alias)."""
    try:
        return bool(HASHIDS.decode(value))
    except Exception:
        return False


def now() -> dt.datetime:
    """Current UTC time truncated to milliseconds, like Mongo stores it."""
    t = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return t.replace(microsecond=(t.microsecond // 1000) * 1000)


def display_time(value: str | None) -> str:
    """Abaco's display form: ``isoformat().replace('000', 'Z')``; ``None`` becomes ``"None"``."""
    if value is None:
        return "None"
    return dt.datetime.fromisoformat(value).isoformat().replace("000", "Z")


def rfc1123(value: str | None) -> str | None:
    """Flask's serialisation of raw datetimes (executions summary items)."""
    if value is None:
        return None
    return dt.datetime.fromisoformat(value).strftime("%a, %d %b %Y %H:%M:%S GMT")


def to_camel(key: str) -> str:
    """``default_environment`` -> ``defaultEnvironment``; ``_links`` is kept."""
    if key.startswith("_"):
        return key
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def to_snake(key: str) -> str:
    """``maxUses`` -> ``max_uses`` (request bodies on camel prefixes)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def shape(obj: dict[str, Any], camel: bool) -> dict[str, Any]:
    """Model output: camel drops ``None`` fields and converts keys; snake keeps everything."""
    if not camel:
        return obj
    return {to_camel(k): v for k, v in obj.items() if v is not None}


def envelope(result: Any, message: str, v3: bool, status: int = 200, ok: bool = True) -> Response:
    """The JSON envelope with ``Content-Type: application/json`` exactly (no charset)."""
    body: dict[str, Any] = {"message": message, "result": result, "status": "success" if ok else "error",
                            "version": "dev" if v3 else ":dev"}
    if v3:
        body["metadata"] = {}
    raw = json.dumps(body).encode()
    resp = Response(raw, status_code=status, headers=CORS)
    resp.headers["content-type"] = "application/json"
    return resp


def error(exc: AbacoError, v3: bool) -> Response:
    """Error envelope for ``exc``."""
    return envelope(None, exc.message, v3, status=exc.status, ok=False)
