"""The one HTTP transport of swan_jupyter, shared by the Orchestrator and Abaco clients.

A :class:`Transport` owns one ``requests.Session`` whose *sender* (:mod:`swan_jupyter.sending`: a requests
transport adapter) moves the bytes: by default keep-alive pools sized for concurrent fan-out with urllib3's
retries of idempotent requests (policy in :mod:`swan_jupyter.sending`). On top, and the same whatever sends,
the transport applies connect/read timeouts, decodes the service's envelope and maps failures onto
:mod:`swan_jupyter.errors`. When a POST was sent but its answer was lost,
:class:`~swan_jupyter.errors.UnknownOutcomeError` is raised: the caller decides how to check.

Envelopes:

* ``"swan"``: ``{"data", "message", "status"}``; ``status != "success"`` is an error even with HTTP 200.
* ``"abaco"``: ``{"message", "result", "status", "version"[, "metadata"]}``; HTTP >= 400 or
  ``status == "error"`` is an error. Abaco reports permission problems as HTTP 400 "Not authorized -- ...".
* Non-JSON successful answers (Abaco results, synchronous executions) are returned as :class:`RawReply`.

Secrets never leave through this module: auth objects mask themselves, the query string (which may hold an
``x-nonce``) is dropped from error text, and every message goes through :func:`swan_jupyter.redact.redact`.
"""

from __future__ import annotations

import json as jsonlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.auth import AuthBase

from ._version import __version__
from .auth import NonceAuth, TokenAuth
from .errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    RequestTimeoutError,
    TransportError,
    UnknownOutcomeError,
    ValidationError,
)
from .redact import install_log_redaction, redact, scrub_exception
from .sending import IDEMPOTENT_METHODS, RETRY_STATUSES, http_sender, make_retry

log = logging.getLogger("swan_jupyter.transport")
install_log_redaction()

EnvelopeKind = Literal["swan", "abaco", "none"]

USER_AGENT = f"swan-jupyter/{__version__} python-requests/{requests.__version__}"

# Abaco's authentication failures arrive as HTTP 400 with these messages: TACC/abaco actors/auth.py
# (check_nonce) and actors/models.py (Nonce.check_and_redeem_nonce), agaveflask's auth.py (check_jwt) for v2,
# tapipy-tapisservice's tapisservice/auth.py (validate_request_token, validate_token) for v3.
_ABACO_AUTH_MESSAGES = (
    "No JWT or nonce provided",
    "Invalid JWT",
    "No access token found",
    "Invalid Tapis token",
    "Nonce does not exist",
    "No remaining uses left for this nonce",
)


@dataclass(frozen=True)
class RawReply:
    """A successful answer that is not a JSON envelope (binary results, synchronous execution output)."""

    content: bytes
    content_type: str
    status: int
    headers: Mapping[str, str]

    @property
    def text(self) -> str:
        """The content decoded as UTF-8 (invalid bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"RawReply({len(self.content)} bytes, {self.content_type!r})"


class Transport:
    """One pooled HTTP session to one service.

    :param base_url: the service's root URL (``http://127.0.0.1:8000``, ``https://tacc.tapis.io/v3/actors``).
    :param envelope: ``"swan"``, ``"abaco"`` or ``"none"`` (plain JSON).
    :param auth: a :class:`TokenAuth`, :class:`NonceAuth` or None.
    :param connect_timeout: seconds to open a connection.
    :param read_timeout: seconds to wait for an answer.
    :param retries: retry budget for idempotent requests.
    :param backoff: base of the exponential backoff in seconds (jitter of the same size is added).
    :param pool_size: keep-alive connections kept per host (size it for your concurrent fan-out).
    :param service: the service's name in error messages.
    :param sender: what sends (a requests transport adapter, :mod:`swan_jupyter.sending`); default:
        :func:`~swan_jupyter.sending.http_sender` with ``retries``, ``backoff`` and ``pool_size``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        envelope: EnvelopeKind = "none",
        auth: AuthBase | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.25,
        pool_size: int = 32,
        service: str = "server",
        sender: BaseAdapter | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.envelope: EnvelopeKind = envelope
        self.timeout = (connect_timeout, read_timeout)
        self.service = service
        self.session = requests.Session()
        self.session.trust_env = not plain_loopback(self.base_url)
        self.session.auth = auth
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json, */*;q=0.5"
        self.sender = sender or http_sender(retries=retries, backoff=backoff, pool_size=pool_size)
        self.session.mount("http://", self.sender)
        self.session.mount("https://", self.sender)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every pooled connection."""
        self.session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r}, envelope={self.envelope!r}, auth={self.session.auth!r})"

    def set_auth(self, auth: AuthBase | None) -> None:
        """Use ``auth`` (e.g. :class:`TokenAuth`) for every later request of this transport."""
        self.session.auth = auth

    def with_auth(self, auth: AuthBase | None) -> Transport:
        """A transport to the same service sharing this one's connection pool but with other credentials."""
        clone = object.__new__(Transport)
        clone.__dict__.update(self.__dict__)
        clone.session = requests.Session()
        clone.session.trust_env = self.session.trust_env
        clone.session.headers.update(self.session.headers)
        clone.session.adapters = self.session.adapters  # share the pools
        clone.session.auth = auth
        return clone

    # -- requests --------------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        unwrap: bool = True,
        timeout: float | tuple[float, float] | None = None,
        outcome_check: str = "",
    ) -> Any:
        """Send one request and return the decoded answer.

        With ``unwrap`` (the default) the envelope's payload is returned (``data`` for Swan, ``result`` for
        Abaco); otherwise the whole decoded envelope. Non-JSON answers come back as :class:`RawReply`.
        ``outcome_check`` tells the user how to find out what happened if a POST's answer is lost.

        Every exception leaving this method, expected or not, has registered secrets masked in its text, its
        ``args`` and its chained causes (:func:`~swan_jupyter.redact.scrub_exception`).
        """
        try:
            return self._request(method, path, params=params, data=data, json=json, content=content,
                                 headers=headers, unwrap=unwrap, timeout=timeout, outcome_check=outcome_check)
        except BaseException as exc:
            scrub_exception(exc)
            raise

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        data: Any,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        unwrap: bool,
        timeout: float | tuple[float, float] | None,
        outcome_check: str,
    ) -> Any:
        method = method.upper()
        url = self.base_url + path if path.startswith("/") or not path else f"{self.base_url}/{path}"
        if json is not None and content is None:
            content = encode_json(json)
            headers = {"Content-Type": "application/json", **(headers or {})}
        started = time.perf_counter()
        failure: TransportError | None = None
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=content if content is not None else data,
                headers=headers,
                timeout=timeout or self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            failure = self._transport_error(method, path, exc, outcome_check)
        if failure is not None:  # raised here, not in the except: no __context__ keeping the request and its URL
            raise failure
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %s (%.1f ms)", method, _strip_query(path), response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        return self._decode(method, path, response, unwrap)

    def get(self, path: str, **kwargs: Any) -> Any:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        """``request("POST", path, ...)`` (never retried once sent)."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        """``request("PUT", path, ...)``."""
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """``request("DELETE", path, ...)``."""
        return self.request("DELETE", path, **kwargs)

    # -- decoding --------------------------------------------------------------------------------------------

    def _decode(self, method: str, path: str, response: requests.Response, unwrap: bool) -> Any:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        is_json, body = _json_body(response.content, content_type, self.envelope, status)
        if not is_json:
            if status < 300:
                return RawReply(response.content, content_type, status, response.headers)
            if status < 400:
                where = redact(response.headers.get("Location", "") or "elsewhere")
                raise RemoteError(
                    f"{self.service} redirected {method} {_strip_query(path)} to {where} (HTTP {status}).",
                    hint="Check the service URL in your profile (https vs http, a missing or extra path prefix); "
                         "an id with unusual characters can also land on another route.",
                    status=status, server_message="", method=method, path=_strip_query(path))
            snippet = redact(response.text[:300].strip())
            raise self._remote_error(method, path, status, snippet or response.reason or "", None)
        if self.envelope == "swan":
            if isinstance(body, dict) and "status" in body:
                if body.get("status") == "success" and status < 400:
                    return body.get("data") if unwrap else body
                raise self._remote_error(method, path, status, str(body.get("message") or ""), body)
            if status >= 400:
                raise self._remote_error(method, path, status, _fault_message(body), body)
            return body
        if self.envelope == "abaco":
            if isinstance(body, dict) and "status" in body and "result" in body:
                if status < 400 and body.get("status") != "error":
                    return body.get("result") if unwrap else body
                raise self._remote_error(method, path, status, str(body.get("message") or ""), body)
            if status >= 400:
                raise self._remote_error(method, path, status, _fault_message(body), body)
            return body
        if status >= 400:
            raise self._remote_error(method, path, status, _fault_message(body), body)
        return body

    def _remote_error(self, method: str, path: str, status: int, message: str, body: Any) -> RemoteError:
        clean_path = _strip_query(path)
        text = f"{self.service} refused {method} {clean_path} (HTTP {status}): {message or 'no message'}"
        kwargs: dict[str, Any] = {
            "status": status, "server_message": message, "method": method, "path": clean_path, "payload": body
        }
        if status in (401, 403) or (isinstance(body, dict) and "fault" in body):
            return AuthenticationError(text, **kwargs)
        if self.envelope == "abaco" and status == 400:
            if any(message.startswith(m) for m in _ABACO_AUTH_MESSAGES):
                return AuthenticationError(text, **kwargs)
            if message.startswith("Not authorized") or message.startswith("Nonce does not have sufficient"):
                return PermissionDeniedError(text, **kwargs)
            if (message.startswith("Actor ") and message.rstrip(".").endswith("does not exist")) or \
                    message.startswith("No executions found") or message.startswith("Nonce not found"):
                return NotFoundError(text, **kwargs)
        if status == 404:
            return NotFoundError(text, **kwargs)
        if status == 429:
            return RemoteError(text, hint="The server is rate limiting; wait a little and try again.", **kwargs)
        return RemoteError(text, **kwargs)

    def _transport_error(
        self, method: str, path: str, exc: requests.exceptions.RequestException, outcome_check: str
    ) -> TransportError:
        clean = _strip_query(path)
        where = f"{method} {self.base_url}{clean}"
        reason = redact(_root_reason(exc))
        not_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or _never_connected(exc)
        if not_sent:
            return TransportError(
                f"Could not connect to {self.service} for {where}: {reason}",
                method=method,
                url=self.base_url + clean,
            )
        if method not in IDEMPOTENT_METHODS:
            return UnknownOutcomeError(
                f"{where} was sent to {self.service} but its answer was lost ({reason}); "
                "it may or may not have taken effect, and it was not repeated.",
                method=method,
                url=self.base_url + clean,
                check=outcome_check,
            )
        if isinstance(exc, requests.exceptions.ReadTimeout | requests.exceptions.Timeout):
            return RequestTimeoutError(
                f"{self.service} did not answer {where} within {self.timeout[1]} s (after retries).",
                method=method,
                url=self.base_url + clean,
            )
        return TransportError(
            f"{where} failed after retries: {reason}", method=method, url=self.base_url + clean
        )


def plain_loopback(url: str) -> bool:
    """Whether ``url`` is plain HTTP to this machine (the sandbox). Its requests skip the environment's proxies,
    netrc and CA bundles (``trust_env``): none applies to http://127.0.0.1, a proxy variable must not divert
    that traffic, and reading them at each request (a netrc lookup, a proxy check, a stat of the CA bundle)
    was a third of the client's CPU under a functions map."""
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")


def encode_json(value: Any) -> bytes:
    """``value`` as a strict JSON request body; anything JSON cannot carry is a :class:`ValidationError`.

    Strict means no ``NaN``/``Infinity`` (servers reject them) and no silent ``str()`` of other types: a
    ``Decimal``, ``bytes``, a ``set`` or an object must be converted by the caller, who knows what it means.
    """
    try:
        return jsonlib.dumps(value, allow_nan=False, ensure_ascii=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        reason = str(exc) or type(exc).__name__
        raise ValidationError(
            f"The request body cannot be sent as JSON: {reason}.",
            hint="Use only str, int, float (finite), bool, None, list and dict values; convert Decimal to str, "
                 "bytes to text (or send them as a binary message) and sets to lists.",
        ) from None


def path_segment(value: Any, what: str = "id") -> str:
    """``value`` as one URL path segment (percent-encoded, ``/`` included), refusing what cannot name an object.

    Empty or blank values, ``.`` and ``..`` (which a URL library folds into the parent path) and control
    characters raise :class:`ValidationError` before anything is sent.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"The {what} must be text, not {type(value).__name__}.",
                              hint=f"Pass the {what} as a str.")
    text = str(value)
    if not text.strip() or text.strip() in (".", "..") or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValidationError(f"{text!r} is not a valid {what}.",
                              hint=f"Pass the {what} exactly as the server returned it (e.g. actor.id).")
    return quote(text, safe="")


def _json_body(content: bytes, content_type: str, envelope: EnvelopeKind, status: int) -> tuple[bool, Any]:
    """``(True, decoded)`` when the body is JSON to decode, else ``(False, None)``.

    The body decides, not the ``Content-Type`` label: real servers label JSON ``text/plain`` or ``text/html``,
    and swan-sdk, agavepy and tapipy (for errors) parse it anyway. A body labelled JSON is decoded whatever
    it holds. A body with another label is decoded only when it is a JSON object or array, and for a
    successful Abaco answer only when it is the Abaco envelope: execution results and synchronous outputs are
    arbitrary bytes (possibly JSON) and stay a :class:`RawReply`.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    labelled = media == "application/json" or media.endswith("+json")
    if not labelled and content.lstrip()[:1] not in (b"{", b"["):
        return False, None
    try:
        body = jsonlib.loads(content)
    except (ValueError, RecursionError):
        return False, None
    if labelled:
        return True, body
    if envelope == "abaco" and status < 300:
        looks_like_envelope = isinstance(body, dict) and {"status", "result", "message"} <= body.keys()
        return (True, body) if looks_like_envelope else (False, None)
    return True, body


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0]


def _fault_message(body: Any) -> str:
    if isinstance(body, dict):
        fault = body.get("fault")
        if isinstance(fault, dict):
            return str(fault.get("message") or fault.get("description") or "")
        for key in ("message", "detail", "error"):
            if body.get(key):
                return str(body[key])
    return ""


def _never_connected(exc: BaseException) -> bool:
    """True when the connection was never established (so nothing reached the server)."""
    import urllib3.exceptions as u3

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, u3.NewConnectionError | u3.ConnectTimeoutError | ConnectionRefusedError):
            return True
        if isinstance(current, u3.MaxRetryError) and current.reason is not None:
            current = current.reason
            continue
        nxt = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = nxt or current.__cause__ or current.__context__
    return False


def _root_reason(exc: BaseException) -> str:
    import urllib3.exceptions as u3

    current: BaseException = exc
    for _ in range(6):
        inner: BaseException | None = None
        if isinstance(current, u3.MaxRetryError) and current.reason is not None:
            inner = current.reason
        elif current.args and isinstance(current.args[0], BaseException):
            inner = current.args[0]
        if inner is None:
            break
        current = inner
    text = str(current) or type(current).__name__
    return text.split(": ", 1)[-1] if "object at 0x" in text else text


__all__ = ["IDEMPOTENT_METHODS", "RETRY_STATUSES", "USER_AGENT", "NonceAuth", "RawReply", "TokenAuth", "Transport",
           "encode_json", "make_retry", "path_segment"]
