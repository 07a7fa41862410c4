"""The sandbox's local EVM chain: anvil with the SWAN token and the ClientPayment contract.

Sandbox-only: the client core never imports this package (only ``swan-jupyter sandbox install-chain`` does).

Payment amount rule, identical in the contract (``ClientPayment.computeAmount``), the emulator and the client::

    price_per_hour_wei = int(Decimal(price_string) * 10**18)       # truncating; never via float
    due                = price_per_hour_wei * duration_seconds // 3600   # integer floor

The contract pulls ``due`` with ``SafeERC20.safeTransferFrom``; if the allowance is short of ``due`` by at most
``due // 10**12`` wei (float-rounding clients such as swan-sdk), it pulls the allowance instead. See
:mod:`.amounts`.

Typical use (what the sandbox host does)::

    from swan_jupyter.sandbox.chain import HardwarePrice, start_chain

    chain = start_chain(state_dir, [HardwarePrice.from_price(0, "C1ae.small", "0.48"),
                                    HardwarePrice(1, "C1ae.medium", 10**18, True)])
    chain.info.rpc_url, chain.info.client_payment, chain.info.wallet_address
    chain.stop()
"""

from __future__ import annotations

from .amounts import amount_due, dust_tolerance, price_to_wei, pulled_amount
from .anvil import AnvilNotFoundError, AnvilProcess, ChainError, ChainStateError, find_anvil
from .artifacts import load_artifact
from .deploy import (
    OPERATOR_ADDRESS,
    WALLET_ETH_WEI,
    WALLET_SWAN_WEI,
    ChainProcess,
    HardwarePrice,
    account_lock,
    connect,
    faucet,
    payment_contract,
    send_transaction,
    start_chain,
    sync_catalogue,
    token_contract,
)

__all__ = [
    "OPERATOR_ADDRESS",
    "WALLET_ETH_WEI",
    "WALLET_SWAN_WEI",
    "AnvilNotFoundError",
    "AnvilProcess",
    "ChainError",
    "ChainProcess",
    "ChainStateError",
    "HardwarePrice",
    "account_lock",
    "amount_due",
    "connect",
    "dust_tolerance",
    "faucet",
    "find_anvil",
    "load_artifact",
    "payment_contract",
    "price_to_wei",
    "pulled_amount",
    "send_transaction",
    "start_chain",
    "sync_catalogue",
    "token_contract",
]
