"""Issue 14 in a real JupyterLab and browser: the sandbox notice is information (not an error box), the task
card of `%swan status` and the hardware catalogue on one line per row."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LabServer, shot
from tests.browser.test_lab_smoke import run_all
from tests.browser.test_lab_widgets import notebook


def test_sandbox_notice_is_information_not_an_error(lab_server: LabServer, page: Any) -> None:
    notebook(lab_server, "notice.ipynb", ["%load_ext swan_jupyter", "%swan_config"])
    page.goto(lab_server.notebook_url("notice.ipynb"))
    run_all(page)
    notice = page.locator(".jp-OutputArea-output .swan-notice").first
    notice.wait_for(timeout=90_000)
    text = notice.inner_text()
    assert "using the local sandbox" in text and "sandbox stop --state" in text
    page.locator(".jp-OutputArea-output:has-text('swan_jupyter settings') table").wait_for(timeout=60_000)
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    shot(notice, "sandbox_notice")


def test_status_card_and_compact_hardware_table(lab_server: LabServer, page: Any) -> None:
    notebook(lab_server, "card.ipynb", [
        "%load_ext swan_jupyter\n%config SwanMagics.max_auto_spend = \"5\"",
        "%swan_deploy --app hello-world --hardware C1ae.small --region Quebec-CA --yes --wait task",
        "%swan status {task.task_uuid}",
        "%swan hardware",
    ])
    page.goto(lab_server.notebook_url("card.ipynb"))
    run_all(page)
    card = page.locator(".swan-task-card").first
    card.wait_for(timeout=120_000)
    text = card.inner_text()
    assert "running" in text and "C1ae.small" in text and "Quebec-CA" in text and "0.48 SWAN/h" in text
    assert card.locator("a[href*='/_jobs/']").count() == 3 and "Creation" in text
    card.locator("summary:has-text('server status')").first.click()  # the server's word, one click away
    card.locator("details code:has-text('completed')").first.wait_for(state="visible", timeout=10_000)
    card.scroll_into_view_if_needed()
    shot(card, "task_status_card")
    table = page.locator(".swan-hardware table").first
    table.wait_for(timeout=60_000)
    table.scroll_into_view_if_needed()
    heights = table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.getBoundingClientRect().height)")
    assert heights and max(heights) < 1.5 * min(heights), heights  # one line per hardware: nothing wraps
    status = table.locator("thead th", has_text="status").first.bounding_box()
    assert status is not None and status["x"] + status["width"] < 1280  # visible without scrolling sideways
    wei = table.locator("thead th", has_text="price_per_hour_wei").first.bounding_box()
    assert wei is not None and wei["x"] > status["x"]
    shot(table, "hardware_table")


def test_cancel_offers_a_removal_button_whose_label_is_whole(lab_server: LabServer, page: Any) -> None:
    """Issue 21: after Cancel, the "Remove the unpaid task" button shows its whole label (it read "Remove the
    un…"), and the note says once that the task stays unpaid."""
    notebook(lab_server, "cancel.ipynb", [
        "%load_ext swan_jupyter",
        "%swan_deploy --app hello-world --hardware C1ae.small --duration 1h t",
    ])
    page.goto(lab_server.notebook_url("cancel.ipynb"))
    run_all(page)
    cancel = page.locator(".jupyter-widgets button:has-text('Cancel')").first
    cancel.wait_for(timeout=90_000)
    cancel.click()
    remove = page.locator(".jupyter-widgets button:has-text('Remove the unpaid task')").first
    remove.wait_for(timeout=90_000)
    cut = remove.evaluate("b => b.scrollWidth - b.clientWidth")
    assert cut <= 1, f"the label is cut by {cut} px"
    note = page.locator(".jupyter-widgets:has-text('Cancelled')").last.inner_text()
    assert note.count("not paid") + note.count("unpaid") <= 2 and "but task" not in note, note
    shot(remove, "cancel_removal_button")
