"""Spending caps: the one rule for ``max_payment`` (per payment) and ``max_session_spend`` (per session).

``max_session_spend`` counts every payment of the paying wallet (whoever holds its key: a configured key file,
a ``private_key=`` argument, another notebook sharing the ledger) that was reserved by a live session and that
moved money or may still move it (signed, sent, confirmed, validated). Sessions are counted by identity, never by
clock readings (see :func:`swan_jupyter.orchestrator.ledger.current_session`): this process's session, and the
sessions of every other process still running that paid through the same ledger, so two notebooks open at once
share one cap, and a clock that steps changes nothing. Rows that moved nothing
(an intent, an interrupted approve, a transaction replaced because its nonce was taken, a revert) never count.
The check and the reservation happen in one ledger transaction while the wallet's lock is held, so threads
and processes can never pay past the cap together (see :meth:`swan_jupyter.orchestrator.ledger.Ledger.reserve`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..errors import ValidationError
from .amounts import format_swan, swan_to_wei


@dataclass(frozen=True)
class Caps:
    """The caps in force for one payment (amounts in SWAN, as configured; ``None`` means no cap)."""

    max_payment: Decimal | str | None = None
    max_session_spend: Decimal | str | None = None
    call_cap: Decimal | str | None = None  # this call's own cap (``--yes``'s unattended cap, ``max_payment=``)
    call_cap_name: str = "this call's cap"

    def check(self, amount_wei: int, spent_wei: int = 0) -> None:
        """Refuse ``amount_wei`` with a :class:`~swan_jupyter.errors.ValidationError` naming the cap, what was
        spent and how to raise it; ``spent_wei`` is what the wallet committed in this session already."""
        for cap, name, how in ((self.call_cap, self.call_cap_name, "pass a higher max_payment, or raise "
                                "SwanMagics.max_auto_spend for --yes"),
                               (self.max_payment, "max_payment", "raise max_payment in the profile or "
                                "SWAN_MAX_PAYMENT")):
            if cap is not None and amount_wei > swan_to_wei(cap):
                raise ValidationError(
                    f"This payment of {format_swan(amount_wei, exact=True)} is above {name} "
                    f"({format_swan(swan_to_wei(cap), exact=True)}). "
                    "Nothing was signed.",
                    hint=f"To pay it, {how}; or choose a shorter duration or cheaper hardware.")
        if self.max_session_spend is not None:
            cap_wei = swan_to_wei(self.max_session_spend)
            if spent_wei + amount_wei > cap_wei:
                raise ValidationError(
                    f"This payment of {format_swan(amount_wei, exact=True)} would bring this session's spending to "
                    f"{format_swan(spent_wei + amount_wei, exact=True)}, above max_session_spend "
                    f"({format_swan(cap_wei, exact=True)}); "
                    f"{format_swan(spent_wei, exact=True)} already spent by this wallet since the session started. "
                    "Nothing was signed.",
                    hint="Raise max_session_spend (in the profile, SWAN_MAX_SESSION_SPEND, or "
                         "Session(max_session_spend=...)) or start a new kernel; it counts this wallet's payments "
                         "from every notebook sharing the ledger.")
