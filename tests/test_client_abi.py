"""The client's ABI subset must be part of the contracts the sandbox deploys (and so of the public ABI)."""

from __future__ import annotations

import json

from swan_jupyter.orchestrator._abi import client_payment_abi, erc20_abi
from swan_jupyter.sandbox.chain import load_artifact


def _canon(entries: list[dict]) -> set[str]:
    return {json.dumps(e, sort_keys=True) for e in entries}


def test_client_payment_abi_is_a_subset_of_the_contract() -> None:
    assert _canon(client_payment_abi()) <= _canon(load_artifact("ClientPayment")["abi"])
    names = {e.get("name") for e in client_payment_abi()}
    assert {"submitPayment", "renewPayment", "amountPaid", "PaymentSubmitted", "Payment", "Refund"} <= names


def test_erc20_abi_is_a_subset_of_the_token() -> None:
    assert _canon(erc20_abi()) <= _canon(load_artifact("SwanToken")["abi"])
