"""swan_jupyter's own deprecations: one warning class, and the suite treats it as an error (pyproject's
``filterwarnings``), so no test and no test tool calls a deprecated name without saying so (``pytest.warns``)."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

import swan_jupyter
from swan_jupyter.errors import SwanDeprecationWarning

PACKAGE = Path(swan_jupyter.__file__).parent
OTHER_CATEGORIES = {"DeprecationWarning", "PendingDeprecationWarning", "FutureWarning"}


def _category(call: ast.Call) -> str | None:
    """The warning class a ``warnings.warn(...)`` call names (second argument or ``category=``), if a name."""
    node = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "category"), None)
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def test_every_deprecation_in_the_package_is_a_swan_deprecation_warning() -> None:
    plain = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "warn"
                    and _category(node) in OTHER_CATEGORIES):
                plain.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert plain == [], f"deprecations that are not SwanDeprecationWarning: {plain}"


def test_a_swan_deprecation_is_an_error_in_the_suite_and_pytest_warns_still_catches_it() -> None:
    assert issubclass(SwanDeprecationWarning, DeprecationWarning)  # code filtering DeprecationWarning still sees it
    with pytest.raises(SwanDeprecationWarning, match="old name"):
        warnings.warn("old name", SwanDeprecationWarning, stacklevel=1)
    with pytest.warns(DeprecationWarning, match="old name"):
        warnings.warn("old name", SwanDeprecationWarning, stacklevel=1)


def test_other_libraries_deprecations_are_not_made_errors() -> None:
    with warnings.catch_warnings(record=True):  # the suite's filters, recorded instead of shown
        warnings.warn("someone else's old name", DeprecationWarning, stacklevel=1)  # not raised
