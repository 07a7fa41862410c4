"""Payment amounts, exactly as the sandbox ClientPayment contract computes them.

Formula (all integers, wei of SWAN):

* ``price_per_hour_wei = int(Decimal(price_string) * 10**18)``: the server's decimal price string (SWAN per hour)
  scaled to wei; digits beyond 18 decimals are truncated toward zero (:func:`price_to_wei`);
* ``due = price_per_hour_wei * duration_seconds // 3600``: integer **floor** division, the same as the
  contract's ``Math.mulDiv(pricePerHour, duration, 3600)`` (which cannot overflow in the multiplication)
  (:func:`amount_due`, on chain ``computeAmount``);
* dust tolerance ``due // 10**12`` (:func:`dust_tolerance`): when the payer's allowance is below ``due`` by at
  most that much, the contract pulls the whole allowance instead of ``due`` (:func:`pulled_amount`). This absorbs
  the few wei that swan-sdk's floating-point approval can miss (swan-sdk 0.1.4 swan/contract/swan_contract.py,
  ``submit_payment``: ``to_wei(price_per_hour * duration / 3600)``); a client using these
  integer formulas always approves at least ``due`` and pays exactly ``due``.

Anything further short of ``due`` reverts with the token's ``ERC20InsufficientAllowance`` custom error. Never
go through ``float``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext

WEI_PER_SWAN = 10**18
SECONDS_PER_HOUR = 3600
DUST_DIVISOR = 10**12


def price_to_wei(price: str | int | Decimal) -> int:
    """Convert a price in SWAN (decimal string, int or Decimal; never float) to integer wei, truncating.

    Raises :class:`ValueError` for floats, negative, NaN or infinite values and unparsable strings.
    """
    if isinstance(price, (float, bool)):
        raise ValueError("prices must be given as str, int or Decimal, never float")
    try:
        value = Decimal(price.strip()) if isinstance(price, str) else Decimal(price)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal price: {price!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"price must be a finite non-negative number: {price!r}")
    with localcontext() as ctx:
        ctx.prec = 200
        return int(value * WEI_PER_SWAN)


def amount_due(price_per_hour_wei: int, duration_seconds: int) -> int:
    """``price_per_hour_wei * duration_seconds // 3600``: what ClientPayment charges (floor, in wei)."""
    if price_per_hour_wei < 0 or duration_seconds < 0:
        raise ValueError("price and duration must be non-negative")
    return price_per_hour_wei * duration_seconds // SECONDS_PER_HOUR


def dust_tolerance(due: int) -> int:
    """How many wei the allowance may fall short of ``due`` and still be accepted: ``due // 10**12``."""
    return due // DUST_DIVISOR


def pulled_amount(due: int, allowance: int) -> int | None:
    """What the contract pulls for ``due`` given the payer's ``allowance``; ``None`` if it reverts for allowance.

    ``due`` when the allowance covers it, the allowance when it is short by at most :func:`dust_tolerance`.
    (Balance is checked by the token afterwards: ``ERC20InsufficientBalance``.)
    """
    if allowance >= due:
        return due
    if due - allowance <= dust_tolerance(due):
        return allowance
    return None
