"""The lanes tell the truth: the fast lane (``scripts/test-fast``, ``-m "not chain and not browser"``) cannot reach
a chain by accident, and its scenario steps stay in order when it runs on several workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SWAN_ANVIL"}  # as a fresh shell has it
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          env=environ, capture_output=True, text=True, timeout=120)


def test_an_unmarked_test_that_starts_a_chain_fails_in_the_fast_lane() -> None:
    """Without the ``chain`` mark, a test reaching for anvil fails in a run that deselects ``chain``, with a path
    that says what is missing; the same test in a run with the chain lane gets past that point."""
    fast = _pytest("-m", "not chain and not browser", "tests/lane_probe.py")
    assert fast.returncode == 1, fast.stdout + fast.stderr
    assert "this-test-needs-the-chain-mark" in fast.stdout, fast.stdout
    full = _pytest("tests/lane_probe.py")
    assert "this-test-needs-the-chain-mark" not in full.stdout, full.stdout


def test_the_fast_lane_runs_on_workers_with_its_scenarios_in_order() -> None:
    """``scripts/test-fast`` spreads tests over pytest-xdist workers by scope: a class's ordered steps (a
    ``Scenario``) run on one worker, in order, so none is skipped for want of an earlier step."""
    script = (ROOT / "scripts" / "test-fast").read_text()
    assert "--dist loadscope" in script and "-n " in script, script
    spread = _pytest("-n", "2", "--dist", "loadscope", "-rs", "tests/lane_probe.py", "-k", "OrderedSteps")
    assert spread.returncode == 0 and "6 passed" in spread.stdout and "skipped" not in spread.stdout, spread.stdout


def test_a_folder_the_lane_deselects_whole_is_not_imported() -> None:
    """``tests/browser`` (marked ``browser`` whole) is not even imported by a run that deselects ``browser``: its
    imports cost every worker of the fast lane 3 s. A run that may select any of its tests still collects it."""
    from tests.conftest import _deselects_all, pytest_ignore_collect

    marks = {"browser", "chain", "sandbox"}
    assert _deselects_all("not chain and not browser", marks) and _deselects_all("not browser", marks)
    assert not _deselects_all("browser", marks) and not _deselects_all("not slow", marks)
    assert not _deselects_all("not chain or slow", marks)  # a browser test marked slow would be selected
    browser, config = ROOT / "tests" / "browser", SimpleNamespace(option=SimpleNamespace(markexpr=""))
    for markexpr, ignored in (("not chain and not browser", True), ("browser", None), ("", None)):
        config.option.markexpr = markexpr
        assert pytest_ignore_collect(browser, config) is ignored, markexpr  # type: ignore[arg-type]
    config.option.markexpr = "not browser"
    assert pytest_ignore_collect(ROOT / "tests" / "sandbox", config) is None  # a folder without folder marks


def test_the_fast_lane_keeps_bytecode_caches_even_where_the_shell_says_not_to() -> None:
    """``scripts/test-fast`` writes ``__pycache__`` (and pytest's rewritten test modules) even under
    ``PYTHONDONTWRITEBYTECODE=1``: otherwise each worker compiles every module again, 10 s of CPU apiece."""
    for stale in (ROOT / "tests" / "__pycache__").glob("lane_probe.*.pyc"):
        stale.unlink()
    environ = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run([str(ROOT / "scripts" / "test-fast"), "-n", "0", "-q", "-p", "no:cacheprovider",
                          "--collect-only", "tests/lane_probe.py"], cwd=ROOT, env=environ, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert list((ROOT / "tests" / "__pycache__").glob("lane_probe.*.pyc")), "no bytecode cache was written"
