"""What the Orchestrator emulator does on the chain: verify payment transactions, send refunds.

Verification follows orchestrator.md §9.8: the receipt exists and succeeded, it went to the ClientPayment
contract, its ``PaymentSubmitted`` event matches the task (uuid, hardware, price, duration), the payer is the
task's wallet, the function was ``submitPayment`` for a creation and ``renewPayment`` for a renewal. Reuse of a
tx hash is checked by the store (one config order per hash).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..chain import connect, payment_contract, send_transaction
from ..service import ChainInfo

SELECTORS = {"Creation": ("0xb6b525c6", "0xe94c8930"), "Renewal": ("0x794ebd6d", "0x396c889c")}


class PaymentRejected(Exception):
    """The transaction does not pay for this task; the message says why."""


class ChainOps:
    """Chain access for the emulator (sync web3; the app calls it in a worker thread)."""

    def __init__(self, chain: ChainInfo) -> None:
        self.chain = chain
        self.w3 = connect(chain.rpc_url)
        self.contract = payment_contract(self.w3, chain.client_payment)

    def verify(self, tx_hash: str, task: dict[str, Any], order_type: str, duration: int) -> dict[str, Any]:
        """Check ``tx_hash`` pays ``task``; returns ``{payer, amount_wei, block}`` or raises PaymentRejected."""
        from web3.exceptions import TransactionNotFound
        from web3.logs import DISCARD

        if not (isinstance(tx_hash, str) and tx_hash.startswith("0x") and len(tx_hash) == 66):
            raise PaymentRejected(f"tx_hash {tx_hash!r} is not a transaction hash (0x + 64 hex digits)")
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            tx = self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            raise PaymentRejected(f"transaction {tx_hash} is unknown or still pending on the chain") from None
        except ValueError as exc:
            raise PaymentRejected(f"transaction {tx_hash} could not be read: {exc}") from None
        if int(receipt["status"]) != 1:
            raise PaymentRejected(f"transaction {tx_hash} reverted on chain; it paid nothing")
        if str(receipt["to"] or "").lower() != self.chain.client_payment.lower():
            raise PaymentRejected(f"transaction {tx_hash} was not sent to the ClientPayment contract "
                                  f"{self.chain.client_payment}")
        selector = "0x" + bytes(tx["input"])[:4].hex()
        if selector not in SELECTORS[order_type]:
            wanted = "submitPayment" if order_type == "Creation" else "renewPayment"
            raise PaymentRejected(f"transaction {tx_hash} does not call {wanted}")
        detail = task["task_detail"]
        price_wei = int(Decimal(str(detail["price_per_hour"])) * 10**18)
        events = [e for e in self.contract.events.PaymentSubmitted().process_receipt(receipt, errors=DISCARD)
                  if str(e["address"]).lower() == self.chain.client_payment.lower()]
        if not events:
            raise PaymentRejected(f"transaction {tx_hash} emitted no PaymentSubmitted event")
        event = next((e["args"] for e in events if e["args"]["uuid"] == task["uuid"]), None)
        if event is None:
            raise PaymentRejected(f"transaction {tx_hash} pays for another task, not {task['uuid']}")
        problems = []
        if int(event["hardwareId"]) != int(detail["hardware_id"]):
            problems.append(f"hardware {event['hardwareId']} instead of {detail['hardware_id']}")
        if int(event["price"]) != price_wei:
            problems.append(f"price {event['price']} wei/h instead of {price_wei}")
        if int(event["duration"]) != int(duration):
            problems.append(f"duration {event['duration']} s instead of {duration}")
        if str(event["payer"]).lower() != str(task["refund_wallet"]).lower():
            problems.append(f"payer {event['payer']} is not the task's wallet {task['refund_wallet']}")
        if problems:
            raise PaymentRejected(f"transaction {tx_hash} does not match the task: " + "; ".join(problems))
        paid = [e["args"] for e in self.contract.events.Payment().process_receipt(receipt, errors=DISCARD)
                if e["args"]["uuid"] == task["uuid"]]
        amount = int(paid[0]["amount"]) if paid else 0
        return {"payer": str(event["payer"]), "amount_wei": amount, "block": int(receipt["blockNumber"])}

    def refund(self, task_uuid: str, wallet: str, amount_wei: int) -> str | None:
        """Push a refund with ``sendRefund`` from the operator account; returns the tx hash (None if 0)."""
        if amount_wei <= 0:
            return None
        paid = int(self.contract.functions.amountPaid(task_uuid).call())
        refunded = int(self.contract.functions.refundedAmount(task_uuid).call())
        amount = min(amount_wei, paid - refunded)
        if amount <= 0:
            return None
        receipt = send_transaction(self.w3, self.chain.operator_private_key,
                                   self.contract.functions.sendRefund(task_uuid, self.w3.to_checksum_address(wallet),
                                                                      amount))
        return "0x" + bytes(receipt["transactionHash"]).hex()
