"""Cancel means cancel: a payment the user cancelled is never paid later, and every message tells the truth.

Against the real sandbox (over loopback) and anvil. The broadcast of the Pay click fails (the chain answers 503
to ``eth_sendRawTransaction``, so the click ends in an unknown outcome and the signed row stays in the ledger),
or the chain takes the transaction and only its answer is lost. Then the user cancels: through the widget's
Cancel and "Remove the unpaid task", ``terminate_task``, ``%swan terminate`` or ``cancel_payment``. One path
serves all of them: the signed transaction's nonce is spent by a 0-value transfer to self at a higher fee (what
wallets do to cancel), and the answer says what happened once one of the two is mined.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swan_jupyter.errors import UnknownOutcomeError
from swan_jupyter.orchestrator import Orchestrator
from swan_jupyter.sandbox.reliability import new_task, set_faults
from swan_jupyter.session import Session, reset_default_session

SMALL = 480_000_000_000_000_000  # C1ae.small, 1 h


def client(tmp_path: Path, ledger: str = "ledger.sqlite") -> Orchestrator:
    """An Orchestrator on the session sandbox with its own ledger file (a separate notebook or tool)."""
    return Session(notify=lambda _m: None, ledger_path=str(tmp_path / ledger)).orchestrator()


@pytest.fixture(autouse=True)
def _fresh_default_session(sandbox: dict[str, Any]) -> Iterator[None]:
    reset_default_session()
    yield
    set_faults(sandbox, "chain", None)


def broadcast(sandbox: dict[str, Any], fault: str) -> None:
    """Every ``eth_sendRawTransaction`` fails until the rules are cleared: ``error`` (503, the node never saw it)
    or ``lose`` (the node took it, the answer is lost)."""
    set_faults(sandbox, "chain", {"rules": [{"target": "chain", "methods": ["eth_sendRawTransaction"],
                                             f"{fault}_rate": 1.0}]})


def allowance_ready(orch: Orchestrator) -> None:
    """An allowance large enough that the payment is the only transaction the Pay click sends."""
    orch.payer().approve(10**24)


def signed_but_unknown(sandbox: dict[str, Any], orch: Orchestrator, fault: str = "error") -> str:
    """A created task whose payment was signed and whose broadcast ended in an unknown outcome."""
    uuid = str(new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"])
    allowance_ready(orch)
    broadcast(sandbox, fault)
    with pytest.raises(UnknownOutcomeError):
        orch.pay(uuid)
    set_faults(sandbox, "chain", None)
    assert orch.ledger.get(f"{uuid}|Creation").state == "signed"  # type: ignore[union-attr]
    return uuid


def next_payment(orch: Orchestrator) -> None:
    """Another, unrelated payment of the same wallet (it settles the wallet's unfinished rows first)."""
    task = new_task(orch, hardware="C1ae.small", app_image="hello-world", pay=True)
    assert orch.payer().amount_paid(task["task_uuid"]) == SMALL


def test_cancel_in_the_widget_then_remove_then_another_payment_pays_nothing(sandbox: dict[str, Any],
                                                                            tmp_path: Path) -> None:
    from swan_jupyter.widgets.confirm import creation_confirmation

    orch = client(tmp_path)
    task = new_task(orch, hardware="C1ae.small", app_image="hello-world")
    uuid = task["task_uuid"]
    widget = creation_confirmation(orch, task, background=False)
    allowance_ready(orch)
    broadcast(sandbox, "error")
    widget.click_confirm()
    set_faults(sandbox, "chain", None)
    assert widget.state == "failed" and isinstance(widget.error, UnknownOutcomeError)
    widget.cancel_button.click()
    assert "nothing was paid" in widget.status.value.lower() or "nothing paid" in widget.status.value.lower()
    assert widget.cleanup_button is not None
    widget.cleanup_button.click()  # "Remove the unpaid task": terminates it
    assert "terminated" in widget.status.value.lower() or "removed" in widget.status.value.lower()
    next_payment(orch)  # from the same ledger
    next_payment(client(tmp_path, "second-notebook.sqlite"))  # and from a second ledger on the same wallet
    assert orch.payer().amount_paid(uuid) == 0
    row = orch.ledger.get(f"{uuid}|Creation")
    assert row is not None and row.state == "cancelled" and row.raw_tx is None and row.cancel_tx


def test_terminate_task_cancels_a_pending_signed_payment_first(sandbox: dict[str, Any], tmp_path: Path) -> None:
    orch = client(tmp_path)
    uuid = signed_but_unknown(sandbox, orch)
    result = orch.terminate_task(uuid)
    assert "nothing was paid" in result["cancellation"].message.lower()
    next_payment(orch)
    assert orch.payer().amount_paid(uuid) == 0
    assert orch.get_deployment_info(uuid)["task"]["status"] in ("terminated", "terminate_pending")


def test_swan_terminate_magic_goes_through_the_same_cancel(ip: Any, sandbox: dict[str, Any]) -> None:
    from swan_jupyter.session import default_session

    orch = default_session().orchestrator()  # the magics' own client and ledger
    uuid = signed_but_unknown(sandbox, orch)
    ip.run_line_magic("swan", f"terminate {uuid} --yes")
    next_payment(orch)
    assert orch.payer().amount_paid(uuid) == 0
    assert orch.ledger.get(f"{uuid}|Creation").state == "cancelled"  # type: ignore[union-attr]


def test_a_payment_that_already_went_through_is_reported_as_paid(sandbox: dict[str, Any], tmp_path: Path) -> None:
    orch = client(tmp_path)
    uuid = signed_but_unknown(sandbox, orch, fault="lose")  # the node took it: anvil mined it at once
    outcome = orch.cancel_payment(uuid)
    assert outcome.outcome == "paid"
    assert "already gone through" in outcome.message and "0.48 SWAN" in outcome.message
    assert "nothing was paid" not in outcome.message.lower()
    assert orch.payer().amount_paid(uuid) == SMALL
    result = orch.terminate_task(uuid)
    assert "already gone through" in result["cancellation"].message
    assert "refund" in result["cancellation"].message


def _mine_after(payer: Any, seconds: float, stop: threading.Event) -> None:
    time.sleep(seconds)
    while not stop.is_set():
        payer.w3.provider.make_request("evm_mine", [])
        time.sleep(0.05)


def test_a_transaction_waiting_in_the_pool_is_replaced_by_the_cancel(sandbox: dict[str, Any], tmp_path: Path) -> None:
    """The node holds the signed payment in its pool (not mined yet): the cancel must replace it, not race it."""
    orch = client(tmp_path)
    uuid = str(new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"])
    payer = orch.payer()
    allowance_ready(orch)
    payer.w3.provider.make_request("evm_setAutomine", [False])
    stop = threading.Event()
    try:
        broadcast(sandbox, "lose")
        with pytest.raises(UnknownOutcomeError):
            orch.pay(uuid)
        set_faults(sandbox, "chain", None)
        row = orch.ledger.get(f"{uuid}|Creation")
        assert row is not None and row.state == "signed"
        assert payer.w3.eth.get_transaction(row.tx_hash)["blockNumber"] is None  # in the pool, not mined
        miner = threading.Thread(target=_mine_after, args=(payer, 0.5, stop))
        miner.start()
        outcome = orch.cancel_payment(uuid)
    finally:
        stop.set()
        payer.w3.provider.make_request("evm_setAutomine", [True])
    miner.join(10)
    assert outcome.outcome == "cancelled", outcome.message
    assert payer.amount_paid(uuid) == 0
    next_payment(orch)
    assert payer.amount_paid(uuid) == 0


def test_cancel_without_anything_signed_needs_no_chain_and_says_nothing_was_paid(tmp_path: Path) -> None:
    orch = client(tmp_path)
    uuid = str(new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"])
    outcome = orch.cancel_payment(uuid)
    assert outcome.outcome == "cancelled" and "nothing was paid" in outcome.message.lower()
    assert orch.pay(uuid).amount_wei == SMALL  # an explicit new payment after a cancel is the user's choice


def test_a_cancelled_renewal_in_the_status_view_is_never_paid_later(sandbox: dict[str, Any], tmp_path: Path) -> None:
    from swan_jupyter.widgets.status import DeploymentStatus

    orch = client(tmp_path)
    task = new_task(orch, hardware="C1ae.small", app_image="hello-world", pay=True)
    uuid = task["task_uuid"]
    allowance_ready(orch)
    view = DeploymentStatus(orch, uuid, autostart=False, background=False)
    confirm = view.renew("1h")
    broadcast(sandbox, "error")
    confirm.click_confirm()
    set_faults(sandbox, "chain", None)
    assert confirm.state == "failed" and isinstance(confirm.error, UnknownOutcomeError)
    assert [e.state for e in orch.ledger.for_task(uuid) if e.order_type == "Renewal"] == ["signed"]
    confirm.cancel_button.click()
    assert confirm.state == "cancelled" and "nothing was paid" in confirm.status.value.lower()
    next_payment(orch)
    orch.resume_payment(uuid)
    assert orch.payer().amount_paid(uuid) == SMALL  # the creation only: the cancelled renewal never paid
    assert [e.state for e in orch.ledger.for_task(uuid) if e.order_type == "Renewal"] == ["cancelled"]
