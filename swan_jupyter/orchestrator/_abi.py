"""The public ABI subsets the client uses (loaded from the JSON files next to this module).

* :func:`client_payment_abi`: ClientPayment's 4-argument ``submitPayment``/``renewPayment`` (and the 3-argument
  forms), ``amountPaid``, ``refundedAmount``, ``hardwareInfo``, ``paymentToken``, the ``PaymentSubmitted``,
  ``Payment`` and ``Refund`` events, and OpenZeppelin's ERC-20 errors so reverts decode.
* :func:`erc20_abi`: ``allowance``, ``approve``, ``balanceOf``, ``decimals``, ``symbol`` and the ERC-20 errors.

A test checks that the sandbox's compiled contracts contain every entry, so the two cannot drift.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent


@cache
def client_payment_abi() -> list[dict[str, Any]]:
    """ClientPayment ABI subset."""
    return list(json.loads((_HERE / "client_payment_abi.json").read_text()))


@cache
def erc20_abi() -> list[dict[str, Any]]:
    """ERC-20 ABI subset."""
    return list(json.loads((_HERE / "erc20_abi.json").read_text()))


ERROR_SELECTORS = {
    "0x08c379a0": "Error(string)",
    "0x4e487b71": "Panic(uint256)",
    "0xfb8f41b2": "ERC20InsufficientAllowance(address,uint256,uint256)",
    "0xe450d38c": "ERC20InsufficientBalance(address,uint256,uint256)",
}
