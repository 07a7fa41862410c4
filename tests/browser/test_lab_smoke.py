"""JupyterLab in a real browser: the extension loads in a real kernel and its output renders as HTML."""

from __future__ import annotations

from typing import Any

import nbformat

from tests.browser.conftest import LabServer, shot


def run_all(page: Any) -> None:
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
    page.locator(".jp-Cell .jp-InputArea-editor").first.click()
    cells = page.locator(".jp-NotebookPanel .jp-Cell").count()
    for _ in range(cells):
        page.keyboard.press("Shift+Enter")


def test_extension_loads_and_renders_in_jupyterlab(lab_server: LabServer, page: Any) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("%load_ext swan_jupyter"), nbformat.v4.new_code_cell("%swan_config")]
    nbformat.write(nb, lab_server.root / "smoke.ipynb")
    page.goto(lab_server.notebook_url("smoke.ipynb"))
    run_all(page)
    table = page.locator(".jp-OutputArea-output:has-text('swan_jupyter settings') table")
    table.wait_for(timeout=90_000)
    text = table.inner_text()
    assert "profile" in text and "sandbox" in text
    assert "*****" in text or "(not set)" in text
    shot(page.locator(".jp-NotebookPanel").first, "swan_config")
