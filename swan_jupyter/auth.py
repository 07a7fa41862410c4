"""Credentials on requests: a token in a header, or an Abaco nonce in the query string.

Both are ``requests`` auth objects that keep the credential as a masked :class:`~swan_jupyter.redact.Secret`;
give one to a :class:`~swan_jupyter.transport.Transport` (``auth=`` or :meth:`~.Transport.set_auth`).
"""

from __future__ import annotations

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
