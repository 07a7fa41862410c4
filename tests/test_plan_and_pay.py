"""One way to plan and pay for a task: a task description, one planning step, one create step; swan-sdk's names as a
facade over the client (issue 23 §2). Against the real sandbox and anvil."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from swan_jupyter.errors import SwanJupyterError, ValidationError
from swan_jupyter.orchestrator import Orchestrator, Quote, SwanSdk, TaskDescription
from swan_jupyter.orchestrator.amounts import wei_to_swan
from swan_jupyter.orchestrator.payer import Checkpoint
from swan_jupyter.orchestrator.payments import Payments
from swan_jupyter.session import Session, reset_default_session
from tests.helpers import ScriptedServer, TestingShell
from tests.test_orchestrator_answers import client as answers_client


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every catalogue lookup of a hardware entry and of an example app (pass-through wrappers: the client's own
    methods run and answer; the test only counts). Each check of a task's inputs, and each estimate, looks the
    hardware up once."""
    log: list[str] = []
    hardware, app = Orchestrator.hardware, Orchestrator.get_app_repo_image

    def counting_hardware(self: Orchestrator, name_or_id: str | int) -> Any:
        log.append(f"hardware {name_or_id}")
        return hardware(self, name_or_id)

    def counting_app(self: Orchestrator, name: str | None = None) -> Any:
        log.append(f"app {name}")
        return app(self, name)

    monkeypatch.setattr(Orchestrator, "hardware", counting_hardware)
    monkeypatch.setattr(Orchestrator, "get_app_repo_image", counting_app)
    yield log


def test_a_deploy_magic_checks_and_estimates_once(sandbox: dict[str, Any], ip: TestingShell,
                                                  lookups: list[str]) -> None:
    reset_default_session()
    ip.run_line_magic("config", 'SwanMagics.max_auto_spend = "5"')
    try:
        ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --duration 1h --yes t")
    finally:
        ip.run_line_magic("config", 'SwanMagics.max_auto_spend = ""')
    assert ip.user_ns["t"]["receipt"].validated
    assert lookups == ["hardware C1ae.small", "app hello-world"], lookups


# -- the task description: checked when made ---------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({}, "exactly one source"),
    ({"app_image": "hello-world", "repo_uri": "https://github.com/a/b"}, "exactly one source"),
    ({"app_image": "hello-world", "hardware": None}, "Choose hardware"),
    ({"app_image": "hello-world", "duration": "30m"}, "below the minimum"),
    ({"app_image": "hello-world", "duration": "soon"}, "not understood"),
    ({"app_image": "hello-world", "start_in": -1}, "start_in"),
    ({"app_image": "hello-world", "wallet": "0x12"}, "not an Ethereum address"),
    ({"app_image": "hello-world", "preferred_providers": "cp1"}, "a list of names, not one string"),
    ({"app_image": "hello-world", "ip_allowlist": ["1.2.3.4,5.6.7.8"]}, "is not a name"),
    ({"app_image": "hello-world", "ip_allowlist": ["10.0.0.1"] * 101}, "at most 100"),
    ({"deploy_yaml": "just text"}, "mapping"),
    ({"repo_uri": "ftp://example.org/x"}, "repo_uri"),
])
def test_a_task_description_refuses_bad_input_when_made(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        TaskDescription(**{"hardware": "C1ae.small", **kwargs})


def test_a_task_description_is_frozen_and_normalised() -> None:
    task = TaskDescription(hardware="C1ae.small", app_image="hello-world", duration="1h30m",
                           preferred_providers=["cp1", "cp2"])
    assert task.duration == task.seconds == 5400 and task.preferred_providers == ("cp1", "cp2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.duration = 3600  # type: ignore[misc]


def test_a_quote_is_built_in_one_place_in_integer_wei() -> None:
    quote = Quote.build(hardware="C1ae.small", hardware_id=0, duration=5401, price_per_hour=Decimal("0.48"),
                        wallet="0x" + "1" * 40, network="sandbox")
    assert quote.price_per_hour_wei == 480_000_000_000_000_000
    assert quote.amount_wei == 480_000_000_000_000_000 * 5401 // 3600 and isinstance(quote.amount_wei, int)
    rebuilt = Quote.build(hardware="", hardware_id=0, duration=5401, wallet="0x" + "1" * 40, network="sandbox",
                          price_per_hour=wei_to_swan(quote.price_per_hour_wei), amount_wei=quote.amount_wei)
    assert rebuilt.differences(quote) == []


# -- plan once, create once --------------------------------------------------------------------------------------


@pytest.fixture
def orch(sandbox: dict[str, Any], tmp_path: Any) -> Iterator[Orchestrator]:
    reset_default_session()
    client = Session(notify=lambda _m: None, ledger_path=str(tmp_path / "ledger.sqlite")).orchestrator()
    yield client
    client.close()


def test_plan_then_create_pays_the_planned_estimate(orch: Orchestrator, lookups: list[str]) -> None:
    plan = orch.plan(TaskDescription(hardware="C1ae.small", app_image="hello-world", duration="1h30m"))
    assert plan.hardware.name == "C1ae.small" and plan.seconds == 5400
    assert plan.estimate.amount_wei == 720_000_000_000_000_000 and plan.wallet == orch.settings.wallet_address
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seconds = 1  # type: ignore[misc]
    task = orch.create(plan, pay=True, max_spend="5")
    assert task["receipt"].validated and task["receipt"].amount_wei == plan.estimate.amount_wei
    assert lookups == ["hardware C1ae.small", "app hello-world"]  # create checked nothing again
    assert orch.create(plan)["status"] == "initialized"  # a plan creates unpaid tasks too


def test_create_refuses_a_plan_above_the_cap_before_creating_anything(orch: Orchestrator) -> None:
    plan = orch.plan(TaskDescription(hardware="C1ae.small", app_image="hello-world"))
    before = orch.get_task_list(size=100)["total"]
    with pytest.raises(ValidationError, match="above"):
        orch.create(plan, pay=True, max_spend="0.1")
    assert orch.get_task_list(size=100)["total"] == before


def test_a_plan_checks_the_catalogue(orch: Orchestrator) -> None:
    with pytest.raises(ValidationError, match="Unknown hardware"):
        orch.plan(TaskDescription(hardware="C9.huge", app_image="hello-world"))
    with pytest.raises(ValidationError, match="not offered in region"):
        orch.plan(TaskDescription(hardware="G1ae.small", region="North Carolina-US", app_image="hello-world"))
    with pytest.raises(ValidationError, match="Invalid app_repo_image"):
        orch.plan(TaskDescription(hardware="C1ae.small", app_image="no-such-app"))


# -- payments depend on a small protocol ---------------------------------------------------------------------------


class OnlyTheProtocol:
    """The client seen through :class:`PaymentServer` alone: anything else Payments asked for would fail."""

    def __init__(self, client: Orchestrator) -> None:
        self.settings = client.settings
        self.checkpoint: Checkpoint | None = None
        self.contract_info, self.get_deployment_info = client.contract_info, client.get_deployment_info
        self.send_payment_form = client.send_payment_form


def test_payments_need_only_the_payment_server_protocol(orch: Orchestrator) -> None:
    task = orch.create(orch.plan(TaskDescription(hardware="C1ae.small", app_image="hello-world")))
    payments = Payments(OnlyTheProtocol(orch))
    receipt, order = payments.pay(task["task_uuid"], confirmed=task_quote(orch, task))
    assert receipt.validated and order is not None
    assert [o["order_type"] for o in orch.get_deployment_info(task["task_uuid"])["config_orders"]] == ["Creation"]
    assert payments.pay(task["task_uuid"])[0].resumed  # never twice, through the protocol too
    with pytest.raises(ValueError, match="not a payment request"):
        orch.send_payment_form("/v2/task_deployment-dp", {})


def task_quote(orch: Orchestrator, task: Any) -> Quote:
    return orch.quote(task["task_uuid"], task=task["task"])


# -- swan-sdk's names: a facade; the moved names keep working, with a warning --------------------------------------


def test_resource_returns_the_swan_sdk_facade_without_warnings(sandbox: dict[str, Any]) -> None:
    import swan_jupyter

    sdk = swan_jupyter.resource(api_key=sandbox["orchestrator"]["api_key"], url_endpoint=sandbox["orchestrator"]["url"])
    assert isinstance(sdk, SwanSdk) and isinstance(sdk.client, Orchestrator)
    wallet = sandbox["chain"]["wallet"]["address"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        hw, seconds = sdk.validate_task(wallet_address=wallet, instance_type="C1ae.small",
                                        app_repo_image="hello-world", duration="2h")
        task = sdk.create_task(wallet_address=wallet, instance_type="C1ae.small", app_repo_image="hello-world",
                               auto_pay=False)
        assert sdk.get_deployment_info(task["task_uuid"])["status"] == "initialized"  # the client's own names
    assert hw.name == "C1ae.small" and seconds == 7200
    sdk.close()


@pytest.mark.parametrize(("call", "instead"), [
    (lambda o: o.create_task(instance_type="C1ae.small", app_repo_image="hello-world"), "orch.create(orch.plan("),
    (lambda o: o.validate_task(instance_type="C1ae.small", app_repo_image="hello-world"), "orch.plan("),
    (lambda o: o.renew_task("not-a-uuid"), "orch.renew("),
    (lambda o: o.validate_payment("0x" + "0" * 64, "not-a-uuid"), "orch.payments.validate("),
    (lambda o: o.submit_payment("3f1e2d4c-0000-4000-8000-000000000000", duration=0), "orch.payments.submit("),
    (lambda o: o.make_payment("3f1e2d4c-0000-4000-8000-000000000000"), "orch.pay("),
])
def test_the_moved_client_names_still_work_with_a_deprecation_warning(orch: Orchestrator, call: Any,
                                                                     instead: str) -> None:
    # the facade may refuse the made-up task: it was reached all the same
    with pytest.warns(DeprecationWarning, match=re.escape(instead)) as caught, contextlib.suppress(SwanJupyterError):
        call(orch)
    assert caught[0].filename == __file__  # the warning names the caller's line


def test_the_old_payments_call_lists_the_ledger_with_a_deprecation_warning(orch: Orchestrator) -> None:
    task = orch.create(orch.plan(TaskDescription(hardware="C1ae.small", app_image="hello-world")), pay=True,
                       max_spend="5")
    with pytest.warns(DeprecationWarning, match=r"orch\.payments\.entries\(\)"):
        rows = orch.payments()
    assert rows == orch.payments.entries() and rows[-1].task_uuid == task["task_uuid"]


@pytest.mark.parametrize("uuid", ["", "a/b", "x" * 101, None])
def test_the_payments_validate_refuses_a_bad_task_uuid_before_sending(tmp_path: Path, uuid: Any) -> None:
    # orch.payments.validate is where validate_payment's callers go: it checks the uuid as validate_payment did
    with ScriptedServer() as server:
        orch = answers_client(server, tmp_path)
        with pytest.raises(ValidationError, match="is not a task uuid"):
            orch.payments.validate("0x" + "0" * 64, uuid)
        assert [r["path"] for r in server.requests if "payment" in r["path"]] == []
