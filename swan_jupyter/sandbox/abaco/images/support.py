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

import json
import os
import socket
from typing import Any

RESULTS_SOCK_ENV = "_abaco_results_sock"
BINARY_DATA_ENV = "_abaco_binary_data"


def get_context() -> dict[str, Any]:
    """The execution's context: ``raw_message``, ``content_type``, ids, username, state and the environment."""
    env = dict(os.environ)
    state_text = env.get("_abaco_actor_state", "{}")
    try:
        state: Any = json.loads(state_text)
    except ValueError:
        state = state_text
    return {
        "raw_message": env.get("MSG"),
        "content_type": env.get("_abaco_Content_Type"),
        "execution_id": env.get("_abaco_execution_id"),
        "worker_id": env.get("_abaco_worker_id"),
        "actor_id": env.get("_abaco_actor_id"),
        "actor_dbid": env.get("_abaco_actor_dbid"),
        "username": env.get("_abaco_username"),
        "state": state,
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
