"""Shared helpers of the Orchestrator emulator tests (no tests here).

:class:`Emulator` runs the real service under uvicorn on a pre-bound 127.0.0.1 socket in a thread; the chain is
a real anvil started with :func:`start_chain` and the catalogue of the emulator. Payments are real
transactions signed with the sandbox wallet's key (or another funded key).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

import requests
import uvicorn
from eth_account import Account
from web3 import Web3

from swan_jupyter.sandbox.chain import (
    ChainProcess,
    amount_due,
    connect,
    payment_contract,
    send_transaction,
    token_contract,
)
from swan_jupyter.sandbox.connections import protocol_class
from swan_jupyter.sandbox.orchestrator import OrchestratorService, create_service
from swan_jupyter.sandbox.service import SandboxContext

SUBMIT4 = "submitPayment(string,uint256,uint256,uint256)"
RENEW4 = "renewPayment(string,uint256,uint256,uint256)"


class Emulator:
    """The Orchestrator service served over loopback HTTP; ``stop()`` ends the server thread."""

    def __init__(self, state_dir: Path, chain: ChainProcess | None, time_scale: float) -> None:
        ctx = SandboxContext(state_dir=state_dir, time_scale=time_scale, chain=chain.info if chain else None)
        self.service: OrchestratorService = create_service(ctx)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        asyncio.run(self.service.start(self.url))
        # the host's h11 protocol with TCP_NODELAY, as the sandbox serves it (no 40 ms Nagle stalls)
        config = uvicorn.Config(self.service.app, log_level="warning", lifespan="off", access_log=False,
                                http=protocol_class())
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        self.api_key = self.service.api_key
        self.session = requests.Session()
        self.token = self.login()

    def stop(self) -> None:
        self.session.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)
        asyncio.run(self.service.stop())
        self.sock.close()

    def login(self) -> str:
        answer = self.session.post(f"{self.url}/login_by_api_key", data={"api_key": self.api_key}, timeout=5).json()
        assert answer["status"] == "success", answer
        return str(answer["data"])

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, path: str, params: dict[str, Any] | None = None, *, auth: bool = True) -> dict[str, Any]:
        response = self.session.get(f"{self.url}{path}", params=params, headers=self.headers() if auth else {},
                                    timeout=30)
        body: dict[str, Any] = response.json()
        return body

    def post(self, path: str, data: dict[str, Any] | None = None, *, auth: bool = True) -> dict[str, Any]:
        response = self.session.post(f"{self.url}{path}", data=data or {}, headers=self.headers() if auth else {},
                                     timeout=60)
        body: dict[str, Any] = response.json()
        return body

    def create(self, wallet: str, **fields: Any) -> dict[str, Any]:
        """Create a task (defaults: C1ae.small, 3600 s, global, a served job source); returns ``data.task``."""
        form = {"duration": 3600, "cfg_name": "C1ae.small", "region": "global", "start_in": 600, "wallet": wallet,
                "job_source_uri": f"{self.url}/_sources/none", "deploy_type": -99, **fields}
        form = {k: v for k, v in form.items() if v is not None}
        answer = self.post("/v2/task_deployment-dp", form)
        assert answer["status"] == "success", answer
        task: dict[str, Any] = answer["data"]["task"]
        return task

    def info(self, task_uuid: str) -> dict[str, Any]:
        answer = self.get(f"/v2/task_deployment/{task_uuid}")
        assert answer["status"] == "success", answer
        data: dict[str, Any] = answer["data"]
        return data

    def wait_status(self, task_uuid: str, status: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            info = self.info(task_uuid)
            if info["task"]["status"] == status:
                return info
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_uuid} stayed {info['task']['status']!r}, wanted {status!r}")
            time.sleep(0.05)


class Wallet:
    """A funded account that pays ClientPayment with real transactions."""

    def __init__(self, chain: ChainProcess, private_key: str) -> None:
        self.chain = chain
        self.key = private_key
        self.address = str(Account.from_key(private_key).address)
        self.w3: Web3 = connect(chain.info.rpc_url)
        self.token = token_contract(self.w3, chain.info.swan_token)
        self.payment = payment_contract(self.w3, chain.info.client_payment)

    def balance(self) -> int:
        return int(self.token.functions.balanceOf(self.address).call())

    def pay(self, task_uuid: str, hardware_id: int, price_wei: int, duration: int, *, renew: bool = False) -> str:
        """Approve the exact amount, then ``submitPayment``/``renewPayment`` (4-argument); returns the tx hash."""
        due = amount_due(price_wei, duration)
        if due:
            send_transaction(self.w3, self.key, self.token.functions.approve(self.chain.info.client_payment, due))
        function = self.payment.get_function_by_signature(RENEW4 if renew else SUBMIT4)
        receipt = send_transaction(self.w3, self.key, function(task_uuid, hardware_id, price_wei, duration))
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def pay_task(self, task: dict[str, Any], duration: int | None = None, *, renew: bool = False) -> str:
        """Pay what the task asks (its hardware, its price), for its duration unless given."""
        detail = task["task_detail"]
        price = int(Web3.to_wei(detail["price_per_hour"], "ether"))
        return self.pay(task["uuid"], int(detail["hardware_id"]), price, duration or int(detail["duration"]),
                        renew=renew)

    def transfer_eth(self, to: str, wei: int) -> str:
        receipt = send_transaction(self.w3, self.key, to=to, value=wei)
        return "0x" + bytes(receipt["transactionHash"]).hex()


def wallet_key(chain: ChainProcess) -> str:
    """The sandbox wallet's private key (read from the chain's state directory)."""
    return chain.info.private_key_file.read_text().strip()


def fake_uuid() -> str:
    return str(uuidlib.uuid4())
