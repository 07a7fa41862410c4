"""The one exception tree of swan_jupyter.

Every error the package raises on purpose derives from :class:`SwanJupyterError`::

    SwanJupyterError
    ├── ConfigurationError          settings missing or inconsistent (profile, URL, key file, ...)
    ├── ValidationError             bad input, raised before any request is sent (also a ValueError)
    ├── TransportError              the network failed: connection refused, reset, DNS, TLS
    │   ├── RequestTimeoutError     no answer within the configured timeout
    │   └── UnknownOutcomeError     a non-idempotent request was sent but its answer was lost
    ├── RemoteError                 the server answered and said no (carries status, message, method, path)
    │   ├── AuthenticationError     credentials missing, wrong or expired
    │   ├── PermissionDeniedError   authenticated, but not allowed to do this
    │   ├── NotFoundError           the object does not exist (or is not visible to you)
    │   └── ProtocolError           the answer cannot be read (not JSON, a field missing or of the wrong type)
    ├── PaymentError                an on-chain payment did not complete (carries state and tx hashes)
    │   └── QuoteChangedError       the payment would differ from what was confirmed: nothing was signed
    ├── RemoteFunctionError         a Python function run on Abaco raised, or ended without a result
    └── SandboxError                the local sandbox could not start, stop or answer (also a RuntimeError)

    Interrupted (a KeyboardInterrupt)  Ctrl-C during a long operation; ``partial`` keeps what was done
    SwanDeprecationWarning (a DeprecationWarning)  a name of this package that goes in the next release

Each error has a ``message`` (what went wrong) and a ``hint`` (how to fix it). No attribute of any of them keeps a
registered secret: the message and the hint go through :func:`swan_jupyter.redact.redact`, and every other
attribute a subclass sets before calling ``SwanJupyterError.__init__`` (a server's words, its decoded body in
``RemoteError.payload``, a URL, an execution's log tail, ...) through :func:`swan_jupyter.redact.redact_data`.

With the extension loaded, IPython shows these errors as two short lines instead of a traceback (the cell still
fails, so nbclient/papermill stop); ``%config SwanMagics.short_errors = False`` shows full tracebacks. The IPython
layer owns that rendering (:mod:`swan_jupyter.magics._render`); this module knows nothing of IPython. Unexpected
internal errors are never wrapped and keep their traceback. With the extension loaded, every traceback the
shell renders (ours or not, verbose or not) has registered secrets masked (:func:`swan_jupyter.magics._render.install`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def _as_is(value: Any) -> Any:
    return value


#: How registered secrets are masked: installed by :mod:`swan_jupyter.redact` when it loads (:func:`use_masking`).
#: A secret can only be registered through that module, so before it loads there is nothing to mask. This module
#: is the bottom of the package: it imports none of it.
_masking: dict[str, Callable[[Any], Any]] = {"text": _as_is, "data": _as_is}


def use_masking(text: Callable[[str], str], data: Callable[[Any], Any]) -> None:
    """Mask every error's message and hint with ``text`` and its other attributes with ``data`` (called once by
    :mod:`swan_jupyter.redact`)."""
    _masking.update(text=text, data=data)


def redact(text: str) -> str:
    return str(_masking["text"](text))


def redact_data(value: Any) -> Any:
    return _masking["data"](value)


class SwanJupyterError(Exception):
    """Base class of every error swan_jupyter raises on purpose."""

    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        for name, value in list(vars(self).items()):  # what subclasses set first: server text, payloads, URLs
            setattr(self, name, redact_data(value))
        self.message = redact(str(message))
        self.hint = redact(hint if hint is not None else self.default_hint)
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message

    def summary_lines(self, color: bool = True) -> list[str]:
        """The error in two short lines (name and message, then the hint), as IPython shows it by default;
        the name in red unless ``color`` is false (a pipe, ``--colors=NoColor``)."""
        name = f"\x1b[0;31m{type(self).__name__}\x1b[0m" if color else type(self).__name__
        lines = [f"{name}: {redact(self.message)}"]
        if self.hint:
            lines.append(f"Hint: {redact(self.hint)}")
        return lines


class ConfigurationError(SwanJupyterError):
    """The settings are missing, malformed or inconsistent."""

    default_hint = "Run %swan_config to see the active settings, or check your config file and environment."


class ValidationError(SwanJupyterError, ValueError):
    """Bad input, detected before anything was sent."""


class TransportError(SwanJupyterError):
    """The request did not get an answer: connection refused, reset, DNS or TLS failure."""

    default_hint = "Check that the service URL is right and reachable (for the sandbox: swan-jupyter sandbox status)."

    def __init__(
        self, message: str, *, method: str = "", url: str = "", hint: str | None = None
    ) -> None:
        self.method = method
        self.url = url
        super().__init__(message, hint=hint)


class RequestTimeoutError(TransportError):
    """The server did not answer within the configured timeout."""

    default_hint = "The service is slow or down; raise the timeout (read_timeout in your profile) or retry later."


class UnknownOutcomeError(TransportError):
    """A non-idempotent request (a POST) was sent but its answer was lost: it may or may not have happened.

    The client never repeats such a request on its own. ``check`` says how to find out what happened.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        check: str = "",
        hint: str | None = None,
    ) -> None:
        self.check = check
        super().__init__(
            message,
            method=method,
            url=url,
            hint=hint or (check or "Check the server's state before repeating the request; it was not retried."),
        )


class RemoteError(SwanJupyterError):
    """The server answered with an error.

    Attributes: ``status`` (HTTP status code), ``server_message`` (the server's own words), ``method`` and
    ``path`` of the request, and ``payload`` (the decoded body, when there is one, registered secrets masked).
    """

    default_hint = "See the server's message above; fix the request and try again."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        server_message: str = "",
        method: str = "",
        path: str = "",
        payload: Any = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.server_message = server_message
        self.method = method
        self.path = path
        self.payload = payload
        super().__init__(message, hint=hint)


class AuthenticationError(RemoteError):
    """Credentials are missing, wrong or expired."""

    default_hint = (
        "Set the credential for this service (SWAN_API_KEY, ABACO_TOKEN, or the profile's config file) "
        "and try again; %swan_config shows what is configured."
    )


class PermissionDeniedError(RemoteError):
    """Authenticated, but not allowed to do this (Abaco answers these with HTTP 400)."""

    default_hint = "Ask the owner of the object for a permission or a nonce with a sufficient level."


class NotFoundError(RemoteError):
    """The object does not exist, or is not visible to these credentials."""

    default_hint = "Check the id (listings show the ids you can see)."


class PaymentError(SwanJupyterError):
    """An on-chain payment did not complete as expected.

    ``state`` is the payment's ledger state (``intent``, ``approving``, ``sent``, ``confirmed``,
    ``validated``, ``failed``, ...); ``tx_hashes`` every transaction hash involved; ``task_uuid`` the task.
    A payment whose transaction was sent is never sent again: resume it instead.
    """

    def __init__(
        self,
        message: str,
        *,
        state: str = "",
        tx_hashes: Sequence[str] = (),
        task_uuid: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.state = state
        self.tx_hashes = tuple(tx_hashes)
        self.task_uuid = task_uuid
        super().__init__(message, hint=hint)


class ProtocolError(RemoteError):
    """The server answered, but not in a shape this client can read: HTML instead of JSON, a list where an
    object belongs, a price that is not a number, a field missing. The message names the endpoint and field."""

    default_hint = ("Check the service URL in your profile (a proxy or a login page answers HTML); if it is right, "
                    "the server's API changed: report it with the endpoint named above.")


class QuoteChangedError(PaymentError):
    """What would be paid now differs from what was confirmed (amount, hardware, price, duration, contract or
    chain). Nothing was signed. ``quote`` is the new quote: confirm it to pay it."""

    def __init__(self, message: str, *, quote: Any, task_uuid: str | None = None, hint: str | None = None) -> None:
        self.quote = quote
        super().__init__(message, state="intent", task_uuid=task_uuid, hint=hint)


class RemoteFunctionError(SwanJupyterError):
    """A Python function run on an Abaco function actor raised an exception, or its execution ended without a
    result (it crashed, or its result could not be sent or read).

    Attributes: ``execution_id`` and ``actor_id`` of the execution; ``remote_type`` and ``remote_message``
    (the remote exception's class name and text, empty when there was no exception to report);
    ``remote_traceback`` (the remote traceback as text, sent back through the results queue); ``log_tail``
    (the last lines of the execution's logs, for an execution that ended without a result). IPython shows
    the remote traceback under the summary line.
    """

    default_hint = "The traceback above is the remote one; fix the function or its input and call it again."

    def __init__(
        self,
        message: str,
        *,
        execution_id: str | None = None,
        actor_id: str | None = None,
        remote_type: str = "",
        remote_message: str = "",
        remote_traceback: str = "",
        log_tail: str = "",
        hint: str | None = None,
    ) -> None:
        self.execution_id = execution_id
        self.actor_id = actor_id
        self.remote_type = remote_type
        self.remote_message = remote_message
        self.remote_traceback = remote_traceback
        self.log_tail = log_tail
        super().__init__(message, hint=hint)

    def __str__(self) -> str:
        detail = self.remote_traceback or self.log_tail
        text = super().__str__()
        return f"{text}\n{detail.rstrip()}" if detail else text

    def summary_lines(self, color: bool = True) -> list[str]:
        """The summary line, the remote traceback (or the log tail), then the hint."""
        lines = super().summary_lines(color)
        detail = (self.remote_traceback or self.log_tail).rstrip()
        if detail:
            lines[1:1] = detail.splitlines()
        return lines


class SwanDeprecationWarning(DeprecationWarning):
    """A name of swan_jupyter that still works and goes in the next release; the message says what to write
    instead. Every deprecation of the package uses this class, so it can be told apart from other libraries'
    (the test suite makes it an error: ``error::swan_jupyter.errors.SwanDeprecationWarning``)."""


class SandboxError(SwanJupyterError, RuntimeError):
    """The local sandbox could not be started, stopped or inspected; the message says why and what to do.

    Also a ``RuntimeError``, as it was before it joined this tree, so ``except RuntimeError`` still catches it.
    """


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or the kernel's interrupt) during a long operation, keeping what was done.

    A ``KeyboardInterrupt``, so code that stops on interrupts still stops. ``message`` says in one line what
    happened and how to follow it; ``partial`` holds what exists (a paid task, the rows fetched so far, the
    execution a message started), or None.
    """

    def __init__(self, message: str, partial: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.partial = partial


__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "Interrupted",
    "NotFoundError",
    "PaymentError",
    "PermissionDeniedError",
    "ProtocolError",
    "QuoteChangedError",
    "RemoteError",
    "RemoteFunctionError",
    "RequestTimeoutError",
    "SandboxError",
    "SwanDeprecationWarning",
    "SwanJupyterError",
    "TransportError",
    "UnknownOutcomeError",
    "ValidationError",
]
