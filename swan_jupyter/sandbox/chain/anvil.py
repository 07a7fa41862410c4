"""Find, start and stop the anvil node that serves the sandbox chain.

The binary comes from the npm package ``@foundry-rs/anvil-linux-amd64``, pinned to :data:`ANVIL_NPM_VERSION`:
installed project-locally by ``npm ci`` at the root of a swan_jupyter checkout, or, for a pip installation, into
the user data folder by ``swan-jupyter sandbox install-chain`` (:func:`install_chain`). Nothing is ever
downloaded when the sandbox starts. Search order (:func:`find_anvil`):

1. the environment variable ``SWAN_ANVIL`` (a path to the binary; an invalid path is an error, not a fallback);
2. ``node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil`` in the current directory or any parent;
3. the same path in the directory of this package or any parent (a checkout installed in editable mode);
4. the same path under :func:`chain_install_dir` (``swan-jupyter sandbox install-chain``);
5. ``anvil`` on ``PATH`` (a Foundry installation).

:class:`AnvilProcess` runs ``anvil --host 127.0.0.1 --port 0 --chain-id 31337 --state <dir>/anvil-state.json
--state-interval 1 --no-cors`` (no CORS: no browser page may call the node) with stdout and stderr sent to
``<dir>/anvil.log`` (a file, so the node never blocks on an undrained pipe), reads the port from the
``Listening on 127.0.0.1:<PORT>`` line and waits until ``eth_chainId`` answers. ``stop()`` sends SIGTERM
(anvil then dumps its state and exits), waits, and sends SIGKILL after a timeout;
``--state-interval 1`` bounds what a SIGKILL can lose to about one second.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ANVIL_ENV_VAR = "SWAN_ANVIL"
#: The npm package of the anvil binary and its pinned version (the same as package.json's; a test checks it).
ANVIL_NPM_PACKAGE = "@foundry-rs/anvil-linux-amd64"
ANVIL_NPM_VERSION = "1.7.1"
ANVIL_RELATIVE_PATH = Path("node_modules") / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
INSTALL_HINT = ("run `swan-jupyter sandbox install-chain` (it installs the pinned anvil npm package into the user "
                "data folder; needs npm), `npm ci` at the root of a swan_jupyter checkout, install Foundry so that "
                f"`anvil` is on PATH, or set {ANVIL_ENV_VAR} to the binary")
CHAIN_ID = 31337
STATE_FILE_NAME = "anvil-state.json"
LOG_FILE_NAME = "anvil.log"

_LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")
_HEX_SECRET = re.compile(r"0x[0-9a-fA-F]{64}")


class ChainError(RuntimeError):
    """The local chain could not be started, reached or set up."""


class AnvilNotFoundError(ChainError):
    """No anvil binary was found; the message names the install command."""


class ChainStateError(ChainError):
    """anvil refused to load its state file (for example one truncated by a crash)."""


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _search_upward(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / ANVIL_RELATIVE_PATH
        if _is_executable(candidate):
            return candidate
    return None


def find_anvil() -> Path:
    """Return the path of the anvil binary to run (see the module docstring for the search order).

    Raises :class:`AnvilNotFoundError` with the install instructions when none is found, or when ``SWAN_ANVIL``
    is set to something that is not an executable file.
    """
    override = os.environ.get(ANVIL_ENV_VAR)
    if override:
        path = Path(override).expanduser()
        if not _is_executable(path):
            raise AnvilNotFoundError(f"{ANVIL_ENV_VAR}={override} is not an executable file")
        return path
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        found = _search_upward(start)
        if found is not None:
            return found
    installed = chain_install_dir() / ANVIL_RELATIVE_PATH
    if _is_executable(installed):
        return installed
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise AnvilNotFoundError(f"the anvil binary was not found: {INSTALL_HINT}")


def chain_install_dir() -> Path:
    """Where ``swan-jupyter sandbox install-chain`` installs anvil: ``<user data folder>/swan-jupyter/chain``
    (``~/.local/share/swan-jupyter/chain`` on Linux; ``$XDG_DATA_HOME`` moves it)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("swan-jupyter")) / "chain"


def install_chain(target: Path | None = None, *, timeout: float = 600.0) -> Path:
    """Install the pinned anvil npm package into ``target`` (default :func:`chain_install_dir`) with npm, and
    return the binary's path (idempotent: an installed binary of the pinned version is kept).

    Raises :class:`ChainError` when npm is missing (with how to get it, or another way to the chain) or fails.
    """
    target = target or chain_install_dir()
    binary = target / ANVIL_RELATIVE_PATH
    if not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")):
        raise ChainError(f"{ANVIL_NPM_PACKAGE} is built for Linux on x86-64 only; on this machine install Foundry "
                         f"(https://getfoundry.sh) so that `anvil` is on PATH, or set {ANVIL_ENV_VAR}")
    npm = shutil.which("npm")
    if npm is None:
        raise ChainError("npm is needed to install the chain and was not found on PATH: install Node.js 20+ with "
                         "npm (Debian/Ubuntu: `apt-get install npm`; or https://nodejs.org), then run this again; "
                         f"or install Foundry so that `anvil` is on PATH, or set {ANVIL_ENV_VAR} to an anvil binary")
    target.mkdir(parents=True, exist_ok=True)
    if not (target / "package.json").exists():
        (target / "package.json").write_text('{"name": "swan-jupyter-chain", "private": true}\n')
    cmd = [npm, "install", "--prefix", str(target), "--no-audit", "--no-fund", "--ignore-scripts",
           "--loglevel=error", f"{ANVIL_NPM_PACKAGE}@{ANVIL_NPM_VERSION}"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChainError(f"npm did not finish installing {ANVIL_NPM_PACKAGE} within {timeout:.0f} s") from None
    if done.returncode != 0 or not _is_executable(binary):
        detail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise ChainError(f"npm could not install {ANVIL_NPM_PACKAGE}@{ANVIL_NPM_VERSION}: {detail}")
    return binary


def _log_tail(path: Path, lines: int = 8) -> str:
    """The last lines of anvil's log, with anything that looks like a private key masked."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(_HEX_SECRET.sub("0x<redacted>", line) for line in tail)


def rpc_call(url: str, method: str, params: list[object] | None = None, *, timeout: float = 5.0) -> object:
    """One JSON-RPC call to ``url``; returns ``result`` or raises :class:`ChainError` with the node's error."""
    response = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=timeout
    )
    response.raise_for_status()
    body = response.json()
    if "error" in body:
        raise ChainError(f"{method} failed: {body['error']}")
    return body.get("result")


class AnvilProcess:
    """One running anvil node bound to 127.0.0.1 on a free port, with its state in ``state_dir``."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, state_dir: Path, binary: Path) -> None:
        self._process = process
        self.port = port
        self.state_dir = state_dir
        self.binary = binary

    def __repr__(self) -> str:
        return f"AnvilProcess(pid={self.pid}, url={self.url!r}, running={self.running})"

    @property
    def pid(self) -> int:
        """Process id of the node."""
        return self._process.pid

    @property
    def url(self) -> str:
        """JSON-RPC URL of the node."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self._process.poll() is None

    @property
    def state_file(self) -> Path:
        """Where anvil loads and dumps its state."""
        return self.state_dir / STATE_FILE_NAME

    @property
    def log_file(self) -> Path:
        """Where anvil's stdout and stderr go."""
        return self.state_dir / LOG_FILE_NAME

    @classmethod
    def start(
        cls, state_dir: Path, *, binary: Path | None = None, chain_id: int = CHAIN_ID, timeout: float = 30.0
    ) -> AnvilProcess:
        """Start anvil with its state in ``state_dir`` and return once ``eth_chainId`` answers.

        An existing ``anvil-state.json`` is loaded (same contracts, balances and block number). The log file is
        truncated at each start so that the port read is this run's. On any failure the process is stopped and
        :class:`ChainError` is raised with the end of the log.
        """
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        binary = binary or find_anvil()
        log_path = state_dir / LOG_FILE_NAME
        cmd = [
            str(binary),
            "--host", "127.0.0.1",
            "--port", "0",
            "--chain-id", str(chain_id),
            "--state", str(state_dir / STATE_FILE_NAME),
            "--state-interval", "1",
            "--no-cors",  # no browser page may call the node (clients use the guarded proxy of the host)
        ]
        with open(log_path, "wb") as log:
            # own session: a Ctrl-C in the host's terminal must not kill the node before the host stops it
            process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        node = cls(process, 0, state_dir, binary)
        try:
            node.port = node._wait_for_port(log_path, time.monotonic() + timeout)
            node._wait_for_rpc(chain_id, time.monotonic() + timeout)
        except BaseException:
            node.stop(timeout=5.0)
            raise
        return node

    def _wait_for_port(self, log_path: Path, deadline: float) -> int:
        while True:
            try:
                text = log_path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            match = _LISTENING.search(text)
            if match:
                return int(match.group(1))
            if not self.running:
                error = ChainStateError if "'--state <PATH>'" in text else ChainError
                raise error(
                    f"anvil exited with code {self._process.returncode} before listening; log {log_path}:\n"
                    f"{_log_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise ChainError(f"anvil did not print its port in time; log {log_path}:\n{_log_tail(log_path)}")
            time.sleep(0.01)

    def _wait_for_rpc(self, chain_id: int, deadline: float) -> None:
        last_error: Exception | None = None
        while time.monotonic() <= deadline:
            if not self.running:
                raise ChainError(f"anvil exited with code {self._process.returncode}:\n{_log_tail(self.log_file)}")
            try:
                answer = rpc_call(self.url, "eth_chainId", timeout=1.0)
            except (requests.RequestException, ValueError, ChainError) as exc:
                last_error = exc
                time.sleep(0.01)
                continue
            if int(str(answer), 16) != chain_id:
                raise ChainError(f"anvil answered chain id {answer}, expected {chain_id}")
            return
        raise ChainError(f"anvil at {self.url} did not answer eth_chainId in time ({last_error})")

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the node: SIGTERM (anvil dumps its state), wait up to ``timeout`` s, then SIGKILL.

        Returns the exit code (``None`` only if the process could not be reaped). Idempotent.
        """
        if self._process.poll() is not None:
            return self._process.returncode
        try:
            self._process.send_signal(signal.SIGTERM)
            return self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            try:
                return self._process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                return None
