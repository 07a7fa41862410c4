"""Bring up the sandbox chain: anvil + SwanToken + ClientPayment + hardware catalogue + a funded wallet.

Payment amount rule shared by the contract, the emulator and the client (see :mod:`.amounts`)::

    price_per_hour_wei = int(Decimal(price) * 10**18)              # truncating, never via float
    due                = price_per_hour_wei * duration_s // 3600   # integer floor (Solidity Math.mulDiv)

with a dust tolerance of ``due // 10**12`` wei on the allowance (the contract then pulls the allowance).

:func:`start_chain` on a **new** state directory:

1. starts anvil (:mod:`.anvil`) with ``--state STATE_DIR/anvil-state.json --state-interval 1``;
2. deploys ``SwanToken`` then ``ClientPayment(token)`` from anvil's development account 0 (the *operator*, whose
   key is public by construction and never written to disk by this module);
3. registers the hardware catalogue with ``batchSetHardware``;
4. creates a fresh random sandbox wallet (eth-account), writes its key to ``STATE_DIR/wallet.key`` (``0x`` hex
   and a newline, mode 0600), and funds it with 100 ETH and 1,000,000 SWAN;
5. records addresses and the catalogue in ``STATE_DIR/chain.json`` (mode 0600).

On a **restart** (``chain.json`` present and its contracts have code on the reloaded chain) it reuses the
contracts and the wallet, and only sends ``batchSetHardware`` for catalogue entries whose on-chain
``hardwareInfo`` differs from the requested catalogue (entries recorded earlier but no longer requested are
deactivated). If the recorded contracts have no code (the anvil state file was lost), everything is deployed
again; an existing ``wallet.key`` is kept and funded again. A state file that anvil refuses to load (cut short
by a crash) is renamed ``anvil-state.json.unreadable-<unix time>`` and a new chain is deployed the same way.

All transactions are signed locally and their receipts polled with ``poll_latency=0.02``; one lock per
account serialises nonce selection and sending inside this process (:func:`send_transaction`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from .._storage import write_private
from ..service import ChainInfo
from .amounts import price_to_wei
from .anvil import CHAIN_ID, STATE_FILE_NAME, AnvilProcess, ChainError, ChainStateError
from .artifacts import load_artifact

log = logging.getLogger(__name__)

#: anvil development account 0 (from the public ``test test ... junk`` mnemonic): the sandbox operator.
#: This key is published in every Foundry/Hardhat guide; it only ever controls the local sandbox chain.
OPERATOR_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OPERATOR_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

WALLET_KEY_FILE = "wallet.key"
CHAIN_FILE = "chain.json"
WALLET_ETH_WEI = 100 * 10**18
WALLET_SWAN_WEI = 1_000_000 * 10**18
RECEIPT_TIMEOUT = 30.0
RECEIPT_POLL_LATENCY = 0.02
_BATCH_SIZE = 40
_CHAIN_FILE_VERSION = 1


@dataclass(frozen=True)
class HardwarePrice:
    """One entry of the on-chain hardware catalogue (``ClientPayment.setHardware``)."""

    hardware_id: int
    name: str
    price_per_hour_wei: int
    active: bool = True

    @classmethod
    def from_price(cls, hardware_id: int, name: str, price: str | int | Decimal, active: bool = True) -> HardwarePrice:
        """Build an entry from a price in SWAN per hour given as a decimal string (``"0.48"``), int or Decimal."""
        return cls(hardware_id, name, price_to_wei(price), active)


class ChainProcess:
    """A running sandbox chain: the anvil process plus what services need to use it (:attr:`info`)."""

    def __init__(self, node: AnvilProcess, info: ChainInfo) -> None:
        self.node = node
        self.info = info

    def __repr__(self) -> str:
        return f"ChainProcess(pid={self.pid}, rpc_url={self.info.rpc_url!r}, running={self.node.running})"

    @property
    def pid(self) -> int:
        """Process id of anvil."""
        return self.node.pid

    @property
    def state_dir(self) -> Path:
        """The state directory (``anvil-state.json``, ``anvil.log``, ``chain.json``, ``wallet.key``)."""
        return self.node.state_dir

    def stop(self, timeout: float = 10.0) -> None:
        """Stop anvil with SIGTERM so that it dumps its state (SIGKILL after ``timeout`` seconds). Idempotent."""
        self.node.stop(timeout=timeout)

    def __enter__(self) -> ChainProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------- transactions

_locks_guard = threading.Lock()
_account_locks: dict[str, threading.Lock] = {}


@contextmanager
def account_lock(address: str) -> Iterator[None]:
    """Hold the per-process lock of ``address`` (held from nonce selection until the send returns)."""
    key = address.lower()
    with _locks_guard:
        lock = _account_locks.setdefault(key, threading.Lock())
    with lock:
        yield


def connect(rpc_url: str, timeout: float = 10.0, *, emulator: bool = False) -> Web3:
    """A web3 (7 or 8) client for a local JSON-RPC URL (``emulator``: an emulator's own client, whose requests the
    fault layer tells apart; see :mod:`swan_jupyter.sandbox.faults`)."""
    kwargs: dict[str, Any] = {"timeout": timeout}
    if emulator:
        from ..faults import CALLER_HEADER

        kwargs["headers"] = {**Web3.HTTPProvider.get_request_headers(), CALLER_HEADER: "emulator"}
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs=kwargs))


def _fee_fields(w3: Web3) -> dict[str, int]:
    base = int(w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
    tip = int(w3.eth.max_priority_fee)
    return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base + tip}


def send_transaction(
    w3: Web3,
    private_key: str,
    call: Any = None,
    *,
    to: str | None = None,
    value: int = 0,
    timeout: float = RECEIPT_TIMEOUT,
) -> Any:
    """Sign locally, send and wait for one transaction; return the receipt (status 1 guaranteed).

    ``call`` is a web3 contract function call or constructor (``contract.functions.f(...)``,
    ``Contract.constructor(...)``); without it a plain ETH transfer of ``value`` wei to ``to`` is sent.
    Gas is estimated by the node (a revert raises web3's ``ContractLogicError``/``ContractCustomError`` before
    anything is sent). A mined transaction with status 0 raises :class:`ChainError`.
    """
    account = Account.from_key(private_key)
    with account_lock(account.address):
        nonce = w3.eth.get_transaction_count(account.address, "pending")
        params: dict[str, Any] = {"from": account.address, "nonce": nonce, "chainId": w3.eth.chain_id}
        if value:
            params["value"] = value
        params.update(_fee_fields(w3))
        if call is not None:
            tx = call.build_transaction(params)
        else:
            if to is None:
                raise ValueError("a plain transfer needs `to`")
            tx = {**params, "to": Web3.to_checksum_address(to), "value": value, "gas": 21_000}
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=RECEIPT_POLL_LATENCY)
    if receipt["status"] != 1:
        raise ChainError(f"transaction {Web3.to_hex(tx_hash)} reverted (status 0)")
    return receipt


def token_contract(w3: Web3, address: str) -> Any:
    """The SwanToken at ``address``."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact("SwanToken")["abi"])


def payment_contract(w3: Web3, address: str) -> Any:
    """The ClientPayment at ``address``."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact("ClientPayment")["abi"])


def _deploy(w3: Web3, name: str, *args: Any) -> str:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = send_transaction(w3, OPERATOR_PRIVATE_KEY, factory.constructor(*args))
    address = receipt["contractAddress"]
    if not address:
        raise ChainError(f"deploying {name} produced no contract address")
    return str(Web3.to_checksum_address(address))


def faucet(info: ChainInfo, address: str, swan_wei: int, eth_wei: int) -> dict[str, str | None]:
    """Send ``eth_wei`` ETH and mint ``swan_wei`` SWAN to ``address`` from the operator account.

    Returns ``{"eth_tx": hash or None, "swan_tx": hash or None}`` (``None`` when the amount is 0). Amounts are
    integer wei; negative amounts or a malformed address raise :class:`ValueError`.
    """
    for label, amount in (("swan_wei", swan_wei), ("eth_wei", eth_wei)):
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError(f"{label} must be a non-negative integer number of wei")
    if not Web3.is_address(address):
        raise ValueError(f"not an address: {address!r}")
    target = Web3.to_checksum_address(address)
    w3 = connect(info.rpc_url)
    result: dict[str, str | None] = {"eth_tx": None, "swan_tx": None}
    if eth_wei:
        receipt = send_transaction(w3, info.operator_private_key, to=target, value=eth_wei)
        result["eth_tx"] = Web3.to_hex(receipt["transactionHash"])
    if swan_wei:
        token = token_contract(w3, info.swan_token)
        receipt = send_transaction(w3, info.operator_private_key, token.functions.mint(target, swan_wei))
        result["swan_tx"] = Web3.to_hex(receipt["transactionHash"])
    return result


# ---------------------------------------------------------------------------------------------- state files


def _read_record(state_dir: Path) -> dict[str, Any] | None:
    path = state_dir / CHAIN_FILE
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None
    if not isinstance(record, dict) or not record.get("swan_token") or not record.get("client_payment"):
        log.warning("ignoring incomplete %s", path)
        return None
    return record


def _load_wallet_key(state_dir: Path) -> str | None:
    """The sandbox wallet key from ``wallet.key``, or ``None`` if absent or invalid (never echoed)."""
    path = state_dir / WALLET_KEY_FILE
    if not path.exists():
        return None
    key = path.read_text(encoding="utf-8").strip()
    try:
        Account.from_key(key)
    except (ValueError, TypeError):
        log.warning("%s does not hold a valid private key; a new sandbox wallet is created", path)
        return None
    return key


def _new_wallet_key(state_dir: Path) -> str:
    account = Account.create()
    key = "0x" + bytes(account.key).hex()
    write_private(state_dir / WALLET_KEY_FILE, key + "\n")
    return key


def _has_code(w3: Web3, address: str) -> bool:
    try:
        return len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------- catalogue


def _normalise_catalogue(hardware: Sequence[Any]) -> list[HardwarePrice]:
    entries: list[HardwarePrice] = []
    seen: set[int] = set()
    for item in hardware:
        entry = HardwarePrice(int(item.hardware_id), str(item.name), int(item.price_per_hour_wei), bool(item.active))
        if entry.hardware_id < 0 or entry.price_per_hour_wei < 0:
            raise ValueError(f"hardware {entry.hardware_id}: id and price must be non-negative")
        if not entry.name:
            raise ValueError(f"hardware {entry.hardware_id}: empty name")
        if entry.hardware_id in seen:
            raise ValueError(f"hardware id {entry.hardware_id} appears twice in the catalogue")
        seen.add(entry.hardware_id)
        entries.append(entry)
    return entries


def sync_catalogue(
    w3: Web3, client_payment: str, hardware: Sequence[HardwarePrice], retired_ids: Sequence[int] = ()
) -> int:
    """Make ``hardwareInfo`` on chain match ``hardware``; deactivate ``retired_ids``. Returns entries written.

    Only entries that differ from the chain are sent (in ``batchSetHardware`` chunks), so an unchanged
    catalogue costs no transaction.
    """
    contract = payment_contract(w3, client_payment)
    wanted = {entry.hardware_id: entry for entry in hardware}
    changes: list[HardwarePrice] = []
    for entry in hardware:
        name, price, active = contract.functions.hardwareInfo(entry.hardware_id).call()
        if (name, int(price), bool(active)) != (entry.name, entry.price_per_hour_wei, entry.active):
            changes.append(entry)
    for hardware_id in retired_ids:
        if hardware_id in wanted:
            continue
        name, price, active = contract.functions.hardwareInfo(hardware_id).call()
        if name and active:
            changes.append(HardwarePrice(hardware_id, name, int(price), False))
    for start in range(0, len(changes), _BATCH_SIZE):
        chunk = changes[start : start + _BATCH_SIZE]
        call = contract.functions.batchSetHardware(
            [e.hardware_id for e in chunk], [e.name for e in chunk], [e.price_per_hour_wei for e in chunk],
            [e.active for e in chunk],
        )
        send_transaction(w3, OPERATOR_PRIVATE_KEY, call)
    return len(changes)


# ---------------------------------------------------------------------------------------------- bring-up


def _fund_wallet(w3: Web3, token_address: str, wallet: str) -> None:
    send_transaction(w3, OPERATOR_PRIVATE_KEY, to=wallet, value=WALLET_ETH_WEI)
    token = token_contract(w3, token_address)
    send_transaction(w3, OPERATOR_PRIVATE_KEY, token.functions.mint(wallet, WALLET_SWAN_WEI))


def start_chain(state_dir: Path, hardware: Sequence[HardwarePrice], *, timeout: float = 30.0) -> ChainProcess:
    """Start (or restart from ``state_dir``) the sandbox chain and return the running :class:`ChainProcess`.

    ``hardware`` is the catalogue to register on ``ClientPayment`` (objects with ``hardware_id``, ``name``,
    ``price_per_hour_wei``, ``active``). See the module docstring for what happens on a new or an existing
    state. On any failure anvil is stopped before the exception propagates (:class:`ChainError`,
    :class:`~.anvil.AnvilNotFoundError`, :class:`ValueError` for a bad catalogue, or a web3 exception).
    """
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    catalogue = _normalise_catalogue(hardware)
    record = _read_record(state_dir)
    node = _start_node(state_dir, timeout)
    try:
        w3 = connect(node.url)
        token_address, payment_address, deployed_block, wallet_key = _contracts(w3, state_dir, record, catalogue)
        wallet_address = str(Account.from_key(wallet_key).address)
        new_record = {
            "version": _CHAIN_FILE_VERSION, "chain_id": CHAIN_ID, "swan_token": token_address,
            "client_payment": payment_address, "operator_address": OPERATOR_ADDRESS, "wallet_address": wallet_address,
            "private_key_file": WALLET_KEY_FILE, "deployed_block": deployed_block,
            "hardware": [asdict(entry) for entry in catalogue],
        }
        write_private(state_dir / CHAIN_FILE, json.dumps(new_record, indent=2, sort_keys=True) + "\n")
        info = ChainInfo(rpc_url=node.url, chain_id=CHAIN_ID, swan_token=token_address,
                         client_payment=payment_address, wallet_address=wallet_address,
                         private_key_file=state_dir / WALLET_KEY_FILE, operator_address=OPERATOR_ADDRESS,
                         operator_private_key=OPERATOR_PRIVATE_KEY)
    except BaseException:
        node.stop(timeout=5.0)
        raise
    return ChainProcess(node, info)


def _start_node(state_dir: Path, timeout: float) -> AnvilProcess:
    """anvil on ``state_dir``; an unreadable state file (cut short by a crash) is kept aside for a new chain."""
    try:
        return AnvilProcess.start(state_dir, timeout=timeout)
    except ChainStateError:
        state_file = state_dir / STATE_FILE_NAME
        aside = state_file.with_name(f"{STATE_FILE_NAME}.unreadable-{int(time.time())}")
        log.warning("sandbox chain: %s cannot be loaded; moved to %s, deploying a new chain", state_file, aside)
        os.replace(state_file, aside)
        return AnvilProcess.start(state_dir, timeout=timeout)


def _contracts(w3: Web3, state_dir: Path, record: dict[str, Any] | None,
               catalogue: list[HardwarePrice]) -> tuple[str, str, int, str]:
    """The recorded contracts when the chain still has them (catalogue re-synced), else newly deployed ones;
    the sandbox wallet key, created and funded when needed. ``(token, payment, deployed block, wallet key)``."""
    wallet_key = _load_wallet_key(state_dir)
    reuse = (record is not None and int(record.get("chain_id", CHAIN_ID)) == CHAIN_ID
             and _has_code(w3, record["swan_token"]) and _has_code(w3, record["client_payment"]))
    if record is not None and reuse:
        token_address = str(Web3.to_checksum_address(record["swan_token"]))
        payment_address = str(Web3.to_checksum_address(record["client_payment"]))
        retired = [int(h["hardware_id"]) for h in record.get("hardware", []) if isinstance(h, dict)]
        written = sync_catalogue(w3, payment_address, catalogue, retired)
        if written:
            log.info("sandbox chain: %d hardware entries re-registered", written)
        recorded_wallet = str(record.get("wallet_address", "")).lower()
        if wallet_key is None or Account.from_key(wallet_key).address.lower() != recorded_wallet:
            wallet_key = wallet_key or _new_wallet_key(state_dir)
            _fund_wallet(w3, token_address, Account.from_key(wallet_key).address)
        return token_address, payment_address, int(record.get("deployed_block", 0)), wallet_key
    if record is not None:
        log.warning("sandbox chain: recorded contracts are missing from the chain state; deploying again")
    token_address = _deploy(w3, "SwanToken")
    payment_address = _deploy(w3, "ClientPayment", token_address)
    deployed_block = int(w3.eth.block_number)
    sync_catalogue(w3, payment_address, catalogue)
    wallet_key = wallet_key or _new_wallet_key(state_dir)
    _fund_wallet(w3, token_address, Account.from_key(wallet_key).address)
    return token_address, payment_address, deployed_block, wallet_key
