"""The Orchestrator client, magics and widgets end to end: real sandbox emulator over loopback, real anvil."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account

from swan_jupyter.errors import PaymentError, RemoteError, ValidationError
from swan_jupyter.orchestrator import Orchestrator
from swan_jupyter.sandbox.reliability import Crash, new_task
from swan_jupyter.session import Session, reset_default_session
from tests.helpers import TestingShell


@pytest.fixture
def orch(sandbox: dict[str, Any]) -> Orchestrator:
    reset_default_session()
    return Session(notify=lambda _m: None).orchestrator()



def test_full_lifecycle_create_pay_run_renew_terminate_refund(orch: Orchestrator) -> None:
    start = orch.balance()["swan_wei"]
    task = new_task(orch, hardware="C1ae.small", region="Quebec-CA", duration="1h30m",
                    app_image="hello-world", pay=True)
    receipt = task["receipt"]
    assert receipt.validated and receipt.amount_wei == 720_000_000_000_000_000
    assert task["tx_hash"] == receipt.tx_hash and receipt.gas_used > 0
    info = orch.wait_until_running(task["task_uuid"], timeout=60, poll=0.2)
    assert info["task"]["status"] == "completed" and len(info["jobs"]) == 3
    assert [o["order_type"] for o in info["config_orders"]] == ["Creation"]
    urls = orch.get_real_url(task["task_uuid"])
    assert len(urls) == 3 and all(requests.get(u, timeout=5).status_code == 200 for u in urls)
    renewal = orch.renew(task["task_uuid"], "1h")
    assert renewal["config_order"]["order_type"] == "Renewal"
    assert renewal["receipt"].amount_wei == 480_000_000_000_000_000
    assert orch.get_deployment_info(task["task_uuid"])["task"]["task_detail"]["duration"] == 9000
    paid = orch.balance()["swan_wei"]
    assert paid == start - 1_200_000_000_000_000_000
    assert orch.terminate_task(task["task_uuid"])["task_status"] == "terminate_pending"
    final = orch.get_deployment_info(task["task_uuid"])
    assert final["task"]["status"] == "terminated"
    refund = orch.balance()["swan_wei"] - paid
    assert refund > 0 and final["config_orders"][-1]["refund_tx_hash"]
    assert str(final["task"]["refund_amount"]) != "0"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"hardware": "C9.huge"}, "Unknown hardware"),
        ({"hardware": "G1ae.small", "region": "North Carolina-US"}, "not offered in region"),
        ({"hardware": "C1ae.small", "duration": 1800}, "below the minimum"),
        ({"hardware": "Hpc1ae.small"}, "unavailable"),
        ({"hardware": "C1ae.small", "app_image": None}, "exactly one source"),
        ({"hardware": "C1ae.small", "duration": "soon"}, "not understood"),
    ],
)
def test_bad_input_is_refused_before_anything_is_created(orch: Orchestrator, kwargs: dict[str, Any],
                                                         needle: str) -> None:
    before = orch.get_task_list(size=100)["total"]
    args = {"duration": 3600, "app_image": "hello-world", **kwargs}
    with pytest.raises(ValidationError, match=needle):
        new_task(orch, **args)
    assert orch.get_task_list(size=100)["total"] == before


def test_wallet_key_mismatch_is_refused(sandbox: dict[str, Any], tmp_path: Path) -> None:
    other = Account.create()
    key_file = tmp_path / "other.key"
    key_file.write_text(other.key.hex())
    key_file.chmod(0o600)  # an open key file would be refused before the wallet is compared
    orch = Session(notify=lambda _m: None, private_key_file=str(key_file)).orchestrator()
    with pytest.raises(Exception, match="belongs to"):
        new_task(orch, hardware="C1ae.small", app_image="hello-world", pay=True)


def test_reused_tx_hash_and_foreign_payments_are_refused(orch: Orchestrator) -> None:
    first = new_task(orch, hardware="C1ae.small", app_image="hello-world", pay=True)
    second = new_task(orch, hardware="C1ae.small", app_image="hello-world")
    with pytest.raises(RemoteError, match="already used"):
        orch.payments.validate(first["tx_hash"], second["task_uuid"])
    # the same hash for the same task is the same order (safe to repeat after a lost answer)
    again = orch.payments.validate(first["tx_hash"], first["task_uuid"])
    assert again["order_type"] == "Creation"
    approve = first["receipt"].approve_tx_hash
    if approve:
        with pytest.raises(RemoteError, match="not sent to the ClientPayment"):
            orch.payments.validate(approve, second["task_uuid"])
    with pytest.raises(RemoteError, match="unknown or still pending"):
        orch.payments.validate("0x" + "ab" * 32, second["task_uuid"])


def test_crash_between_send_and_validation_resumes_without_paying_again(orch: Orchestrator) -> None:
    task = new_task(orch, hardware="C1ae.medium", app_image="hello-world")
    uuid = task["task_uuid"]

    def crash(step: str) -> None:
        if step == "before_validate":
            raise Crash(step)

    orch.checkpoint = crash
    with pytest.raises(Crash):
        orch.pay(uuid)
    orch.checkpoint = None
    payer = orch.payer()
    assert payer.amount_paid(uuid) == 10**18
    balance = payer.balances()["swan_wei"]
    receipt = orch.pay(uuid)  # resumes: validation only
    assert receipt.validated and payer.amount_paid(uuid) == 10**18
    assert payer.balances()["swan_wei"] == balance
    # and a second process with an empty ledger refuses to pay an already-paid task
    orch2 = Session(notify=lambda _m: None, ledger_path=str(Path(orch.settings.ledger_file).parent / "x.sqlite"))
    with pytest.raises(PaymentError, match="already paid on chain"):
        orch2.orchestrator().pay(uuid)


def test_double_click_on_the_confirmation_pays_once(orch: Orchestrator) -> None:
    from swan_jupyter.widgets.confirm import PaymentConfirmation

    task = new_task(orch, hardware="C1ae.small", app_image="hello-world")
    uuid = task["task_uuid"]
    widget = PaymentConfirmation(orch.quote(uuid), lambda shown: orch.pay(uuid, confirmed=shown), background=True)
    assert "0.48 SWAN" in widget.review.value and "Quebec" not in widget.review.value
    widget.confirm_button.click()
    widget.confirm_button.click()
    receipt = widget.wait(60)
    assert widget.clicks >= 1 and widget.calls == 1 and widget.state == "done"
    assert orch.payer().amount_paid(uuid) == receipt.amount_wei == 480_000_000_000_000_000
    assert "Payment receipt" in widget.review.value and receipt.tx_hash in widget.review.value


@pytest.fixture
def ip_capped(ip: TestingShell) -> Iterator[TestingShell]:
    """The shell, with ``SwanMagics.max_auto_spend`` put back afterwards (the shell's config outlives a test)."""
    yield ip
    ip.run_line_magic("config", 'SwanMagics.max_auto_spend = ""')


def test_magics_deploy_with_yes_and_listings(sandbox: dict[str, Any], ip_capped: TestingShell) -> None:
    ip = ip_capped
    ip.run_line_magic("config", 'SwanMagics.max_auto_spend = "0.1"')
    with pytest.raises(ValidationError, match="above the unattended cap"):
        ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --duration 1h --yes")
    ip.run_line_magic("config", 'SwanMagics.max_auto_spend = "5"')
    result = ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --duration 1h --yes --wait t")
    assert result is None
    task = ip.user_ns["t"]
    assert task["receipt"].validated and task["urls"]
    hw = ip.run_line_magic("swan", "hardware --region Quebec-CA")
    assert "C1ae.small" in set(hw["name"]) and str(hw["hardware_id"].dtype) == "Int64"
    assert hw.loc[hw["name"] == "C1ae.small", "price_per_hour_wei"].iloc[0] == 480_000_000_000_000_000
    tasks = ip.run_line_magic("swan", "tasks")
    assert task["task_uuid"] in set(tasks["task_uuid"]) and str(tasks["status"].dtype) == "category"
    ledger = ip.run_line_magic("swan", "ledger")
    assert (ledger["tx_hash"] == task["tx_hash"].lower()).any()
    assert ip.run_line_magic("swan", f"url {task['task_uuid']}")
    body = 'version: "2.0"\nservices:\n  web:\n    image: nginx:latest\n'
    ip.run_cell_magic("swan_deploy", "--hardware C1ae.small --duration 1h --no-pay y", body)
    assert ip.user_ns["y"]["status"] == "initialized"
    with pytest.raises(Exception, match="exactly one source"):
        ip.run_cell_magic("swan_deploy", "--app hello-world --hardware C1ae.small", body)


def test_randomized_payment_crashes_and_lost_validation_answers(sandbox: dict[str, Any]) -> None:
    """Kill the payer at every step (and lose a validation answer), resume: never twice, never lost."""
    from swan_jupyter.sandbox.reliability import run_payment_trials

    def make_client() -> Orchestrator:
        return Session(notify=lambda _m: None).orchestrator()

    report = run_payment_trials(make_client, sandbox, trials=16, seed=7)
    assert report.double == 0 and report.lost == 0, report.line()
    assert report.unvalidated == 0 and report.ledger_mismatch == 0, report.line()
    assert report.ok(), report.line()  # and none stuck, paid other than confirmed or wrongly interleaved
