"""Round trips per deploy: every request costs a network round trip to a far Orchestrator or chain RPC.

Against the real sandbox and anvil; requests are counted as they leave (a pass-through wrapper around requests'
``HTTPAdapter.send``: nothing is changed or answered by the test). A JSON-RPC batch is one request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests.adapters

from swan_jupyter.orchestrator import Orchestrator
from swan_jupyter.session import Session, reset_default_session
from tests.helpers import new_task


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What each request that leaves this process asked for (``RPC a,b`` for a JSON-RPC call or batch)."""
    log: list[str] = []
    original = requests.adapters.HTTPAdapter.send

    def counting(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        what = f"{request.method} {request.path_url}"
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        if body.startswith((b"{", b"[")) and b'"jsonrpc"' in body:
            data = json.loads(body)
            what = "RPC " + ",".join(d["method"] for d in (data if isinstance(data, list) else [data]))
        log.append(what)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", counting)
    yield log


def client(tmp_path: Path) -> Orchestrator:
    reset_default_session()
    return Session(notify=lambda _m: None, ledger_path=str(tmp_path / "ledger.sqlite")).orchestrator()


def deploy(orch: Orchestrator) -> dict[str, Any]:
    return new_task(orch, hardware="C1ae.small", duration=3600, app_image="hello_world", pay=True)


def test_a_deploy_costs_at_most_six_requests_with_the_allowance_ready(sandbox: dict[str, Any], tmp_path: Path,
                                                                     sent: list[str]) -> None:
    orch = client(tmp_path)
    deploy(orch)  # the first deploy of a session learns the chain's constants
    orch.payer().approve(10**24)
    sent.clear()
    task = deploy(orch)
    assert task["receipt"].validated
    assert len(sent) <= 6, sent


def test_a_deploy_that_approves_costs_at_most_eight_requests(sandbox: dict[str, Any], tmp_path: Path,
                                                              sent: list[str]) -> None:
    orch = client(tmp_path)
    deploy(orch)
    orch.payer().approve(0)  # the next payment must approve first
    sent.clear()
    task = deploy(orch)
    assert task["receipt"].validated and task["receipt"].approve_tx_hash
    assert len(sent) <= 8, sent
