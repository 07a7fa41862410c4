"""The notebooks: stored without outputs, each one executed in a fresh kernel against the test sandbox, and
everything the run leaves (outputs, widget state, the saved notebook, the sandbox's log) scanned for secrets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = ["01-quickstart.ipynb", "02-deploy-and-pay.ipynb", "03-actors.ipynb", "04-execution-metrics.ipynb",
            "05-functions.ipynb"]


#: What a notebook's outputs must show, beyond running without errors.
SHOWS: dict[str, list[str]] = {
    # the grid search's fits: execution durations per parameter set, joined from the executions' records
    "05-functions.ipynb": ["duration", "queue_wait"] + [f"C={c}, kernel={k}" for c in ("0.1", "1.0", "10.0")
                                                        for k in ("linear", "rbf")],
}


def test_every_expected_notebook_exists() -> None:
    present = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert present == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    import nbformat  # here, not at the top: 3 s of import that only these tests need (tests/conftest.py)

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name} cell {index} has outputs: run scripts/strip-notebooks"
            assert cell.execution_count is None, f"{name} cell {index} has an execution count"
    assert "widgets" not in nb.metadata, f"{name} carries saved widget state"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_runs_in_a_fresh_kernel(name: str, sandbox: dict[str, Any], tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert os.environ.get("SWAN_SANDBOX_STATE"), "the sandbox fixture sets SWAN_SANDBOX_STATE for the kernel"
    client = NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    texts = [str(o.get("data", {}).get("text/plain", "")) for c in nb.cells if c.cell_type == "code"
             for o in c.outputs]
    wanted = SHOWS.get(name, [])
    assert not wanted or any(all(m in text for m in wanted) for text in texts), f"{name}: no output shows {wanted}"
    # Secrets: the sandbox's real API key, private key, user tokens and admin token are the markers.
    from tests.test_secrets import scan, secrets_of

    saved = tmp_path / name
    nbformat.write(nb, saved)  # as the user would save it, widget state included
    outputs = [str(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs, "the notebook produced no output to scan"
    texts = [saved.read_text(), *outputs, (Path(sandbox["host"]["state_dir"]) / "host.log").read_text()]
    assert scan(texts, secrets_of(sandbox)) == []
