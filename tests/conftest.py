"""Shared fixtures: an isolated environment, a TestingShell, and one real sandbox per test session."""

from __future__ import annotations

import os
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
    from swan_jupyter.sandbox import host

    state: Path = tmp_path_factory.mktemp("sandbox")
    description = host.start(state, time_scale=float(os.environ.get("SWAN_TEST_TIME_SCALE", "60")))
    os.environ["SWAN_SANDBOX_STATE"] = str(state)
    try:
        yield description
    finally:
        os.environ.pop("SWAN_SANDBOX_STATE", None)
        host.stop(state)
