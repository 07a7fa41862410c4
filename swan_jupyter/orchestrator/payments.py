"""Paying for Orchestrator tasks: quotes, caps, the ledger, the payer, and the server's validation.

:class:`Payments` is the one object an :class:`~swan_jupyter.orchestrator.Orchestrator` holds for money
(``orch.payments``). Its rules:

- **What was confirmed is what is signed.** ``confirmed=`` (a :class:`Quote` shown to the user) is compared with
  a fresh quote before anything is signed; any difference (amount, hardware, price, duration, contract, chain)
  raises :class:`~swan_jupyter.errors.QuoteChangedError` carrying the new quote to confirm.
- **Caps hold.** ``max_payment``, a call's own cap and ``max_session_spend`` are checked, against the wallet of
  the key that signs, inside the wallet's lock and the ledger's write transaction (:mod:`._caps`).
- **Never twice, never stuck.** Every payment is a ledger row; the payer reconciles the wallet's unfinished rows
  before it signs anything; a row resumes instead of paying again; a row whose nonce was taken is re-signed
  only after the contract's ``amountPaid`` shows that nothing was paid meanwhile.
"""

from __future__ import annotations

import time
import uuid as uuidlib
import warnings
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Protocol

from ..config import Settings
from ..errors import (
    ConfigurationError,
    PaymentError,
    QuoteChangedError,
    RemoteError,
    SwanDeprecationWarning,
    UnknownOutcomeError,
    ValidationError,
)
from ..redact import Secret
from . import _wire as wire
from ._caps import Caps
from ._chain import ChainSnapshot, chain_errors, check_wallet
from .amounts import format_swan, parse_duration, wei_to_swan
from .ledger import Ledger, LedgerEntry
from .models import Cancellation, PaymentReceipt, Quote, Result
from .payer import Checkpoint, Payer, wallet_locked

NETWORKS = {31337: "local sandbox chain (anvil)", 254: "Swan mainnet", 20241133: "Swan Proxima testnet"}
_FINAL = ("confirmed", "validated")
#: The two requests a payment sends to the Orchestrator (each safe to repeat for one tx hash).
VALIDATE_PATH, EXTEND_PATH = "/v2/task_payment_validate", "/v2/extend_task"


class PaymentServer(Protocol):
    """What :class:`Payments` needs of the Orchestrator: its settings (caps, keys, ledger), its contracts, a task's
    deployment info, and the two payment requests (validate a creation, extend a task). The client is one."""

    settings: Settings
    checkpoint: Checkpoint | None

    def contract_info(self) -> dict[str, Any]:
        """Chain RPC URL and contract addresses."""
        ...

    def get_deployment_info(self, task_uuid: str) -> Result:
        """``{task, jobs, computing_providers, config_orders}`` of a task."""
        ...

    def send_payment_form(self, path: str, form: dict[str, Any]) -> Any:
        """POST ``form`` to :data:`VALIDATE_PATH` or :data:`EXTEND_PATH`; the answer's data."""
        ...


class Payments:
    """The payments of one Orchestrator client (see the module docstring).

    :param server: the server that quotes, validates and extends (its settings give caps and keys): a
        :class:`PaymentServer`, the Orchestrator client in practice.
    :param provider: a web3 provider for the chain (default: an HTTP provider for the RPC URL).
    """

    def __init__(self, server: PaymentServer, *, provider: Any = None) -> None:
        self.server = server
        self.settings = server.settings
        self.provider = provider
        self._payer: Payer | None = None
        self._ledger: Ledger | None = None
        self._chain_id: int | None = None

    def __repr__(self) -> str:
        return f"Payments(ledger={str(self.settings.ledger_file)!r})"

    def __call__(self) -> list[LedgerEntry]:
        """Deprecated: ``orch.payments()`` listed the ledger before ``orch.payments`` became this object; write
        ``orch.payments.entries()``. Kept for one release."""
        warnings.warn("orch.payments() is deprecated: orch.payments is now the payments object; write "
                      "orch.payments.entries() for the ledger's rows.", SwanDeprecationWarning, stacklevel=2)
        return self.entries()

    # -- the ledger and the payer ----------------------------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        """The persistent payment ledger (``settings.ledger_file``)."""
        if self._ledger is None:
            self._ledger = Ledger(self.settings.ledger_file)
        return self._ledger

    def entries(self) -> list[LedgerEntry]:
        """Every ledger row (newest last)."""
        return self.ledger.all()

    def payer(self, private_key: str | Secret | None = None) -> Payer:
        """The web3 payer for the server's chain: the configured key (built once), or ``private_key``."""
        if self._payer is not None and private_key is None:
            return self._payer
        from ..keys import account_from_key, load_account

        account = account_from_key(private_key) if private_key is not None else load_account(self.settings)
        check_wallet(account, None if private_key is not None else self.settings.wallet_address)
        info = self.server.contract_info()
        self._check_pins(info)
        payer = Payer(self._rpc_url(info), account=account, client_payment=info["client_contract_address"],
                      swan_token=info["swan_token_contract_address"], ledger=self.ledger, provider=self.provider,
                      checkpoint=lambda step: self.server.checkpoint(step) if self.server.checkpoint else None)
        pinned = self.settings.chain_id
        if pinned is not None and payer.chain_id != pinned:
            raise ConfigurationError(
                f"The chain RPC {payer.rpc_url} is chain {payer.chain_id}, but profile '{self.settings.profile}' pays "
                f"on chain {pinned} ({self.network(pinned)}). Nothing was signed.",
                hint="Check chain_rpc_url (or the Orchestrator's /contract_info rpc_url) and the profile; set "
                     "chain_id only if you really mean to pay on another chain.")
        if private_key is None:
            self._payer = payer
        return payer

    def _check_pins(self, info: Mapping[str, Any]) -> None:
        """The contracts ``/contract_info`` names must be the pinned ones: the payment contract is approved to
        pull SWAN from the wallet, so a server (or a proxy) naming another address is refused."""
        for field_name, key in (("client_payment_address", "client_contract_address"),
                                ("swan_token_address", "swan_token_contract_address")):
            pinned = getattr(self.settings, field_name)
            if pinned and str(info.get(key, "")).lower() != pinned.lower():
                raise ConfigurationError(
                    f"The Orchestrator's /contract_info names {key} {info.get(key)}, but this profile pins "
                    f"{field_name} to {pinned}. Nothing was approved or signed.",
                    hint=f"If the server really moved its contracts, update {field_name} in the profile (or "
                         f"SWAN_{'CLIENT_PAYMENT_ADDRESS' if 'client' in field_name else 'TOKEN_ADDRESS'}); "
                         "otherwise do not pay through this server.")

    def _rpc_url(self, info: Mapping[str, Any]) -> str:
        rpc = self.settings.chain_rpc_url or info.get("rpc_url")
        if not rpc and self.provider is None:
            raise ConfigurationError("No chain RPC URL: /contract_info has none and chain_rpc_url is unset.",
                                     hint="Set chain_rpc_url in the profile (or SWAN_CHAIN_RPC_URL).")
        return str(rpc or "")

    def chain_id(self) -> int:
        """The chain's id, read from the node once (no key needed)."""
        if self._chain_id is None:
            if self._payer is not None:
                self._chain_id = self._payer.chain_id
            else:
                from web3 import Web3

                rpc = self._rpc_url(self.server.contract_info())
                w3 = Web3(self.provider or Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
                with chain_errors(rpc):
                    self._chain_id = int(w3.eth.chain_id)
        return self._chain_id

    def network(self, chain_id: int | None = None) -> str:
        """A readable name of the network (``sandbox``, a profile name, or the chain's name)."""
        if chain_id is None:
            return "sandbox" if self.settings.is_sandbox else self.settings.profile
        return NETWORKS.get(chain_id, f"chain {chain_id}")

    # -- quotes and caps -------------------------------------------------------------------------------------

    def quote(self, task_uuid: str, *, order_type: str = "Creation", duration: str | int | None = None,
              task: Mapping[str, Any] | None = None) -> Quote:
        """The exact payment ``task_uuid`` needs now, from the price fixed at its creation, with the contract
        and chain it would be paid on. ``task``: the task as the server returned it (saves a lookup)."""
        endpoint = "GET /v2/task_deployment"
        detail = wire.optional_obj((task or {}).get("task_detail"), endpoint, "task.task_detail")
        if task is None or task.get("uuid") != task_uuid or "hardware_id" not in detail \
                or "price_per_hour" not in detail:
            task = wire.obj(self.server.get_deployment_info(task_uuid).get("task"), endpoint, "task")
            detail = wire.obj(task.get("task_detail"), endpoint, "task.task_detail")
        price = wire.price(detail, "price_per_hour", endpoint, where="task_detail.")  # the answer first, then
        hardware_id = wire.integer(detail, "hardware_id", endpoint, where="task_detail.")  # the chain
        seconds = parse_duration(duration if duration is not None
                                 else wire.integer(detail, "duration", endpoint, where="task_detail."))
        requirements = wire.optional_obj(detail.get("requirements"), endpoint, "task_detail.requirements")
        chain_id = self.chain_id()
        return Quote.build(
            task_uuid=task_uuid, order_type=order_type, hardware=str(detail.get("hardware") or ""),
            hardware_id=hardware_id, region=str(requirements.get("region") or "global"), duration=seconds,
            price_per_hour=price, wallet=str(task.get("refund_wallet") or self.settings.wallet_address),
            chain_id=chain_id,
            network=self.network(chain_id), contract=str(self.server.contract_info()["client_contract_address"]))

    def caps(self, max_payment: str | Decimal | None = None, cap_name: str = "this call's cap") -> Caps:
        """The caps for one payment: the profile's and this call's (``cap_name`` names it in refusals)."""
        return Caps(self.settings.max_payment, self.settings.max_session_spend, max_payment, cap_name)

    def precheck(self, amount_wei: int, max_payment: str | Decimal | None = None, wallet: str | None = None,
                 cap_name: str = "this call's cap") -> None:
        """Refuse early (before a task is created) what the caps would refuse at payment time."""
        wallet = wallet or self.settings.wallet_address
        spent = self.ledger.session_spent(wallet) if wallet else 0
        self.caps(max_payment, cap_name).check(amount_wei, spent)

    @staticmethod
    def bind(confirmed: Quote, fresh: Quote, task_uuid: str) -> None:
        """Refuse to sign ``fresh`` unless it is exactly the ``confirmed`` payment."""
        changes = confirmed.differences(fresh)
        if changes:
            raise QuoteChangedError(
                f"The payment for task {task_uuid} changed after it was confirmed, so it was not paid: "
                + "; ".join(changes) + ". Nothing was signed.",
                quote=fresh, task_uuid=task_uuid,
                hint=f"Review the new quote and confirm it (the widget shows it; in Python: "
                     f"pay({task_uuid!r}, confirmed=error.quote)).")

    # -- paying ------------------------------------------------------------------------------------------------

    def submit(self, task_uuid: str, private_key: str | Secret | None = None, duration: int | None = None, *,
               order_type: str = "Creation", idempotency_key: str | None = None,
               max_payment: str | Decimal | None = None, task: Mapping[str, Any] | None = None,
               confirmed: Quote | None = None, resuming: bool = False) -> PaymentReceipt:
        """Pay on chain for a task (no server validation): approve if short, then submit/renew.

        Idempotent: the ledger key is the task for a creation and ``idempotency_key`` for a renewal; a payment
        whose transaction was signed is resumed (re-broadcast, awaited), never made again. A renewal that
        reached the chain but was never applied is finished instead of paying another one.
        """
        if order_type not in ("Creation", "Renewal"):
            raise ValidationError("order_type must be 'Creation' or 'Renewal'.")
        key = f"{task_uuid}|Creation" if order_type == "Creation" else \
            f"{task_uuid}|Renewal|{idempotency_key or uuidlib.uuid4().hex}"
        existing = self.ledger.get(key)
        if existing is not None and existing.state in _FINAL:
            return _resumed(existing)
        payer = self.payer(private_key)
        fresh: Quote | None = None
        if existing is None or not existing.reached_chain:  # network reads before taking the wallet's lock
            fresh = self._fresh(task_uuid, order_type, duration, task, confirmed)
        with payer.locked():
            payer.reconcile()
            existing = self.ledger.get(key)
            if existing is None and order_type == "Renewal":
                existing = self._unfinished_renewal(task_uuid, duration)
            if existing is not None and existing.state in _FINAL:
                return _resumed(existing)
            if existing is not None and existing.reached_chain:
                return payer.pay_locked(existing)
            if existing is not None and existing.state == "cancelled" and resuming:
                raise PaymentError(f"The payment for task {task_uuid} was cancelled; it is not signed again.",
                                   state="cancelled", task_uuid=task_uuid,
                                   hint=f"To pay for the task after all, pay it anew: %swan pay {task_uuid}.")
            if fresh is None:
                fresh = self._fresh(task_uuid, order_type, duration, task, confirmed)
            entry, snap = self._reserve(payer, existing.key if existing else key, fresh, max_payment, existing)
            return payer.pay_locked(entry, snap)

    def _fresh(self, task_uuid: str, order_type: str, duration: int | None, task: Mapping[str, Any] | None,
               confirmed: Quote | None) -> Quote:
        fresh = self.quote(task_uuid, order_type=order_type, duration=duration, task=task)
        if confirmed is not None:
            self.bind(confirmed, fresh, task_uuid)
        return fresh

    def _reserve(self, payer: Payer, key: str, quote: Quote, max_payment: str | Decimal | None,
                 existing: LedgerEntry | None) -> tuple[LedgerEntry, ChainSnapshot]:
        """Checks under the wallet's lock, then the reservation: the caps and the ledger row in one transaction.

        The chain is read once for all of it and for the payment that follows (:meth:`Payer.snapshot`: the
        contract's ``amountPaid``, balances, allowance, fees, nonce and gas, in one round trip)."""
        if quote.wallet and quote.wallet.lower() != payer.address.lower():
            raise ValidationError(f"Task {quote.task_uuid} belongs to wallet {quote.wallet}; the paying key is "
                                  f"{payer.address}.", hint="Pay with the task wallet's key.")
        entry = LedgerEntry(
            key=key, task_uuid=str(quote.task_uuid), order_type=quote.order_type, duration=quote.duration,
            hardware_id=quote.hardware_id, price_wei=quote.price_per_hour_wei, amount_wei=quote.amount_wei,
            payer=payer.address, contract=str(payer.contract.address), chain_id=payer.chain_id, state="intent")
        snap = payer.snapshot(entry)
        paid = int(snap.amount_paid_wei or 0)
        if existing is not None and existing.state == "replaced" and existing.paid_before_wei is not None \
                and paid != existing.paid_before_wei:
            raise PaymentError(
                f"Task {quote.task_uuid}'s amountPaid changed from "
                f"{format_swan(existing.paid_before_wei, exact=True)} to {format_swan(paid, exact=True)} since this "
                f"{existing.order_type.lower()} was signed: another payment was made "
                "meanwhile (another notebook or tool on this wallet?). It was not signed again.",
                state="replaced", tx_hashes=[h for h in (existing.replaced_tx,) if h], task_uuid=quote.task_uuid,
                hint="Check the task (%swan status) and the ledger (%swan ledger) before paying again.")
        if quote.order_type == "Creation" and paid > 0:
            tx = payer.find_payment_tx(str(quote.task_uuid))
            raise PaymentError(
                f"Task {quote.task_uuid} is already paid on chain ({format_swan(paid, exact=True)}) but not in this "
                "ledger.",
                state="confirmed", tx_hashes=[tx] if tx else [], task_uuid=quote.task_uuid,
                hint=f"Validate it instead of paying again: orch.payments.validate({tx!r}, {quote.task_uuid!r})"
                if tx else "Find the payment transaction and call orch.payments.validate(tx_hash, task_uuid).")
        entry.paid_before_wei = paid
        caps = self.caps(max_payment)
        return self.ledger.reserve(entry, check=lambda spent: caps.check(entry.amount_wei, spent)), snap

    def _unfinished_renewal(self, task_uuid: str, duration: int | None) -> LedgerEntry | None:
        """A renewal of ``task_uuid`` to finish before another one (call under the wallet's lock, reconciled).

        One that reached the chain but was never applied: the same duration finishes it, another is refused.
        One whose nonce was taken (nothing paid): the same duration re-signs it, another supersedes it.
        """
        rows = [e for e in self.ledger.for_task(task_uuid) if e.order_type == "Renewal"]
        pending = [e for e in rows if e.reached_chain and e.state != "validated"]
        if pending:
            entry = pending[-1]
            if duration is not None and entry.duration != duration:
                raise PaymentError(
                    f"An earlier renewal of task {task_uuid} ({entry.duration} s, transaction {entry.tx_hash}) "
                    "was paid but not yet applied by the server.",
                    state=entry.state, tx_hashes=[entry.tx_hash] if entry.tx_hash else [], task_uuid=task_uuid,
                    hint=f"Finish it first: resume_payment({task_uuid!r}) or %swan resume {task_uuid}; "
                         "then renew again if you want more time.")
            return entry
        for row in (e for e in rows if e.state == "replaced"):
            if duration is None or row.duration == duration:
                return row
            self.ledger.update(row.key, state="failed",
                               error=f"{row.error}; superseded by a renewal of {duration} s, never re-signed")
        return None

    def validate(self, tx_hash: str, task_uuid: str) -> Result:
        """Have the server check a payment transaction (``POST /v2/task_payment_validate``); safe to repeat. A
        ``task_uuid`` that is not one is refused before anything is sent."""
        wire.check_uuid(task_uuid)
        data = self._repeat_lost(VALIDATE_PATH, {"tx_hash": tx_hash, "task_uuid": task_uuid})
        entry = self.ledger.by_tx(tx_hash)
        if entry is not None:
            self.ledger.update(entry.key, state="validated")
        return Result(wire.optional_obj(data, "POST /v2/task_payment_validate"))

    def _repeat_lost(self, path: str, form: dict[str, Any],
                     on_refusal: Callable[[Exception], Any] | None = None) -> Any:
        """POST a request the server treats as idempotent per tx hash, asking again when an answer is lost."""
        last: Exception | None = None
        for attempt in range(4):
            try:
                return self.server.send_payment_form(path, form)
            except UnknownOutcomeError as exc:
                last = exc
                time.sleep(0.2 * (attempt + 1))
            except RemoteError as exc:
                if on_refusal is None:
                    raise
                return on_refusal(exc)
        assert last is not None
        raise last

    def pay(self, task_uuid: str, *, private_key: str | Secret | None = None,
            max_payment: str | Decimal | None = None, task: Mapping[str, Any] | None = None,
            confirmed: Quote | None = None) -> tuple[PaymentReceipt, Result]:
        """Pay for a new task and have the payment validated; returns the receipt and the config order."""
        receipt = self.submit(task_uuid, private_key, max_payment=max_payment, task=task, confirmed=confirmed)
        self.server.checkpoint("before_validate") if self.server.checkpoint else None
        order = self.validate(receipt.tx_hash, task_uuid)
        self.server.checkpoint("after_validate") if self.server.checkpoint else None
        entry = self.ledger.by_tx(receipt.tx_hash)
        if entry is not None:
            receipt = PaymentReceipt.from_entry(entry, resumed=receipt.resumed)
        return receipt, order

    def resume(self, task_uuid: str) -> PaymentReceipt | None:
        """Finish every interrupted payment of ``task_uuid``; nothing is paid twice.

        A signed payment is awaited (or its identical bytes re-broadcast), then validated (creation) or applied
        (renewal). A payment whose nonce was taken is signed again for exactly the amounts it had, within the
        caps, after ``amountPaid`` shows nothing was paid meanwhile. Returns the receipt of the last payment
        finished, else of the latest validated one, else None.
        """
        last: PaymentReceipt | None = None
        for entry in self.ledger.for_task(task_uuid):
            if not (entry.reached_chain or entry.state == "replaced") or entry.state == "validated":
                continue
            if entry.state == "cancelling":  # finish the cancel; a cancelled payment is never signed again
                self.cancel(task_uuid)
                continue
            idem = entry.key.split("|", 2)[2] if entry.order_type == "Renewal" else None
            try:
                receipt = self.submit(task_uuid, duration=entry.duration, order_type=entry.order_type,
                                      idempotency_key=idem, confirmed=_as_quote(entry), resuming=True)
            except PaymentError as exc:
                if exc.state == "cancelled":  # cancelled meanwhile (another thread or notebook)
                    continue
                raise
            if entry.order_type == "Creation":
                self.validate(receipt.tx_hash, task_uuid)
            else:
                self.extend(task_uuid, entry.duration, receipt.tx_hash)
            final = self.ledger.by_tx(receipt.tx_hash)
            last = PaymentReceipt.from_entry(final, resumed=True) if final else receipt
        if last is not None:
            return last
        validated = [e for e in self.ledger.for_task(task_uuid) if e.state == "validated"]
        return PaymentReceipt.from_entry(validated[-1]) if validated else None

    def cancel(self, task_uuid: str, *, private_key: str | Secret | None = None,
               terminated: bool = False) -> Cancellation:
        """Cancel every unfinished payment of ``task_uuid``: the one path behind Cancel, Remove, ``terminate_task``
        and ``%swan terminate``. Returns what happened, once it is known (see :class:`Cancellation`).

        Rows holding nothing signed are marked ``cancelled`` (no key, no chain needed). A signed payment's nonce
        is spent by a 0-value transfer to self at a higher fee, and the answer waits until one of the two is
        mined (see :mod:`._cancel`); the payment's signed bytes are never broadcast again, by any process.
        """
        from ._cancel import NOTHING_SIGNED, cancel_locked

        rows = [e for e in self.ledger.for_task(task_uuid) if e.state not in ("validated", "cancelled")]
        if any(e.state not in NOTHING_SIGNED and e.tx_hash for e in rows):
            payer = self.payer(private_key)
            with payer.locked():
                for entry in rows:
                    cancel_locked(payer, entry)
        else:
            for entry in rows:
                with wallet_locked(self.ledger, entry.payer):  # no key needed: nothing of these rows is signed
                    current = self.ledger.get(entry.key)
                    if current is not None and current.state not in NOTHING_SIGNED and current.tx_hash:
                        break  # signed meanwhile (a Pay click in another thread): cancel it with the key
                    if current is not None and current.state in NOTHING_SIGNED:
                        self.ledger.update(entry.key, state="cancelled", raw_tx=None,
                                           error="cancelled before any payment transaction was signed")
            else:
                return Cancellation(task_uuid, [self.ledger.get(e.key) for e in rows], terminated=terminated)
            return self.cancel(task_uuid, private_key=private_key, terminated=terminated)
        return Cancellation(task_uuid, [self.ledger.get(e.key) for e in rows], terminated=terminated)

    def renew(self, task_uuid: str, duration: str | int = 3600, tx_hash: str | None = None, auto_pay: bool = True,
              private_key: str | Secret | None = None, *, idempotency_key: str | None = None,
              max_payment: str | Decimal | None = None, confirmed: Quote | None = None) -> Result:
        """Extend a task by ``duration``: pay ``renewPayment`` (unless ``tx_hash`` is given), then extend."""
        seconds = parse_duration(duration)
        receipt = None
        if tx_hash is None:
            if not auto_pay:
                raise ValidationError("renew_task needs tx_hash, or auto_pay=True to pay now.")
            receipt = self.submit(task_uuid, private_key, seconds, order_type="Renewal",
                                  idempotency_key=idempotency_key, max_payment=max_payment, confirmed=confirmed)
            tx_hash = receipt.tx_hash
        result = Result(wire.optional_obj(self.extend(task_uuid, seconds, tx_hash), "POST /v2/extend_task"))
        applied = self.ledger.by_tx(tx_hash)
        if receipt is not None and applied is not None:  # the receipt as it stands now: applied by the server
            receipt = PaymentReceipt.from_entry(applied, resumed=receipt.resumed)
        result.update(task_uuid=task_uuid, tx_hash=tx_hash, receipt=receipt,
                      tx_hash_approve=receipt.approve_tx_hash if receipt else None,
                      price=str(receipt.amount_swan) if receipt else None)
        return result

    def extend(self, task_uuid: str, seconds: int, tx_hash: str) -> Any:
        """``POST /v2/extend_task`` for a paid renewal; a repeat of an applied one reads its config order."""

        def already_applied(exc: Exception) -> Any:
            orders = self.server.get_deployment_info(task_uuid).get("config_orders") or []
            for order in orders:
                if isinstance(order, dict) and str(order.get("tx_hash", "")).lower() == tx_hash.lower():
                    return {"config_order": order}
            raise exc

        data = self._repeat_lost(EXTEND_PATH, {"task_uuid": task_uuid, "duration": seconds,
                                                     "tx_hash": tx_hash}, on_refusal=already_applied)
        entry = self.ledger.by_tx(tx_hash)
        if entry is not None:
            self.ledger.update(entry.key, state="validated")
        return data

    def balance(self) -> dict[str, Any]:
        """SWAN and gas balances of the configured wallet (exact wei and display text), a dict shown as a card."""
        from .views import Balance

        payer = self.payer()
        b = payer.balances()
        return Balance({"wallet": payer.address, "swan_wei": b["swan_wei"], "swan": format_swan(b["swan_wei"]),
                        "gas_wei": b["gas_wei"], "chain_id": payer.chain_id, "network": self.network(payer.chain_id)})


def _resumed(entry: LedgerEntry) -> PaymentReceipt:
    return PaymentReceipt.from_entry(entry, resumed=True)


def _as_quote(entry: LedgerEntry) -> Quote:
    """The quote a ledger row was confirmed with (what resuming it may sign, and nothing else)."""
    return Quote.build(task_uuid=entry.task_uuid, order_type=entry.order_type, hardware="",
                       hardware_id=entry.hardware_id, duration=entry.duration,
                       price_per_hour=wei_to_swan(entry.price_wei), amount_wei=entry.amount_wei, wallet=entry.payer,
                       chain_id=entry.chain_id, network=NETWORKS.get(entry.chain_id, f"chain {entry.chain_id}"),
                       contract=entry.contract)
