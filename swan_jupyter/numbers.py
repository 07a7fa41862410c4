"""The one bounded reader of numbers: every number that enters from a server, a magic, a setting or the Python API.

Python's own readers accept far more than a number written by a person or a JSON encoder: ``int("²")`` and
``int("٣")`` are digits to :meth:`str.isdigit`, ``int("1_000")`` and ``Decimal`` of full-width digits parse, and
``Decimal("1e10000000")`` is finite, so whatever multiplies it by ``10**18`` builds a 33-million-bit integer
(about a minute, and more memory with every digit of the exponent). A 5000-digit string makes ``int()`` raise
Python's own "Exceeds the limit (4300 digits)". The readers here accept only:

* an optional single sign (``-`` only where negative numbers are allowed), then ASCII digits ``0-9`` — for
  decimals with at most one ``.`` and an optional exponent ``e``/``E`` followed by an optional sign and digits;
* ASCII spaces, tabs and line ends around the number (a file read leaves a newline); nothing else: no
  underscores, no inner or unicode whitespace, no unicode or full-width digits, no ``--5``/``+-5``, no
  ``inf``/``nan``;
* at most :data:`MAX_DIGITS` digits (an integer below ``2**256``, which the payment contract's ``uint256`` can
  hold, has at most 78), at most :data:`MAX_TEXT` characters, and for decimals an exponent within
  ±:data:`MAX_EXPONENT`.

They check the text before converting it, so they answer in microseconds whatever the input, and they raise the
project's own error, :class:`NumberError` (a :class:`~swan_jupyter.errors.ValidationError`), whose message names
the field and says what is wrong. Callers that read a server's answer turn it into a
:class:`~swan_jupyter.errors.ProtocolError` (``_wire``); settings turn it into a ``ConfigurationError``.

This module lives at the package top, not in ``orchestrator/amounts``: the settings, the Abaco client, the magics
and the sandbox's emulators read numbers too. Money rules (integer wei, the ``uint256`` ceiling) stay in
:mod:`swan_jupyter.orchestrator.amounts`, which reads its decimals here.
"""

from __future__ import annotations

import math
import operator
import re
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError

#: The largest integer any reader accepts unless told otherwise: what a Solidity ``uint256`` holds.
UINT256_MAX = 2**256 - 1
#: The largest amount of SWAN whose wei (18 decimals) fit a ``uint256``: a price, a cap, a payment.
MAX_SWAN = Decimal(UINT256_MAX).scaleb(-18, Context(prec=100))
#: At most this many digits (integer part and fraction together, not counting the exponent's).
MAX_DIGITS = 80
#: At most this many characters of text, surrounding spaces excluded.
MAX_TEXT = 100
#: A decimal's exponent (``Decimal.as_tuple().exponent``) must lie within ±MAX_EXPONENT.
MAX_EXPONENT = 100

#: The most workers, or requests in flight, any call or magic may ask for.
MAX_WORKERS = 1_000

_SPACE = " \t\r\n"
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_HINT_INT = "Write a whole number in ASCII digits, such as 3600."
_HINT_DECIMAL = 'Write a decimal number in ASCII digits, such as "0.48" or "12".'


class NumberError(ValidationError):
    """``field`` got a value that is not an acceptable number; ``problem`` says why (without the field's name)."""

    def __init__(self, field: str, value: Any, problem: str, hint: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field} {shown(value)} {problem}.", hint=hint)


def shown(value: Any) -> str:
    """``value`` for an error message, cut short: a hostile value may be megabytes long."""
    if isinstance(value, str | bytes):
        text = repr(value[:40])
        return text if len(value) <= 40 else f"{text[:-1]}...{text[-1]} ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"(an integer of {value.bit_length()} bits)"
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return shown(str(value)) if isinstance(exponent, int) and abs(exponent) < 1000 else repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: str, field: str, pattern: re.Pattern[str], hint: str) -> str:
    text = value.strip(_SPACE)
    if len(text) > MAX_TEXT:
        raise NumberError(field, value, f"is {len(text)} characters long; a number here has at most {MAX_TEXT}", hint)
    if not pattern.fullmatch(text):
        raise NumberError(field, value, "is not a number written in ASCII digits", hint)
    digits = sum(c.isdigit() for c in text.split("e")[0].split("E")[0])
    if digits > MAX_DIGITS:
        raise NumberError(field, value, f"has {digits} digits; at most {MAX_DIGITS} are accepted", hint)
    return text


def _bounded(number: Any, field: str, value: Any, minimum: Any, maximum: Any, hint: str) -> None:
    if minimum is not None and number < minimum:
        if minimum == 0:
            raise NumberError(field, value, "must not be negative", hint)
        raise NumberError(field, value, f"is below the minimum of {minimum}", hint)
    if maximum is not None and number > maximum:
        limit = "2**256 - 1 (a uint256)" if maximum == UINT256_MAX else str(maximum)
        raise NumberError(field, value, f"is above the maximum of {limit}", hint)


def parse_int(value: Any, field: str, *, minimum: int | None = 0, maximum: int | None = UINT256_MAX) -> int:
    """``value`` (an int, or a string of ASCII digits with an optional sign) as an int in ``[minimum, maximum]``.

    Refuses booleans, floats, decimals and anything else with :class:`NumberError` naming ``field``. Integer-like
    objects (numpy integers) are accepted through ``__index__``.

    >>> parse_int(" 3600\\n", "duration")
    3600
    """
    if isinstance(value, bool | float | Decimal):
        raise NumberError(field, value, f"is a {type(value).__name__}, not a whole number", _HINT_INT)
    if isinstance(value, str):
        number = int(_text(value, field, _INTEGER, _HINT_INT))
    else:
        try:
            number = operator.index(value)
        except TypeError:
            raise NumberError(field, value, "is not a whole number", _HINT_INT) from None
    _bounded(number, field, value, minimum, maximum, _HINT_INT)
    return number


def parse_decimal(value: Any, field: str, *, minimum: Decimal | int | None = 0,
                  maximum: Decimal | int | None = None, allow_float: bool = False) -> Decimal:
    """``value`` (a decimal string, an int or a Decimal) as a finite Decimal in ``[minimum, maximum]``.

    Floats are refused (they are not exact) unless ``allow_float`` (a server's JSON number), in which case their
    shortest ``repr`` is read. Every value, a Decimal included, is bounded: at most :data:`MAX_DIGITS` digits and
    an exponent within ±:data:`MAX_EXPONENT`.

    >>> parse_decimal("0.48", "price")
    Decimal('0.48')
    """
    if isinstance(value, bool):
        raise NumberError(field, value, "is a bool, not a number", _HINT_DECIMAL)
    if isinstance(value, float):
        if not allow_float:
            raise NumberError(field, value, "is a float; floats are not exact", f'Pass it as a string, e.g. "{value}".')
        if not math.isfinite(value):
            raise NumberError(field, value, "is not a finite number", _HINT_DECIMAL)
        value = repr(value)
    if isinstance(value, str):
        try:
            amount = Decimal(_text(value, field, _DECIMAL, _HINT_DECIMAL))
        except InvalidOperation:  # pragma: no cover - the pattern only lets through what Decimal reads
            raise NumberError(field, value, "is not a number", _HINT_DECIMAL) from None
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        if value.bit_length() > 266:  # more than MAX_DIGITS digits: refused before str() or Decimal() sees it
            raise NumberError(field, value, f"has more than {MAX_DIGITS} digits", _HINT_DECIMAL)
        amount = Decimal(value)
    else:
        raise NumberError(field, value, "is not a number", _HINT_DECIMAL)
    if not amount.is_finite():
        raise NumberError(field, value, "is not a finite number", _HINT_DECIMAL)
    _sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) > MAX_DIGITS:
        raise NumberError(field, value, f"has {len(digits)} digits; at most {MAX_DIGITS} are accepted", _HINT_DECIMAL)
    if abs(exponent) > MAX_EXPONENT:
        raise NumberError(field, value, f"is out of range (exponent {exponent}; at most ±{MAX_EXPONENT})",
                          _HINT_DECIMAL)
    _bounded(amount, field, value, minimum, maximum, _HINT_DECIMAL)
    return amount


def parse_float(value: Any, field: str, *, maximum: float, minimum: float = 0.0) -> float:
    """``value`` (a number or a decimal string) as a finite float in ``(minimum, maximum]``: a timeout, a scale.

    Read through :func:`parse_decimal`, so the text rules are the same; floats are accepted as they are.
    """
    if isinstance(value, float) and math.isfinite(value):
        number = value
    else:
        number = float(parse_decimal(value, field, minimum=None, allow_float=True))
    if not number > minimum:
        raise NumberError(field, value, f"must be above {minimum:g}", f"Give {field} a positive number.")
    if number > maximum:
        raise NumberError(field, value, f"is above the maximum of {maximum:g}", f"Give {field} at most {maximum:g}.")
    return number


_N = r"([0-9]+(?:\.[0-9]+)?)"
_SPAN = re.compile(rf"(?:{_N}\s*d)?\s*(?:{_N}\s*h)?\s*(?:{_N}\s*m(?:in)?)?\s*(?:{_N}\s*s(?:ec)?)?",
                   re.IGNORECASE | re.ASCII)
_SPAN_UNITS = (86400, 3600, 60, 1)
SPAN_HINT = 'Write a span with units: "2h", "90m", "1h30m", "1d", "45s" (d, h, m or min, s or sec).'


def parse_span(value: str, field: str, hint: str = SPAN_HINT) -> Decimal:
    """The exact seconds of a span written with units, ``"1h30m"`` -> ``Decimal(5400)``: the one grammar of
    ``--duration`` and ``--since``. Days, hours, minutes (``m``/``min``) and seconds (``s``/``sec``) in that
    order, each at most once, each a decimal in ASCII digits; at most :data:`MAX_TEXT` characters and
    :data:`MAX_DIGITS` digits, so it is read in microseconds whatever it says. Bare numbers are refused (the
    caller decides what a unitless number means); anything else is a :class:`NumberError` naming ``field``.

    >>> parse_span("1h30m", "duration")
    Decimal('5400')
    """
    text = value.strip(_SPACE) if isinstance(value, str) else ""
    if len(text) > MAX_TEXT:
        raise NumberError(field, value, f"is {len(text)} characters long; a span has at most {MAX_TEXT}", hint)
    match = _SPAN.fullmatch(text)
    if not text or match is None or not any(match.groups()):
        raise NumberError(field, value, "is not understood", hint)
    digits = sum(c.isdigit() for c in text)
    if digits > MAX_DIGITS:
        raise NumberError(field, value, f"has {digits} digits; at most {MAX_DIGITS} are accepted", hint)
    exact = Context(prec=2 * MAX_DIGITS)
    total = Decimal(0)
    for number, unit in zip(match.groups(), _SPAN_UNITS, strict=True):
        if number:
            total = exact.add(total, exact.multiply(Decimal(number), unit))
    return total


__all__ = ["MAX_DIGITS", "MAX_EXPONENT", "MAX_SWAN", "MAX_TEXT", "MAX_WORKERS", "SPAN_HINT", "UINT256_MAX",
           "NumberError", "parse_decimal", "parse_float", "parse_int", "parse_span", "shown"]
