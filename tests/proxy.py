"""A real HTTP proxy on 127.0.0.1 that can change a server's JSON answers on their way to the client.

It stands for a hostile or buggy server (or a race on the server) between the moment a quote is shown and the
moment it is paid: the client talks to the proxy over loopback exactly as it would to the server, and the
proxy forwards to the real emulator and rewrites what ``rewrite`` says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import requests

from tests.helpers import loopback_server, stop_server

#: ``rewrite(method, path, answer) -> answer``: the JSON answer as the client will see it.
Rewrite = Callable[[str, str, Any], Any]

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


class RewritingProxy:
    """Forward every request to ``upstream``; pass JSON answers through ``rewrite`` when it is set."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrite: Rewrite | None = None
        self.requests: list[tuple[str, str]] = []
        self._session = requests.Session()
        self._session.trust_env = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                outer.requests.append((self.command, self.path))
                answer = outer._session.request(self.command, outer.upstream + self.path, data=body, headers=headers,
                                                timeout=30, allow_redirects=False)
                payload = answer.content
                rewrite = outer.rewrite
                if rewrite is not None and answer.headers.get("content-type", "").startswith("application/json"):
                    changed = rewrite(self.command, self.path.split("?")[0], answer.json())
                    payload = json.dumps(changed).encode()
                self.send_response(answer.status_code)
                for k, v in answer.headers.items():
                    if k.lower() not in _HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server, self.url, self.thread = loopback_server(Handler)

    def __enter__(self) -> RewritingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        stop_server(self.server, self.thread)
        self._session.close()


def task_detail_rewrite(**changes: Any) -> Rewrite:
    """Change fields of ``task_detail`` in every answer that carries a task (info and creation answers)."""

    def rewrite(method: str, path: str, answer: Any) -> Any:
        data = answer.get("data") if isinstance(answer, dict) else None
        task = data.get("task") if isinstance(data, dict) else None
        if isinstance(task, dict) and isinstance(task.get("task_detail"), dict):
            task["task_detail"].update(changes)
        return answer

    return rewrite
