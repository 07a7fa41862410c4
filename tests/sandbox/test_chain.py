"""Integration tests of the sandbox chain on a real anvil node (started once per module, stopped in teardown).

Every transaction goes to a local anvil on 127.0.0.1; each test uses its own task uuids so the tests do not
depend on their order.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD

from swan_jupyter.sandbox.chain import (
    OPERATOR_ADDRESS,
    WALLET_ETH_WEI,
    WALLET_SWAN_WEI,
    AnvilNotFoundError,
    ChainProcess,
    HardwarePrice,
    amount_due,
    connect,
    dust_tolerance,
    faucet,
    find_anvil,
    load_artifact,
    payment_contract,
    price_to_wei,
    pulled_amount,
    send_transaction,
    start_chain,
    token_contract,
)

pytestmark = pytest.mark.chain  # every test here runs anvil (fixtures or its own start_chain)

CATALOGUE = [
    HardwarePrice.from_price(0, "C1ae.small", "0.48"),
    HardwarePrice.from_price(1, "C1ae.medium", "1.0"),
    HardwarePrice.from_price(2, "C1ae.free", "0.0"),
    HardwarePrice.from_price(12, "G1ae.small", "10.0"),
    HardwarePrice.from_price(13, "R1ae.retired", "22.0", active=False),
]
PRICE_048 = 480_000_000_000_000_000


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainProcess]:
    process = start_chain(tmp_path_factory.mktemp("chain"), CATALOGUE)
    try:
        yield process
    finally:
        process.stop()
    assert not process.node.running


@pytest.fixture(scope="module")
def w3(chain: ChainProcess) -> Web3:
    return connect(chain.info.rpc_url)


@pytest.fixture(scope="module")
def wallet_key(chain: ChainProcess) -> str:
    return chain.info.private_key_file.read_text(encoding="utf-8").strip()


@pytest.fixture(scope="module")
def token(w3: Web3, chain: ChainProcess) -> Any:
    return token_contract(w3, chain.info.swan_token)


@pytest.fixture(scope="module")
def payment(w3: Web3, chain: ChainProcess) -> Any:
    return payment_contract(w3, chain.info.client_payment)


def _task() -> str:
    return str(uuid.uuid4())


def _decode_custom_error(data: Any) -> tuple[str, tuple[Any, ...]]:
    """Decode ``ContractCustomError.data`` by selector from the ClientPayment and SwanToken ABIs."""
    raw = data if isinstance(data, str) else str(data)
    payload = bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)
    for name in ("ClientPayment", "SwanToken"):
        for item in load_artifact(name)["abi"]:
            if item["type"] != "error":
                continue
            types = [i["type"] for i in item["inputs"]]
            signature = f"{item['name']}({','.join(types)})"
            if keccak(text=signature)[:4] == payload[:4]:
                return item["name"], tuple(abi_decode(types, payload[4:]))
    raise AssertionError(f"unknown custom error {raw}")


def _new_funded_account(chain: ChainProcess, swan_wei: int) -> Any:
    account = Account.create()
    faucet(chain.info, account.address, swan_wei, 10**18)
    return account


def _approve_and_pay(
    w3: Web3, key: str, token: Any, payment: Any, task: str, hw: int, price: int, duration: int
) -> Any:
    send_transaction(w3, key, token.functions.approve(payment.address, amount_due(price, duration)))
    return send_transaction(w3, key, payment.functions.submitPayment(task, hw, price, duration))


# ------------------------------------------------------------------------------------------------ bring-up


def test_deploy_records_contracts_and_private_files(chain: ChainProcess, w3: Web3, token: Any, payment: Any) -> None:
    info = chain.info
    assert info.chain_id == 31337 == w3.eth.chain_id
    assert info.rpc_url.startswith("http://127.0.0.1:")
    assert len(w3.eth.get_code(Web3.to_checksum_address(info.swan_token))) > 0
    assert len(w3.eth.get_code(Web3.to_checksum_address(info.client_payment))) > 0
    assert Web3.to_checksum_address(info.swan_token) == info.swan_token
    assert (token.functions.name().call(), token.functions.symbol().call(), token.functions.decimals().call()) == (
        "SWAN Token", "SWAN", 18)
    assert token.functions.owner().call() == OPERATOR_ADDRESS == info.operator_address
    assert payment.functions.owner().call() == OPERATOR_ADDRESS
    assert payment.functions.paymentToken().call() == info.swan_token
    assert payment.functions.isAdmin(OPERATOR_ADDRESS).call() is True
    assert payment.functions.isAdmin(info.wallet_address).call() is False
    assert Account.from_key(info.operator_private_key).address == OPERATOR_ADDRESS
    # private files: mode 0600, the key matches the wallet, secrets never in reprs
    for name in ("wallet.key", "chain.json"):
        assert os.stat(chain.state_dir / name).st_mode & 0o777 == 0o600
    key = info.private_key_file.read_text(encoding="utf-8").strip()
    assert Account.from_key(key).address == info.wallet_address
    record = json.loads((chain.state_dir / "chain.json").read_text(encoding="utf-8"))
    assert record["swan_token"] == info.swan_token and record["client_payment"] == info.client_payment
    assert record["wallet_address"] == info.wallet_address
    for text in (repr(info), repr(chain), json.dumps(record)):
        assert key[2:] not in text and info.operator_private_key[2:] not in text
    assert chain.pid == chain.node.pid > 0
    assert (chain.state_dir / "anvil.log").exists()


def test_catalogue_registered(payment: Any) -> None:
    for entry in CATALOGUE:
        assert payment.functions.hardwareInfo(entry.hardware_id).call() == [
            entry.name, entry.price_per_hour_wei, entry.active]
        assert payment.functions.isHardwareRegistered(entry.hardware_id).call() is True
    assert payment.functions.hardwareInfo(99).call() == ["", 0, False]
    assert CATALOGUE[0].price_per_hour_wei == PRICE_048


def test_wallet_funded(chain: ChainProcess, w3: Web3, token: Any) -> None:
    # module-scoped chain: other tests spend from the wallet, so compare with what it started with on a fresh state
    fresh = start_chain(chain.state_dir.parent / "fresh-wallet", CATALOGUE[:1])
    try:
        w3_fresh = connect(fresh.info.rpc_url)
        eth = w3_fresh.eth.get_balance(Web3.to_checksum_address(fresh.info.wallet_address))
        assert eth == WALLET_ETH_WEI == 100 * 10**18
        balance = token_contract(w3_fresh, fresh.info.swan_token).functions.balanceOf(fresh.info.wallet_address)
        assert balance.call() == WALLET_SWAN_WEI == 1_000_000 * 10**18
        assert fresh.info.wallet_address != chain.info.wallet_address  # a fresh random key per new state
    finally:
        fresh.stop()


# ------------------------------------------------------------------------------------------------ payments


def test_approve_and_submit_payment(chain: ChainProcess, w3: Web3, wallet_key: str, token: Any, payment: Any) -> None:
    task = _task()
    wallet = chain.info.wallet_address
    due = amount_due(PRICE_048, 5400)
    # what swan-sdk 0.1.4 approves too: to_wei(0.48 * 5400 / 3600) (swan/contract/swan_contract.py, submit_payment)
    assert due == 720_000_000_000_000_000
    assert payment.functions.computeAmount(PRICE_048, 5400).call() == due
    before_wallet = token.functions.balanceOf(wallet).call()
    before_contract = token.functions.balanceOf(payment.address).call()

    approve = send_transaction(w3, wallet_key, token.functions.approve(payment.address, due))
    receipt = send_transaction(w3, wallet_key, payment.functions.submitPayment(task, 0, PRICE_048, 5400))

    assert receipt["to"] == payment.address
    (submitted,) = payment.events.PaymentSubmitted().process_receipt(receipt, errors=DISCARD)
    assert dict(submitted["args"]) == {
        "payer": wallet, "uuid": task, "hardwareId": 0, "price": PRICE_048, "duration": 5400, "snapshotId": 0}
    assert submitted["address"] == payment.address
    (paid,) = payment.events.Payment().process_receipt(receipt, errors=DISCARD)
    assert dict(paid["args"]) == {"payer": wallet, "uuid": task, "amount": due}
    (transfer,) = token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert dict(transfer["args"]) == {"from": wallet, "to": payment.address, "value": due}
    assert payment.functions.amountPaid(task).call() == due
    assert payment.functions.isTaskPaid(task).call() is True
    assert payment.functions.taskPayer(task).call() == wallet
    assert payment.functions.refundedAmount(task).call() == 0
    assert token.functions.balanceOf(wallet).call() == before_wallet - due
    assert token.functions.balanceOf(payment.address).call() == before_contract + due
    assert token.functions.allowance(wallet, payment.address).call() == 0
    # gas (OpenZeppelin 5 + optimizer 200): first approve and first payment of this task
    assert 40_000 < approve["gasUsed"] < 60_000, f"approve used {approve['gasUsed']} gas"
    assert 80_000 < receipt["gasUsed"] < 200_000, f"submitPayment used {receipt['gasUsed']} gas"


def test_three_argument_forms_use_registered_price(
    chain: ChainProcess, w3: Web3, wallet_key: str, token: Any, payment: Any
) -> None:
    task = _task()
    due = amount_due(10**18, 3600)
    send_transaction(w3, wallet_key, token.functions.approve(payment.address, 3 * due))
    receipt = send_transaction(w3, wallet_key, payment.functions.submitPayment(task, 1, 3600))
    (submitted,) = payment.events.PaymentSubmitted().process_receipt(receipt, errors=DISCARD)
    assert submitted["args"]["price"] == 10**18
    receipt = send_transaction(w3, wallet_key, payment.functions.renewPayment(task, 1, 7200))
    (paid,) = payment.events.Payment().process_receipt(receipt, errors=DISCARD)
    assert paid["args"]["amount"] == 2 * due
    assert payment.functions.amountPaid(task).call() == 3 * due


def test_renew_payment_adds(chain: ChainProcess, w3: Web3, wallet_key: str, token: Any, payment: Any) -> None:
    task = _task()
    _approve_and_pay(w3, wallet_key, token, payment, task, 0, PRICE_048, 5400)
    renew_due = amount_due(PRICE_048, 7200)
    assert renew_due == 960_000_000_000_000_000
    send_transaction(w3, wallet_key, token.functions.approve(payment.address, renew_due))
    receipt = send_transaction(w3, wallet_key, payment.functions.renewPayment(task, 0, PRICE_048, 7200))
    (submitted,) = payment.events.PaymentSubmitted().process_receipt(receipt, errors=DISCARD)
    assert (submitted["args"]["uuid"], submitted["args"]["duration"]) == (task, 7200)
    assert payment.functions.amountPaid(task).call() == 720_000_000_000_000_000 + renew_due


def test_free_hardware_pays_zero(chain: ChainProcess, w3: Web3, wallet_key: str, payment: Any) -> None:
    task = _task()
    receipt = send_transaction(w3, wallet_key, payment.functions.submitPayment(task, 2, 0, 3600))
    (paid,) = payment.events.Payment().process_receipt(receipt, errors=DISCARD)
    assert paid["args"]["amount"] == 0
    assert payment.functions.isTaskPaid(task).call() is True
    with pytest.raises(ContractLogicError, match="task already paid"):
        send_transaction(w3, wallet_key, payment.functions.submitPayment(task, 2, 0, 3600))


def test_dust_tolerance_pulls_the_allowance(chain: ChainProcess, w3: Web3, wallet_key: str, token: Any,
                                            payment: Any) -> None:
    # swan-sdk's float path: "0.35" x 5400 s approves 524999999999999900, 100 wei below the exact amount
    price = price_to_wei("0.35")
    send_transaction(w3, chain.info.operator_private_key, payment.functions.setHardware(40, "D1.dust", price, True))
    task = _task()
    due = amount_due(price, 5400)
    assert due == 525_000_000_000_000_000
    approved = 524_999_999_999_999_900
    assert due - approved <= dust_tolerance(due)
    assert pulled_amount(due, approved) == approved
    send_transaction(w3, wallet_key, token.functions.approve(payment.address, approved))
    receipt = send_transaction(w3, wallet_key, payment.functions.submitPayment(task, 40, price, 5400))
    (paid,) = payment.events.Payment().process_receipt(receipt, errors=DISCARD)
    assert paid["args"]["amount"] == approved
    assert payment.functions.amountPaid(task).call() == approved


# ------------------------------------------------------------------------------------------------ reverts


def test_short_allowance_reverts_with_erc20_custom_error(
    chain: ChainProcess, w3: Web3, wallet_key: str, token: Any, payment: Any
) -> None:
    task = _task()
    due = amount_due(PRICE_048, 3600)
    short = due // 2
    send_transaction(w3, wallet_key, token.functions.approve(payment.address, short))
    with pytest.raises(ContractCustomError) as excinfo:
        send_transaction(w3, wallet_key, payment.functions.submitPayment(task, 0, PRICE_048, 3600))
    assert str(excinfo.value.data).startswith("0xfb8f41b2")
    name, args = _decode_custom_error(excinfo.value.data)
    assert name == "ERC20InsufficientAllowance"
    assert (Web3.to_checksum_address(args[0]), args[1], args[2]) == (payment.address, short, due)
    assert payment.functions.isTaskPaid(task).call() is False
    assert pulled_amount(due, short) is None


def test_short_balance_reverts_with_erc20_custom_error(chain: ChainProcess, w3: Web3, token: Any,
                                                       payment: Any) -> None:
    account = _new_funded_account(chain, swan_wei=10**17)
    key = "0x" + bytes(account.key).hex()
    due = amount_due(PRICE_048, 3600)
    send_transaction(w3, key, token.functions.approve(payment.address, due))
    with pytest.raises(ContractCustomError) as excinfo:
        send_transaction(w3, key, payment.functions.submitPayment(_task(), 0, PRICE_048, 3600))
    name, args = _decode_custom_error(excinfo.value.data)
    assert name == "ERC20InsufficientBalance"
    assert (Web3.to_checksum_address(args[0]), args[1], args[2]) == (account.address, 10**17, due)


@pytest.mark.parametrize(
    ("hardware_id", "price", "duration", "reason"),
    [
        (99, PRICE_048, 3600, "unknown hardware"),
        (13, price_to_wei("22.0"), 3600, "hardware inactive"),
        (0, PRICE_048, 0, "duration must be positive"),
        (0, PRICE_048 + 1, 3600, "price mismatch"),
    ],
)
def test_payment_reverts_with_clear_reasons(
    chain: ChainProcess, w3: Web3, wallet_key: str, token: Any, payment: Any,
    hardware_id: int, price: int, duration: int, reason: str,
) -> None:
    send_transaction(w3, wallet_key, token.functions.approve(payment.address, 10**20))
    with pytest.raises(ContractLogicError) as excinfo:
        send_transaction(w3, wallet_key, payment.functions.submitPayment(_task(), hardware_id, price, duration))
    assert not isinstance(excinfo.value, ContractCustomError)
    assert excinfo.value.message == f"execution reverted: {reason}"


def test_unknown_hardware_three_argument_and_renew_unpaid(chain: ChainProcess, w3: Web3, wallet_key: str,
                                                          payment: Any) -> None:
    with pytest.raises(ContractLogicError, match="unknown hardware"):
        send_transaction(w3, wallet_key, payment.functions.submitPayment(_task(), 99, 3600))
    with pytest.raises(ContractLogicError, match="task not paid"):
        send_transaction(w3, wallet_key, payment.functions.renewPayment(_task(), 0, PRICE_048, 3600))
    with pytest.raises(ContractLogicError, match="empty task uuid"):
        send_transaction(w3, wallet_key, payment.functions.submitPayment("", 0, PRICE_048, 3600))


def test_already_paid(chain: ChainProcess, w3: Web3, wallet_key: str, token: Any, payment: Any) -> None:
    task = _task()
    _approve_and_pay(w3, wallet_key, token, payment, task, 0, PRICE_048, 3600)
    send_transaction(w3, wallet_key, token.functions.approve(payment.address, 10**20))
    with pytest.raises(ContractLogicError) as excinfo:
        send_transaction(w3, wallet_key, payment.functions.submitPayment(task, 0, PRICE_048, 3600))
    assert excinfo.value.message == "execution reverted: task already paid"
    assert payment.functions.amountPaid(task).call() == amount_due(PRICE_048, 3600)


# ------------------------------------------------------------------------------------------------ refunds


def test_send_refund_by_owner(chain: ChainProcess, w3: Web3, wallet_key: str, token: Any, payment: Any) -> None:
    task = _task()
    wallet = chain.info.wallet_address
    _approve_and_pay(w3, wallet_key, token, payment, task, 12, 10 * 10**18, 3600)
    before = token.functions.balanceOf(wallet).call()
    refund = 4 * 10**18
    receipt = send_transaction(w3, chain.info.operator_private_key, payment.functions.sendRefund(task, wallet, refund))
    (event,) = payment.events.Refund().process_receipt(receipt, errors=DISCARD)
    assert dict(event["args"]) == {"taskId": task, "to": wallet, "amount": refund}
    assert payment.functions.refundedAmount(task).call() == refund
    assert token.functions.balanceOf(wallet).call() == before + refund
    # refunds never exceed what was paid
    with pytest.raises(ContractLogicError) as excinfo:
        send_transaction(w3, chain.info.operator_private_key,
                         payment.functions.sendRefund(task, wallet, 6 * 10**18 + 1))
    assert excinfo.value.message == "execution reverted: refund exceeds paid"
    with pytest.raises(ContractLogicError, match="task not paid"):
        send_transaction(w3, chain.info.operator_private_key, payment.functions.sendRefund(_task(), wallet, 1))


def test_send_refund_refused_for_non_owner(chain: ChainProcess, w3: Web3, wallet_key: str, token: Any,
                                           payment: Any) -> None:
    task = _task()
    wallet = chain.info.wallet_address
    _approve_and_pay(w3, wallet_key, token, payment, task, 0, PRICE_048, 3600)
    with pytest.raises(ContractCustomError) as excinfo:
        send_transaction(w3, wallet_key, payment.functions.sendRefund(task, wallet, 1))
    name, args = _decode_custom_error(excinfo.value.data)
    assert (name, Web3.to_checksum_address(args[0])) == ("OwnableUnauthorizedAccount", wallet)
    with pytest.raises(ContractCustomError):
        send_transaction(w3, wallet_key, payment.functions.setHardware(0, "C1ae.small", 0, True))
    assert payment.functions.refundedAmount(task).call() == 0


def test_claim_refund_with_admin_signature(chain: ChainProcess, w3: Web3, wallet_key: str, token: Any,
                                           payment: Any) -> None:
    task = _task()
    wallet = chain.info.wallet_address
    _approve_and_pay(w3, wallet_key, token, payment, task, 1, 10**18, 7200)
    send_transaction(w3, chain.info.operator_private_key, payment.functions.creditRefund(task, wallet, 10**18))
    assert payment.functions.claimableRefund(wallet).call() >= 10**18
    expiry = w3.eth.get_block("latest")["timestamp"] + 600
    digest = payment.functions.refundClaimDigest(task, wallet, expiry).call()
    signature = Account.sign_message(encode_defunct(primitive=digest), chain.info.operator_private_key).signature
    forged = Account.sign_message(encode_defunct(primitive=digest), wallet_key).signature
    with pytest.raises(ContractLogicError, match="invalid signature"):
        send_transaction(w3, wallet_key, payment.functions.claimRefund(task, expiry, bytes(forged)))
    before = token.functions.balanceOf(wallet).call()
    receipt = send_transaction(w3, wallet_key, payment.functions.claimRefund(task, expiry, bytes(signature)))
    (event,) = payment.events.Refund().process_receipt(receipt, errors=DISCARD)
    assert dict(event["args"]) == {"taskId": task, "to": wallet, "amount": 10**18}
    assert token.functions.balanceOf(wallet).call() == before + 10**18
    assert payment.functions.refundedAmount(task).call() == 10**18
    assert payment.functions.isSignatureUsed(bytes(signature)).call() is True
    with pytest.raises(ContractLogicError, match="signature already used"):
        send_transaction(w3, wallet_key, payment.functions.claimRefund(task, expiry, bytes(signature)))


# ------------------------------------------------------------------------------------------------ helpers


def test_faucet(chain: ChainProcess, w3: Web3, token: Any) -> None:
    target = Account.create().address
    result = faucet(chain.info, target.lower(), 5 * 10**18, 2 * 10**18)
    assert result["eth_tx"] and result["swan_tx"] and result["swan_tx"].startswith("0x")
    assert w3.eth.get_balance(target) == 2 * 10**18
    assert token.functions.balanceOf(target).call() == 5 * 10**18
    assert faucet(chain.info, target, 0, 0) == {"eth_tx": None, "swan_tx": None}
    with pytest.raises(ValueError):
        faucet(chain.info, target, -1, 0)
    with pytest.raises(ValueError):
        faucet(chain.info, "0x1234", 1, 0)


def test_amount_helpers_match_the_contract(payment: Any) -> None:
    assert price_to_wei("0.48") == PRICE_048
    assert price_to_wei("123456789.123456789123456789") == 123456789123456789123456789
    with pytest.raises(ValueError):
        price_to_wei(0.48)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        price_to_wei("-1")
    for price, duration in [(PRICE_048, 5400), (price_to_wei("0.35"), 5400), (10**18, 3601), (7, 1),
                            (price_to_wei("1.0"), 86_399), (2**200, 10**6)]:
        assert payment.functions.computeAmount(price, duration).call() == amount_due(price, duration)


def test_missing_anvil_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWAN_ANVIL", str(tmp_path / "no-anvil"))
    with pytest.raises(AnvilNotFoundError, match="SWAN_ANVIL"):
        find_anvil()
    monkeypatch.delenv("SWAN_ANVIL")
    assert find_anvil().name == "anvil"


def test_restart_from_state_keeps_contracts_and_balances(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = start_chain(state, CATALOGUE)
    task = _task()
    try:
        w3 = connect(first.info.rpc_url)
        key = first.info.private_key_file.read_text(encoding="utf-8").strip()
        token = token_contract(w3, first.info.swan_token)
        payment = payment_contract(w3, first.info.client_payment)
        _approve_and_pay(w3, key, token, payment, task, 0, PRICE_048, 5400)
        balance = token.functions.balanceOf(first.info.wallet_address).call()
        eth_balance = w3.eth.get_balance(Web3.to_checksum_address(first.info.wallet_address))
        block = w3.eth.block_number
    finally:
        first.stop()
    assert (state / "anvil-state.json").exists()

    changed = [*CATALOGUE[:1], HardwarePrice.from_price(1, "C1ae.medium", "1.5")]
    second = start_chain(state, changed)
    try:
        assert second.info.rpc_url != "" and second.pid != first.pid
        for field in ("swan_token", "client_payment", "wallet_address", "private_key_file"):
            assert getattr(second.info, field) == getattr(first.info, field)
        w3 = connect(second.info.rpc_url)
        token = token_contract(w3, second.info.swan_token)
        payment = payment_contract(w3, second.info.client_payment)
        assert token.functions.balanceOf(second.info.wallet_address).call() == balance
        assert w3.eth.get_balance(Web3.to_checksum_address(second.info.wallet_address)) == eth_balance
        assert payment.functions.amountPaid(task).call() == amount_due(PRICE_048, 5400)
        # only the changed catalogue was re-registered: one batchSetHardware transaction
        assert w3.eth.block_number == block + 1
        assert payment.functions.hardwareInfo(1).call() == ["C1ae.medium", price_to_wei("1.5"), True]
        assert payment.functions.hardwareInfo(12).call()[2] is False  # dropped from the catalogue: deactivated
    finally:
        second.stop()

    third = start_chain(state, changed)  # unchanged catalogue: no transaction at all
    try:
        assert connect(third.info.rpc_url).eth.block_number == block + 1
    finally:
        third.stop()


def test_sigkill_loses_at_most_the_state_interval(tmp_path: Path) -> None:
    state = tmp_path / "killed"
    first = start_chain(state, CATALOGUE[:2])
    task = _task()
    try:
        w3 = connect(first.info.rpc_url)
        key = first.info.private_key_file.read_text(encoding="utf-8").strip()
        token = token_contract(w3, first.info.swan_token)
        payment = payment_contract(w3, first.info.client_payment)
        _approve_and_pay(w3, key, token, payment, task, 0, PRICE_048, 3600)
        time.sleep(2.5)  # > --state-interval 1 (+ margin): the payment is in a periodic dump
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.stop()
    second = start_chain(state, CATALOGUE[:2])
    try:
        payment = payment_contract(connect(second.info.rpc_url), second.info.client_payment)
        assert second.info.client_payment == first.info.client_payment
        assert payment.functions.amountPaid(task).call() == amount_due(PRICE_048, 3600)
    finally:
        second.stop()


def test_unreadable_state_file_is_set_aside(tmp_path: Path) -> None:
    state = tmp_path / "corrupt"
    first = start_chain(state, CATALOGUE[:1])
    first.stop()
    (state / "anvil-state.json").write_text('{"block": {', encoding="utf-8")  # cut short by a crash
    second = start_chain(state, CATALOGUE[:1])
    try:
        assert list(state.glob("anvil-state.json.unreadable-*"))
        w3 = connect(second.info.rpc_url)
        assert second.info.wallet_address == first.info.wallet_address  # the wallet key is kept ...
        balance = token_contract(w3, second.info.swan_token).functions.balanceOf(second.info.wallet_address)
        assert balance.call() == WALLET_SWAN_WEI  # ... and funded again on the new chain
        assert payment_contract(w3, second.info.client_payment).functions.hardwareInfo(0).call()[0] == "C1ae.small"
    finally:
        second.stop()
