"""Payment safety end to end (real sandbox emulator over loopback, real anvil): refusals before signing, a
transaction mined but reverted, a payer process killed with SIGKILL, renewals retried after a crash, and the
swan-sdk ``auto_pay`` convention. Plus the pure helpers these rely on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from swan_jupyter.errors import PaymentError
from swan_jupyter.magics.orchestrator import OrchestratorMagics, looks_like_dockerfile
from swan_jupyter.orchestrator import Orchestrator, amount_due, price_to_wei
from swan_jupyter.sandbox.chain.anvil import rpc_call
from swan_jupyter.sandbox.reliability import Crash, crash_at, new_task
from swan_jupyter.session import Session, reset_default_session

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def orch(sandbox: dict[str, Any]) -> Orchestrator:
    reset_default_session()
    return Session(notify=lambda _m: None).orchestrator()


def creation_orders(orch: Orchestrator, uuid: str) -> list[dict[str, Any]]:
    return [o for o in orch.get_deployment_info(uuid)["config_orders"] if o["order_type"] == "Creation"]


# -- pure helpers -----------------------------------------------------------------------------------------------


def test_amounts_are_exact_where_floats_are_not() -> None:
    # swan-sdk's float path gives 524999999999999900 here: to_wei(0.35 * 5400 / 3600) (swan-sdk 0.1.4
    # swan/contract/swan_contract.py, submit_payment)
    assert amount_due(price_to_wei("0.35"), 5400) == 525_000_000_000_000_000
    assert amount_due(price_to_wei("0.48"), 5400) == 720_000_000_000_000_000
    assert price_to_wei(Decimal("0.123456789012345678")) == 123_456_789_012_345_678
    assert amount_due(price_to_wei("1"), 3601) == 10**18 + 10**18 // 3600  # floor, as the contract does


def test_wei_conversions_are_exact_for_any_number_of_digits() -> None:
    from swan_jupyter.orchestrator.amounts import format_swan, swan_to_wei, wei_to_swan

    price = "123456789012.345678901234567891"  # 30 significant digits: Decimal's default context rounds at 28
    assert price_to_wei(price) == swan_to_wei(price) == 123_456_789_012_345_678_901_234_567_891
    assert str(wei_to_swan(123_456_789_012_345_678_901_234_567_891)) == price
    assert format_swan(123_456_789_012_345_678_901_234_567_891, exact=True) == f"{price} SWAN"
    assert format_swan(123_456_789_012_345_678_901_234_567_891) == "123456789012.3457 SWAN"  # shown: 4 decimals
    assert amount_due(price_to_wei(price), 5400) == 123_456_789_012_345_678_901_234_567_891 * 3 // 2
    assert price_to_wei("1E+3") == 10**21 and price_to_wei("0.0000000000000000019") == 1  # truncated below 1 wei


def test_durations_are_ascii_digits_only() -> None:
    from swan_jupyter.errors import ValidationError
    from swan_jupyter.orchestrator.amounts import parse_duration

    for text in ("\u00b9", "\u0661\u0662h", "\u00b2h", "3600\u0660"):  # isdigit() and \d accept these
        with pytest.raises(ValidationError, match="not understood"):
            parse_duration(text)


def test_cell_bodies_are_told_apart() -> None:
    assert looks_like_dockerfile("FROM python:3.11\nRUN echo hi\n")
    assert looks_like_dockerfile("# syntax=docker/dockerfile:1\n\nARG V=1\nFROM nginx:$V\n")
    assert not looks_like_dockerfile('version: "2.0"\nservices:\n  web:\n    image: nginx\n')
    assert not looks_like_dockerfile('# a deploy file\nversion: "2.0"\n')
    assert not looks_like_dockerfile("")


def test_task_frames_keep_money_exact() -> None:
    from swan_jupyter.frames.orchestrator import tasks_frame

    frame = tasks_frame([
        {"task": {"uuid": "a", "status": "terminated", "refund_amount": "0.123456789012345678",
                  "task_detail": {"price_per_hour": "0.35", "hardware_id": 3, "duration": 3600}}, "jobs": []},
        {"task": {"uuid": "b", "status": "created", "refund_amount": None, "task_detail": {}}, "jobs": []},
    ])
    assert frame["refund_amount_wei"].dtype == object and frame["price_per_hour_wei"].dtype == object
    assert frame["refund_amount_wei"].iloc[0] == 123_456_789_012_345_678
    assert frame["price_per_hour_wei"].iloc[0] == 350_000_000_000_000_000
    assert frame["refund_amount_wei"].iloc[1] is None and str(frame["hardware_id"].dtype) == "Int64"


def test_magic_docstrings_are_the_manual() -> None:
    deploy, swan = OrchestratorMagics.swan_deploy.__doc__ or "", OrchestratorMagics.swan.__doc__ or ""
    assert "--yes" in deploy and "%%swan_deploy" in deploy and "max_auto_spend" in deploy
    for sub in ("hardware", "tasks", "status", "url", "renew", "terminate", "balance", "ledger", "resume"):
        assert f"%swan {sub}" in swan


# -- refusals before anything is signed ------------------------------------------------------------------------


def test_a_fresh_unfunded_wallet_is_refused_before_signing(sandbox: dict[str, Any], tmp_path: Path) -> None:
    fresh = Account.create()
    key_file = tmp_path / "fresh.key"
    key_file.write_text(fresh.key.hex())
    key_file.chmod(0o600)
    poor = Session(notify=lambda _m: None, wallet_address=fresh.address.lower(), private_key_file=str(key_file),
                   ledger_path=str(tmp_path / "ledger.sqlite")).orchestrator()
    with pytest.raises(PaymentError, match=r"holds 0 SWAN, less than the 0\.48 SWAN") as info:
        new_task(poor, hardware="C1ae.small", app_image="hello-world", pay=True)
    assert "Top up" in (info.value.hint or "")
    [entry] = poor.ledger.all()
    assert entry.state == "intent" and entry.tx_hash is None and entry.raw_tx is None
    assert poor.payer().amount_paid(entry.task_uuid) == 0


# -- a transaction mined but reverted ----------------------------------------------------------------------------


def test_a_payment_that_loses_a_race_is_mined_reverted_and_reported(orch: Orchestrator, sandbox: dict[str, Any],
                                                                    tmp_path: Path) -> None:
    """Two clients with separate ledgers pay the same task at once: both transactions pass their gas estimate;
    the second is mined after the first, reverts ("task already paid") and is reported with that reason; the
    task is paid exactly once and validated once."""
    node = sandbox["chain"]["node_url"]
    uuid = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    first = Session(notify=lambda _m: None, ledger_path=str(tmp_path / "a.sqlite")).orchestrator()
    second = Session(notify=lambda _m: None, ledger_path=str(tmp_path / "b.sqlite")).orchestrator()
    payer = first.payer()
    # enough allowance for both, so neither needs an approve mined while mining is paused
    payer.approve(10**19)
    swan_before = payer.balances()["swan_wei"]
    rpc_call(node, "evm_setAutomine", [False])
    try:
        first.checkpoint = crash_at("after_send")
        with pytest.raises(Crash):
            first.pay(uuid)
        second.checkpoint = crash_at("after_send")
        with pytest.raises(Crash):
            second.pay(uuid)  # amountPaid is still 0: the first payment is only pending
        lost = second.ledger.get(f"{uuid}|Creation")
        assert lost is not None and lost.state == "sent" and lost.tx_hash
        rpc_call(node, "anvil_dropTransaction", [lost.tx_hash])  # e.g. a node restart emptied its pool
        rpc_call(node, "evm_mine")  # mines the first payment alone
    finally:
        rpc_call(node, "evm_setAutomine", [True])
    second.checkpoint = first.checkpoint = None
    with pytest.raises(PaymentError, match="reverted: task already paid") as info:
        second.resume_payment(uuid)  # re-broadcasts the very same signed transaction; it reverts
    assert lost.tx_hash in info.value.tx_hashes
    failed = second.ledger.get(f"{uuid}|Creation")
    assert failed is not None and failed.state == "failed" and "task already paid" in (failed.error or "")
    receipt = first.pay(uuid)  # the winner resumes: validation only
    assert receipt.validated and receipt.resumed
    assert payer.amount_paid(uuid) == receipt.amount_wei == 480_000_000_000_000_000
    assert payer.balances()["swan_wei"] == swan_before - receipt.amount_wei
    assert [o["tx_hash"].lower() for o in creation_orders(orch, uuid)] == [receipt.tx_hash.lower()]
    payer.approve(0)


# -- a payer process killed with SIGKILL -------------------------------------------------------------------------

_PAYER_SCRIPT = """
import os, signal, sys
from swan_jupyter.session import Session
orch = Session(notify=lambda _m: None).orchestrator()
def die(step):
    if step == sys.argv[2]:
        os.kill(os.getpid(), signal.SIGKILL)
orch.checkpoint = die
orch.pay(sys.argv[1])
print("not killed")
"""


@pytest.mark.parametrize("point", ["after_sign", "after_send", "before_validate"])
def test_a_payer_killed_mid_payment_is_resumed_on_retry_never_paid_twice(orch: Orchestrator, point: str) -> None:
    task = new_task(orch, hardware="C1ae.medium", app_image="hello-world", duration="1h30m")
    uuid, due = task["task_uuid"], task["amount_wei"]
    swan_before = orch.balance()["swan_wei"]
    proc = subprocess.run([sys.executable, "-c", _PAYER_SCRIPT, uuid, point], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    entry = orch.ledger.get(f"{uuid}|Creation")
    assert entry is not None and entry.reached_chain and entry.raw_tx
    receipt = orch.pay(uuid)  # the retry: resumes the signed transaction, validates, pays nothing new
    assert receipt.validated and receipt.resumed and receipt.tx_hash == entry.tx_hash
    payer = orch.payer()
    assert payer.amount_paid(uuid) == due == 1_500_000_000_000_000_000
    assert orch.balance()["swan_wei"] == swan_before - due
    assert len(creation_orders(orch, uuid)) == 1


# -- renewals retried after a crash -----------------------------------------------------------------------------


def test_a_renewal_retried_after_a_crash_finishes_the_same_renewal(orch: Orchestrator) -> None:
    task = new_task(orch, hardware="C1ae.small", app_image="hello-world", pay=True)
    uuid = task["task_uuid"]
    payer = orch.payer()
    paid = payer.amount_paid(uuid)
    orch.checkpoint = crash_at("after_receipt")  # paid on chain, the server never told
    with pytest.raises(Crash):
        orch.renew(uuid, "1h")
    orch.checkpoint = None
    assert payer.amount_paid(uuid) == paid + 480_000_000_000_000_000
    with pytest.raises(PaymentError, match="earlier renewal") as info:
        orch.renew(uuid, "2h")  # another renewal must wait until the first one is applied
    assert "resume" in (info.value.hint or "")
    again = orch.renew(uuid, "1h", idempotency_key="a-new-widget")  # the retry finishes the same one
    assert again["receipt"].resumed and again["config_order"]["order_type"] == "Renewal"
    assert payer.amount_paid(uuid) == paid + 480_000_000_000_000_000
    info2 = orch.get_deployment_info(uuid)
    assert [o["order_type"] for o in info2["config_orders"]] == ["Creation", "Renewal"]
    assert info2["task"]["task_detail"]["duration"] == 7200
    assert orch.resume_payment(uuid) is not None  # nothing left to finish: the latest validated receipt
    assert payer.amount_paid(uuid) == paid + 480_000_000_000_000_000


# -- swan-sdk conventions -----------------------------------------------------------------------------------------


def test_auto_pay_follows_the_private_key_like_swan_sdk(orch: Orchestrator, sandbox: dict[str, Any]) -> None:
    key = Path(sandbox["chain"]["wallet"]["private_key_file"]).read_text().strip()
    wallet = Account.from_key(key).address
    unpaid = new_task(orch, wallet=wallet.lower(), hardware="C1ae.small",
                      app_image="hello-world", start_in=120)
    assert unpaid["tx_hash"] is None and unpaid["status"] == "initialized"
    assert orch.get_deployment_info(unpaid["task_uuid"])["task"]["start_in"] == 120  # sent as given
    paid = new_task(orch, wallet=wallet, hardware="C1ae.small", app_image="hello-world",
                    private_key=key, pay=True)
    assert paid["tx_hash"] and paid["receipt"].validated and paid["tx_hash_approve"] == paid["receipt"].approve_tx_hash
    assert paid.task_uuid == paid["task_uuid"] and paid["config_order"]["order_type"] == "Creation"
    assert key not in repr(paid) and key not in paid._repr_html_()


def test_swan_sdk_style_code_runs_through_resource(sandbox: dict[str, Any]) -> None:
    import swan_jupyter

    orch = swan_jupyter.resource(api_key=sandbox["orchestrator"]["api_key"], service_name="Orchestrator",
                                 login_url=sandbox["orchestrator"]["url"], url_endpoint=sandbox["orchestrator"]["url"])
    wallet = sandbox["chain"]["wallet"]["address"]
    result = new_task(orch, wallet=wallet, hardware="C1ae.small", app_image="hello-world",
                      pay=False)
    assert isinstance(result["id"], int) and result["id"] == result["task"]["id"]  # swan-sdk: nested lookup
    assert result["uuid"] == result["task_uuid"] == result.task_uuid
    with pytest.raises(KeyError):
        result["no_such_field"]
    assert result.get("id") is None  # .get stays top-level, as in swan-sdk
    info = orch.get_deployment_info(result["task_uuid"])
    assert info["status"] == "initialized" and info["hardware_id"] == 0
