"""Exact money and durations: Decimal prices in, integer wei out, never a float.

The payment amount rule (the same in the ClientPayment contract)::

    price_per_hour_wei = int(Decimal(price) * 10**18)      # exact for any decimal string, truncated below 1 wei
    due_wei            = price_per_hour_wei * seconds // 3600

Every amount, price and duration is read by :mod:`swan_jupyter.numbers` (ASCII digits, bounded digits and
exponent) and must fit the contract's ``uint256``: at most :data:`MAX_SWAN` SWAN, at most ``2**256 - 1`` wei or
seconds. ``"1e10000000"`` is refused at once instead of building a 33-million-bit integer.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Context, Decimal

from ..errors import ValidationError
from ..numbers import MAX_SWAN, UINT256_MAX, NumberError, parse_decimal, parse_int, parse_span

WEI_PER_SWAN = 10**18
_EXACT = Context(prec=1000)  # enough digits for any amount of wei: scaling by 10**-18 never rounds
MIN_DURATION = 3600
#: A duration is written in at most this many characters ("1d2h30m", or seconds up to a uint256).
MAX_DURATION_TEXT = 100


def to_decimal(value: str | int | Decimal, what: str = "amount") -> Decimal:
    """A Decimal from a decimal string, int or Decimal, non-negative and at most :data:`MAX_SWAN`; floats are
    refused (they are not exact), and so is anything :func:`swan_jupyter.numbers.parse_decimal` refuses."""
    return parse_decimal(value, what, minimum=0, maximum=MAX_SWAN)


__all__ = ["MAX_DURATION_TEXT", "MAX_SWAN", "MIN_DURATION", "WEI_PER_SWAN", "amount_due", "format_duration",
           "format_swan", "parse_duration", "price_to_wei", "swan_to_wei", "to_decimal", "wei_to_swan"]


def _scaled(amount: Decimal) -> tuple[int, bool]:
    """``amount * 10**18`` as an integer (truncated toward zero) and whether it was exact.

    Done on the decimal digits with integer arithmetic: ``Decimal`` multiplication rounds to the context's 28
    significant digits, which is already 1 wei off for prices of 11 integer digits.
    """
    _sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)) or "0")
    shift = exponent + 18
    if shift >= 0:
        return coefficient * 10**shift, True
    whole, rest = divmod(coefficient, 10**-shift)
    return whole, rest == 0


def price_to_wei(price: str | int | Decimal) -> int:
    """SWAN per hour (decimal string) to wei per hour, exactly (truncated below 1 wei, as the contract does)."""
    return _scaled(to_decimal(price, "price"))[0]


def amount_due(price_per_hour_wei: int, seconds: int) -> int:
    """The amount the contract pulls for ``seconds`` at ``price_per_hour_wei`` (integer floor)."""
    return int(price_per_hour_wei) * int(seconds) // 3600


def swan_to_wei(amount: str | int | Decimal) -> int:
    """An amount of SWAN (decimal) to wei, exactly: more than 18 decimal places is refused, never rounded."""
    wei, exact = _scaled(to_decimal(amount, "amount"))
    if not exact:
        raise ValidationError(f"amount {amount!r} has more than 18 decimal places (finer than 1 wei).",
                              hint="Round it to at most 18 decimal places.")
    return wei


def wei_to_swan(wei: int) -> Decimal:
    """wei to an exact Decimal amount of SWAN (whatever the number of digits)."""
    return Decimal(int(wei)).scaleb(-18, _EXACT)


def format_swan(wei: int, unit: str = "SWAN", *, exact: bool = False) -> str:
    """The one way an amount is written: ``476266666666666666`` -> ``"0.4763 SWAN"``.

    Four decimals (four significant digits below 0.001 SWAN, so a fee never reads 0), half-even, trailing zeros
    trimmed; ``exact`` writes every digit (cap and balance messages, where the last wei matters). The exact
    value always stays in the data (``amount_wei``, ``fee_wei``, ``*_wei`` columns)."""
    amount = wei_to_swan(wei)
    if not exact and amount:
        decimals = max(4, 3 - amount.adjusted())
        amount = amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN, context=_EXACT)
    text = format(amount.normalize(_EXACT), "f")
    return f"{text} {unit}"


def decimal_to_wei(amount: Decimal) -> int:
    """A decimal amount of SWAN (as the Orchestrator writes prices and refunds) in wei, truncated below 1 wei."""
    return int(amount.scaleb(18, _EXACT))


_DURATION_HINT = 'Write seconds (3600) or units: "2h", "90m", "1h30m", "1d".'


def format_duration(seconds: object) -> str:
    """A duration in seconds as ``"5400 s (1.5 h)"`` (the hours exact); ``""`` for anything but a finite number.

    >>> format_duration(5400)
    '5400 s (1.5 h)'
    """
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not math.isfinite(seconds):
        return ""
    hours = Decimal(int(seconds)) / 3600
    return f"{int(seconds)} s ({format(hours.normalize(), 'f')} h)"


def parse_duration(value: str | int, *, minimum: int = MIN_DURATION) -> int:
    """Seconds from ``3600``, ``"2h"``, ``"90m"``, ``"1h30m"``, ``"1d"``; at least ``minimum`` seconds.

    A negative or zero duration ``must be positive`` (ValidationError); one below ``minimum`` says the minimum;
    one above ``2**256 - 1`` seconds (what the contract takes) or longer than :data:`MAX_DURATION_TEXT`
    characters is refused at once.

    >>> parse_duration("1h30m")
    5400
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"duration {value!r} is not a duration.", hint=_DURATION_HINT)
    seconds = parse_int(value, "duration", minimum=None) if isinstance(value, int) else _duration_text(value)
    if seconds <= 0:
        raise ValidationError(f"duration {value!r} must be positive.", hint=_DURATION_HINT)
    if seconds < minimum:
        raise ValidationError(
            f"duration {seconds} s is below the minimum of {minimum} s.",
            hint=f"Ask for at least {minimum // 3600} h ({minimum} s).",
        )
    return seconds


def _duration_text(value: str) -> int:
    """The seconds a duration's text says (may be zero or negative: the caller says "must be positive")."""
    text = value.strip()
    if len(text) > MAX_DURATION_TEXT:
        raise NumberError("duration", value, f"is {len(text)} characters long; a duration has at most "
                          f"{MAX_DURATION_TEXT}", _DURATION_HINT)
    if text.startswith("-"):
        return -1
    if text.isascii() and text.lstrip("+").isdigit():
        return parse_int(text, "duration", minimum=None)
    total = parse_span(text, "duration", _DURATION_HINT)
    if total != total.to_integral_value():
        raise ValidationError(f"duration {value!r} is not a whole number of seconds.")
    if total > UINT256_MAX:
        raise NumberError("duration", value, "is above the maximum of 2**256 - 1 seconds", _DURATION_HINT)
    return int(total)
