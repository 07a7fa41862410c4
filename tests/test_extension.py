"""Loading, unloading and reloading the extension; short errors; %swan_config; import cost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

from swan_jupyter.errors import ConfigurationError, SwanJupyterError
from tests.helpers import TestingShell, env


def test_load_registers_and_unload_removes(ip: TestingShell) -> None:
    assert "swan_config" in ip.magics_manager.magics["line"]
    ip.run_line_magic("unload_ext", "swan_jupyter")
    assert "swan_config" not in ip.magics_manager.magics["line"]
    assert not any(type(c).__name__ == "SwanMagics" for c in ip.configurables)
    with pytest.raises(UsageError):
        ip.run_line_magic("swan_config", "--no-start")
    ip.run_line_magic("load_ext", "swan_jupyter")
    for _ in range(3):
        ip.run_line_magic("reload_ext", "swan_jupyter")
    assert sum(type(c).__name__ == "SwanMagics" for c in ip.configurables) == 1
    assert "swan_config" in ip.magics_manager.magics["line"]


def test_config_traits_reach_the_instance(ip: TestingShell) -> None:
    magics = ip.magics_manager.registry["SwanMagics"]
    ip.run_line_magic("config", "SwanMagics.short_errors = False")
    assert magics.short_errors is False
    err = ConfigurationError("Unknown profile 'x'.")
    assert "Traceback" in "".join(ip.InteractiveTB.structured_traceback(type(err), err, None))
    ip.run_line_magic("config", "SwanMagics.short_errors = True")
    colored = sys.stdout.isatty()  # a shell that is no kernel colours error names on a terminal only
    assert ip.InteractiveTB.structured_traceback(type(err), err, None) == err.summary_lines(colored)
    ip.run_line_magic("config", "SwanMagics.max_auto_spend = 'lots'")  # refused by the validator (logged)
    assert magics.max_auto_spend == ""
    ip.run_line_magic("config", "SwanMagics.max_auto_spend = '12.5'")
    assert magics.max_auto_spend == "12.5"


def test_short_error_rendering() -> None:
    err = ConfigurationError("Unknown profile 'x'.", hint="Known profiles: sandbox")
    lines = err.summary_lines()
    assert len(lines) == 2 and "ConfigurationError" in lines[0] and lines[1] == "Hint: Known profiles: sandbox"
    assert "Traceback" not in "\n".join(lines)


def test_errors_fail_the_cell_briefly(ip: TestingShell, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SwanJupyterError):
        ip.run_cell("%swan_config --profile does-not-exist --no-start")
    out = capsys.readouterr()
    assert "Unknown profile 'does-not-exist'" in out.out + out.err
    assert "Traceback (most recent call last)" not in out.out + out.err


def test_swan_config_shows_masked_settings(ip: TestingShell) -> None:
    key = "sk-test-" + "q" * 24
    with env(SWAN_API_KEY=key, SWAN_PROFILE="testnet"):
        view = ip.run_line_magic("swan_config", "--no-start")
    text, html = repr(view), view._repr_html_()
    assert "testnet" in text and "swanhub-cali" in html
    assert key not in text and key not in html and "*****" in text


def test_usage_errors_for_bad_arguments(ip: TestingShell) -> None:
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        ip.run_line_magic("swan_config", "--bogus")
    assert ip.run_line_magic("swan_config", "--help") is None


def test_loading_is_light() -> None:
    """``%load_ext`` loads neither the heavy libraries nor the standard library's networking stack (an HTTP client
    pulls ``http.client``, ``email`` and ``ssl``: about 40 ms); only what a magic needs when it runs."""
    code = (
        "import sys, json; from IPython.core.interactiveshell import InteractiveShell;"
        "ip = InteractiveShell.instance(); before = set(sys.modules); ip.run_line_magic('load_ext', 'swan_jupyter');"
        "new = set(sys.modules) - before;"
        "print(json.dumps(sorted(m for m in ('web3', 'pandas', 'ipywidgets', 'eth_account', 'cloudpickle',"
        " 'swan_jupyter.sandbox', 'matplotlib', 'requests', 'urllib3', 'urllib.request', 'http.client', 'email',"
        " 'ssl', 'subprocess', 'tomllib') if m in new)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_package_face_lists_its_lazy_names() -> None:
    import swan_jupyter

    lazy = set(swan_jupyter._LAZY)
    assert lazy <= set(dir(swan_jupyter)) and lazy <= set(swan_jupyter.__all__)
    assert all(hasattr(swan_jupyter, name) for name in swan_jupyter.__all__)


def test_every_error_is_in_the_one_tree_and_on_the_package_face() -> None:
    """Issue 23 §4: ``RemoteFunctionError`` was missing from ``swan_jupyter.__all__`` and ``SandboxError`` derived
    from RuntimeError only. Both are in the tree now; ``except RuntimeError`` still catches a SandboxError."""
    import swan_jupyter
    from swan_jupyter import errors
    from swan_jupyter.sandbox import host

    public = {name for name, value in vars(errors).items()
              if isinstance(value, type) and issubclass(value, errors.SwanJupyterError)}
    assert public <= set(swan_jupyter.__all__), public - set(swan_jupyter.__all__)
    assert swan_jupyter.RemoteFunctionError is errors.RemoteFunctionError
    assert host.SandboxError is errors.SandboxError
    error = host.SandboxError("the sandbox could not start", hint="swan-jupyter sandbox status says why")
    assert isinstance(error, swan_jupyter.SwanJupyterError) and isinstance(error, RuntimeError)
    assert error.summary_lines(color=False) == ["SandboxError: the sandbox could not start",
                                                "Hint: swan-jupyter sandbox status says why"]
