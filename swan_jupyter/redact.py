"""Keeping secrets out of text: masked values, a registry of live secrets, and a logging filter.

Every secret the package handles (API keys, Orchestrator login tokens, Abaco tokens, nonce ids, private keys,
keystore passwords) is wrapped in a :class:`Secret` as soon as it enters (a file, the environment, a prompt,
an argument or a server's answer). ``repr``/``str`` of a Secret is ``'*****'``, and its value is registered
with :func:`register`. :func:`redact` then masks registered values, and only those, in any text: log lines,
exception messages, rendered tracebacks and reprs all go through it.

Redaction works by value, never by shape: a transaction hash, a wallet address or a task id is shown in full
even though it looks like a key or a token, so that it can be copied into the next call.

Short secrets: every non-blank value is registered, whatever its length. A value of :data:`SHORT_SECRET_LENGTH`
(6) characters or more is masked wherever it appears. A shorter one (a 4-character nonce id, a short password) is
masked only where it stands as a whole token: not preceded or followed by a letter or a digit, so ``q7zv`` is
masked in ``Bearer q7zv`` and ``?x-nonce=q7zv&`` but ``id`` would not garble ``valid``. A credential (what
:func:`credential` takes: API keys, tokens, nonce ids) of fewer than :data:`MIN_CREDENTIAL_LENGTH` (4)
characters is refused: no real one is that short, and masking it would hide every standalone ``a`` or ``id``.

:func:`credential` is the entry point for anything sent as a credential: it strips surrounding whitespace (a
file read or a copy-paste leaves a newline) and refuses control characters inside the value.
:func:`scrub_exception` masks registered values inside any exception (its ``args``, text attributes, notes and
chained causes) before it escapes to the user.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import unicodedata
from typing import Any

from .errors import ConfigurationError, use_masking

MASK = "*****"

#: Secrets at least this long are masked wherever they appear; shorter ones only as whole tokens (see above).
SHORT_SECRET_LENGTH = 6
#: A credential shorter than this is refused by :func:`credential`.
MIN_CREDENTIAL_LENGTH = 4

_lock = threading.Lock()
_known: set[str] = set()
_short: set[str] = set()
_short_pattern: re.Pattern[str] | None = None  # rebuilt on the next redact() after a short secret is registered
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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
    """Remember ``value`` as a secret so :func:`redact` masks it.

    Every non-blank value is registered. One shorter than :data:`SHORT_SECRET_LENGTH` characters is masked only
    as a whole token (not inside a longer run of letters and digits); see the module docstring.
    """
    global _short_pattern
    if not value or not value.strip():
        return
    with _lock:
        if len(value) >= SHORT_SECRET_LENGTH:
            _known.add(value)
        elif value not in _short:
            _short.add(value)
            _short_pattern = None


def register_hex(value: str) -> None:
    """Register a hex secret (a private key) in every spelling: with and without ``0x``, lower and upper case."""
    bare = value[2:] if value[:2] in ("0x", "0X") else value
    for spelling in {bare, bare.lower(), bare.upper()}:
        register(spelling)
        register("0x" + spelling)
        register("0X" + spelling)


def is_registered(value: str) -> bool:
    """True when ``value`` is a registered secret."""
    with _lock:
        return value in _known or value in _short


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``*****`` (nothing is masked by its shape)."""
    if not text:
        return text
    with _lock:
        known = sorted(_known, key=len, reverse=True)
        short = _short_tokens()
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return short.sub(MASK, text) if short is not None else text


def _short_tokens() -> re.Pattern[str] | None:
    """The pattern of the short secrets as whole tokens (called with the lock held)."""
    global _short_pattern
    if _short and _short_pattern is None:
        alternatives = "|".join(re.escape(v) for v in sorted(_short, key=len, reverse=True))
        _short_pattern = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")
    return _short_pattern if _short else None


def redact_data(value: Any, _depth: int = 0) -> Any:
    """``value`` with registered secrets masked in every string inside it: a decoded JSON body (dict keys and
    values, lists), tuples, bytes. Other objects are returned as they are."""
    if _depth > 50:  # a deeper structure is not a server's answer worth keeping: cut it
        return "..."
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes | bytearray):
        return redact_bytes(bytes(value))
    if isinstance(value, dict):
        return {redact_data(k, _depth + 1): redact_data(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(redact_data(v, _depth + 1) for v in value)
    if isinstance(value, list):
        return [redact_data(v, _depth + 1) for v in value]
    return value


def redact_bytes(data: bytes) -> bytes:
    """:func:`redact` for bytes: registered values, encoded as UTF-8, are replaced by ``*****``.

    Bytes that are not UTF-8 pass through unchanged (``surrogateescape`` round trip).
    """
    if not data:
        return data
    return redact(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


def redact_rendered(text: str) -> str:
    """:func:`redact` for terminal output: also finds a secret that colour codes split into pieces.

    A line whose secret only shows once its ANSI colour codes are removed is returned without colours.
    """
    masked = redact(text)
    if "\x1b" not in masked:
        return masked
    plain = _ANSI.sub("", masked)
    clean = redact(plain)
    return clean if clean != plain else masked


_EXC_TEXT_ATTRIBUTES = ("strerror", "filename", "filename2", "msg", "reason", "object", "text", "doc")


def _quietly_set(obj: object, name: str, value: Any) -> None:
    with contextlib.suppress(Exception):  # a read-only attribute of some exception type: leave it
        setattr(obj, name, value)


def scrub_exception(exc: BaseException) -> BaseException:
    """Mask registered secrets inside ``exc`` in place and return it (also its chained causes and contexts).

    Covers ``args`` (what ``str``/``repr`` show for most exceptions), the text attributes of ``OSError``,
    ``UnicodeError`` and ``SyntaxError``, string attributes in ``__dict__``, ``__notes__`` and the members
    of exception groups. The type and the traceback are kept, so an unexpected error stays recognisable.
    """
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _quietly_set(current, "args", tuple(redact_data(a) for a in current.args))
        for name in _EXC_TEXT_ATTRIBUTES:
            value = getattr(current, name, None)
            if isinstance(value, str | bytes):
                _quietly_set(current, name, redact_data(value))
        for name, value in list(getattr(current, "__dict__", {}).items()):
            if isinstance(value, str | bytes | tuple | list | dict):
                _quietly_set(current, name, redact_data(value))
        for follow in (current.__cause__, current.__context__, *getattr(current, "exceptions", ())):
            if isinstance(follow, BaseException):
                stack.append(follow)
    return exc


def credential(value: str | Secret, what: str = "the credential") -> Secret:
    """``value`` as a :class:`Secret` ready to be sent: surrounding whitespace removed, control characters refused.

    A token or key read from a file or pasted usually ends with a newline; that is stripped. A control
    character inside the value (a newline, NUL, escape, DEL, ...) cannot be part of a real credential and would
    corrupt the HTTP header it goes into: it raises :class:`~swan_jupyter.errors.ConfigurationError`, which
    names ``what`` and the character's position but never shows the value. A value of fewer than
    :data:`MIN_CREDENTIAL_LENGTH` characters is refused the same way (and not registered).
    """
    raw = value.reveal() if isinstance(value, Secret) else str(value)
    stripped = raw.strip()
    if len(stripped) >= MIN_CREDENTIAL_LENGTH:
        register(raw)
    elif stripped:  # refused, and not registered: masking "x" as a token would hide every standalone "x"
        raise ConfigurationError(
            f"{what[:1].upper()}{what[1:]} is too short ({len(stripped)} character{'s' if len(stripped) > 1 else ''}; "
            f"at least {MIN_CREDENTIAL_LENGTH}); it is not used.",
            hint="Copy the whole credential: a real key, token or nonce id is much longer.")
    for position, char in enumerate(stripped, start=1):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise ConfigurationError(
                f"{what[:1].upper()}{what[1:]} contains a control character ({name}, U+{ord(char):04X}) "
                f"at position {position} of {len(stripped)}; it is not used.",
                hint="Copy the credential again without line breaks or other invisible characters "
                     "(a text editor or `cat -A FILE` shows them).",
            )
    return value if isinstance(value, Secret) and stripped == raw else Secret(stripped)


def mask(value: str | Secret | None, *, keep: int = 0) -> str:
    """Render a secret for display: ``*****`` (optionally keeping the last ``keep`` characters)."""
    if value is None:
        return "(not set)"
    raw = value.reveal() if isinstance(value, Secret) else str(value)
    if not raw:
        return "(empty)"
    if keep and len(raw) > keep * 2:  # the kept tail is always less than half of the value
        return MASK + raw[-keep:]
    return MASK


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in every record: message, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error path
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1])
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_factory_lock = threading.Lock()
_factory_prefixes: set[str] = set()


def install_log_redaction(logger_name: str = "swan_jupyter") -> None:
    """Mask registered secrets in every record of ``logger_name`` and its children (idempotent).

    A filter on a logger only sees records made on that very logger, not those of its children
    (``swan_jupyter.transport``, ...), so the masking is done when a record is created: the log record
    factory is wrapped once (keeping any factory installed before) and applies :class:`RedactingFilter` to
    the records of the package's loggers only. The filter is also attached to the logger itself.
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    with _factory_lock:
        first = not _factory_prefixes
        _factory_prefixes.add(logger_name)
        if not first:
            return
        previous = logging.getLogRecordFactory()
        scrubber = RedactingFilter()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            name = record.name
            if any(name == p or name.startswith(p + ".") for p in _factory_prefixes):
                scrubber.filter(record)
            return record

        logging.setLogRecordFactory(factory)


install_log_redaction()  # every module that handles a secret imports this one: its logs are masked from then on


use_masking(redact, redact_data)  # every error of the package masks registered secrets from now on
