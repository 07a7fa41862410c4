"""What the Orchestrator emulator does on the chain: verify payment transactions and send refunds.

The real server's checks are not public; these are the emulator's, on the functions and events of the
ClientPayment ABI swan-sdk 0.1.4 ships (swan/contract/abi/ClientPayment.json). A transaction pays for a task
when:

1. its receipt exists and has ``status == 1`` (an unknown or pending transaction is refused and its hash is
   *not* consumed, so the client may retry once it is mined);
2. it was sent to the ClientPayment contract and calls ``submitPayment`` (creation) or ``renewPayment``
   (renewal), 4- or 3-argument form;
3. a ``PaymentSubmitted`` log of that contract carries the task's uuid, its ``hardware_id``, its price per hour
   in wei (the price fixed at creation) and the expected duration;
4. the payer (event ``payer`` and ``tx.from``) is the task's wallet, compared case-insensitively;
5. the ``Payment`` log shows the amount moved: the exact ``price * duration // 3600`` or, for float-rounding
   clients such as swan-sdk, at most ``due // 10**12`` wei less (the contract's dust rule).

The tx-hash reuse rule (one order per hash) is enforced by the store. All calls here are blocking web3 calls:
the routes run them in a worker thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.logs import DISCARD

from ..chain import amount_due, connect, dust_tolerance, payment_contract, send_transaction
from ..service import ChainInfo

log = logging.getLogger(__name__)

#: Function selectors accepted for each order type (4-argument form first).
SELECTORS: dict[str, tuple[str, ...]] = {
    "Creation": ("0xb6b525c6", "0xe94c8930"),
    "Renewal": ("0x794ebd6d", "0x396c889c"),
}
_FUNCTION = {"Creation": "submitPayment", "Renewal": "renewPayment"}


class PaymentRejected(Exception):
    """The transaction does not pay for this task; the message says why (and contains no secret)."""


class ChainUnavailable(Exception):
    """The chain could not be reached or refused an operator transaction."""


@dataclass(frozen=True)
class PaymentProof:
    """What a verified payment established."""

    tx_hash: str
    payer: str
    amount_wei: int
    due_wei: int
    block: int


def price_wei(price: Any) -> int:
    """Wei per hour of a price given as a decimal string (or number) of SWAN, exactly."""
    return int(Decimal(str(price)) * 10**18)


def normalise_tx_hash(tx_hash: str) -> str:
    """``0x`` + 64 lower-case hex digits, or :class:`PaymentRejected` naming the problem."""
    value = tx_hash.strip().lower()
    if not value.startswith("0x"):
        value = "0x" + value
    digits = value[2:]
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise PaymentRejected(f"tx_hash {tx_hash[:80]!r} is not a transaction hash (0x followed by 64 hex digits)")
    return value


class ChainPayments:
    """Payment checks and refunds against the sandbox chain (sync web3; call from a worker thread)."""

    def __init__(self, chain: ChainInfo) -> None:
        self.chain = chain
        self.w3 = connect(chain.rpc_url, emulator=True)
        self.contract = payment_contract(self.w3, chain.client_payment)
        self.address = chain.client_payment.lower()

    def contract_detail(self) -> dict[str, str]:
        """``contract_info.contract_detail`` with EIP-55 checksummed addresses."""
        client = Web3.to_checksum_address(self.chain.client_payment)
        return {"client_contract_address": client,
                # the legacy PaymentContract is not deployed in the sandbox; older clients get ClientPayment
                "payment_contract_address": client,
                "rpc_url": self.chain.rpc_url,
                "swan_token_contract_address": Web3.to_checksum_address(self.chain.swan_token)}

    def verify(self, tx_hash: str, task: dict[str, Any], order_type: str, duration: int) -> PaymentProof:
        """Check that ``tx_hash`` pays ``order_type`` (``Creation``/``Renewal``) of ``task`` for ``duration`` s."""
        tx_hash = normalise_tx_hash(tx_hash)
        try:
            try:
                tx = self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                raise PaymentRejected(f"transaction {tx_hash} is unknown or still pending on the chain") from None
            try:
                receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                raise PaymentRejected(f"transaction {tx_hash} is still pending; validate again once it is mined") \
                    from None
        except (OSError, Web3Exception, ValueError) as exc:
            raise ChainUnavailable(f"the chain could not be read ({type(exc).__name__})") from None
        if int(receipt["status"]) != 1:
            raise PaymentRejected(f"transaction {tx_hash} reverted on chain; it paid nothing")
        if str(receipt["to"] or "").lower() != self.address:
            raise PaymentRejected(f"transaction {tx_hash} was not sent to the ClientPayment contract "
                                  f"{Web3.to_checksum_address(self.address)}")
        selector = "0x" + bytes(tx["input"])[:4].hex()
        if selector not in SELECTORS[order_type]:
            raise PaymentRejected(f"transaction {tx_hash} does not call {_FUNCTION[order_type]} "
                                  f"(a {order_type.lower()} must be paid with {_FUNCTION[order_type]})")
        events = [e["args"] for e in self.contract.events.PaymentSubmitted().process_receipt(receipt, errors=DISCARD)
                  if str(e["address"]).lower() == self.address]
        if not events:
            raise PaymentRejected(f"transaction {tx_hash} emitted no PaymentSubmitted event")
        event = next((e for e in events if e["uuid"] == task["uuid"]), None)
        if event is None:
            others = ", ".join(sorted({str(e["uuid"]) for e in events}))
            raise PaymentRejected(f"transaction {tx_hash} pays for task {others}, not for {task['uuid']}")
        detail = task["task_detail"]
        expected_price = price_wei(detail["price_per_hour"])
        problems = []
        if int(event["hardwareId"]) != int(detail["hardware_id"]):
            problems.append(f"hardware id {event['hardwareId']} instead of {detail['hardware_id']}")
        if int(event["price"]) != expected_price:
            problems.append(f"price {event['price']} wei/h instead of {expected_price}")
        if int(event["duration"]) != int(duration):
            problems.append(f"duration {event['duration']} s instead of {duration} s")
        payer = str(event["payer"])
        wallet = str(task["refund_wallet"])
        if payer.lower() != wallet.lower() or str(tx["from"]).lower() != wallet.lower():
            problems.append(f"payer {payer} is not the task's wallet {wallet}")
        if problems:
            raise PaymentRejected(f"transaction {tx_hash} does not match task {task['uuid']}: " + "; ".join(problems))
        due = amount_due(expected_price, int(duration))
        moved = [int(e["args"]["amount"]) for e in self.contract.events.Payment().process_receipt(receipt,
                                                                                                   errors=DISCARD)
                 if str(e["address"]).lower() == self.address and e["args"]["uuid"] == task["uuid"]]
        amount = sum(moved)
        if not moved or amount > due or due - amount > dust_tolerance(due):
            raise PaymentRejected(f"transaction {tx_hash} moved {amount} wei; {due} wei are due")
        return PaymentProof(tx_hash, payer, amount, due, int(receipt["blockNumber"]))

    def refundable(self, task_uuid: str) -> int:
        """``amountPaid - refundedAmount`` of the task on chain (wei)."""
        try:
            paid = int(self.contract.functions.amountPaid(task_uuid).call())
            refunded = int(self.contract.functions.refundedAmount(task_uuid).call())
        except (OSError, Web3Exception, ValueError) as exc:
            raise ChainUnavailable(f"the chain could not be read ({type(exc).__name__})") from None
        return max(0, paid - refunded)

    def send_refund(self, task_uuid: str, wallet: str, amount_wei: int) -> tuple[str | None, int]:
        """Push up to ``amount_wei`` back to ``wallet`` with ``sendRefund`` from the operator account.

        The amount is capped by what the contract still holds for the task. Returns ``(tx_hash, amount)``;
        ``(None, 0)`` when nothing is due.
        """
        amount = min(amount_wei, self.refundable(task_uuid))
        if amount <= 0:
            return None, 0
        call = self.contract.functions.sendRefund(task_uuid, Web3.to_checksum_address(wallet), amount)
        try:
            receipt = send_transaction(self.w3, self.chain.operator_private_key, call)
        except Exception as exc:  # web3, connection and revert errors all mean "not refunded"
            log.warning("sendRefund for task %s failed: %s", task_uuid, type(exc).__name__)
            raise ChainUnavailable(f"the refund transaction failed ({type(exc).__name__})") from None
        return "0x" + bytes(receipt["transactionHash"]).hex(), amount
