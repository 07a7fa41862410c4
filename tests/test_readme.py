"""The README runs as written: every code block of it that is a notebook cell is executed, in order, in one fresh
kernel against the test sandbox (like doctests), so the README cannot drift from the code. Also: the Set-up
section keeps exactly the two commands a new user copies.

Cells are the ```python blocks, except the snippets of ``ipython_config.py`` (their first line starts with
``c.``), which configure IPython rather than run in it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    """The code blocks of the README in ``language``, in order."""
    return [body for lang, body in FENCE.findall(README.read_text()) if lang == language]


def cells() -> list[str]:
    return [b for b in blocks("python") if not b.lstrip().startswith("c.")]


def test_the_readme_has_cells_and_config_snippets() -> None:
    assert len(cells()) >= 8
    assert len([b for b in blocks("python") if b.lstrip().startswith("c.")]) == 2


def test_setup_has_exactly_the_two_commands_a_new_user_copies() -> None:
    text = README.read_text()
    setup = text.split("## Set-up", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    commands = [body.strip() for _lang, body in FENCE.findall(setup)]
    assert commands == ["scripts/demo", "scripts/test"]
    marked = text.split("<!-- test-command -->", 1)[1].split("<!-- /test-command -->", 1)[0]
    assert [b.strip() for _l, b in FENCE.findall(marked)] == ["scripts/test"]


def test_every_readme_cell_runs_in_order_against_the_sandbox(sandbox: dict[str, Any], tmp_path: Path) -> None:
    import nbformat  # here, not at the top: 3 s of import that only this test needs
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells()]
    client = NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    failures = []
    for index, cell in enumerate(nb.cells):
        for output in cell.outputs:
            if output.output_type == "error":
                failures.append(f"README cell {index + 1}:\n{cell.source}\n-> {output.ename}: {output.evalue}")
            # IPython prints a UsageError (bad magic arguments) on stderr instead of raising it
            elif output.output_type == "stream" and output.name == "stderr" and (
                    "UsageError" in output.text or "Traceback" in output.text):
                failures.append(f"README cell {index + 1}:\n{cell.source}\n-> {output.text}")
    assert failures == [], "\n\n".join(failures)
