"""Payments through the Orchestrator emulator with real transactions on a real anvil: the full task lifecycle
(create, pay, validate, run with job URLs that answer, renew, terminate with an on-chain refund), the end of a
task, and every refusal of the emulator's payment check, swan_jupyter/sandbox/orchestrator/payments.py (unknown,
malformed, reverted, misdirected, reused, foreign, wrong payer, wrong duration, wrong hardware)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from web3 import Web3

from swan_jupyter.sandbox.chain import ChainProcess, amount_due, faucet, send_transaction, start_chain
from swan_jupyter.sandbox.orchestrator import catalogue as cat
from swan_jupyter.sandbox.orchestrator.routes import swan
from tests.helpers import Scenario
from tests.sandbox.orchestrator_tools import SUBMIT4, Emulator, Wallet, fake_uuid, wallet_key

TIME_SCALE = 120.0  # one real second = two task-minutes: jobs run after 1 s, one hour lasts 30 s
PRICE_048 = 480_000_000_000_000_000


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainProcess]:
    process = start_chain(tmp_path_factory.mktemp("orch-pay-chain"), cat.chain_prices())
    yield process
    process.stop()


@pytest.fixture(scope="module")
def emu(chain: ChainProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    server = Emulator(tmp_path_factory.mktemp("orch-pay-state"), chain, TIME_SCALE)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def wallet(chain: ChainProcess) -> Wallet:
    return Wallet(chain, wallet_key(chain))


@pytest.fixture(scope="module")
def stranger(chain: ChainProcess) -> Wallet:
    key = "0x" + bytes(Account.create().key).hex()
    account = Account.from_key(key)
    faucet(chain.info, account.address, 1000 * 10**18, 10**18)
    return Wallet(chain, key)


def validate(emu: Emulator, task_uuid: str, tx_hash: str) -> dict[str, Any]:
    return emu.post("/v2/task_payment_validate", {"tx_hash": tx_hash, "task_uuid": task_uuid})


def refused(answer: dict[str, Any], needle: str) -> None:
    assert answer["status"] == "failed", answer
    assert needle in answer["message"], answer["message"]


@pytest.fixture(scope="class")
def story(emu: Emulator) -> Iterator[Scenario]:
    """The task of TestFullLifecycle and what its steps saw; the task is terminated at the end if a step failed."""
    story = Scenario()
    yield story
    if "task" in story and "terminated" not in story:
        emu.post("/terminate_task", {"task_uuid": story["task"]["uuid"]})


class TestFullLifecycle:
    """Create, pay, validate, run, renew, terminate and refund one task, one step per test, in order."""

    def test_paying_takes_the_price(self, emu: Emulator, wallet: Wallet, story: Scenario) -> None:
        story["start_balance"] = start_balance = wallet.balance()
        story["task"] = task = emu.create(wallet.address, duration=5400, region="Quebec-CA")
        story["tx"] = wallet.pay_task(task)
        assert wallet.balance() == start_balance - 720_000_000_000_000_000

    def test_validation_records_the_creation_order(self, emu: Emulator, story: Scenario) -> None:
        task, tx = story.need("task"), story.need("tx")
        story["order"] = order = validate(emu, task["uuid"], tx)
        assert order["status"] == "success" and order["message"] == "Query order status success."
        assert order["data"]["order_type"] == "Creation" and order["data"]["status"] == "pending_payment_confirm"
        assert order["data"]["tx_hash"] == tx and order["data"]["duration"] == 5400

    def test_validation_is_idempotent_per_hash(self, emu: Emulator, story: Scenario) -> None:
        task, tx, order = story.need("task"), story.need("tx"), story.need("order")
        assert validate(emu, task["uuid"], tx)["data"]["uuid"] == order["data"]["uuid"]

    def test_the_paid_task_shows_its_payment_before_it_runs(self, emu: Emulator, story: Scenario) -> None:
        task, tx = story.need("task"), story.need("tx")
        early = emu.info(task["uuid"])
        assert early["task"]["status"] in ("created", "accepting_bids") and early["task"]["tx_hash"] == tx
        assert early["task"]["task_detail"]["amount"] == "0.72"

    def test_the_task_runs_three_jobs(self, emu: Emulator, story: Scenario) -> None:
        task = story.need("task")
        story["running"] = info = emu.wait_status(task["uuid"], "completed", timeout=20)
        assert [j["status"] for j in info["jobs"]] == ["Running"] * 3
        assert len({j["cp_account_address"] for j in info["jobs"]}) == 3 and len(info["computing_providers"]) == 3
        assert info["config_orders"][0]["status"] == "payment_consumed"

    def test_the_job_pages_answer(self, story: Scenario) -> None:
        task, info = story.need("task"), story.need("running")
        for job in info["jobs"]:
            page = requests.get(job["job_real_uri"], timeout=5)
            assert page.status_code == 200 and task["uuid"] in page.text

    def test_renewal_extends_the_task(self, emu: Emulator, wallet: Wallet, story: Scenario) -> None:
        task, end_before = story.need("task"), story.need("running")["task"]["end_at"]
        story["renew_tx"] = renew_tx = wallet.pay_task(task, 3600, renew=True)
        story["renewal"] = renewal = emu.post("/v2/extend_task", {"task_uuid": task["uuid"], "duration": 3600,
                                                                  "tx_hash": renew_tx})
        assert renewal["status"] == "success", renewal
        assert renewal["data"]["config_order"]["order_type"] == "Renewal"
        assert renewal["data"]["task"]["task_detail"]["duration"] == 9000
        assert renewal["data"]["task"]["end_at"] - end_before in (29, 30, 31)  # 3600 task-s at scale 120

    def test_renewal_is_idempotent_per_hash(self, emu: Emulator, story: Scenario) -> None:
        task, renew_tx, renewal = story.need("task"), story.need("renew_tx"), story.need("renewal")
        again = emu.post("/v2/extend_task", {"task_uuid": task["uuid"], "duration": 3600, "tx_hash": renew_tx})
        assert again["data"]["config_order"]["uuid"] == renewal["data"]["config_order"]["uuid"]
        assert emu.info(task["uuid"])["task"]["task_detail"]["duration"] == 9000  # not extended twice

    def test_order_status_by_hash(self, emu: Emulator, story: Scenario) -> None:
        task = story.need("task")
        for hash_, kind in ((story.need("tx"), "Creation"), (story.need("renew_tx"), "Renewal")):
            status = emu.post("/v2/config_order_status", {"task_uuid": task["uuid"], "tx_hash": hash_})
            assert status["data"]["order_type"] == kind

    def test_claim_review(self, emu: Emulator, story: Scenario) -> None:
        review = emu.post("/claim_review", {"task_uuid": story.need("task")["uuid"]})["data"]
        assert review["uptime"] == 1.0 and review["refunded"] is False

    def test_provider_payments(self, emu: Emulator, story: Scenario) -> None:
        task = story.need("task")
        provider_rows = [p for p in emu.get("/provider/payments")["data"]["payments"] if p["task_uuid"] == task["uuid"]]
        assert len(provider_rows) == 6 and provider_rows[0]["amount"] == "0.24"

    def test_the_wallet_paid_creation_and_renewal(self, wallet: Wallet, story: Scenario) -> None:
        start_balance = story.need("start_balance")
        story.need("renewal")
        story["paid_balance"] = paid_balance = wallet.balance()
        assert paid_balance == start_balance - 1_200_000_000_000_000_000

    def test_terminate_is_queued(self, emu: Emulator, story: Scenario) -> None:
        task = story.need("task")
        answer = emu.post("/terminate_task", {"task_uuid": task["uuid"]})
        story["terminated"] = True
        assert answer == {"data": {"retryable": False, "task_status": "terminate_pending"},
                          "message": "Task termination is queued", "status": "success"}

    def test_terminated_task_cancels_its_jobs(self, emu: Emulator, story: Scenario) -> None:
        task = story.need("task")
        story.need("terminated")
        story["final"] = final = emu.info(task["uuid"])
        assert final["task"]["status"] == "terminated" and [j["status"] for j in final["jobs"]] == ["Cancelled"] * 3

    def test_the_refund_is_what_remained(self, wallet: Wallet, story: Scenario) -> None:
        final, paid_balance = story.need("final"), story.need("paid_balance")
        story["refund"] = refund = wallet.balance() - paid_balance
        assert refund == int(Decimal(final["task"]["refund_amount"]) * 10**18)
        # at most what was paid, at least what remained after a generous allowance for the test's own latency
        assert 0 < refund <= 1_200_000_000_000_000_000
        assert refund >= PRICE_048 * (9000 - 20 * TIME_SCALE) // 3600

    def test_the_refund_is_on_chain(self, wallet: Wallet, chain: ChainProcess, story: Scenario) -> None:
        task, final, refund = story.need("task"), story.need("final"), story.need("refund")
        receipt = wallet.w3.eth.get_transaction_receipt(final["config_orders"][-1]["refund_tx_hash"])
        assert receipt["status"] == 1 and receipt["to"].lower() == chain.info.client_payment.lower()
        assert wallet.payment.functions.refundedAmount(task["uuid"]).call() == refund

    def test_the_job_pages_are_gone(self, story: Scenario) -> None:
        assert requests.get(story.need("final")["jobs"][0]["job_real_uri"], timeout=5).status_code == 410

    def test_terminating_again_is_refused(self, emu: Emulator, story: Scenario) -> None:
        story.need("terminated")
        refused(emu.post("/terminate_task", {"task_uuid": story.need("task")["uuid"]}), "already terminated")

    def test_renewing_a_terminated_task_is_refused(self, emu: Emulator, wallet: Wallet, story: Scenario) -> None:
        task = story.need("task")
        story.need("terminated")
        late_renewal = wallet.pay_task(task, 3600, renew=True)
        refused(emu.post("/v2/extend_task", {"task_uuid": task["uuid"], "duration": 3600, "tx_hash": late_renewal}),
                "is terminated")

    def test_the_task_is_listed(self, emu: Emulator, wallet: Wallet, story: Scenario) -> None:
        task = story.need("task")
        listed = emu.get("/v2/task_list", {"wallet_address": wallet.address.lower(), "size": 50})["data"]["list"]
        assert task["uuid"] in [item["task"]["uuid"] for item in listed]


def test_a_task_finishes_at_its_end(chain: ChainProcess, wallet: Wallet, tmp_path: Path) -> None:
    fast = Emulator(tmp_path, chain, 3600.0)  # one real second = one task-hour
    try:
        task = fast.create(wallet.address)
        assert validate(fast, task["uuid"], wallet.pay_task(task))["status"] == "success"
        info = fast.wait_status(task["uuid"], "finished", timeout=10)
        assert [j["status"] for j in info["jobs"]] == ["Ended"] * 3 and all(j["ended_at"] for j in info["jobs"])
        assert requests.get(info["jobs"][0]["job_real_uri"], timeout=5).status_code == 410
        refused(fast.post("/terminate_task", {"task_uuid": task["uuid"]}), "already finished")
        renewal = wallet.pay_task(task, 3600, renew=True)
        refused(fast.post("/v2/extend_task", {"task_uuid": task["uuid"], "duration": 3600, "tx_hash": renewal}),
                "is finished")
    finally:
        fast.stop()


def test_unknown_and_malformed_hashes_are_refused_and_not_consumed(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address)
    refused(validate(emu, task["uuid"], "0x" + "ab" * 32), "unknown or still pending")
    refused(validate(emu, task["uuid"], "0xnothex"), "not a transaction hash")
    refused(validate(emu, "no-such-task", "0x" + "ab" * 32), "fetch task info")
    assert validate(emu, task["uuid"], wallet.pay_task(task))["status"] == "success"


def test_a_transfer_that_is_not_a_payment_is_refused(emu: Emulator, wallet: Wallet, stranger: Wallet) -> None:
    task = emu.create(wallet.address)
    refused(validate(emu, task["uuid"], wallet.transfer_eth(stranger.address, 1)), "not sent to the ClientPayment")


def test_a_reverted_payment_is_refused(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address)
    function = wallet.payment.get_function_by_signature(SUBMIT4)
    # price mismatch: the contract reverts; an explicit gas limit gets the failing tx mined (as swan-sdk would)
    sender = Web3.to_checksum_address(wallet.address)
    tx = function(task["uuid"], 0, 1, 3600).build_transaction({
        "from": sender, "gas": 300_000, "nonce": wallet.w3.eth.get_transaction_count(sender),
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0})
    sent = wallet.w3.eth.send_raw_transaction(Account.from_key(wallet.key).sign_transaction(tx).raw_transaction)
    receipt = wallet.w3.eth.wait_for_transaction_receipt(sent, timeout=10)
    assert receipt["status"] == 0
    refused(validate(emu, task["uuid"], Web3.to_hex(sent)), "reverted on chain")


def test_a_reused_hash_is_refused_for_another_task(emu: Emulator, wallet: Wallet) -> None:
    first, second = emu.create(wallet.address), emu.create(wallet.address)
    tx = wallet.pay_task(first)
    assert validate(emu, first["uuid"], tx)["status"] == "success"
    refused(validate(emu, second["uuid"], tx), "already used for the creation of task " + first["uuid"])
    refused(emu.post("/v2/extend_task", {"task_uuid": first["uuid"], "duration": 3600, "tx_hash": tx}),
            "already used for the creation")


def test_an_event_for_another_task_is_refused(emu: Emulator, wallet: Wallet) -> None:
    paid, target = emu.create(wallet.address), emu.create(wallet.address)
    tx = wallet.pay_task(paid)
    refused(validate(emu, target["uuid"], tx), f"pays for task {paid['uuid']}, not for {target['uuid']}")
    assert validate(emu, paid["uuid"], tx)["status"] == "success"  # the refusal did not consume the hash


def test_a_payment_from_another_wallet_is_refused(emu: Emulator, wallet: Wallet, stranger: Wallet) -> None:
    task = emu.create(wallet.address)
    refused(validate(emu, task["uuid"], stranger.pay_task(task)), f"is not the task's wallet {wallet.address}")


def test_a_payment_for_the_wrong_duration_is_refused(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address, duration=7200)
    refused(validate(emu, task["uuid"], wallet.pay_task(task, 3600)), "duration 3600 s instead of 7200 s")


def test_a_payment_for_other_hardware_is_refused(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address)  # C1ae.small, id 0
    tx = wallet.pay(task["uuid"], 1, 10**18, 3600)  # C1ae.medium at its own price
    refused(validate(emu, task["uuid"], tx), "hardware id 1 instead of 0")


def test_a_renewal_must_match_the_requested_duration_and_use_renew_payment(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address)
    assert validate(emu, task["uuid"], wallet.pay_task(task))["status"] == "success"
    short = wallet.pay_task(task, 3600, renew=True)
    refused(emu.post("/v2/extend_task", {"task_uuid": task["uuid"], "duration": 7200, "tx_hash": short}),
            "duration 3600 s instead of 7200 s")
    other = emu.create(wallet.address)
    creation = wallet.pay_task(other)
    refused(emu.post("/v2/extend_task", {"task_uuid": other["uuid"], "duration": 3600, "tx_hash": creation}),
            "only a paid, running task")
    assert validate(emu, other["uuid"], creation)["status"] == "success"
    submit_for_renewal = wallet.pay(fake_uuid(), 0, PRICE_048, 3600)
    refused(emu.post("/v2/extend_task", {"task_uuid": other["uuid"], "duration": 3600,
                                         "tx_hash": submit_for_renewal}), "does not call renewPayment")
    assert emu.post("/v2/extend_task", {"task_uuid": task["uuid"], "duration": 3600, "tx_hash": short})[
        "status"] == "success"


def test_validation_survives_a_restart(chain: ChainProcess, wallet: Wallet, tmp_path: Path) -> None:
    first = Emulator(tmp_path, chain, TIME_SCALE)
    try:
        task = first.create(wallet.address)
        tx = wallet.pay_task(task)
        order = validate(first, task["uuid"], tx)["data"]
    finally:
        first.stop()
    time.sleep(0.05)
    second = Emulator(tmp_path, chain, TIME_SCALE)
    try:
        assert validate(second, task["uuid"], tx)["data"]["uuid"] == order["uuid"]
        info = second.wait_status(task["uuid"], "completed", timeout=20)
        assert requests.get(info["jobs"][0]["job_real_uri"], timeout=5).status_code == 200
        other = second.create(wallet.address)
        refused(validate(second, other["uuid"], tx), "already used")
    finally:
        second.stop()


def test_a_float_rounded_approval_within_the_dust_tolerance_is_accepted(emu: Emulator, wallet: Wallet) -> None:
    task = emu.create(wallet.address, cfg_name="G1ae.medium", region="Quebec-CA", duration=5400)
    price = 12_350_000_000_000_000_000
    due = amount_due(price, 5400)
    send_transaction(wallet.w3, wallet.key, wallet.token.functions.approve(wallet.chain.info.client_payment,
                                                                           due - 100))
    function = wallet.payment.get_function_by_signature(SUBMIT4)
    receipt = send_transaction(wallet.w3, wallet.key, function(task["uuid"], 13, price, 5400))
    order = validate(emu, task["uuid"], Web3.to_hex(receipt["transactionHash"]))
    assert order["status"] == "success", order
    assert emu.info(task["uuid"])["task"]["task_detail"]["amount"] == swan(due - 100)


def test_concurrent_validations_of_one_hash_make_one_order(emu: Emulator, wallet: Wallet) -> None:
    task, other = emu.create(wallet.address), emu.create(wallet.address)
    tx = wallet.pay_task(task)
    targets = [task["uuid"]] * 4 + [other["uuid"]] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda uuid: requests.post(
            f"{emu.url}/v2/task_payment_validate", data={"tx_hash": tx, "task_uuid": uuid},
            headers=emu.headers(), timeout=30).json(), targets))
    mine, theirs = answers[:4], answers[4:]
    assert {a["status"] for a in mine} == {"success"} and len({a["data"]["uuid"] for a in mine}) == 1
    assert {a["status"] for a in theirs} == {"failed"}
    assert len(emu.info(task["uuid"])["config_orders"]) == 1 and emu.info(other["uuid"])["config_orders"] == []
