"""Keeping secrets out of text: masked values, a registry of live secrets, and a logging filter.

Every secret the package handles (API keys, Abaco tokens, ``x-nonce`` values, private keys) is wrapped in a
:class:`Secret` whose ``repr``/``str`` is ``'*****'`` and whose value is registered with :func:`register`.
:func:`redact` then scrubs registered values (and anything shaped like a bearer token, a JWT, a nonce query
parameter or a raw private key) from any text: log lines, exception messages and reprs all go through it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "*****"

_lock = threading.Lock()
_known: set[str] = set()

# Shapes that are secret whatever their value: bearer headers, JWTs, x-nonce query values, 32-byte hex keys.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(x-tapis-token['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(x-nonce=)[^&\s'\"]+"),
    re.compile(r"(?i)(api_key=)[^&\s'\"]+"),
    re.compile(r"()\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    re.compile(r"()(?<![0-9a-fA-Fx])0x[0-9a-fA-F]{64}(?![0-9a-fA-F])"),
)


class Secret:
    """A string that never shows itself: ``repr`` and ``str`` are masked.

    Use :meth:`reveal` at the single place the raw value is needed (an HTTP header, a signature).

    >>> s = Secret("hunter2")
    >>> s, str(s), s.reveal()
    (Secret('*****'), '*****', 'hunter2')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = str(value)
        register(self._value)

    def reveal(self) -> str:
        """Return the raw value. Never log or display it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:  # pickling would leak the value into files: refuse
        raise TypeError("Secret values cannot be pickled")


def register(value: str | None) -> None:
    """Remember ``value`` as a secret so :func:`redact` masks it wherever it appears."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and secret-shaped token replaced by ``*****``."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def mask(value: str | Secret | None, *, keep: int = 0) -> str:
    """Render a secret for display: ``*****`` (optionally keeping the last ``keep`` characters)."""
    if value is None:
        return "(not set)"
    raw = value.reveal() if isinstance(value, Secret) else str(value)
    if not raw:
        return "(empty)"
    if keep and len(raw) > keep * 4:
        return MASK + raw[-keep:]
    return MASK


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error path
            return True
        record.msg = redact(message)
        record.args = None
        return True


def install_log_redaction(logger_name: str = "swan_jupyter") -> None:
    """Attach :class:`RedactingFilter` to the package logger once (idempotent)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
