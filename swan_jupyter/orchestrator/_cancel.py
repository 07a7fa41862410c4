"""Cancelling a payment that may already be on its way: what wallets do, and nothing that can pay it later.

A payment whose broadcast got no answer may sit in a node's pool, so marking its ledger row is not enough. A
cancel spends the payment's nonce with a 0-value transfer to the wallet itself at a higher fee (a replacement),
then waits until one of the two is mined, and only then says what happened:

- the cancel (or any other transaction of the wallet) took the nonce: **cancelled, nothing was paid**;
- the payment was mined first: **it had already gone through**, and the row is confirmed as the payment it is.

The order of writes is what makes it safe from any process or ledger sharing the wallet: the payment's signed
bytes are dropped from the row and the cancel's bytes stored (state ``cancelling``) *before* anything is
broadcast, so the project can never send the payment again, while the cancel can be re-sent until settled.
Everything here runs under the wallet's locks (:meth:`Payer.locked`).
"""

from __future__ import annotations

import contextlib
import time

from ..errors import PaymentError
from ._chain import NonceTaken, Signer
from .ledger import LedgerEntry

#: Gas of a plain transfer (the cancel: 0 value, to self, no data).
TRANSFER_GAS = 21_000
#: A replacement must pay at least this much more per gas than the transaction it replaces (geth asks 10%).
BUMP_NUMERATOR, BUMP_DENOMINATOR = 9, 8
#: States whose row holds nothing that could still be broadcast: cancelling them is only a ledger write.
NOTHING_SIGNED = ("intent", "approving", "failed", "replaced")


def cancel_locked(payer: Signer, entry: LedgerEntry, *, wait: bool = True) -> LedgerEntry:
    """Cancel ``entry`` (under ``payer.locked()``); returns its row as it ends: ``cancelled``, ``confirmed`` (it
    had gone through), ``failed`` (it reverted: nothing paid), or still ``cancelling`` when neither transaction
    was mined within the payer's ``receipt_timeout``."""
    row = payer.ledger.get(entry.key) or entry
    if row.state in ("confirmed", "validated", "cancelled"):
        return row
    if row.state in NOTHING_SIGNED or not row.tx_hash:
        return payer.ledger.update(row.key, state="cancelled", raw_tx=None,
                                   error="cancelled before any payment transaction was broadcast")
    if row.state != "cancelling":
        settled = _settled(payer, row)  # mined already, or its nonce used: nothing to replace
        if settled is not None:
            return settled
        row = _sign_cancel(payer, row)
    return finish_cancel(payer, row, wait=wait)


def finish_cancel(payer: Signer, row: LedgerEntry, *, wait: bool) -> LedgerEntry:
    """Settle a ``cancelling`` row: see which transaction took the nonce; until one did, (re-)broadcast the
    cancel (never the payment) and, with ``wait``, poll up to ``receipt_timeout`` seconds."""
    deadline = time.monotonic() + (payer.receipt_timeout if wait else 0.0)
    sent = False
    while True:
        settled = _settled(payer, row)
        if settled is not None:
            return settled
        if not sent:
            assert row.cancel_raw is not None
            with contextlib.suppress(NonceTaken):  # the nonce is used: the next look tells by which transaction
                payer._send_raw(row.cancel_raw, row.cancel_tx or "", row, "cancel")
            sent = True
            continue
        if time.monotonic() >= deadline:
            return row
        time.sleep(payer.poll_latency)


def _settled(payer: Signer, row: LedgerEntry) -> LedgerEntry | None:
    """The row once its nonce is used (confirmed if the payment won, else cancelled), or None while it is not."""
    assert row.tx_hash is not None and row.nonce is not None
    used = int(payer.w3.eth.get_transaction_count(payer.address, "latest"))  # first: then receipts are visible
    if payer._receipt_or_none(row.tx_hash) is not None:
        sent = payer.ledger.update(row.key, state="sent", cancel_raw=None,
                                   error="cancel came too late: the payment had already been mined"
                                   if row.state == "cancelling" else None)
        # a revert leaves the row failed (nothing paid); a mined transaction that is not this payment keeps saying so
        with contextlib.suppress(PaymentError):
            payer._confirm(sent)
        return payer.ledger.get(row.key)
    if row.nonce < used:
        how = (f"the cancel transaction {row.cancel_tx} was mined"
               if row.cancel_tx and payer._receipt_or_none(row.cancel_tx) is not None
               else "another transaction of the wallet used its nonce")
        return payer.ledger.update(row.key, state="cancelled", cancel_raw=None,
                                   error=f"cancelled: {how}; payment {row.tx_hash} can never be mined, nothing paid")
    return None


def _sign_cancel(payer: Signer, row: LedgerEntry) -> LedgerEntry:
    """Sign the replacement (0 value to self, the payment's nonce, fees above the payment's and today's), then
    record it and drop the payment's bytes, in one ledger write, before anything is broadcast."""
    from eth_account.typed_transactions import TypedTransaction
    from hexbytes import HexBytes

    assert row.raw_tx is not None and row.nonce is not None
    original = TypedTransaction.from_bytes(HexBytes(row.raw_tx)).as_dict()
    now = payer.fees.fields(payer._base_fee(), payer._suggested_tip())
    tip = max(int(now["maxPriorityFeePerGas"]),
              int(original.get("maxPriorityFeePerGas", 0)) * BUMP_NUMERATOR // BUMP_DENOMINATOR + 1)
    cap = max(int(now["maxFeePerGas"]), int(original.get("maxFeePerGas", 0)) * BUMP_NUMERATOR // BUMP_DENOMINATOR + 1,
              tip)
    signed = payer.account.sign_transaction({
        "type": 2, "chainId": payer.chain_id, "nonce": row.nonce, "to": payer.address, "value": 0,
        "gas": TRANSFER_GAS, "maxFeePerGas": cap, "maxPriorityFeePerGas": tip, "data": b""})
    return payer.ledger.update(row.key, state="cancelling", raw_tx=None, cancel_tx="0x" + bytes(signed.hash).hex(),
                               cancel_raw="0x" + bytes(signed.raw_transaction).hex(), error=None)


def still_cancelling(row: LedgerEntry) -> PaymentError:
    """The refusal to pay (or resume) a row whose cancel is not settled yet."""
    return PaymentError(
        f"The payment for task {row.task_uuid} is being cancelled: its cancel transaction {row.cancel_tx} and the "
        f"payment {row.tx_hash} are not mined yet; one of them will be, never both. Nothing new was signed.",
        state="cancelling", task_uuid=row.task_uuid, tx_hashes=[h for h in (row.tx_hash, row.cancel_tx) if h],
        hint=f"cancel_payment({row.task_uuid!r}) (or %swan terminate) again tells which one was mined.")
