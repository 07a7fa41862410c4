"""Exact money and durations: Decimal prices in, integer wei out, never a float.

The payment amount rule (the same in the ClientPayment contract)::

    price_per_hour_wei = int(Decimal(price) * 10**18)      # exact for any decimal string, truncated below 1 wei
    due_wei            = price_per_hour_wei * seconds // 3600
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation

from ..errors import ValidationError

WEI_PER_SWAN = 10**18
_EXACT = Context(prec=1000)  # enough digits for any amount of wei: scaling by 10**-18 never rounds
MIN_DURATION = 3600

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?"
                       r"\s*(?:(\d+)\s*s)?\s*$", re.IGNORECASE | re.ASCII)


def to_decimal(value: str | int | Decimal, what: str = "amount") -> Decimal:
    """A Decimal from a decimal string, int or Decimal; floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise ValidationError(f"{what} {value!r} is a float; floats are not exact.",
                              hint=f'Pass the {what} as a string, e.g. "{value}".')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(
            f"{what} {value!r} is not a number.", hint='Use a decimal string such as "0.48".'
        ) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"{what} {value!r} must be a non-negative finite number.")
    return amount


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


def format_swan(wei: int) -> str:
    """``1234500000000000000`` -> ``"1.2345 SWAN"`` (exact, trailing zeros trimmed)."""
    text = format(wei_to_swan(wei).normalize(_EXACT), "f")
    return f"{text} SWAN"


_DURATION_HINT = 'Write seconds (3600) or units: "2h", "90m", "1h30m", "1d".'


def parse_duration(value: str | int, *, minimum: int = MIN_DURATION) -> int:
    """Seconds from ``3600``, ``"2h"``, ``"90m"``, ``"1h30m"``, ``"1d"``; at least ``minimum`` seconds.

    A negative or zero duration ``must be positive`` (ValidationError); one below ``minimum`` says the minimum.

    >>> parse_duration("1h30m")
    5400
    """
    if isinstance(value, bool):
        raise ValidationError(f"duration {value!r} is not a duration.")
    if isinstance(value, int):
        seconds = value
        if seconds <= 0:
            raise ValidationError(f"duration {value!r} must be positive.", hint=_DURATION_HINT)
    else:
        text = str(value).strip()
        if text.startswith("-") or text in ("0", "+0") or (text.isascii() and text.isdigit() and int(text) == 0):
            raise ValidationError(f"duration {value!r} must be positive.", hint=_DURATION_HINT)
        if text.isascii() and text.isdigit():
            seconds = int(text)
        else:
            match = _DURATION.match(text)
            if not text or not match or not any(match.groups()):
                raise ValidationError(
                    f"duration {value!r} is not understood.",
                    hint=_DURATION_HINT,
                )
            d, h, m, s = (Decimal(g) if g else Decimal(0) for g in match.groups())
            total = d * 86400 + h * 3600 + m * 60 + s
            if total != total.to_integral_value():
                raise ValidationError(f"duration {value!r} is not a whole number of seconds.")
            seconds = int(total)
    if seconds < minimum:
        raise ValidationError(
            f"duration {seconds} s is below the minimum of {minimum} s.",
            hint=f"Ask for at least {minimum // 3600} h ({minimum} s).",
        )
    return seconds
