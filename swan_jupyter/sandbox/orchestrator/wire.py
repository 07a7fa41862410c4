"""Wire conventions of the Orchestrator API as swan-sdk 0.1.4 uses them (swan/api_client.py posts url-encoded
forms; swan/api/orchestrator.py reads ``data`` and ``status``): the envelope and form parsing.

Every answer is JSON ``{"data": ..., "message": ..., "status": "success" | "failed"}`` with HTTP 200;
application errors are ``status: "failed"`` with a message naming the problem. Request bodies are url-encoded
forms; JSON objects are accepted too. Malformed input raises :class:`BadRequest`, which the routes turn into a
``failed`` envelope.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from web3 import Web3

from ...numbers import parse_int


class BadRequest(Exception):
    """The request is malformed or not acceptable; the message is shown to the client as is."""


def ok(data: Any, message: str = "success") -> JSONResponse:
    """A ``success`` envelope."""
    return JSONResponse({"data": data, "message": message, "status": "success"})


def failed(message: str, data: Any = None, status_code: int = 200) -> JSONResponse:
    """A ``failed`` envelope."""
    return JSONResponse({"data": data, "message": message, "status": "failed"}, status_code=status_code)


class Form:
    """The fields of a request (form, JSON object or query string) with typed, validating accessors."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields

    @classmethod
    async def of(cls, request: Request) -> Form:
        """Parse the body of ``request`` (url-encoded, multipart or JSON); an empty body gives no fields.

        The sandbox host's listener bounds the body (1,000,000 bytes, 413 past it: see
        :mod:`swan_jupyter.sandbox.limits`) before and while it is read."""
        body = await request.body()
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json" or (not kind and body.strip().startswith(b"{")):
            try:
                value = json.loads(body or b"{}")
            except (ValueError, UnicodeDecodeError):
                raise BadRequest("the JSON body could not be parsed") from None
            if not isinstance(value, dict):
                raise BadRequest("the JSON body must be an object")
            return cls({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()
                        if v is not None})
        try:
            form = await request.form()
        except Exception:
            raise BadRequest("the form body could not be parsed (expected application/x-www-form-urlencoded)") \
                from None
        return cls({k: v for k, v in form.items() if isinstance(v, str)})

    @classmethod
    def query(cls, request: Request) -> Form:
        """The query string parameters of ``request``."""
        return cls(dict(request.query_params))

    def text(self, name: str, *, required: bool = True, default: str | None = None) -> str | None:
        """A stripped string field; missing or empty gives ``default`` or a :class:`BadRequest`."""
        value = self.fields.get(name)
        if value is None or not value.strip():
            if required:
                raise BadRequest(f"{name} is required")
            return default
        return value.strip()

    def required(self, name: str) -> str:
        """A required, non-empty string field."""
        value = self.text(name)
        assert value is not None
        return value

    def integer(self, name: str, *, default: int | None = None, minimum: int | None = None,
                maximum: int | None = None) -> int:
        """An integer field (ASCII decimal digits, at most 80 of them, as Go's strconv reads); bounds give clear
        messages."""
        raw = self.text(name, required=default is None)
        if raw is None:
            assert default is not None
            return default
        try:
            value = parse_int(raw, name, minimum=None, maximum=None)
        except ValueError:  # NumberError is one
            raise BadRequest(f"{name} must be an integer, got {raw[:40]!r}") from None
        if minimum is not None and value < minimum:
            raise BadRequest(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise BadRequest(f"{name} must be at most {maximum}, got {value}")
        return value

    def wallet(self, name: str) -> str:
        """An Ethereum address (EIP-55 checksum enforced when mixed case), returned as given."""
        return check_address(self.required(name), name)

    def json_object(self, name: str) -> dict[str, Any] | None:
        """A field holding a JSON object as a string (swan-sdk's ``custom_instance``), or None when absent."""
        raw = self.text(name, required=False)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise BadRequest(f"{name} must be a JSON object, got {raw[:60]!r}") from None
        if not isinstance(value, dict):
            raise BadRequest(f"{name} must be a JSON object")
        return value


def check_address(value: str, name: str) -> str:
    """``value`` if it is an Ethereum address, else :class:`BadRequest` naming ``name``."""
    digits = value[2:]
    well_formed = value.startswith("0x") and len(digits) == 40 and all(c in "0123456789abcdefABCDEF" for c in digits)
    mixed = digits != digits.lower() and digits != digits.upper()
    if not well_formed or (mixed and value != Web3.to_checksum_address(value)):
        raise BadRequest(f"{name} {value[:60]!r} is not an Ethereum address (0x + 40 hex digits, EIP-55 checksum "
                         "when mixed case)")
    return value


def address_list(raw: str | None, name: str) -> list[str] | None:
    """A comma-joined list of addresses (``preferred_cp``), validated; None when absent."""
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    return [check_address(item, name) for item in items] or None


def ip_list(raw: str | None, name: str) -> list[str] | None:
    """A comma-joined IPv4/IPv6/CIDR list (``ip_whitelist``), validated; None when absent."""
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise BadRequest(f"{name} entry {item[:60]!r} is not an IP address or CIDR block") from None
    return items or None
