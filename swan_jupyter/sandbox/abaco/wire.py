"""Wire conventions of the Abaco emulator: flavors, envelopes, errors, ids, time display and field case.

Everything here follows Abaco's server: every JSON answer is the envelope of its ``ok`` and ``error`` helpers,
``{"message", "result", "status", "version"}`` (TACC/abaco actors/request_utils.py; v3's, from
tapipy-tapisservice tapisservice/tapisflask/utils.py, adds ``"metadata": {}``), made by Flask's ``jsonify``, so
served with the content type ``application/json`` exactly (no charset: tapipy only parses that exact value,
tapipy/tapis.py, Operation.__call__); every success is HTTP 200; errors carry Abaco's own messages and
statuses (mostly 400). Ids, display times and field case are those of TACC/abaco actors/models.py.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from hashids import Hashids
from starlette.responses import Response

HASHID_SALT = "eJa5wZlEX4eWU"
_HASHIDS = Hashids(salt=HASHID_SALT)

JSON_TYPE = "application/json"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Tapis-Token, X-Requested-With",
}
METHOD_NOT_ALLOWED = (
    "Invalid request: the API endpoint does not exist or the provided HTTP method is not allowed."
)


class AbacoError(Exception):
    """An error answered with Abaco's envelope; ``status`` defaults to 400 like Abaco's own error classes."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Flavor:
    """One public face of the emulator: where it is mounted, its field case and its links.

    ``v2`` (``/actors/v2``, camel), ``v3`` (``/v3/actors``, snake) and ``internal`` (``/actors``, the case set
    by configuration; Abaco's own test suites and agavepy's JWT mode use it). Links of ``internal`` point to the
    v2 public paths, as Abaco's v2 code builds them.
    """

    name: str
    camel: bool
    version: str

    @property
    def v3(self) -> bool:
        return self.name == "v3"

    def actors_url(self, base: str) -> str:
        """The public base of the actors API for ``_links``."""
        return f"{base}/v3/actors" if self.v3 else f"{base}/actors/v2"

    def profile_url(self, base: str, user: str) -> str:
        """The owner link of a record."""
        return f"{base}/v3/oauth2/profiles/{user}" if self.v3 else f"{base}/profiles/v2/{user}"

    def key(self, snake: str) -> str:
        """A field name in this flavor's case."""
        return under_to_camel(snake) if self.camel else snake


V2 = Flavor("v2", camel=True, version=":dev")
V3 = Flavor("v3", camel=False, version="dev")


def internal_flavor(camel: bool) -> Flavor:
    """The flavor of the internal ``/actors`` prefix (case by configuration)."""
    return Flavor("internal", camel=camel, version=":dev")


# -- ids -----------------------------------------------------------------------------------------------------

def new_hashid() -> str:
    """A new Abaco id: ``Hashids(salt).encode(uuid1().int >> 64)`` (about 13 alphanumerics)."""
    return str(_HASHIDS.encode(uuid.uuid1().int >> 64))


@functools.lru_cache(maxsize=4096)  # every request naming an actor asks; decoding costs about 0.1 ms
def is_hashid(identifier: str) -> bool:
    """Whether ``identifier`` decodes with Abaco's salt (then it is an actor id, otherwise an alias)."""
    try:
        return bool(_HASHIDS.decode(identifier))
    except Exception:  # hashids raises on characters outside its alphabet
        return False


# -- times ---------------------------------------------------------------------------------------------------

def to_datetime(ts: float | None) -> datetime | None:
    """A stored unix time as a naive UTC datetime truncated to milliseconds (what Mongo keeps)."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.replace(tzinfo=None, microsecond=dt.microsecond - dt.microsecond % 1000)


def display_time(ts: float | None) -> str:
    """Abaco's ``display_time``: ``isoformat().replace("000", "Z")``, quirks included; ``None`` -> ``"None"``."""
    dt = to_datetime(ts)
    if dt is None:
        return "None"
    return dt.isoformat().replace("000", "Z")


def display_time_or_null(ts: float | None) -> str | None:
    """Like :func:`display_time` but keeps a missing time as ``null`` (execution start/finish times)."""
    return None if ts is None else display_time(ts)


def rfc1123(ts: float | None) -> str | None:
    """The executions-summary form of a time (Flask's serialisation of a raw datetime)."""
    if ts is None:
        return None
    return format_datetime(datetime.fromtimestamp(int(ts), UTC), usegmt=True)


# -- case ----------------------------------------------------------------------------------------------------

_UNDER = re.compile(r"_([a-z0-9])")


def under_to_camel(name: str) -> str:
    """``default_environment`` -> ``defaultEnvironment``; names starting with ``_`` (``_links``) are kept."""
    if name.startswith("_"):
        return name
    return _UNDER.sub(lambda m: m.group(1).upper(), name)


def camel_to_under(name: str) -> str:
    """``maxUses`` -> ``max_uses`` (search keys and request fields of camel servers)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def cased(record: dict[str, Any], flavor: Flavor) -> dict[str, Any]:
    """A model record in the flavor's case: camel converts top-level keys and drops ``None`` values."""
    if not flavor.camel:
        return record
    return {under_to_camel(k): v for k, v in record.items() if v is not None}


def plain_cased(record: dict[str, Any], flavor: Flavor) -> dict[str, Any]:
    """Camel conversion of a non-model dict (summary items, message answers): ``None`` values are kept."""
    if not flavor.camel:
        return record
    return {under_to_camel(k): v for k, v in record.items()}


# -- responses -----------------------------------------------------------------------------------------------

class Encoded(str):
    """A value already encoded as JSON (with :func:`encode`): a search page of records encoded once each is
    joined as it is instead of being encoded again (see :func:`ok`)."""


def encode(value: Any) -> str:
    """``value`` as JSON text, exactly as it appears inside every answer of the emulator."""
    return json.dumps(value, separators=(", ", ": "), default=str)


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response with the exact content type ``application/json`` and CORS headers."""
    return _response(encode(body).encode(), status)


def _response(data: bytes, status: int) -> Response:
    return Response(data, status_code=status, media_type=None, headers={"Content-Type": JSON_TYPE, **CORS_HEADERS})


_PAGE = "\x00swan-jupyter-search-page\x00"  # never in a message or metadata: they are the emulator's own text


def envelope(flavor: Flavor, result: Any, message: str, status: str = "success") -> dict[str, Any]:
    """The Abaco envelope for ``result``."""
    body: dict[str, Any] = {"message": message, "result": result, "status": status, "version": flavor.version}
    if flavor.v3:
        body["metadata"] = {}
    return body


def ok(flavor: Flavor, result: Any, message: str) -> Response:
    """A 200 success envelope. A search result whose page holds :class:`Encoded` records is answered with those
    texts joined in place: the same bytes as encoding the decoded records."""
    page = result.get("search") if isinstance(result, dict) else None
    if not isinstance(page, list) or not any(isinstance(item, Encoded) for item in page):
        return json_response(envelope(flavor, result, message))
    items = ", ".join(item if isinstance(item, Encoded) else encode(item) for item in page)
    text = encode(envelope(flavor, {**result, "search": _PAGE}, message))
    return _response(text.replace(encode(_PAGE), f"[{items}]", 1).encode(), 200)


def error_response(flavor: Flavor, message: str, status: int = 400) -> Response:
    """An error envelope (``result: null``)."""
    return json_response(envelope(flavor, None, message, "error"), status)


def raw_response(data: bytes, media_type: str) -> Response:
    """A non-envelope answer (execution results, synchronous executions)."""
    return Response(data, status_code=200, headers={"Content-Type": media_type, **CORS_HEADERS})
