"""swan-sdk's payment names on the Orchestrator client, as :mod:`swan_jupyter.actors.agave` is for agavepy.

Code written for swan-sdk 0.1.x calls ``orch.submit_payment``, ``orch.validate_payment``, ``orch.make_payment``
and ``orch.renew_task``; each is a thin, documented door onto the one room for money,
:class:`~swan_jupyter.orchestrator.payments.Payments` (``orch.payments``), which holds the rules (quotes that
bind, caps, the ledger, reconciliation).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..redact import Secret
from . import _wire as wire
from .ledger import Ledger
from .models import Cancellation, PaymentReceipt, Quote, Result
from .payer import Payer

if TYPE_CHECKING:
    from .payments import Payments


class SwanSdkPayments:
    """The payment methods of swan-sdk's ``Orchestrator``, on top of ``self.payments``."""

    payments: Payments
    _lock: threading.RLock

    def require_task_status(self, task_uuid: str, action: str) -> Result:
        """The task's info when ``action`` can apply to it (the Orchestrator client implements it)."""
        raise NotImplementedError

    @property
    def ledger(self) -> Ledger:
        """The persistent payment ledger (``settings.ledger_file``)."""
        return self.payments.ledger

    def payer(self, private_key: str | Secret | None = None) -> Payer:
        """The web3 payer for this server's chain and the configured wallet (built once)."""
        with self._lock:
            return self.payments.payer(private_key)

    def quote(self, task_uuid: str, *, order_type: str = "Creation", duration: str | int | None = None,
              task: Mapping[str, Any] | None = None) -> Quote:
        """The exact amount a payment for ``task_uuid`` needs, with its contract and chain: what a confirmation
        shows, and what ``pay(..., confirmed=quote)`` will sign or refuse (see :class:`Payments`)."""
        return self.payments.quote(task_uuid, order_type=order_type, duration=duration, task=task)

    def submit_payment(self, task_uuid: str, private_key: str | Secret | None = None, duration: int | None = None,
                       *, order_type: str = "Creation", idempotency_key: str | None = None,
                       max_payment: str | Decimal | None = None, task: Mapping[str, Any] | None = None,
                       confirmed: Quote | None = None) -> PaymentReceipt:
        """Pay on chain for a task without server validation (swan-sdk's name); see :meth:`Payments.submit`."""
        return self.payments.submit(task_uuid, private_key, duration, order_type=order_type,
                                    idempotency_key=idempotency_key, max_payment=max_payment, task=task,
                                    confirmed=confirmed)

    def validate_payment(self, tx_hash: str, task_uuid: str) -> Result:
        """Have the server check a payment transaction for a task (``POST /v2/task_payment_validate``).

        Safe to repeat: the server treats a known tx hash as the same order, so a lost answer is retried.
        """
        wire.check_uuid(task_uuid)
        return self.payments.validate(tx_hash, task_uuid)

    def pay(self, task_uuid: str, *, private_key: str | Secret | None = None,
            max_payment: str | Decimal | None = None, confirmed: Quote | None = None) -> PaymentReceipt:
        """Pay for a new task and have the payment validated (``make_payment``); resumes, never pays twice.

        ``confirmed``: the :class:`Quote` the user confirmed; if the payment would now differ in any way,
        :class:`~swan_jupyter.errors.QuoteChangedError` is raised with the new quote and nothing is signed.
        """
        return self.payments.pay(task_uuid, private_key=private_key, max_payment=max_payment,
                                 confirmed=confirmed)[0]

    make_payment = pay

    def cancel_payment(self, task_uuid: str, *, private_key: str | Secret | None = None) -> Cancellation:
        """Cancel the task's unfinished payments and say what happened, once it is known.

        A payment that was signed (its broadcast may have reached a node) is cancelled as wallets do it: its nonce
        is spent by a 0-value transfer to your own wallet at a higher fee, and the answer waits until one of the
        two is mined: ``outcome`` ``"cancelled"`` (nothing was paid) or ``"paid"`` (it had already gone through;
        ``.message`` says how much and what to do). The cancelled payment is never broadcast again by any
        notebook sharing the ledger. ``terminate_task`` cancels the same way before terminating.
        """
        return self.payments.cancel(task_uuid, private_key=private_key)

    def resume_payment(self, task_uuid: str) -> PaymentReceipt | None:
        """Finish every interrupted payment of ``task_uuid`` (see :meth:`Payments.resume`); never pays twice."""
        return self.payments.resume(task_uuid)

    def renew_task(self, task_uuid: str, duration: str | int = 3600, tx_hash: str | None = None,
                   auto_pay: bool = True, private_key: str | Secret | None = None, *,
                   idempotency_key: str | None = None, max_payment: str | Decimal | None = None,
                   confirmed: Quote | None = None) -> Result:
        """Extend a task by ``duration``: pay ``renewPayment`` (unless ``tx_hash`` is given), then extend.

        ``confirmed``: the renewal :class:`Quote` the user confirmed (``quote(uuid, order_type="Renewal",
        duration=...)``); a payment that would differ is refused with the new quote. A task that was never paid,
        or is terminated or finished, is refused first with what to do (:meth:`require_task_status`).
        """
        if tx_hash is None and auto_pay:
            self.require_task_status(task_uuid, "renew")
        return self.payments.renew(task_uuid, duration, tx_hash, auto_pay, private_key,
                                   idempotency_key=idempotency_key, max_payment=max_payment, confirmed=confirmed)

    def balance(self) -> dict[str, Any]:
        """SWAN and gas balances of the configured wallet (exact wei and display text)."""
        return self.payments.balance()
