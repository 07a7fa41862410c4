"""Talking to the chain for payments: node errors, EIP-1559 fees, snapshots of the wallet, revert reasons.

The helpers of :class:`~swan_jupyter.orchestrator.payer.Payer` that need no wallet: they turn what a node says
(an unreachable RPC, revert data) into this package's errors and words. web3 and eth-abi are imported lazily.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..errors import PaymentError, RequestTimeoutError, TransportError, ValidationError
from ._abi import ERROR_SELECTORS
from .ledger import LedgerEntry

_pool_guard = threading.Lock()


class NonceTaken(Exception):
    """The node refused a signed transaction's nonce as used, and this very transaction was never mined."""


class Signer(Protocol):
    """What the payment helpers (:mod:`._reads`, :mod:`._cancel`) use of a
    :class:`~swan_jupyter.orchestrator.payer.Payer`: its wallet, chain, ledger and the steps they share."""

    w3: Any
    account: Any
    address: Any
    contract: Any
    token: Any
    ledger: Any
    fees: FeePolicy
    receipt_timeout: float

    @property
    def chain_id(self) -> int: ...
    @property
    def poll_latency(self) -> float: ...
    def _payment_call(self, entry: LedgerEntry) -> Any: ...
    def _base_fee(self) -> int: ...
    def _suggested_tip(self) -> int: ...
    def _send_raw(self, raw: str | bytes, tx_hash: str, entry: LedgerEntry | None, what: str) -> None: ...
    def _receipt_or_none(self, tx_hash: str) -> Any: ...
    def _confirm(self, entry: LedgerEntry) -> Any: ...


@contextlib.contextmanager
def chain_errors(rpc_url: str, entry: LedgerEntry | None = None) -> Iterator[None]:
    """Turn a node that cannot be reached (refused, reset, timed out) into a :class:`TransportError`.

    During a payment the hint says where the payment stands: it is in the ledger, and paying again resumes it.
    """
    import requests

    try:
        yield
    except requests.exceptions.RequestException as exc:  # refused, reset, timed out, or an HTTP error status
        hint = (f"Check the chain's RPC URL ({rpc_url}) and that the node is up (sandbox: swan-jupyter sandbox "
                "status).")
        if entry is not None:
            hint += (f" The payment for task {entry.task_uuid} is kept in the ledger; paying again resumes it and "
                     "never pays twice.")
        kind = RequestTimeoutError if isinstance(exc, requests.exceptions.Timeout) else TransportError
        status = getattr(getattr(exc, "response", None), "status_code", None)
        what = f"answered HTTP {status}" if status else f"did not answer ({type(exc).__name__})"
        raise kind(f"The chain node {what}.", url=rpc_url, hint=hint) from None


@dataclass(frozen=True)
class FeePolicy:
    """EIP-1559 fees: ``tip = clamp(node's suggestion, min, max)``, ``maxFee = 2 * base + tip``, capped."""

    min_tip_wei: int = 0
    max_tip_wei: int = 2 * 10**9
    max_fee_cap_wei: int = 500 * 10**9
    gas_multiplier_pct: int = 120

    def fields(self, base_wei: int, suggested_tip_wei: int) -> dict[str, int]:
        """``maxFeePerGas`` and ``maxPriorityFeePerGas`` for a block's base fee and the node's suggested tip;
        :class:`~swan_jupyter.errors.PaymentError` when the max fee is above the cap (nothing is signed)."""
        tip = max(self.min_tip_wei, min(suggested_tip_wei, self.max_tip_wei))
        max_fee = 2 * base_wei + tip
        if max_fee > self.max_fee_cap_wei:
            raise PaymentError(
                f"Gas is too expensive right now: max fee {max_fee} wei/gas is above the cap "
                f"{self.max_fee_cap_wei} wei/gas.", state="intent",
                hint="Try again later or raise the fee cap.",
            )
        return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip}


@dataclass(frozen=True)
class ChainSnapshot:
    """What a payment needs to know about the chain, read at once before paying (all in wei)."""

    swan_wei: int
    gas_wei: int
    allowance_wei: int
    fees: dict[str, int]
    nonce: int
    amount_paid_wei: int | None = None  # the contract's amountPaid of the task being paid
    payment_gas: int | None = None  # the payment's gas limit (estimate with margin); None when it would revert
    payment_revert: Any = None  # why the payment's estimate failed (revert data or the node's error)
    approve_gas: int | None = None  # an approve of the payment's amount


_pool: ThreadPoolExecutor | None = None


def concurrently(jobs: dict[str, Callable[[], int]]) -> dict[str, int]:
    """Run independent reads in a small shared thread pool; the first error is raised."""
    global _pool
    with _pool_guard:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="swan-jupyter-rpc")
    futures = {name: _pool.submit(job) for name, job in jobs.items()}
    return {name: future.result() for name, future in futures.items()}


def session_for(rpc_url: str) -> Any:
    """A requests session for the RPC; for a loopback node it skips the per-request proxy lookup in the
    environment (proxies never apply to 127.0.0.1, and the lookup costs about 1 ms per call)."""
    import requests

    session = requests.Session()
    if (urlsplit(rpc_url).hostname or "") in ("127.0.0.1", "localhost", "::1"):
        session.trust_env = False
    return session


def decode_revert(data: Any) -> str:
    """Human text for revert data (``Error(string)``, ``ERC20InsufficientAllowance``, ...)."""
    from eth_abi import decode

    text = data if isinstance(data, str) else ("0x" + bytes(data).hex() if data else "")
    selector, body = text[:10], bytes.fromhex(text[10:]) if len(text) > 10 else b""
    name = ERROR_SELECTORS.get(selector)
    if name is None:
        return f"custom error {selector}"
    types = name[name.index("(") + 1:-1].split(",") if not name.endswith("()") else []
    try:
        values = decode(types, body)
    except Exception:
        return name
    if name.startswith("Error("):
        return str(values[0])
    if name.startswith("ERC20InsufficientAllowance"):
        return f"allowance too low ({values[1]} wei approved, {values[2]} wei needed)"
    if name.startswith("ERC20InsufficientBalance"):
        return f"SWAN balance too low ({values[1]} wei held, {values[2]} wei needed)"
    return f"{name.split('(')[0]}{tuple(values)}"


def replay_revert(w3: Any, tx_hash: str, block: int) -> str:
    """Why a mined transaction reverted: replay it with ``eth_call`` on the state before its block, then (for
    a transaction that lost a race inside its own block) on the state after it."""
    from web3.exceptions import ContractCustomError, ContractLogicError

    tx = w3.eth.get_transaction(tx_hash)
    call = {"from": tx["from"], "to": tx["to"], "data": tx["input"]}
    for at in (block - 1, block):
        try:
            w3.eth.call(call, at)
        except ContractCustomError as exc:
            return decode_revert(exc.data)
        except ContractLogicError as exc:
            return str(exc.message)
        except Exception as exc:
            return f"unknown ({type(exc).__name__})"
    return "unknown (the replay did not revert)"


def revert_hint(data: Any) -> str:
    text = data if isinstance(data, str) else ""
    if text.startswith("0xe450d38c"):
        return "Top up the wallet's SWAN balance."
    if text.startswith("0xfb8f41b2"):
        return "Approve the ClientPayment contract for at least the amount due."
    return "Check the task's hardware, price and duration."


def check_wallet(account: Any, wallet_address: str | None) -> None:
    """The key must belong to the task's wallet (compared without regard to letter case)."""
    if wallet_address and account.address.lower() != wallet_address.lower():
        raise ValidationError(
            f"The paying key belongs to {account.address}, but the task's wallet is {wallet_address}.",
            hint="Pay with the wallet's own key (SWAN_PRIVATE_KEY_FILE), or create the task with the key's address.",
        )


def not_this_payment(w3: Any, entry: LedgerEntry, receipt: Any, wallet: str, contract: str, expected: str) -> str:
    """Why a successful receipt is not the payment of ``entry`` ("" when it is).

    The proof is the transaction itself, not an event: it was sent by ``wallet`` to the payment ``contract``,
    with the ``expected`` calldata (selector and arguments: task, hardware, price per hour, duration). Events
    differ between contract versions (the ClientPayment ABI has both ``PaymentSubmitted`` and ``Payment``, and the
    real contract's source is not public), so none is required. The calldata is read from the row's own signed
    bytes when their hash is the receipt's transaction (no request); otherwise the node is asked for it.
    """
    if str(receipt.get("to") or "").lower() != contract.lower():
        return f"it was sent to {receipt.get('to')}, not the payment contract {contract}"
    sender = receipt.get("from")
    if sender is not None and str(sender).lower() != wallet.lower():
        return f"it was sent by {sender}, not by {wallet}"
    got = signed_calldata(entry)
    if got is None:  # no such bytes (an older or damaged row): ask the node for the transaction
        tx = w3.eth.get_transaction(entry.tx_hash)
        if str(tx["from"]).lower() != wallet.lower():
            return f"it was sent by {tx['from']}, not by {wallet}"
        data = tx["input"]
        got = ("0x" + bytes(data).hex()) if not isinstance(data, str) else data
    if got.lower() != str(expected).lower():
        return "its calldata differs from the payment that was signed (task, hardware, price or duration)"
    return ""


def signed_calldata(entry: LedgerEntry) -> str | None:
    """The calldata of the row's stored signed transaction, if its hash is the row's ``tx_hash`` (the hash is the
    keccak of those very bytes, so what was mined under that hash is exactly them); else None."""
    if not entry.raw_tx or not entry.tx_hash:
        return None
    from eth_account.typed_transactions import TypedTransaction
    from eth_utils import keccak
    from hexbytes import HexBytes

    raw = HexBytes(entry.raw_tx)
    if "0x" + keccak(raw).hex() != entry.tx_hash.lower():
        return None
    data = TypedTransaction.from_bytes(raw).as_dict().get("data", b"")
    return data if isinstance(data, str) else "0x" + bytes(data).hex()
