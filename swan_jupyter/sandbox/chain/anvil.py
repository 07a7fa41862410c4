"""Find, start and stop the anvil node that serves the sandbox chain.

The binary comes from the npm package ``@foundry-rs/anvil-linux-amd64`` installed project-locally by ``npm ci``
at the root of a swan_jupyter checkout; nothing is ever downloaded at run time. Search order
(:func:`find_anvil`):

1. the environment variable ``SWAN_ANVIL`` (a path to the binary; an invalid path is an error, not a fallback);
2. ``node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil`` in the current directory or any parent;
3. the same path in the directory of this package or any parent (a checkout installed in editable mode);
4. ``anvil`` on ``PATH`` (a Foundry installation).

:class:`AnvilProcess` runs ``anvil --host 127.0.0.1 --port 0 --chain-id 31337 --state <dir>/anvil-state.json
--state-interval 1 --no-cors`` (no CORS: no browser page may call the node) with stdout and stderr sent to
``<dir>/anvil.log`` (a file, so the node never blocks on an undrained pipe), reads the port from the
``Listening on 127.0.0.1:<PORT>`` line and waits until ``eth_chainId`` answers. ``stop()`` sends SIGTERM
(anvil then dumps its state and exits), waits, and sends SIGKILL after a timeout;
``--state-interval 1`` bounds what a SIGKILL can lose to about one second.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

ANVIL_ENV_VAR = "SWAN_ANVIL"
ANVIL_RELATIVE_PATH = Path("node_modules") / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
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
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise AnvilNotFoundError(
        "the anvil binary was not found: run `npm ci` at the root of the swan_jupyter checkout (it installs "
        f"{ANVIL_RELATIVE_PATH}), install Foundry so that `anvil` is on PATH, or set {ANVIL_ENV_VAR} to the binary"
    )


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
