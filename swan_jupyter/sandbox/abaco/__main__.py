"""Run the Abaco emulator alone: ``python -m swan_jupyter.sandbox.abaco --state DIR [--port N]``.

Serves on 127.0.0.1, prints one JSON line ``{"ready": true, ...describe()}`` once listening (with the users'
tokens: keep the output private), and stops cleanly (children killed) on SIGTERM or SIGINT. The sandbox host
is the normal way to run it; this entry point serves tests and debugging.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from ..connections import server_config
from ..guard import LoopbackGuard
from ..limits import RequestLimits
from ..service import SandboxContext
from .service import create_service


def _quiet_server_class() -> type:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """A uvicorn server that leaves signal handling to this module (so ``stop()`` always runs)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


async def _serve(state: Path, port: int, settings: dict[str, object]) -> None:

    _QuietServer = _quiet_server_class()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    service = create_service(SandboxContext(state_dir=state, settings=settings))
    await service.start(url)
    # request limits, Host and Origin checks, as in the host
    guarded = RequestLimits(LoopbackGuard(service.app, sock.getsockname()[1], "abaco"), "abaco")
    server = _QuietServer(server_config(guarded, "abaco"))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    print(json.dumps({"ready": True, **service.describe()}), flush=True)
    try:
        await task
    finally:
        await service.stop()
        sock.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and serve until stopped."""
    parser = argparse.ArgumentParser(prog="python -m swan_jupyter.sandbox.abaco", description=__doc__)
    parser.add_argument("--state", required=True, type=Path, help="state folder (abaco/ is created inside)")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--max-content-length", type=int, default=None, help="largest binary message (bytes)")
    args = parser.parse_args(argv)
    settings: dict[str, object] = {}
    if args.max_content_length is not None:
        settings["abaco_max_content_length"] = args.max_content_length
    asyncio.run(_serve(args.state, args.port, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
