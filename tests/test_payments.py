"""Payments against a real anvil chain with the real contracts: exact amounts, refusals, never twice.

These tests drive :class:`swan_jupyter.orchestrator.payer.Payer` and the ledger directly (the Orchestrator
emulator is exercised in the end-to-end tests); crashes are simulated with the payer's checkpoint hook.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from swan_jupyter.errors import PaymentError, ValidationError
from swan_jupyter.orchestrator._chain import check_wallet
from swan_jupyter.orchestrator.amounts import amount_due, price_to_wei
from swan_jupyter.orchestrator.ledger import Ledger, LedgerEntry
from swan_jupyter.orchestrator.payer import Payer
from swan_jupyter.sandbox.chain import HardwarePrice, faucet, start_chain
from swan_jupyter.sandbox.reliability import Crash

PRICE = "0.48"
STEPS = ("before_sign", "after_sign", "after_send", "after_receipt")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    process = start_chain(tmp_path_factory.mktemp("chain"), [HardwarePrice.from_price(0, "C1ae.small", PRICE),
                                                              HardwarePrice.from_price(1, "C1ae.medium", "1.0")])
    yield process.info
    process.stop()


@pytest.fixture
def account(chain: Any) -> Any:
    return Account.from_key(Path(chain.private_key_file).read_text().strip())


def make_payer(chain: Any, account: Any, ledger: Ledger, checkpoint: Any = None) -> Payer:
    return Payer(chain.rpc_url, account=account, client_payment=chain.client_payment, swan_token=chain.swan_token,
                 ledger=ledger, checkpoint=checkpoint, receipt_timeout=30)


def entry_for(payer: Payer, task: str, duration: int = 5400, price: str = PRICE, hardware: int = 0) -> LedgerEntry:
    price_wei = price_to_wei(price)
    return LedgerEntry(key=f"{task}|Creation", task_uuid=task, order_type="Creation", duration=duration,
                       hardware_id=hardware, price_wei=price_wei, amount_wei=amount_due(price_wei, duration),
                       payer=payer.address, contract=str(payer.contract.address), chain_id=payer.chain_id,
                       state="intent")


def test_payment_is_exact_and_idempotent(chain: Any, account: Any, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    payer = make_payer(chain, account, ledger)
    task = str(uuid.uuid4())
    before = payer.balances()["swan_wei"]
    entry = ledger.create(entry_for(payer, task))
    receipt = payer.pay(entry)
    assert receipt.amount_wei == 720_000_000_000_000_000  # 0.48 SWAN/h x 1.5 h, exact
    assert payer.amount_paid(task) == receipt.amount_wei
    assert receipt.gas_used > 0 and receipt.fee_wei > 0 and receipt.block_number > 0
    assert receipt.tx_hash.startswith("0x") and len(receipt.tx_hash) == 66
    assert ledger.get(entry.key).state == "confirmed"  # type: ignore[union-attr]
    assert payer.balances()["swan_wei"] == before - receipt.amount_wei
    again = payer.pay(ledger.get(entry.key))  # type: ignore[arg-type]
    assert again.tx_hash == receipt.tx_hash and again.resumed
    assert payer.amount_paid(task) == receipt.amount_wei  # not paid twice
    assert "720000000000000000 wei" in receipt._repr_html_() and receipt.tx_hash in str(receipt)


@pytest.mark.parametrize("step", STEPS)
def test_crash_at_each_step_then_resume_pays_exactly_once(chain: Any, account: Any, tmp_path: Path,
                                                         step: str) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")

    def crash(at: str) -> None:
        if at == step:
            raise Crash(at)

    task = str(uuid.uuid4())
    payer = make_payer(chain, account, ledger, checkpoint=crash)
    entry = ledger.create(entry_for(payer, task))
    before = payer.balances()["swan_wei"]
    with pytest.raises(Crash):
        payer.pay(entry)
    resumed = make_payer(chain, account, Ledger(tmp_path / "ledger.sqlite")).pay(ledger.get(entry.key))  # type: ignore[arg-type]
    assert payer.amount_paid(task) == entry.amount_wei
    assert payer.balances()["swan_wei"] == before - entry.amount_wei
    assert ledger.get(entry.key).state == "confirmed"  # type: ignore[union-attr]
    assert resumed.amount_wei == entry.amount_wei


def test_concurrent_double_click_pays_once(chain: Any, account: Any, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    payer = make_payer(chain, account, ledger)
    task = str(uuid.uuid4())
    entry = ledger.create(entry_for(payer, task, duration=3600))
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(payer.pay(ledger.get(entry.key)))) for _ in range(3)]  # type: ignore[arg-type]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len({r.tx_hash for r in results}) == 1 and len(results) == 3
    assert payer.amount_paid(task) == entry.amount_wei


def test_short_balance_is_refused_before_signing(chain: Any, tmp_path: Path) -> None:
    poor = Account.create()
    faucet(chain, poor.address, swan_wei=10**15, eth_wei=10**18)  # 0.001 SWAN, enough gas
    ledger = Ledger(tmp_path / "ledger.sqlite")
    payer = make_payer(chain, poor, ledger)
    entry = ledger.create(entry_for(payer, str(uuid.uuid4())))
    with pytest.raises(PaymentError) as info:
        payer.pay(entry)
    assert "less than the 0.72 SWAN" in str(info.value) and "Top up" in str(info.value)
    assert ledger.get(entry.key).state == "intent"  # type: ignore[union-attr]  # nothing signed


def test_wrong_price_reverts_with_the_contract_reason(chain: Any, account: Any, tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    payer = make_payer(chain, account, ledger)
    entry = ledger.create(entry_for(payer, str(uuid.uuid4()), price="0.47"))
    with pytest.raises(PaymentError) as info:
        payer.pay(entry)
    assert "price mismatch" in str(info.value)
    assert not ledger.get(entry.key).reached_chain  # type: ignore[union-attr]


def test_wallet_must_match_the_key_in_any_case(account: Any) -> None:
    check_wallet(account, account.address.lower())
    check_wallet(account, account.address.upper().replace("0X", "0x"))
    with pytest.raises(ValidationError, match="belongs to"):
        check_wallet(account, "0x" + "1" * 40)


def test_randomized_crashes_never_double_pay_or_lose(chain: Any, account: Any, tmp_path: Path) -> None:
    """Trials that kill the payer at a random step (or not at all), then resume: never paid twice or lost."""
    rng = random.Random(20261122)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    trials, double, lost = 24, 0, 0
    for _ in range(trials):
        step = rng.choice((*STEPS, None))
        task = str(uuid.uuid4())

        def crash(at: str, step: str | None = step) -> None:
            if at == step:
                raise Crash(at)

        payer = make_payer(chain, account, ledger, checkpoint=crash)
        entry = ledger.create(entry_for(payer, task, duration=3600 + rng.randrange(0, 7200, 60)))
        try:
            payer.pay(entry)
        except Crash:
            make_payer(chain, account, ledger).pay(ledger.get(entry.key))  # type: ignore[arg-type]
        paid = payer.amount_paid(task)
        double += paid > entry.amount_wei
        lost += paid < entry.amount_wei
    assert double == 0 and lost == 0, f"{trials} randomized crash/resume trials: {double} double, {lost} lost payments"


# -- a payment is proven by its transaction, not by one particular event ----------------------------------------

_COMPILE = """
const solc = require("solc");
const fs = require("fs");
const source = fs.readFileSync(process.argv[1], "utf8");
const input = {language: "Solidity", sources: {"PaymentOnly.sol": {content: source}},
               settings: {evmVersion: "cancun", outputSelection: {"*": {"*": ["abi", "evm.bytecode.object"]}}}};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) { console.error(JSON.stringify(errors)); process.exit(1); }
const c = out.contracts["PaymentOnly.sol"]["PaymentOnly"];
console.log(JSON.stringify({abi: c.abi, bytecode: "0x" + c.evm.bytecode.object}));
"""


@pytest.fixture(scope="module")
def payment_only(chain: Any) -> str:
    """``tests/contracts/PaymentOnly.sol`` compiled with the project's solc-js and deployed on the test chain."""
    import json
    import shutil
    import subprocess

    from web3 import Web3

    from swan_jupyter.sandbox.chain.deploy import send_transaction

    root = Path(__file__).resolve().parent.parent
    node = shutil.which("node")
    assert node is not None, "node is needed to compile the test contract (scripts/install installs it)"
    done = subprocess.run([node, "-e", _COMPILE, str(root / "tests" / "contracts" / "PaymentOnly.sol")],
                          cwd=root, capture_output=True, text=True, timeout=120, check=True)
    artifact = json.loads(done.stdout)
    w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    key = Path(chain.private_key_file).read_text().strip()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = send_transaction(w3, key, factory.constructor(chain.swan_token))
    return str(receipt["contractAddress"])


@pytest.mark.parametrize("order_type", ["Creation", "Renewal"])
def test_a_payment_whose_contract_emits_only_payment_is_confirmed(chain: Any, account: Any, tmp_path: Path,
                                                                 payment_only: str, order_type: str) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    payer = Payer(chain.rpc_url, account=account, client_payment=payment_only, swan_token=chain.swan_token,
                  ledger=ledger, receipt_timeout=30)
    task = str(uuid.uuid4())
    entry = entry_for(payer, task, duration=3600)
    if order_type == "Renewal":
        entry.key, entry.order_type = f"{task}|Renewal|r1", "Renewal"
    entry = ledger.create(entry)
    receipt = payer.pay(entry)  # succeeded on chain: never reported as failed for lack of PaymentSubmitted
    assert receipt.amount_wei == amount_due(price_to_wei(PRICE), 3600) == payer.amount_paid(task)
    assert ledger.get(entry.key).state == "confirmed"  # type: ignore[union-attr]
    assert payer.find_payment_tx(task) == receipt.tx_hash  # found through the Payment event too


def test_a_mined_transaction_that_is_not_the_signed_payment_is_never_confirmed(chain: Any, account: Any,
                                                                              tmp_path: Path) -> None:
    first = make_payer(chain, account, Ledger(tmp_path / "first.sqlite"))
    paid = first.pay(first.ledger.create(entry_for(first, str(uuid.uuid4()), duration=3600)))
    ledger = Ledger(tmp_path / "second.sqlite")
    payer = make_payer(chain, account, ledger)
    other = ledger.create(entry_for(payer, str(uuid.uuid4()), duration=3600))
    # a row that points at another task's payment (a corrupted or forged ledger row): mined, status 1, wrong calldata
    ledger.update(other.key, state="sent", tx_hash=paid.tx_hash, nonce=0)
    with pytest.raises(PaymentError, match="not this payment: its calldata differs"):
        payer.pay(ledger.get(other.key))  # type: ignore[arg-type]
    assert payer.amount_paid(other.task_uuid) == 0
