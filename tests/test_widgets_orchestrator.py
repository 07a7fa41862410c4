"""DeployForm and DeploymentStatus headless (no browser) against the real sandbox and chain."""

from __future__ import annotations

from typing import Any

import pytest

from swan_jupyter.session import Session, reset_default_session
from swan_jupyter.widgets.deploy_form import DeployForm
from swan_jupyter.widgets.status import DeploymentStatus
from tests.helpers import new_task, wait_until


@pytest.fixture
def orch(sandbox: dict[str, Any]) -> Any:
    reset_default_session()
    return Session(notify=lambda _m: None).orchestrator()


def test_form_fields_follow_the_catalogue_and_validate(orch: Any) -> None:
    form = DeployForm(orch, background=False)
    names = [value for _label, value in form.hardware.options]
    assert "C1ae.small" in names and "Hpc1ae.small" not in names  # unavailable hardware is not offered
    label = dict((v, k) for k, v in form.hardware.options)["G1ae.small"]
    assert "NVIDIA 3080" in label and "10.0 SWAN/h" in label
    form.hardware.value = "G1ae.small"
    assert form.region.options == ("global", "Quebec-CA")
    form.duration.value = "2h"
    assert "20 SWAN" in form.estimate.value
    form.duration.value = "10m"
    assert "below the minimum" in form.errors["duration"].value and form.estimate.value == ""
    form.duration.value = "1h"
    assert form.errors["duration"].value == ""
    form.source.value = "Repository"
    assert form.source_boxes["Repository"].layout.display == "flex"
    assert form.source_boxes["App image"].layout.display == "none"
    form.repo.value = "not a url"
    assert form.validate() is None and "http(s) URL" in form.errors["source"].value
    form.repo.value = ""
    assert form.validate() is None and "required" in form.errors["source"].value


def test_deploy_pay_and_follow_from_the_form(orch: Any) -> None:
    form = DeployForm(orch, background=False, status_interval=0.2)
    form.hardware.value = "C1ae.small"
    form.source.value = "App image"
    form.app.value = "hello-world"
    form.duration.value = "1h"
    form.deploy_button.click()
    assert form.task is not None and form.confirmation is not None, form.message.value
    uuid = form.task["task_uuid"]
    assert "0.48 SWAN" in form.confirmation.review.value
    form.confirmation.confirm_button.click()
    form.confirmation.confirm_button.click()  # a double click pays once
    assert form.confirmation.state == "done" and form.confirmation.calls == 1
    assert orch.payer().amount_paid(uuid) == 480_000_000_000_000_000
    status = form.status_view
    assert status is not None
    assert wait_until(lambda: (status.refresh(), len(status.urls) == 3)[1], timeout=30)
    assert status.status == "completed" and "href=" in status.jobs_html.value
    assert status.progress.value == 3 and status.progress.bar_style == "success"
    state = form.widget.get_state()
    assert "private" not in str(state).lower()


def test_status_view_renew_and_terminate_with_refund(orch: Any) -> None:
    task = new_task(orch, hardware="C1ae.medium", app_image="hello-world", pay=True)
    view = DeploymentStatus(orch, task["task_uuid"], autostart=False, background=False)
    assert view.status in ("created", "completed")
    before = orch.payer().amount_paid(task["task_uuid"])
    confirm = view.renew("1h")
    assert "1 SWAN" in confirm.review.value and orch.payer().amount_paid(task["task_uuid"]) == before
    confirm.click_confirm()
    confirm.click_confirm()  # a double click pays once
    assert orch.payer().amount_paid(task["task_uuid"]) == before + 10**18
    assert "Payment receipt" in view.message.value
    confirm = view.ask_terminate()
    assert "Terminate" in confirm.confirm_button.description
    confirm.confirm_button.click()
    assert confirm.state == "done", confirm.status.value
    assert view.status == "terminated" and view.refund not in (None, "0")
    assert "SWAN refunded" in view.message.value
    assert view.renew_button.disabled and view.terminate_button.disabled


def test_status_errors_show_in_the_widget(orch: Any) -> None:
    view = DeploymentStatus(orch, "00000000-0000-0000-0000-000000000000", autostart=False, background=False)
    assert "NotFoundError" in view.message.value
