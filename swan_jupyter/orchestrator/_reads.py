"""Chain reads in one round trip: what a payment needs to know, asked as one JSON-RPC batch.

A notebook sits far from a chain node: every request costs a network round trip (20-100 ms). The reads a
payment needs (balances, allowance, fees, the pending nonce, ``amountPaid``, the gas the payment and its approve
would use) do not depend on each other, so they travel as one JSON-RPC batch (one HTTP request). A node that
refuses batches (some gateways do) gets the same calls one by one, at once, and is remembered as such.

Every answer is checked: a batch answered with the wrong number of items is not trusted (the calls are made
again one by one), and a value that is not a hex quantity is a :class:`~swan_jupyter.errors.ProtocolError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import PaymentError, ProtocolError
from ._chain import ChainSnapshot, Signer, concurrently, decode_revert, revert_hint
from .ledger import LedgerEntry

Call = tuple[str, list[Any]]

#: Providers (by id) that answered a batch with a single error: they are asked one call at a time.
_no_batches: set[int] = set()


@dataclass(frozen=True)
class Answer:
    """One call's answer: its ``result``, or the node's ``error`` object."""

    result: Any = None
    error: dict[str, Any] | None = None

    def quantity(self, what: str) -> int:
        """The result as an integer (a hex quantity, or a 32-byte ``eth_call`` word)."""
        if self.error is not None:
            raise PaymentError(f"The chain node refused to read {what}: {self.error.get('message')}.",
                               hint="Check the chain RPC (chain_rpc_url) and try again; nothing was signed.")
        text = self.result
        digits = text[2:] if isinstance(text, str) and text.startswith("0x") else None
        if digits is None or len(digits) > 64 or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise ProtocolError(f"The chain node answered {what} with {str(text)[:80]!r}, not a hex number.",
                                method="JSON-RPC", path=what)
        return int(digits, 16) if digits else 0


def batch(w3: Any, calls: dict[str, Call]) -> dict[str, Answer]:
    """Make ``calls`` (name -> JSON-RPC method and params) in one round trip; answers by name."""
    provider = w3.provider
    items = list(calls.items())
    make_batch = getattr(provider, "make_batch_request", None)
    if make_batch is not None and id(provider) not in _no_batches and len(items) > 1:
        responses = make_batch([(method, params) for _name, (method, params) in items])
        if isinstance(responses, list) and len(responses) == len(items):
            return {name: _answer(response) for (name, _call), response in zip(items, responses, strict=True)}
        _no_batches.add(id(provider))  # a single error for the whole batch: this node does not take batches
    def one(method: str, params: list[Any]) -> Callable[[], Any]:
        return lambda: provider.make_request(method, params)

    answers = concurrently({name: one(method, params) for name, (method, params) in items})
    return {name: _answer(response) for name, response in answers.items()}


def _answer(response: Any) -> Answer:
    if not isinstance(response, dict):
        return Answer(error={"message": f"an answer that is not a JSON-RPC response: {str(response)[:80]!r}"})
    error = response.get("error")
    return Answer(error=error if isinstance(error, dict) else {"message": str(error)}) if error is not None \
        else Answer(result=response.get("result"))


def snapshot(payer: Signer, entry: LedgerEntry | None = None) -> ChainSnapshot:
    """Balances, allowance, fees, the pending nonce and, for ``entry``, the contract's ``amountPaid`` and the gas
    its payment (and an approve of its amount) would use: one round trip."""
    address, token, contract = payer.address, payer.token, payer.contract
    calls: dict[str, Call] = {
        "swan": ("eth_call", [{"to": token.address, "data": token.functions.balanceOf(address)
                               ._encode_transaction_data()}, "latest"]),
        "gas": ("eth_getBalance", [address, "latest"]),
        "allowance": ("eth_call", [{"to": token.address, "data": token.functions.allowance(
            address, contract.address)._encode_transaction_data()}, "latest"]),
        "block": ("eth_getBlockByNumber", ["latest", False]),
        "tip": ("eth_maxPriorityFeePerGas", []),
        "nonce": ("eth_getTransactionCount", [address, "pending"]),
    }
    if entry is not None:
        calls["paid"] = ("eth_call", [{"to": contract.address, "data": contract.functions.amountPaid(
            entry.task_uuid)._encode_transaction_data()}, "latest"])
        calls["estimate"] = _estimate_call(payer, entry)
        calls["approve"] = ("eth_estimateGas", [{"from": address, "to": token.address, "data": token.functions.approve(
            contract.address, entry.amount_wei)._encode_transaction_data()}, "latest"])
    got = batch(payer.w3, calls)
    block = got["block"].result if isinstance(got["block"].result, dict) else {}
    base = Answer(block.get("baseFeePerGas")).quantity("the base fee") if block.get("baseFeePerGas") else \
        payer.w3.eth.gas_price
    tip = got["tip"].quantity("the priority fee") if got["tip"].error is None else payer.fees.min_tip_wei
    return ChainSnapshot(
        swan_wei=got["swan"].quantity("the SWAN balance"), gas_wei=got["gas"].quantity("the gas balance"),
        allowance_wei=got["allowance"].quantity("the allowance"), fees=payer.fees.fields(base, tip),
        nonce=got["nonce"].quantity("the nonce"),
        amount_paid_wei=got["paid"].quantity("amountPaid") if "paid" in got else None,
        payment_gas=_gas(payer, got.get("estimate")), payment_revert=_revert(got.get("estimate")),
        approve_gas=_gas(payer, got.get("approve")))


def _estimate_call(payer: Signer, entry: LedgerEntry) -> Call:
    data = payer._payment_call(entry)._encode_transaction_data()
    return "eth_estimateGas", [{"from": payer.address, "to": payer.contract.address, "data": data}, "latest"]


def _gas(payer: Signer, answer: Answer | None) -> int | None:
    """An estimate with the payer's margin, or None when the node refused it (the call would revert)."""
    if answer is None or answer.error is not None:
        return None
    return answer.quantity("a gas estimate") * payer.fees.gas_multiplier_pct // 100


def _revert(answer: Answer | None) -> Any:
    return None if answer is None or answer.error is None else (answer.error.get("data") or answer.error)


def refuse_revert(entry: LedgerEntry, revert: Any) -> PaymentError:
    """The refusal of a payment whose gas estimate reverted (nothing is signed)."""
    data = revert if isinstance(revert, str) else None
    reason = decode_revert(data) if data else str((revert or {}).get("message") or "unknown reason")
    return PaymentError(f"The payment would revert: {reason}.", state="intent", task_uuid=entry.task_uuid,
                        hint=revert_hint(data) if data else "Check the task's hardware, price and duration against "
                                                           "the catalogue.")


def receipt_and_estimate(payer: Signer, tx_hash: str, entry: LedgerEntry) -> tuple[dict[str, Any], Answer]:
    """Wait for the receipt of ``tx_hash`` (an approve) and, in the same round trips, estimate the payment's gas
    (which only succeeds once the approve is mined). Polls at the payer's pace, up to ``receipt_timeout``."""
    deadline = time.monotonic() + payer.receipt_timeout
    calls = {"receipt": ("eth_getTransactionReceipt", [tx_hash]), "estimate": _estimate_call(payer, entry)}
    while True:
        got = batch(payer.w3, calls)
        receipt = got["receipt"].result
        if isinstance(receipt, dict):
            return receipt, got["estimate"]
        if time.monotonic() >= deadline:
            raise PaymentError(f"Transaction {tx_hash} is still pending after {payer.receipt_timeout:.0f} s.",
                               state="approving", tx_hashes=[tx_hash],
                               hint="It was not sent again. Pay again later: the ledger resumes the payment.")
        time.sleep(payer.poll_latency)
