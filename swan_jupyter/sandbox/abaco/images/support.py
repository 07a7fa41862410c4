"""Helpers for actor code run by the sandbox (the counterpart of ``agavepy.actors`` inside Abaco containers).

* :func:`get_context`: the message and the ``_abaco_*`` facts, like ``agavepy.actors.get_context()``.
* :func:`get_binary_message`: the bytes of a binary (``application/octet-stream``) message; the runtime also
  feeds them on standard input.
* :func:`send_bytes_result` / :func:`send_python_result`: one item on the execution's results queue per call.
  The channel is a unix datagram socket whose path is in ``_abaco_results_sock`` (Abaco mounts
  ``/_abaco_results.sock``); one datagram is one result item, so an item is limited to the socket's maximum
  datagram size (about 200 kB on Linux).
"""

from __future__ import annotations

import ast
import os
import socket
import sys
import time
from typing import Any

RESULTS_SOCK_ENV = "_abaco_results_sock"
BINARY_DATA_ENV = "_abaco_binary_data"
TIME_SCALE_ARG = "--time-scale="


def literal(text: str | None) -> Any:
    """``ast.literal_eval`` of an environment value, ``None`` when it is not a Python literal (how agavepy's
    ``get_context`` reads ``MSG`` into ``message_dict``: Abaco puts ``str()`` of the message there)."""
    try:
        return ast.literal_eval(text) if text else None
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


def sleep_scaled(seconds: float, argv: list[str] | None = None) -> None:
    """Sleep ``seconds`` sandbox seconds: the runtime passes the sandbox's time scale to the built-in samples
    as ``--time-scale=<x>`` (1 unless the sandbox runs faster), so a sample's fixed sleep shrinks with it."""
    scale = 1.0
    for arg in sys.argv[1:] if argv is None else argv:
        if arg.startswith(TIME_SCALE_ARG):
            try:
                scale = max(float(arg[len(TIME_SCALE_ARG):]), 1e-6)
            except ValueError:
                scale = 1.0
    time.sleep(seconds / scale)


def get_context() -> dict[str, Any]:
    """The execution's context: ``raw_message``, ``message_dict`` (``MSG`` read as a Python literal when it is
    a dict, else ``{}``, like agavepy's), ``content_type``, ids, username, state and the environment."""
    env = dict(os.environ)
    state_text = env.get("_abaco_actor_state", "{}")
    state = literal(state_text)
    message = literal(env.get("MSG"))
    return {
        "raw_message": env.get("MSG"),
        "message_dict": message if isinstance(message, dict) else {},
        "content_type": env.get("_abaco_Content_Type"),
        "execution_id": env.get("_abaco_execution_id"),
        "worker_id": env.get("_abaco_worker_id"),
        "actor_id": env.get("_abaco_actor_id"),
        "actor_dbid": env.get("_abaco_actor_dbid"),
        "username": env.get("_abaco_username"),
        "state": state_text if state is None else state,
        "api_server": env.get("_abaco_api_server"),
        "environment": env,
    }


def get_binary_message() -> bytes:
    """The binary message of this execution (empty for text messages)."""
    path = os.environ.get(BINARY_DATA_ENV)
    if not path or not os.path.exists(path):
        return b""
    with open(path, "rb") as fh:
        return fh.read()


def send_bytes_result(data: bytes) -> None:
    """Put one item on the execution's results queue."""
    path = os.environ.get(RESULTS_SOCK_ENV)
    if not path:
        raise RuntimeError("no results channel: this code does not run as a sandbox actor execution")
    if not isinstance(data, bytes | bytearray):
        raise TypeError("send_bytes_result takes bytes")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(bytes(data), path)


def send_python_result(obj: Any) -> None:
    """Cloudpickle ``obj`` and put it on the results queue (clients unpickle it: trusted code only)."""
    import cloudpickle

    send_bytes_result(cloudpickle.dumps(obj))
