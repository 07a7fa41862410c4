"""Credentials on requests: a token in a header, or an Abaco nonce in the query string.

Both are ``requests`` auth objects that keep the credential as a masked :class:`~swan_jupyter.redact.Secret`;
give one to a :class:`~swan_jupyter.transport.Transport` (``auth=`` or :meth:`~.Transport.set_auth`).
"""

from __future__ import annotations

import base64
import json

import requests
from requests.auth import AuthBase

from .redact import Secret, credential


class TokenAuth(AuthBase):
    """Put a secret token in a header (``Authorization: Bearer ...`` or ``X-Tapis-Token: ...``).

    Surrounding whitespace (a trailing newline from a file) is stripped; a control character inside the token
    raises :class:`~swan_jupyter.errors.ConfigurationError` without showing the token.
    """

    def __init__(self, token: str | Secret, *, header: str = "Authorization", prefix: str = "Bearer ") -> None:
        self._token = credential(token, "the token")
        self._header = header
        self._prefix = prefix

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers[self._header] = self._prefix + self._token.reveal()
        return r

    def __repr__(self) -> str:
        return f"TokenAuth(header={self._header!r}, token=*****)"

    def claimed_username(self) -> str | None:
        """The username a JWT token claims (``tapis/username``, WSO2's ``enduser`` claim, or ``sub`` before
        ``@``), read without verifying the signature; None for an opaque token.

        For the client's own decisions about its own identity only (which actors it owns): the server, not
        this claim, decides what the token may do.
        """
        parts = self._token.reveal().split(".")
        if len(parts) != 3:
            return None
        try:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(padded))
        except (ValueError, TypeError):
            return None
        if not isinstance(claims, dict):
            return None
        for key, value in claims.items():
            if (key == "tapis/username" or key.endswith("/enduser")) and isinstance(value, str) and value:
                return value.split("@", 1)[0]
        sub = claims.get("sub")
        return sub.split("@", 1)[0] if isinstance(sub, str) and sub else None


class NonceAuth(AuthBase):
    """Abaco nonce authentication: adds ``x-nonce=<id>`` to the query string (and no token header).

    The nonce id is checked like a token (see :class:`TokenAuth`).
    """

    def __init__(self, nonce: str | Secret) -> None:
        self._nonce = credential(nonce, "the nonce id")

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.prepare_url(r.url, {"x-nonce": self._nonce.reveal()})
        return r

    def __repr__(self) -> str:
        return "NonceAuth(nonce=*****)"


__all__ = ["NonceAuth", "TokenAuth"]
