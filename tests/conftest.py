"""Shared fixtures: an isolated environment, a TestingShell, and one real sandbox per test session.

Lanes: every test is marked from the fixtures it uses and its folder (:func:`pytest_collection_modifyitems`):

* ``chain``: it needs a local anvil chain (the full ``sandbox``, or a chain of its own);
* ``sandbox``: it starts a sandbox host process (with or without a chain);
* ``browser``: it drives JupyterLab in a browser (``tests/browser``).

``scripts/test-fast`` runs ``-m "not chain and not browser"`` (no anvil needed); ``scripts/test`` runs everything.
A test that starts a chain in its own body (not through a fixture) carries ``@pytest.mark.chain`` itself.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TestingShell

# Keep every test away from the user's real config, data folder and credentials.
_ISOLATED_VARS = [
    "SWAN_PROFILE", "SWAN_API_KEY", "SWAN_ORCHESTRATOR_URL", "SWAN_WALLET_ADDRESS", "SWAN_PRIVATE_KEY_FILE",
    "SWAN_KEYSTORE_FILE", "SWAN_PRIVATE_KEY", "SWAN_CHAIN_RPC_URL", "ABACO_URL", "ABACO_TOKEN", "ABACO_FLAVOR",
    "ABACO_TENANT", "ABACO_USER", "SWAN_MAX_PAYMENT", "SWAN_MAX_SESSION_SPEND", "SWAN_KEYSTORE_PASSWORD",
    "SWAN_ALLOW_INSECURE_KEY_FILE",
]


# fixture name -> the lanes a test using it belongs to (the names are the fixtures' own, wherever defined)
FIXTURE_MARKS: dict[str, tuple[str, ...]] = {
    "sandbox": ("chain", "sandbox"),  # the full sandbox: chain + emulators
    "chain": ("chain",),  # a module's own anvil (tests/sandbox/test_chain.py, test_orchestrator_*.py, test_payments.py)
    "own_sandbox": ("chain", "sandbox"),  # a test's own full sandbox (test_first_hour.py, test_load_crash.py)
    "abaco_sandbox": ("sandbox",),  # emulators only (no chain), or the full sandbox when the run starts it anyway
    "trusted": ("sandbox",),  # tests/sandbox/test_trust.py: a host with trust options, no chain
}
FOLDER_MARKS: dict[str, tuple[str, ...]] = {"browser": ("browser", "chain", "sandbox")}
# SWAN_ANVIL in a run that deselects ``chain``: a path that names the mistake when a test reaches for anvil
NO_CHAIN_IN_THIS_LANE = "/nonexistent/this-test-needs-the-chain-mark"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chain: needs a local anvil chain (skipped by scripts/test-fast)")
    config.addinivalue_line("markers", "sandbox: starts a sandbox host process (emulators, with or without a chain)")
    config.addinivalue_line("markers", "browser: drives JupyterLab in a real browser (skipped by scripts/test-fast)")
    if "not chain" in (config.option.markexpr or ""):
        # A lane without the chain must not reach one by accident: a test that starts anvil without carrying the
        # ``chain`` mark (through a fixture of FIXTURE_MARKS or its own decorator) fails here, not silently later.
        os.environ["SWAN_ANVIL"] = NO_CHAIN_IN_THIS_LANE


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A folder of FOLDER_MARKS that the mark expression deselects whatever else its tests carry is not even
    imported (``tests/browser`` imports nbformat and playwright: 3 s of CPU in every worker of the fast lane)."""
    marks = FOLDER_MARKS.get(collection_path.name)
    if marks is None or collection_path.parent != Path(__file__).resolve().parent or not config.option.markexpr:
        return None
    return True if _deselects_all(config.option.markexpr, set(marks)) else None


def _deselects_all(markexpr: str, marks: set[str]) -> bool:
    """Whether ``markexpr`` is false for every test carrying ``marks``, whichever other marks it carries."""
    from _pytest.mark.expression import Expression

    expression = Expression.compile(markexpr)
    others = sorted(set(re.findall(r"[A-Za-z_][\w.-]*", markexpr)) - marks - {"and", "or", "not"})
    if len(others) > 8:
        return False  # too many to try: collect, and let the marks deselect
    for values in itertools.product((False, True), repeat=len(others)):
        carried = marks | {name for name, on in zip(others, values, strict=True) if on}
        if expression.evaluate(lambda name, /, carried=carried, **_: name in carried):
            return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with the lanes of the fixtures it uses and of its folder."""
    tests_root = Path(__file__).resolve().parent
    for item in items:
        names: set[str] = set()
        for fixture in getattr(item, "fixturenames", ()):
            names.update(FIXTURE_MARKS.get(fixture, ()))
        try:
            folder = item.path.resolve().relative_to(tests_root).parts[0]
        except (ValueError, IndexError):
            folder = ""
        names.update(FOLDER_MARKS.get(folder, ()))
        for name in sorted(names):
            item.add_marker(name)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember whether this run starts the full sandbox (after deselection), for :func:`abaco_sandbox`."""
    session.config.stash[_FULL_SANDBOX_NEEDED] = any("sandbox" in getattr(item, "fixturenames", ())
                                                     for item in session.items)


_FULL_SANDBOX_NEEDED = pytest.StashKey[bool]()


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = {k: os.environ.pop(k, None) for k in _ISOLATED_VARS}
    home = tmp_path_factory.mktemp("config")
    os.environ["SWAN_JUPYTER_CONFIG"] = str(home / "config.toml")
    yield
    for k, v in saved.items():
        if v is not None:
            os.environ[k] = v


@pytest.fixture
def ip() -> Iterator[TestingShell]:
    """A real IPython shell with the extension loaded; failing cells raise."""
    from IPython.core.history import HistoryAccessor

    HistoryAccessor.enabled = False
    shell = TestingShell.instance()
    shell.displayhook.flush = lambda: None  # type: ignore[method-assign]
    shell.run_line_magic("load_ext", "swan_jupyter")
    # This shell stands for a Jupyter frontend (tests read the widgets it displays); the tests of frontends
    # without widgets set "off" or drive a real terminal IPython.
    shell.run_line_magic("config", 'SwanMagics.widgets = "on"')
    yield shell
    shell.run_line_magic("unload_ext", "swan_jupyter")
    shell.config.pop("SwanMagics", None)  # %config values must not leak into the next test
    for name in list(shell.user_ns):
        if not name.startswith("_") and name not in ("In", "Out", "exit", "quit", "get_ipython"):
            shell.user_ns.pop(name, None)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One real sandbox (chain + emulators) per test session, in a temporary state folder; stopped at the end.

    Sets ``SWAN_SANDBOX_STATE`` so the extension's sandbox profile finds it.
    """
    yield from _running_sandbox(tmp_path_factory.mktemp("sandbox"), chain=True)


@pytest.fixture(scope="session")
def abaco_sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[dict[str, Any]]:
    """The sandbox's emulators for tests that need no chain (Abaco only): a host started with ``chain=False``.

    When the run starts the full ``sandbox`` anyway (a test selected in it needs the chain), this is that
    sandbox: one host per run, and one ``SWAN_SANDBOX_STATE`` for the extension's sandbox profile to find.
    """
    if request.config.stash.get(_FULL_SANDBOX_NEEDED, True):
        yield request.getfixturevalue("sandbox")
        return
    yield from _running_sandbox(tmp_path_factory.mktemp("abaco-sandbox"), chain=False)


def _running_sandbox(state: Path, *, chain: bool) -> Iterator[dict[str, Any]]:
    """A sandbox host started in ``state`` (with or without its chain) and stopped at the end; meanwhile
    ``SWAN_SANDBOX_STATE`` points the extension's sandbox profile at it."""
    from swan_jupyter.sandbox import host

    description = host.start(state, chain=chain, time_scale=float(os.environ.get("SWAN_TEST_TIME_SCALE", "60")))
    os.environ["SWAN_SANDBOX_STATE"] = str(state)
    try:
        yield description
    finally:
        os.environ.pop("SWAN_SANDBOX_STATE", None)
        host.stop(state)
