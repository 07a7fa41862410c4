"""The deploy form in a real JupyterLab and a real browser: fill, deploy, confirm the payment, see it run."""

from __future__ import annotations

from typing import Any

import nbformat

from tests.browser.conftest import LabServer, shot
from tests.browser.test_lab_smoke import run_all


def notebook(lab: LabServer, name: str, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, lab.root / name)


def test_deploy_form_pays_and_shows_the_running_task(lab_server: LabServer, page: Any) -> None:
    notebook(lab_server, "deploy-form.ipynb", ["%load_ext swan_jupyter", "%swan_deploy --form"])
    page.goto(lab_server.notebook_url("deploy-form.ipynb"))
    run_all(page)
    form = page.locator(".jupyter-widgets:has-text('Deploy on Swan Chain')").first
    form.wait_for(timeout=90_000)
    page.locator(".widget-dropdown select").first.select_option(label=page.locator(
        ".widget-dropdown select option", has_text="C1ae.medium").first.inner_text())
    duration = page.locator(".widget-text input").first
    duration.fill("2h")
    duration.press("Enter")
    page.locator(".jupyter-widgets:has-text('Estimated cost') b:has-text('2 SWAN')").first.wait_for(timeout=30_000)
    shot(form, "deploy_form")
    page.locator("button:has-text('Deploy')").first.click()
    pay = page.locator("button:has-text('Pay 2 SWAN')").first
    pay.wait_for(timeout=60_000)
    shot(page.locator(".jupyter-widgets:has-text('Confirm payment')").first, "payment_confirmation")
    pay.click()
    receipt = page.locator("table.swan-receipt").first
    receipt.wait_for(timeout=60_000)
    text = receipt.inner_text()
    assert "2 SWAN (2000000000000000000 wei)" in text and "0x" in text
    page.locator(".jupyter-widgets span:has-text('running')").first.wait_for(timeout=60_000)
    assert "confirm the payment" not in form.inner_text()
    link = page.locator(".jupyter-widgets a[href*='/_jobs/']").first
    link.wait_for(timeout=60_000)
    link.scroll_into_view_if_needed()
    shot(page, "deployment_status")


def test_actor_widgets_render_in_jupyterlab(lab_server: LabServer, page: Any) -> None:
    notebook(lab_server, "actor-widgets.ipynb", [
        "%load_ext swan_jupyter",
        "from swan_jupyter.session import default_session\n"
        "actors = default_session().actors()\n"
        "wc = actors.add({'image': 'abacosamples/wc', 'name': 'browser-wc'})\n"
        "sleeper = actors.add({'image': 'abacosamples/sleep_loop', 'name': 'browser-sleep'})\n"
        "sent = [actors.send_message(wc.id, 'a b c ' * n) for n in (1, 100, 3000)]\n"
        "sent += [actors.send_message(sleeper.id, {'iterations': 1, 'sleep': s}) for s in (0.02, 0.1, 0.4, 0.9)]\n"
        "[ex.wait(60, poll=0.2) for ex in sent];",
        "%actors form",
        "%actors explore",
    ])
    page.goto(lab_server.notebook_url("actor-widgets.ipynb"))
    run_all(page)
    form = page.locator(".jupyter-widgets:has-text('Send a message to an Abaco actor')").first
    form.wait_for(timeout=90_000)
    shot(form, "actor_message_form")
    page.set_viewport_size({"width": 1024, "height": 900})  # the explorer must fit a 1024 px window
    explorer = page.locator(".jupyter-widgets:has-text('Execution explorer')").first
    explorer.wait_for(timeout=90_000)
    page.locator(".jupyter-widgets:has-text('success rate')").first.wait_for(timeout=90_000)
    explorer.locator("text=Fetching executions").first.wait_for(state="hidden", timeout=90_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jupyter-widgets img')].filter(i => i.naturalWidth > 0).length >= 2",
        timeout=60_000)
    explorer.scroll_into_view_if_needed()
    box = explorer.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1024, box
    clipped = explorer.evaluate("""e => {
        const area = (e.closest('.jp-OutputArea-output') || e.parentElement).getBoundingClientRect();
        return [...e.querySelectorAll('img, input, select, button, .lm-TabBar')]
            .filter(c => c.offsetParent !== null && c.getBoundingClientRect().right > area.right + 1)
            .map(c => c.tagName + ' ' + (c.className || '') + ' ' + Math.round(c.getBoundingClientRect().right)
                      + ' > ' + Math.round(area.right));
    }""")
    assert clipped == [], clipped
    page.locator(".lm-TabBar-tab:has-text('Distributions')").first.click()
    explorer.locator("img").nth(0).wait_for(state="visible", timeout=30_000)
    shot(explorer, "execution_explorer")
    page.set_viewport_size({"width": 1400, "height": 900})  # a notebook about 1000 px wide (issue 21)
    page.locator(".lm-TabBar-tab:has-text('Summary')").first.click()
    summary = explorer.locator("table.swan-summary").first
    summary.wait_for(state="visible", timeout=30_000)
    table_box, explorer_box = summary.bounding_box(), explorer.bounding_box()
    assert table_box is not None and explorer_box is not None
    hidden = table_box["x"] + table_box["width"] - (explorer_box["x"] + explorer_box["width"])
    assert hidden <= 1, f"the summary table is clipped by {hidden:.0f} px (p99, CPU/exec, I/O/exec hidden)"
