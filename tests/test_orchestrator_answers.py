"""Malformed Orchestrator answers are clear errors naming the endpoint and the field, never raw Python errors,
never a price of 0, and never a payment.

Scripted answers come from a real HTTP server on 127.0.0.1 (no mocks of the project's HTTP layer); the cases that
need a chain go through a proxy in front of the real sandbox emulator that changes one answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swan_jupyter.config import load_settings
from swan_jupyter.errors import ConfigurationError, ProtocolError, SwanJupyterError, UnknownOutcomeError
from swan_jupyter.orchestrator import Orchestrator
from swan_jupyter.session import Session, reset_default_session
from tests.helpers import Scripted, ScriptedServer, new_task
from tests.proxy import RewritingProxy, task_detail_rewrite

WALLET = "0x" + "ab" * 20
HW = {"hardware_id": 0, "hardware_name": "C1ae.small", "hardware_description": "CPU only", "hardware_type": "CPU",
      "region": ["global"], "hardware_price": "0.48", "hardware_status": "available"}


def ok(data: Any) -> Scripted:
    return Scripted(200, {"status": "success", "message": "ok", "data": data})


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


def client(server: ScriptedServer, tmp_path: Path) -> Orchestrator:
    settings = load_settings(profile="testnet", wallet_address=WALLET, ledger_path=str(tmp_path / "l.sqlite"),
                             retries=0)
    server.queue.append(ok("a-token"))  # the login
    return Orchestrator(server.url, "api-key", settings=settings)


def hardware_answer(**changes: Any) -> Scripted:
    entry = {**HW, **changes}
    for key in [k for k, v in changes.items() if v is ...]:
        entry.pop(key)
    return ok({"hardware": [entry]})


@pytest.mark.parametrize(("answer", "field"), [
    (Scripted(200, "<html><body>Sign in to the Wi-Fi</body></html>", content_type="text/html"), "data"),
    (ok([1, 2]), "data"),
    (ok("maintenance"), "data"),
    (ok({"hardware": "none"}), "hardware"),
    (ok({"hardware": ["x"]}), "hardware[0]"),
    (hardware_answer(hardware_price="abc"), "hardware[0].hardware_price"),
    (hardware_answer(hardware_price=...), "hardware[0].hardware_price"),
    (hardware_answer(hardware_price=None), "hardware[0].hardware_price"),
    (hardware_answer(hardware_price="-1"), "hardware[0].hardware_price"),
    (hardware_answer(hardware_price="NaN"), "hardware[0].hardware_price"),
    (hardware_answer(hardware_id="x"), "hardware[0].hardware_id"),
    (hardware_answer(hardware_name={"a": 1}), "hardware[0].hardware_name"),
])
def test_a_malformed_catalogue_names_the_endpoint_and_field(server: ScriptedServer, tmp_path: Path,
                                                            answer: Scripted, field: str) -> None:
    orch = client(server, tmp_path)
    server.queue.append(answer)
    with pytest.raises(ProtocolError) as info:
        orch.get_hardware()
    assert "/cp/machines-dp-ssh-ready" in info.value.message and field in info.value.message
    assert info.value.hint


def test_a_missing_price_is_never_zero(server: ScriptedServer, tmp_path: Path) -> None:
    orch = client(server, tmp_path)
    server.queue.append(hardware_answer(hardware_price=...))
    with pytest.raises(ProtocolError, match="hardware_price"):
        orch.estimate_price("C1ae.small", 3600)


@pytest.mark.parametrize("answer", [
    ok([{"contract_info": {}}]), ok("x"), ok({"contract_info": []}), ok({"contract_info": {"contract_detail": "x"}}),
    ok({"contract_info": {"contract_detail": {"client_contract_address": {"x": 1}}}}),
    ok({"contract_info": {"contract_detail": {"client_contract_address": "0x12",
                                              "swan_token_contract_address": "0x" + "1" * 40}}}),
])
def test_a_malformed_contract_info_names_the_field(server: ScriptedServer, tmp_path: Path, answer: Scripted) -> None:
    orch = client(server, tmp_path)
    server.queue.append(answer)
    with pytest.raises(ProtocolError) as info:
        orch.contract_info()
    assert "/contract_info" in info.value.message


@pytest.mark.parametrize("answer", [
    ok({"task": {"uuid": {"nested": "dict"}}}), ok({"task": "created"}), ok([]), ok(None),
    Scripted(200, "<html>502 Bad Gateway</html>", content_type="text/html"),
])
def test_a_garbled_answer_to_a_create_is_an_unknown_outcome(server: ScriptedServer, tmp_path: Path,
                                                            answer: Scripted) -> None:
    orch = client(server, tmp_path)
    server.queue += [hardware_answer(), answer]
    with pytest.raises(UnknownOutcomeError) as info:
        new_task(orch, hardware="C1ae.small", source_uri="https://example.org/space")
    assert "list your tasks" in (info.value.hint or "") and "may or may not" in info.value.message
    assert [r["path"] for r in server.requests].count("/v2/task_deployment-dp") == 1  # never resent


@pytest.mark.parametrize(("detail", "field"), [
    ({"price_per_hour": "abc"}, "price_per_hour"), ({"hardware_id": "x"}, "hardware_id"),
    ({"price_per_hour": None}, "price_per_hour"), ({"duration": [1]}, "duration"),
])
def test_a_malformed_task_never_becomes_a_quote(server: ScriptedServer, tmp_path: Path, detail: dict[str, Any],
                                                field: str) -> None:
    orch = client(server, tmp_path)
    task = {"uuid": "u-1", "task_detail": {"hardware_id": 0, "price_per_hour": "0.48", "duration": 3600, **detail}}
    server.queue.append(ok({"task": task, "jobs": [], "config_orders": []}))
    with pytest.raises(ProtocolError) as info:
        orch.payments.quote("u-1")
    assert field in info.value.message and "task_deployment" in info.value.message


def test_every_malformed_answer_is_a_swan_jupyter_error(server: ScriptedServer, tmp_path: Path) -> None:
    """The listing and status calls too: no AttributeError/TypeError escapes for data of the wrong type."""
    orch = client(server, tmp_path)
    for answer in (ok("x"), ok([1]), Scripted(200, "<html/>", content_type="text/html")):
        server.queue.append(answer)
        with pytest.raises(SwanJupyterError):
            orch.get_task_list()
        server.queue.append(answer)
        with pytest.raises(SwanJupyterError):
            orch.get_real_url("u-1")


# -- against the real emulator and chain ------------------------------------------------------------------------


@pytest.fixture
def base(sandbox: dict[str, Any], tmp_path: Path) -> Orchestrator:
    reset_default_session()
    return Session(notify=lambda _m: None, ledger_path=str(tmp_path / "ledger.sqlite")).orchestrator()


def test_a_contract_address_without_code_is_refused_before_signing(sandbox: dict[str, Any],
                                                                   base: Orchestrator) -> None:
    def no_code(method: str, path: str, answer: Any) -> Any:
        if path == "/contract_info":
            answer["data"]["contract_info"]["contract_detail"]["client_contract_address"] = "0x" + "12" * 20
        return answer

    with RewritingProxy(sandbox["orchestrator"]["url"]) as proxy:
        proxy.rewrite = no_code
        unpinned = base.settings.replace(client_payment_address=None)  # (a pinned profile refuses even earlier)
        orch = Orchestrator(proxy.url, sandbox["orchestrator"]["api_key"], settings=unpinned)
        uuid = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
        nonce = base.payer().w3.eth.get_transaction_count(base.payer().address)
        with pytest.raises(ConfigurationError, match="has no contract code") as info:
            orch.pay(uuid)
        assert "client_contract_address" in info.value.message and "Nothing was signed" in (info.value.hint or "")
    assert base.payer().w3.eth.get_transaction_count(base.payer().address) == nonce


def test_an_unparsable_price_in_a_real_task_is_never_paid(sandbox: dict[str, Any], base: Orchestrator) -> None:
    with RewritingProxy(sandbox["orchestrator"]["url"]) as proxy:
        orch = Orchestrator(proxy.url, sandbox["orchestrator"]["api_key"], settings=base.settings)
        uuid = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
        proxy.rewrite = task_detail_rewrite(price_per_hour="abc")
        with pytest.raises(ProtocolError, match="price_per_hour"):
            orch.pay(uuid)
    assert base.payer().amount_paid(uuid) == 0


def test_a_server_naming_another_contract_is_refused_before_any_approval(sandbox: dict[str, Any],
                                                                        base: Orchestrator) -> None:
    """A hostile /contract_info names a contract with code (here the token itself) as the payment contract: the
    approve would let it pull SWAN. The sandbox profile pins its contracts: nothing is approved or signed."""
    def other_contract(method: str, path: str, answer: Any) -> Any:
        if path == "/contract_info":
            detail = answer["data"]["contract_info"]["contract_detail"]
            detail["client_contract_address"] = detail["swan_token_contract_address"]
        return answer

    payer = base.payer()
    token = payer.token.functions
    with RewritingProxy(sandbox["orchestrator"]["url"]) as proxy:
        proxy.rewrite = other_contract
        orch = Orchestrator(proxy.url, sandbox["orchestrator"]["api_key"], settings=base.settings)
        uuid = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
        nonce = payer.w3.eth.get_transaction_count(payer.address)
        with pytest.raises(ConfigurationError, match="pins client_payment_address") as info:
            orch.pay(uuid)
        assert "Nothing was approved or signed" in info.value.message
    assert payer.w3.eth.get_transaction_count(payer.address) == nonce
    assert token.allowance(payer.address, payer.token.address).call() == 0


def test_a_profile_pinned_to_another_chain_refuses_to_pay(base: Orchestrator) -> None:
    orch = Orchestrator(base.url, base.settings.api_key, settings=base.settings.replace(chain_id=254))
    uuid = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    with pytest.raises(ConfigurationError, match="is chain 31337, but profile 'sandbox' pays on chain 254"):
        orch.pay(uuid)
    assert base.payer().amount_paid(uuid) == 0
