"""The real sandbox's fault layer against the real clients: lost answers, injected 5xx and resets, over loopback.

Each test switches faults on through the admin route (``/_sandbox/faults``) and always switches them off again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from swan_jupyter.actors import Actors
from swan_jupyter.errors import SwanJupyterError, TransportError, UnknownOutcomeError
from swan_jupyter.orchestrator import Orchestrator
from swan_jupyter.sandbox.reliability import injected, new_task, set_faults
from swan_jupyter.session import Session, reset_default_session
from tests.helpers import TestingShell

LOSE_ONE_MESSAGE = {"rules": [{"target": "abaco", "methods": ["POST"], "paths": [r"/messages$"],
                               "lose_rate": 1.0, "limit": 1}]}


@pytest.fixture
def faults(sandbox: dict[str, Any]) -> Iterator[Any]:
    """``faults(target, body)`` switches rules on; every target is cleared at teardown."""
    used: set[str] = set()

    def switch(target: str, body: dict[str, Any]) -> dict[str, Any]:
        used.add(target)
        return set_faults(sandbox, target, body)

    yield switch
    for target in used:
        set_faults(sandbox, target, None)


@pytest.fixture(params=["v2", "v3"])
def actors(sandbox: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[Actors]:
    abaco = sandbox["abaco"]
    client = Actors(abaco["url"], token=abaco["users"]["user"]["token"], flavor=request.param,
                    tenant=abaco.get("tenant"), retries=6, backoff=0.01, read_timeout=10)
    yield client
    client.close()


def _wait_for(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


@pytest.mark.parametrize("kind", ["json", "binary"])
def test_a_lost_message_answer_is_reported_with_how_to_check_and_never_resent(
    actors: Actors, faults: Any, sandbox: dict[str, Any], kind: str
) -> None:
    aid = str(actors.add({"image": "abacosamples/wc", "name": "lost-answer"}).id)
    try:
        faults("abaco", LOSE_ONE_MESSAGE)  # switching rules resets the injected counts
        sent_at = datetime.now(UTC)
        with pytest.raises(UnknownOutcomeError) as info:
            if kind == "json":
                actors.send_message(aid, {"words": "one two three"})
            else:
                actors.send_binary(aid, b"one two three")
        assert injected(sandbox, "abaco").get("abaco:lose", 0) == 1  # the server took it, then lost it
        error = info.value
        assert "message_count" in error.check and "executions_since" in error.check and aid in error.check
        assert "\n".join(error.summary_lines()).count("\n") <= 3  # short, and it says how to check
        # The checks the error names find exactly one execution: the message was taken once, never resent.
        taken = _wait_for(lambda: actors.executions_since(aid, sent_at))
        assert len(taken) == 1
        execution = actors.execution(aid, str(taken[0].id))
        execution.wait(timeout=30)
        assert execution.info is not None and execution.info.status == "COMPLETE"
        assert actors.message_count(aid) == 0
        # faults off (the rule's limit is spent): the next send goes through and is the second execution only
        actors.send_message(aid, "four five").wait(timeout=30)
        assert actors.list_executions(aid).total_executions == 2
        assert len(actors.executions_since(aid, sent_at - timedelta(minutes=1))) == 2
    finally:
        actors.delete(aid)


def test_actor_send_magic_reports_a_lost_answer_without_resending(ip: TestingShell, sandbox: dict[str, Any],
                                                                   faults: Any) -> None:
    reset_default_session()
    client = Session(notify=lambda _m: None).actors()
    aid = str(client.add({"image": "abacosamples/wc"}).id)
    try:
        faults("abaco", LOSE_ONE_MESSAGE)
        with pytest.raises(UnknownOutcomeError) as info:
            ip.run_cell_magic("actor_send", aid, "one two three\n")
        assert "executions_since" in info.value.check
        assert len(_wait_for(lambda: client.list_executions(aid).executions)) == 1
        time.sleep(0.5)
        assert client.list_executions(aid).total_executions == 1
    finally:
        client.delete(aid)


def test_actor_reads_survive_30_percent_injected_5xx_and_resets(actors: Actors, faults: Any) -> None:
    aid = str(actors.add({"image": "abacosamples/test", "name": "flaky-reads"}).id)
    try:
        faults("abaco", {"rules": [{"target": "abaco", "methods": ["GET"], "error_rate": 0.15, "reset_rate": 0.15,
                                    "seed": 11}]})
        right = errors = 0
        started = time.monotonic()
        for i in range(60):
            try:
                if i % 3 == 0:
                    right += aid in {a.id for a in actors.list()}
                elif i % 3 == 1:
                    right += actors.get(aid).id == aid
                else:
                    right += actors.list_executions(aid).total_executions == 0
            except TransportError:
                errors += 1
        figures = f"60 Abaco reads ({actors.flavor}) under 30% injected faults: {right} right, {errors} clear errors"
        assert right + errors == 60 and right >= 57, figures
        assert time.monotonic() - started < 60
    finally:
        faults("abaco", {"rules": []})
        actors.delete(aid)


def test_a_lost_raw_transaction_answer_still_pays_exactly_once(sandbox: dict[str, Any], faults: Any) -> None:
    reset_default_session()
    orch: Orchestrator = Session(notify=lambda _m: None).orchestrator()
    task = new_task(orch, hardware="C1ae.small", duration=3600, app_image="hello-world")
    uuid, due = task["task_uuid"], task["amount_wei"]
    faults("chain", {"rules": [{"target": "chain", "methods": ["eth_sendRawTransaction"], "lose_rate": 1.0,
                                "limit": 1}]})
    try:
        receipt = orch.pay(uuid)  # the chain took the transaction; only its answer was lost
    except SwanJupyterError as exc:  # or the client says it cannot tell yet; a retry must then finish it
        assert "tx" in str(exc).lower() or "transaction" in str(exc).lower()
        receipt = Session(notify=lambda _m: None).orchestrator().pay(uuid)
    assert injected(sandbox, "chain").get("chain:lose", 0) >= 1
    payer = orch.payer()
    assert payer.amount_paid(uuid) == due
    orders = [o for o in orch.get_deployment_info(uuid)["config_orders"] if o["order_type"] == "Creation"]
    assert len(orders) == 1 and orders[0]["tx_hash"] == receipt.tx_hash.lower()
    again = orch.pay(uuid)  # paying again is a no-op that returns the same receipt
    assert again.tx_hash == receipt.tx_hash and payer.amount_paid(uuid) == due


def test_payments_under_a_flaky_chain_end_paid_exactly_once(sandbox: dict[str, Any], faults: Any) -> None:
    """25% of every JSON-RPC call fails (5xx or reset); the user retries on clear errors: each task paid once."""
    reset_default_session()
    orch: Orchestrator = Session(notify=lambda _m: None).orchestrator()
    tasks = [new_task(orch, hardware="C1ae.small", duration=3600 + 60 * i, app_image="hello-world")
             for i in range(4)]
    faults("chain", {"rules": [{"target": "chain", "error_rate": 0.15, "reset_rate": 0.10, "seed": 5}]})
    clear_errors = 0
    receipts = {}
    for task in tasks:
        for _ in range(15):
            try:
                receipts[task["task_uuid"]] = orch.pay(task["task_uuid"])
                break
            except SwanJupyterError as exc:  # anything else fails the test
                clear_errors += 1
                assert str(exc) and exc.hint
    counts = injected(sandbox, "chain")
    faults("chain", {"rules": []})
    figures = f"4 payments under a 25%-faulty chain: {clear_errors} clear errors on the way, injected {counts}"
    assert counts.get("chain:error", 0) + counts.get("chain:reset", 0) > 5, figures
    assert len(receipts) == len(tasks), figures  # each paid within its 15 tries
    payer = orch.payer()
    for task in tasks:
        uuid = task["task_uuid"]
        assert uuid in receipts and payer.amount_paid(uuid) == task["amount_wei"]
        orders = [o for o in orch.get_deployment_info(uuid)["config_orders"] if o["order_type"] == "Creation"]
        assert [o["tx_hash"] for o in orders] == [receipts[uuid].tx_hash.lower()]


def test_an_unreachable_chain_is_a_transport_error_that_names_the_fix(sandbox: dict[str, Any]) -> None:
    import socket

    from swan_jupyter.errors import TransportError

    reset_default_session()
    orch: Orchestrator = Session(notify=lambda _m: None).orchestrator()
    payer = orch.payer()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    from swan_jupyter.orchestrator.payer import Payer

    dead = Payer(f"http://127.0.0.1:{port}", account=payer.account, client_payment=str(payer.contract.address),
                 swan_token=str(payer.token.address), ledger=payer.ledger)
    with pytest.raises(TransportError) as info:
        dead.balances()
    assert f"127.0.0.1:{port}" in str(info.value) and "sandbox status" in str(info.value)


def test_a_latency_rule_for_the_notebook_spares_the_orchestrators_own_chain_reads(sandbox: dict[str, Any],
                                                                                  faults: Any) -> None:
    """``"emulators": false`` models a notebook far from services that sit next to their chain node: the client's
    JSON-RPC calls are delayed, the Orchestrator's own reads of the chain while it validates are not (the default
    rule delays both)."""
    reset_default_session()
    orch: Orchestrator = Session(notify=lambda _m: None).orchestrator()
    orch.payer().balances()  # the session's constants are learnt before the rules count

    def chain_delays_of_a_validation(rule: dict[str, Any]) -> tuple[int, int]:
        uuid = new_task(orch, hardware="C1ae.small", duration=3600, app_image="hello-world")["task_uuid"]
        faults("chain", {"rules": [rule]})  # switching rules resets the counts
        receipt = orch.payments.submit(uuid)  # paid on chain, not validated yet
        by_client = injected(sandbox, "chain").get("chain:latency", 0)
        orch.payments.validate(receipt.tx_hash, uuid)  # the Orchestrator reads the chain to check the payment
        return by_client, injected(sandbox, "chain").get("chain:latency", 0) - by_client

    by_client, by_server = chain_delays_of_a_validation({"target": "chain", "latency_ms": 1, "emulators": False})
    assert by_client >= 2 and by_server == 0  # the client's reads and broadcast were delayed, the server's not
    by_client, by_server = chain_delays_of_a_validation({"target": "chain", "latency_ms": 1})
    assert by_client >= 2 and by_server >= 1
