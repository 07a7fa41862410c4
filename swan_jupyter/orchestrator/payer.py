"""The web3 payer: exact amounts, pre-flight checks, one lock per account, never twice.

:class:`Payer` pays one ledger entry: approve (only when the allowance is short), then ``submitPayment`` or
``renewPayment`` (4-argument forms), each transaction signed locally (EIP-1559), its raw bytes and hash written
to the ledger *before* broadcasting, then broadcast, then its receipt awaited with a timeout and checked
(``status == 1``, sent to the contract, with exactly the calldata that was signed: task, hardware, price and
duration). Resuming an entry re-broadcasts the stored raw transaction, which can only ever be mined once.

Before it signs anything, a payer *reconciles* its wallet (:meth:`Payer.reconcile`): every unfinished row is
re-broadcast while it can still be mined, and a row whose nonce another transaction consumed is marked
``replaced`` (nothing was paid). "nonce too low" alone never counts as mined: only this very hash's receipt does.

web3 and eth-account are imported here only, when a payment is made.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, PaymentError, UnknownOutcomeError
from ._abi import client_payment_abi, erc20_abi
from ._chain import (
    ChainSnapshot,
    FeePolicy,
    NonceTaken,
    chain_errors,
    decode_revert,
    not_this_payment,
    replay_revert,
    revert_hint,
    session_for,
)
from .amounts import format_swan
from .ledger import Ledger, LedgerEntry
from .models import PaymentReceipt

if TYPE_CHECKING:
    from web3 import Web3

Checkpoint = Callable[[str], None]

#: How many times the identical signed transaction is broadcast when the node's answer is lost.
BROADCAST_ATTEMPTS = 4

_account_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(address: str) -> threading.Lock:
    with _locks_guard:
        return _account_locks.setdefault(address.lower(), threading.Lock())


@contextlib.contextmanager
def wallet_locked(ledger: Ledger, address: str) -> Iterator[None]:
    """The locks of wallet ``address`` (a thread lock and a cross-process file lock next to ``ledger``), without
    its key: what decides about its payments without signing (a cancel of rows that hold nothing signed)."""
    with _lock_for(address), ledger.account_lock(address):
        yield


class Payer:
    """Pays ledger entries from ``account`` on the chain at ``rpc_url`` (or through ``provider`` / ``w3``).

    :param provider: a web3 provider to use instead of an HTTP provider for ``rpc_url`` (as web3.py takes one).
    :param w3: a ready :class:`web3.Web3` to use as it is.
    :param receipt_timeout: seconds to wait for each receipt (a timeout leaves the payment *pending*, resumable).
    :param checkpoint: called with the name of each step (tests use it to simulate crashes).
    """

    def __init__(
        self,
        rpc_url: str = "",
        *,
        account: Any,
        client_payment: str,
        swan_token: str,
        ledger: Ledger,
        provider: Any = None,
        w3: Any = None,
        receipt_timeout: float = 120.0,
        fees: FeePolicy | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        from web3 import Web3
        from web3.types import RPCEndpoint

        if w3 is None:
            if provider is None:
                # eth_chainId is asked before most calls by web3's validation; it never changes for one URL.
                provider = Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}, session=session_for(rpc_url),
                                             cache_allowed_requests=True,
                                             cacheable_requests={RPCEndpoint("eth_chainId")})
            w3 = Web3(provider)
        self.w3: Web3 = w3
        rpc_url = rpc_url or str(getattr(w3.provider, "endpoint_uri", "") or type(w3.provider).__name__)
        self.account = account
        self.address: Any = Web3.to_checksum_address(account.address)
        self.contract = self.w3.eth.contract(address=Web3.to_checksum_address(client_payment), abi=client_payment_abi())
        self.token = self.w3.eth.contract(address=Web3.to_checksum_address(swan_token), abi=erc20_abi())
        self.ledger = ledger
        self.receipt_timeout = receipt_timeout
        self.fees = fees or FeePolicy()
        self.checkpoint = checkpoint or (lambda step: None)
        self._chain_id: int | None = None
        self._code_checked = False
        self.rpc_url = rpc_url

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with chain_errors(self.rpc_url):
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def poll_latency(self) -> float:
        return 0.02 if self.chain_id == 31337 else 0.5

    # -- reads ------------------------------------------------------------------------------------------------

    def balances(self) -> dict[str, int]:
        """SWAN and gas (ETH) balances of the paying account, in wei."""
        with chain_errors(self.rpc_url):
            return {"swan_wei": int(self.token.functions.balanceOf(self.address).call()),
                    "gas_wei": int(self.w3.eth.get_balance(self.address))}

    def amount_paid(self, task_uuid: str) -> int:
        """What the contract has recorded as paid for ``task_uuid`` (wei)."""
        with chain_errors(self.rpc_url):
            return int(self.contract.functions.amountPaid(task_uuid).call())

    def find_payment_tx(self, task_uuid: str, *, lookback_blocks: int = 20_000) -> str | None:
        """The hash of the first payment for ``task_uuid`` in recent blocks (recovering a lost ledger).

        Both events of the ClientPayment ABI are searched (``PaymentSubmitted`` and ``Payment``).
        """
        with chain_errors(self.rpc_url):
            latest = int(self.w3.eth.block_number)
            start = max(0, latest - lookback_blocks)
            logs = [log for event in (self.contract.events.PaymentSubmitted(), self.contract.events.Payment())
                    for log in event.get_logs(from_block=start, to_block=latest)]
        found = sorted((int(log["blockNumber"]), int(log["logIndex"]), log["transactionHash"].to_0x_hex())
                       for log in logs if log["args"]["uuid"] == task_uuid)
        return str(found[0][2]) if found else None

    # -- paying -----------------------------------------------------------------------------------------------

    def snapshot(self, entry: LedgerEntry | None = None) -> ChainSnapshot:
        """Balances, allowance, fees, the pending nonce and, for ``entry``, its ``amountPaid`` and gas: one JSON-RPC
        batch (one round trip; see :mod:`._reads`)."""
        from ._reads import snapshot

        return snapshot(self, entry)

    def preflight(self, entry: LedgerEntry, snap: ChainSnapshot | None = None) -> None:
        """Balances suffice for the amount and the gas; raises PaymentError naming what is short."""
        snap = snap or self.snapshot()
        if snap.swan_wei < entry.amount_wei:
            raise PaymentError(
                f"The wallet {self.address} holds {format_swan(snap.swan_wei, exact=True)}, less than the "
                f"{format_swan(entry.amount_wei, exact=True)} this payment needs.",
                state=entry.state, task_uuid=entry.task_uuid,
                hint="Top up the wallet's SWAN (sandbox: the faucet) or choose a shorter duration.",
            )
        needed_gas = 400_000 * snap.fees["maxFeePerGas"]
        if snap.gas_wei < needed_gas:
            raise PaymentError(
                f"The wallet {self.address} has {snap.gas_wei} wei of gas money; about {needed_gas} wei "
                "are needed for the approve and the payment.",
                state=entry.state, task_uuid=entry.task_uuid, hint="Send some native token to the wallet for gas.",
            )

    @contextlib.contextmanager
    def locked(self, entry: LedgerEntry | None = None) -> Iterator[None]:
        """Hold this account's locks (a thread lock and a cross-process file lock next to the ledger).

        Everything that decides about a payment of this wallet (reconciling, the caps, signing) happens inside,
        so threads and processes sharing a ledger pay one after the other. A node that cannot be reached
        raises :class:`~swan_jupyter.errors.TransportError`.
        """
        with wallet_locked(self.ledger, self.address), chain_errors(self.rpc_url, entry):
            self.check_contracts()
            yield

    def pay(self, entry: LedgerEntry) -> PaymentReceipt:
        """Reconcile the wallet, then pay (or resume) ``entry``; returns the confirmed receipt.

        The entry stays in the ledger at the state it reached; paying it again resumes from there.
        """
        with self.locked(entry):
            self.reconcile()
            return self.pay_locked(entry)

    def pay_locked(self, entry: LedgerEntry, snap: ChainSnapshot | None = None) -> PaymentReceipt:
        """:meth:`pay` for a caller that already holds :meth:`locked` and has reconciled (``snap``: a snapshot for
        this entry read under the same locks, which saves reading the chain again)."""
        current = self.ledger.get(entry.key) or entry
        if current.state == "cancelling":
            from ._cancel import still_cancelling

            raise still_cancelling(current)
        if current.reached_chain and current.tx_hash:
            return self._resume(current)
        if current.state == "replaced":
            raise PaymentError(
                f"The payment for task {current.task_uuid} was replaced (its nonce was used by another transaction; "
                "nothing was paid). It is signed again only through resume_payment, which checks amountPaid and the "
                "caps first.", state="replaced", task_uuid=current.task_uuid,
                hint=f"resume_payment({current.task_uuid!r}) or %swan resume {current.task_uuid}.")
        if current.state in ("failed", "approving"):
            current = self.ledger.update(current.key, state="intent")
        # one read of the chain, under the locks; one fee quote for both transactions (maxFee = 2 x base)
        snap = snap or self.snapshot(current)
        self.preflight(current, snap)
        approve_tx, gas = self._approve_if_short(current, snap)
        self.checkpoint("before_sign")
        nonce = snap.nonce if approve_tx is None or approve_tx == current.approve_tx else snap.nonce + 1
        raw, tx_hash, nonce = self._sign_payment(current, snap.fees, nonce, gas)
        current = self.ledger.update(current.key, state="signed", raw_tx=raw, tx_hash=tx_hash, nonce=nonce,
                                     approve_tx=approve_tx, error=None)
        self.checkpoint("after_sign")
        self._broadcast(current)
        current = self.ledger.update(current.key, state="sent")
        self.checkpoint("after_send")
        return self._confirm(current)

    def reconcile(self) -> list[LedgerEntry]:
        """Settle every unfinished row of this wallet before anything new is signed (call under :meth:`locked`).

        - ``approving`` (an approve interrupted; approvals move no money): back to ``intent``.
        - ``signed``/``sent`` and mined: left for its owner to confirm and validate.
        - ``signed``/``sent``, not mined, its nonce already used on chain by another transaction: ``replaced``.
        - ``signed``/``sent``, not mined, its nonce still free: the identical bytes are broadcast again, so the
          next payment's nonce comes after it.
        - ``cancelling``: settled if either transaction was mined, else the *cancel* is broadcast again (the
          payment's bytes are gone from the row: a cancelled payment is never sent again).

        Returns the rows that were marked ``replaced``.
        """
        from ._cancel import finish_cancel

        replaced: list[LedgerEntry] = []
        for row in self.ledger.unfinished(self.address):
            if int(row.chain_id) != self.chain_id:
                continue
            if row.state == "cancelling":
                try:
                    finish_cancel(self, row, wait=False)
                except (NonceTaken, PaymentError, UnknownOutcomeError) as exc:
                    self.ledger.update(row.key, error=f"cancel not re-broadcast: {exc}")
                continue
            if row.state == "approving" or not row.tx_hash:
                self.ledger.update(row.key, state="intent")
                continue
            try:
                if self._settle(row) == "replaced":
                    replaced.append(self._mark_replaced(row))
            except NonceTaken:
                replaced.append(self._mark_replaced(row))
            except PaymentError as exc:  # the node refuses it for now (e.g. another transaction holds the nonce)
                self.ledger.update(row.key, error=f"not re-broadcast: {exc.message}")
        return replaced

    def _settle(self, row: LedgerEntry) -> str:
        """``mined``, ``replaced`` or ``pending`` (broadcast again) for a signed row."""
        assert row.tx_hash is not None
        used = int(self.w3.eth.get_transaction_count(self.address, "latest"))  # first: see the docstring above
        if self._receipt_or_none(row.tx_hash) is not None:
            return "mined"
        if row.nonce is not None and row.nonce < used:
            return "replaced"  # the nonce was used while this hash was not mined: it never can be
        self._broadcast(row)
        if row.state == "signed":
            self.ledger.update(row.key, state="sent")
        return "pending"

    def _mark_replaced(self, row: LedgerEntry) -> LedgerEntry:
        return self.ledger.update(
            row.key, state="replaced", replaced_tx=row.tx_hash, tx_hash=None, raw_tx=None, nonce=None,
            error=f"transaction {row.tx_hash} was never mined: its nonce {row.nonce} was used by another "
                  "transaction of this wallet; nothing was paid")

    def _resume(self, entry: LedgerEntry) -> PaymentReceipt:
        if self._receipt_or_none(entry.tx_hash or "") is None:
            try:
                self._broadcast(entry)  # the identical signed transaction: it can only be mined once
            except NonceTaken:
                row = self._mark_replaced(entry)
                raise PaymentError(
                    f"The payment for task {entry.task_uuid} was never mined: its nonce was used by another "
                    "transaction of this wallet meanwhile. Nothing was paid.", state="replaced",
                    tx_hashes=[h for h in (row.replaced_tx,) if h], task_uuid=entry.task_uuid,
                    hint=f"Resume it to sign it again: resume_payment({entry.task_uuid!r}) or "
                         f"%swan resume {entry.task_uuid}.") from None
            if entry.state == "signed":
                entry = self.ledger.update(entry.key, state="sent")
        result = self._confirm(entry)
        return dataclasses.replace(result, resumed=True)

    def check_contracts(self) -> None:
        """The payment contract and the token must have code on this chain (once per payer)."""
        if self._code_checked:
            return
        from ._reads import batch

        code = batch(self.w3, {what: ("eth_getCode", [address, "latest"]) for what, address in (
            ("client_contract_address", self.contract.address), ("swan_token_contract_address", self.token.address))})
        for what, answer in code.items():
            if answer.error is not None or str(answer.result or "0x") in ("0x", "0x0"):
                address = self.contract.address if what.startswith("client") else self.token.address
                raise ConfigurationError(
                    f"The {what} {address} from the Orchestrator's /contract_info has no contract code on chain "
                    f"{self.chain_id} ({self.rpc_url}).",
                    hint="The server and the chain RPC disagree: check the profile's chain_rpc_url and the "
                         "Orchestrator URL (testnet vs mainnet). Nothing was signed.")
        self._code_checked = True

    def _base_fee(self) -> int:
        block = self.w3.eth.get_block("latest")
        return int(block.get("baseFeePerGas") or self.w3.eth.gas_price)

    def _suggested_tip(self) -> int:
        try:
            return int(self.w3.eth.max_priority_fee)
        except Exception:  # a node without eth_maxPriorityFeePerGas: the configured minimum
            return self.fees.min_tip_wei

    def approve(self, amount_wei: int) -> str:
        """Set the payment contract's allowance from this wallet to exactly ``amount_wei`` (0 revokes it), under
        the wallet's lock and after reconciling; returns the approve transaction's hash once it is mined.

        Payments approve what they need by themselves; this is for paying several tasks from one allowance, or
        for revoking an allowance.
        """
        with self.locked():
            self.reconcile()
            tx_hash = self._send_simple(self.token.functions.approve(self.contract.address, int(amount_wei)),
                                        self.fees.fields(self._base_fee(), self._suggested_tip()))
            if int(self._wait(tx_hash)["status"]) != 1:
                raise PaymentError(f"The approve transaction {tx_hash} reverted.", state="approving",
                                   tx_hashes=[tx_hash])
            return tx_hash

    def _send_simple(self, call: Any, fees: dict[str, int], nonce: int | None = None,
                     entry: LedgerEntry | None = None, gas: int | None = None) -> str:
        """Sign and send one transaction (an approve) without waiting for it; return its hash."""
        if nonce is None:
            nonce = self.w3.eth.get_transaction_count(self.address, "pending")
        fields = {"from": self.address, "nonce": nonce, "chainId": self.chain_id, **fees}
        tx = call.build_transaction({**fields, "gas": gas} if gas else fields)
        if not gas:
            tx["gas"] = int(tx["gas"]) * self.fees.gas_multiplier_pct // 100
        signed = self.account.sign_transaction(tx)
        tx_hash = "0x" + bytes(signed.hash).hex()
        self._send_raw(signed.raw_transaction, tx_hash, entry, "approve")
        return str(tx_hash)

    def _approve_if_short(self, entry: LedgerEntry, snap: ChainSnapshot) -> tuple[str | None, int | None]:
        """The approve this payment needs (sent and mined), and the payment's gas limit: the snapshot's estimate,
        or one read together with the approve's receipt (it only succeeds once the approve is mined)."""
        from ._reads import receipt_and_estimate, refuse_revert

        if snap.allowance_wei >= entry.amount_wei or entry.amount_wei == 0:
            if snap.payment_gas is None and snap.payment_revert is not None:
                raise refuse_revert(entry, snap.payment_revert)
            return entry.approve_tx, snap.payment_gas
        self.ledger.update(entry.key, state="approving")
        approve_tx = self._send_simple(self.token.functions.approve(self.contract.address, entry.amount_wei),
                                       snap.fees, snap.nonce, entry, snap.approve_gas)
        receipt, estimate = receipt_and_estimate(self, approve_tx, entry)
        if int(str(receipt.get("status") or "0x0"), 16) != 1:
            raise PaymentError(f"The approve transaction {approve_tx} reverted.", state="approving",
                               tx_hashes=[approve_tx])
        self.ledger.update(entry.key, approve_tx=approve_tx)
        if estimate.error is not None:
            raise refuse_revert(entry, estimate.error.get("data") or estimate.error)
        return approve_tx, estimate.quantity("a gas estimate") * self.fees.gas_multiplier_pct // 100

    def _payment_call(self, entry: LedgerEntry) -> Any:
        fn = self.contract.get_function_by_signature(
            ("submitPayment" if entry.order_type == "Creation" else "renewPayment")
            + "(string,uint256,uint256,uint256)"
        )
        return fn(entry.task_uuid, entry.hardware_id, entry.price_wei, entry.duration)

    def _sign_payment(self, entry: LedgerEntry, fees: dict[str, int], nonce: int | None = None,
                      gas: int | None = None) -> tuple[str, str, int]:
        """Sign the payment (``gas``: a limit already estimated with margin; without it the node estimates)."""
        from web3.exceptions import ContractCustomError, ContractLogicError

        call = self._payment_call(entry)
        if nonce is None:
            nonce = self.w3.eth.get_transaction_count(self.address, "pending")
        fields = {"from": self.address, "nonce": nonce, "chainId": self.chain_id, **fees}
        try:
            tx = call.build_transaction({**fields, "gas": gas} if gas else fields)
        except ContractCustomError as exc:
            raise PaymentError(f"The payment would revert: {decode_revert(exc.data)}.", state="intent",
                               task_uuid=entry.task_uuid, hint=revert_hint(exc.data)) from None
        except ContractLogicError as exc:
            raise PaymentError(f"The payment would revert: {exc.message}.", state="intent",
                               task_uuid=entry.task_uuid,
                               hint="Check the task's hardware, price and duration against the catalogue.") from None
        if not gas:
            tx["gas"] = int(tx["gas"]) * self.fees.gas_multiplier_pct // 100
        signed = self.account.sign_transaction(tx)
        return "0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex(), nonce

    def _broadcast(self, entry: LedgerEntry) -> None:
        assert entry.raw_tx is not None
        self._send_raw(entry.raw_tx, entry.tx_hash or "", entry, "payment")

    def _send_raw(self, raw: str | bytes, tx_hash: str, entry: LedgerEntry | None, what: str) -> None:
        """Broadcast signed bytes; a lost answer is met by sending the identical bytes again (mined at most once)."""
        import requests
        from web3.exceptions import Web3RPCError

        task = entry.task_uuid if entry is not None else None
        for attempt in range(BROADCAST_ATTEMPTS):
            try:
                self.w3.eth.send_raw_transaction(raw)  # type: ignore[arg-type]
                return
            except Web3RPCError as exc:
                text = str(exc).lower()
                if "already known" in text or "already imported" in text:
                    return  # the same transaction is already in the pool: resume by hash
                if "nonce too low" in text:
                    if self._receipt_or_none(tx_hash) is not None:
                        return  # this very transaction is mined
                    raise NonceTaken(tx_hash) from None
                raise PaymentError(f"The chain refused the {what} transaction: {exc}",
                                   state=entry.state if entry is not None else "", tx_hashes=[tx_hash],
                                   task_uuid=task) from None
            except requests.exceptions.RequestException as exc:  # lost answer, reset, or a gateway's 5xx
                if attempt + 1 == BROADCAST_ATTEMPTS:
                    raise UnknownOutcomeError(
                        f"The chain node did not answer the broadcast of {what} transaction {tx_hash} "
                        f"({type(exc).__name__}); it may or may not have been received.",
                        url=self.rpc_url,
                        check=f"The payment is kept in the ledger: paying task {task} again resumes it with the "
                              "same signed transaction, which can only be mined once.",
                    ) from None
                time.sleep(0.1 * 2**attempt)

    def _receipt_or_none(self, tx_hash: str) -> Any:
        from web3.exceptions import TransactionNotFound

        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _wait(self, tx_hash: str) -> Any:
        from web3.exceptions import TimeExhausted

        try:
            return self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_latency  # type: ignore[arg-type]
            )
        except TimeExhausted:
            raise PaymentError(
                f"Transaction {tx_hash} is still pending after {self.receipt_timeout:.0f} s.", state="sent",
                tx_hashes=[tx_hash],
                hint="It was not sent again. Resume later (%swan ledger, or pay again: the ledger resumes it).",
            ) from None

    def _confirm(self, entry: LedgerEntry) -> PaymentReceipt:
        assert entry.tx_hash is not None
        receipt = self._wait(entry.tx_hash)
        if int(receipt["status"]) != 1:
            reason = replay_revert(self.w3, entry.tx_hash, int(receipt["blockNumber"]))
            self.ledger.update(entry.key, state="failed", error=f"reverted: {reason}",
                               block_number=int(receipt["blockNumber"]))
            raise PaymentError(f"The payment transaction {entry.tx_hash} reverted: {reason}.", state="failed",
                               tx_hashes=[h for h in (entry.approve_tx, entry.tx_hash) if h],
                               task_uuid=entry.task_uuid)
        problem = not_this_payment(self.w3, entry, receipt, self.address, str(self.contract.address),
                                   self._payment_call(entry)._encode_transaction_data())
        if problem:
            raise PaymentError(f"Transaction {entry.tx_hash} was mined but is not this payment: {problem}.",
                               state=entry.state, tx_hashes=[entry.tx_hash], task_uuid=entry.task_uuid,
                               hint="Nothing was sent again. Check the transaction in a block explorer and the "
                                    "ledger (%swan ledger) before paying by hand.")
        self.checkpoint("after_receipt")
        fee = int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice") or 0)
        updated = self.ledger.update(entry.key, state="confirmed" if entry.state != "validated" else "validated",
                                     block_number=int(receipt["blockNumber"]), gas_used=int(receipt["gasUsed"]),
                                     fee_wei=fee)
        return PaymentReceipt.from_entry(updated)

