"""The design rule on size, kept by a test: no module of the client core over 500 lines, and no function over 70
lines anywhere in the package (the sandbox included). A module or function that grows past it is split by
meaning, into a part whose name says what it holds."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "swan_jupyter"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 70


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_package_is_where_the_rule_looks() -> None:
    assert len(_modules()) > 50 and (PACKAGE / "actors" / "client.py").exists()


def test_no_client_core_module_is_over_500_lines() -> None:
    sandbox = PACKAGE / "sandbox"
    long = {str(p.relative_to(PACKAGE)): n for p in _modules() if sandbox not in p.parents
            and (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules by meaning: {long}"


def test_no_function_is_over_70_lines() -> None:
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}:{node.name}"] = lines
    assert not long, f"split these functions: {long}"
