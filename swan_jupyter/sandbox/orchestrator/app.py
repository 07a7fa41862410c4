"""The Orchestrator emulator's HTTP routes (Starlette), per orchestrator.md §5 and the checklist of §14.

Every answer is JSON in the ``{data, message, status}`` envelope with HTTP 200; application errors are
``status: "failed"`` with a message that names the problem. Bodies are url-encoded forms (JSON accepted too).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from . import catalogue as cat
from .chainops import ChainOps, PaymentRejected
from .lifecycle import view
from .store import Store

WALLET = re.compile(r"^0x[0-9a-fA-F]{40}$")
Handler = Callable[[Request], Awaitable[Response]]


def ok(data: Any, message: str = "success") -> JSONResponse:
    return JSONResponse({"data": data, "message": message, "status": "success"})


def failed(message: str, data: Any = None) -> JSONResponse:
    return JSONResponse({"data": data, "message": message, "status": "failed"})


class OrchestratorApp:
    """Routes over a :class:`Store`, a :class:`ChainOps` and the service's settings."""

    def __init__(self, store: Store, chain: ChainOps | None, api_key: str, time_scale: float) -> None:
        self.store = store
        self.chain = chain
        self.api_key = api_key
        self.time_scale = max(float(time_scale), 1e-6)
        self.tokens: set[str] = set()
        self.base_url = "http://127.0.0.1"
        self.lock = asyncio.Lock()
        routes = [
            Route("/login_by_api_key", self.login, methods=["POST"]),
            Route("/contract_info", self.contract_info, methods=["GET"]),
            Route("/cp/machines-dp-ssh-ready", self.machines, methods=["GET"]),
            Route("/cp/machines-dp", self.machines, methods=["GET"]),
            Route("/cp/machines", self.machines, methods=["GET"]),
            Route("/gpu-selection-list", self.gpus, methods=["GET"]),
            Route("/custom_instance", self.custom_instance, methods=["POST"]),
            Route("/v2/get_source_uri", self.source_uri, methods=["POST"]),
            Route("/util/example_code_mapping", self.examples, methods=["GET"]),
            Route("/v2/task_deployment-dp", self.create_task, methods=["POST"]),
            Route("/v2/task_deployment", self.create_task, methods=["POST"]),
            Route("/v2/task_deployment/{uuid}", self.deployment_info, methods=["GET"]),
            Route("/v2/task_payment_validate", self.validate, methods=["POST"]),
            Route("/v2/extend_task", self.extend, methods=["POST"]),
            Route("/terminate_task", self.terminate, methods=["POST"]),
            Route("/v2/task_list", self.task_list, methods=["GET"]),
            Route("/v2/config_order_status", self.order_status, methods=["POST"]),
            Route("/claim_review", self.claim_review, methods=["POST"]),
            Route("/provider/payments", self.provider_payments, methods=["GET"]),
            Route("/abi_version", self.abi_version, methods=["GET"]),
            Route("/_jobs/{job}/", self.job_page, methods=["GET"]),
            Route("/_sources/{source}", self.source_page, methods=["GET"]),
        ]
        self.app = Starlette(routes=routes, exception_handlers={404: self.not_found, 405: self.not_allowed,
                                                                 Exception: self.internal})

    # -- plumbing ---------------------------------------------------------------------------------------------

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return failed(f"no such endpoint: {request.method} {request.url.path}")

    async def not_allowed(self, request: Request, exc: Exception) -> Response:
        return failed(f"method {request.method} is not allowed on {request.url.path}")

    async def internal(self, request: Request, exc: Exception) -> Response:
        return JSONResponse({"data": None, "message": f"internal error: {type(exc).__name__}: {exc}",
                             "status": "failed"}, status_code=500)

    def authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        return token in self.tokens or (bool(token) and secrets.compare_digest(token, self.api_key))

    async def form(self, request: Request) -> dict[str, str]:
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = await request.json()
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        try:
            data = await request.form()
        except Exception:
            return {}
        return {k: str(v) for k, v in data.items()}

    def deny(self) -> JSONResponse:
        return failed("authentication required: log in with POST /login_by_api_key and send "
                      "'Authorization: Bearer <token>'")

    # -- auth and catalogue -----------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        key = form.get("api_key", "")
        if not key or not secrets.compare_digest(key, self.api_key):
            return failed("login failed: the api_key is not valid")
        token = secrets.token_urlsafe(32)
        self.tokens.add(token)
        return ok(token, "login success")

    async def contract_info(self, request: Request) -> Response:
        if self.chain is None:
            return failed("this sandbox runs without a chain")
        from web3 import Web3

        c = self.chain.chain
        detail = {"client_contract_address": Web3.to_checksum_address(c.client_payment),
                  "payment_contract_address": Web3.to_checksum_address(c.client_payment),
                  "swan_token_contract_address": Web3.to_checksum_address(c.swan_token), "rpc_url": c.rpc_url}
        return ok({"contract_info": {"contract_detail": detail, "time": int(time.time())},
                   "signature": "0x" + "0" * 130}, "get contract info successfully")

    async def machines(self, request: Request) -> Response:
        now = int(time.time())
        return ok({"hardware": [m.wire(1, now) for m in cat.MACHINES]}, "list hardware successfully")

    async def gpus(self, request: Request) -> Response:
        region = request.query_params.get("region", "all")
        gpus = [{"gpu_model": m.gpu, "max_count": 2, "region": r} for m in cat.MACHINES if m.gpu and m.available
                for r in m.regions if region in ("all", "global") or r == region]
        return ok({"gpus": gpus})

    async def custom_instance(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        form = await self.form(request)
        try:
            cpu, memory, storage = int(form["cpu"]), int(form["memory"]), int(form["storage"])
            gpu_count = int(form.get("gpu_count") or 0)
        except (KeyError, ValueError):
            return failed("cpu, memory and storage are required positive integers; gpu_count an integer")
        if min(cpu, memory, storage) <= 0 or gpu_count < 0:
            return failed("cpu, memory and storage must be > 0 and gpu_count >= 0")
        price = Decimal("0.05") * cpu + Decimal("0.01") * memory + Decimal("5") * gpu_count
        return ok({"available": gpu_count <= 2 and cpu <= 64,
                   "custom_instance": {"cpu": cpu, "gpu_count": gpu_count, "gpu_model": form.get("gpu_model"),
                                       "memory": memory, "region": form.get("region", "global"), "storage": storage},
                   "price_expiry_time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + 3600)),
                   "price_per_hour": float(price)})

    async def source_uri(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        form = await self.form(request)
        repo = form.get("repo_uri", "")
        if not repo.startswith(("http://", "https://")):
            return failed("repo_uri must be an http(s) URL of a repository with a Dockerfile or deploy.yaml")
        if not WALLET.match(form.get("wallet_address", "")):
            return failed("wallet_address is not an Ethereum address")
        source_id = uuidlib.uuid4().hex
        self.store.put_source(source_id, {"repo_uri": repo, "branch": form.get("repo_branch"),
                                          "hardware_id": form.get("hardware_id")})
        return ok({"job_source_uri": f"{self.base_url}/_sources/{source_id}"})

    async def examples(self, request: Request) -> Response:
        name = request.query_params.get("name")
        if name is None:
            return ok(list(cat.EXAMPLE_APPS), "Getting all example code mappings successfully")
        found = next((a for a in cat.EXAMPLE_APPS if a["name"] == name), None)
        return ok(found, "Getting example code mapping successfully") if found else \
            failed(f"no example app named {name!r}")

    async def source_page(self, request: Request) -> Response:
        source = self.store.get_source(request.path_params["source"])
        return ok(source) if source else failed("unknown source")

    async def job_page(self, request: Request) -> Response:
        job = request.path_params["job"]
        return HTMLResponse(f"<html><body><h1>Swan sandbox job {job}</h1><p>Your app is running.</p></body></html>")

    # -- tasks ------------------------------------------------------------------------------------------------

    async def create_task(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        f = await self.form(request)
        try:
            duration = int(f.get("duration", ""))
        except ValueError:
            return failed("duration must be an integer number of seconds")
        if duration < 3600:
            return failed("Duration must be no less than 3600 seconds")
        wallet = f.get("wallet", "")
        if not WALLET.match(wallet):
            return failed(f"wallet {wallet!r} is not an Ethereum address")
        name = f.get("cfg_name")
        machine = cat.by_name(name) if name else None
        if machine is None:
            return failed(f"unknown hardware cfg_name {name!r}; see /cp/machines-dp-ssh-ready")
        if not machine.available:
            return failed(f"hardware {machine.name} is unavailable right now")
        region = f.get("region") or "global"
        if region != "global" and region not in machine.regions:
            return failed(f"hardware {machine.name} is not offered in region {region!r}; offered: "
                          + ", ".join(machine.regions))
        try:
            deploy_type = int(f.get("deploy_type", "-99"))
            start_in = int(f.get("start_in", "300"))
        except ValueError:
            return failed("deploy_type and start_in must be integers")
        source = f.get("job_source_uri") or (f.get("deploy_content") if deploy_type == -99 else None)
        if deploy_type == -99 and not source:
            return failed("job_source_uri is required for deploy_type -99")
        if deploy_type in (1, 2) and not f.get("deploy_content", "").strip():
            return failed("deploy_content (a Dockerfile or a deploy YAML) is required for deploy_type 1 and 2")
        if deploy_type not in (-99, 0, 1, 2):
            return failed("deploy_type must be -99, 1 or 2")
        now = int(time.time())
        task_uuid = str(uuidlib.uuid4())
        task_id = self.store.next_id("task")
        end_at = now + int(duration / self.time_scale)
        detail = {
            "amount": None, "bidder_limit": 3, "created_at": now, "updated_at": now, "start_at": now,
            "end_at": end_at, "duration": duration, "hardware": machine.name, "hardware_id": machine.hardware_id,
            "price_per_hour": machine.price, "job_source_uri": source, "job_result_uri": None, "status": "paid",
            "storage_source": "swanhub", "type": "None", "ip_whitelist": f.get("ip_whitelist"),
            "dcc_selected_cp_list": None, "dcc_node_job_source_uri": None,
            "deploy_type": deploy_type, "deploy_content": f.get("deploy_content"),
            "requirements": {"hardware": machine.gpu or "None", "hardware_type": machine.type,
                             "memory": str(machine.memory_gib), "vcpu": str(machine.vcpu), "region": region,
                             "storage": None, "preferred_cp_list": f.get("preferred_cp"), "update_max_lag": None},
            "space": {"name": "0", "uuid": uuidlib.uuid4().hex, "activeOrder": {"config": {
                "name": machine.name, "hardware_id": machine.hardware_id, "hardware": machine.gpu or "CPU only",
                "hardware_type": machine.type, "description": machine.description, "memory": machine.memory_gib,
                "vcpu": machine.vcpu, "price_per_hour": float(Decimal(machine.price))}}},
        }
        task = {"uuid": task_uuid, "status": "initialized", "id": task_id, "user_id": 1, "name": None,
                "created_at": now, "updated_at": now, "start_at": now, "end_at": end_at, "start_in": start_in,
                "refund_wallet": wallet, "refund_amount": None, "source": "v2", "tx_hash": None,
                "leading_job_id": None, "comments": None, "type": "None", "task_detail_cid": None,
                "task_detail": detail, "_state": {}}
        self.store.put_task(task)
        return ok({"task": view(task, self.time_scale, self.base_url)["task"]}, "Task_uuid initialized.")

    def _info(self, task: dict[str, Any]) -> dict[str, Any]:
        info = view(task, self.time_scale, self.base_url)
        info["config_orders"] = self.store.orders_of(task["uuid"])
        return info

    async def deployment_info(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        uuid = request.path_params["uuid"]
        task = self.store.get_task(uuid)
        if task is None:
            return failed(f"fetch task info for task_uuid='{uuid}' failed")
        return ok(self._info(task), "Getting task deployment info successfully")

    async def _verified(self, tx_hash: str, task: dict[str, Any], order_type: str, duration: int) -> dict[str, Any]:
        if self.chain is None:
            raise PaymentRejected("this sandbox runs without a chain")
        return await asyncio.to_thread(self.chain.verify, tx_hash, task, order_type, duration)

    def _order(self, task: dict[str, Any], tx_hash: str, order_type: str, duration: int) -> dict[str, Any]:
        now = int(time.time())
        return {"id": self.store.next_id("order"), "uuid": uuidlib.uuid4().hex, "config_id": 2,
                "task_uuid": task["uuid"], "order_type": order_type, "status": "payment_consumed",
                "duration": duration, "region": task["task_detail"]["requirements"]["region"],
                "start_in": task["start_in"], "started_at": now, "ended_at": None, "error_code": None,
                "preferred_cp_list": None, "space_id": None, "tx_hash": tx_hash.lower(), "refund_tx_hash": None,
                "approve_hash": None, "created_at": now, "updated_at": now}

    async def validate(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        f = await self.form(request)
        tx_hash, uuid = f.get("tx_hash", "").strip(), f.get("task_uuid", "").strip()
        async with self.lock:
            task = self.store.get_task(uuid)
            if task is None:
                return failed(f"fetch task info for task_uuid='{uuid}' failed")
            existing = self.store.order_by_tx(tx_hash) if tx_hash else None
            if existing is not None:
                if existing["task_uuid"] == uuid and existing["order_type"] == "Creation":
                    return ok(existing, "Query order status success.")
                return failed(f"tx_hash {tx_hash} was already used for another payment")
            if task.get("_state", {}).get("paid_at") is not None:
                return failed(f"task {uuid} is already paid (order {task.get('tx_hash')})")
            try:
                await self._verified(tx_hash, task, "Creation", int(task["task_detail"]["duration"]))
            except PaymentRejected as exc:
                return failed(f"payment validation failed: {exc}")
            order = self._order(task, tx_hash, "Creation", int(task["task_detail"]["duration"]))
            if not self.store.add_order(order):
                return failed(f"tx_hash {tx_hash} was already used for another payment")
            now = time.time()
            remaining = int(task["task_detail"]["duration"] / self.time_scale)
            task["status"] = "created"
            task["tx_hash"] = tx_hash.lower()
            task["start_at"] = task["task_detail"]["start_at"] = int(now)
            task["end_at"] = task["task_detail"]["end_at"] = int(now) + remaining
            task["_state"] = {"paid_at": now, "jobs": [uuidlib.uuid4().hex for _ in range(3)]}
            self.store.put_task(task)
        return ok(order, "Query order status success.")

    async def extend(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        f = await self.form(request)
        tx_hash, uuid = f.get("tx_hash", "").strip(), f.get("task_uuid", "").strip()
        try:
            duration = int(f.get("duration", ""))
        except ValueError:
            return failed("duration must be an integer number of seconds")
        if duration <= 0:
            return failed("duration must be positive")
        async with self.lock:
            task = self.store.get_task(uuid)
            if task is None:
                return failed(f"fetch task info for task_uuid='{uuid}' failed")
            current = view(task, self.time_scale, self.base_url)["task"]["status"]
            if current in ("initialized", "terminated", "finished"):
                return failed(f"task {uuid} cannot be renewed in status {current!r}")
            existing = self.store.order_by_tx(tx_hash) if tx_hash else None
            if existing is not None:
                if existing["task_uuid"] == uuid and existing["order_type"] == "Renewal":
                    return ok({"task": self._info(task)["task"], "config_order": existing},
                              "All jobs and orders have been successfully extended")
                return failed(f"tx_hash {tx_hash} was already used for another payment")
            try:
                await self._verified(tx_hash, task, "Renewal", duration)
            except PaymentRejected as exc:
                return failed(f"renewal payment validation failed: {exc}")
            order = self._order(task, tx_hash, "Renewal", duration)
            if not self.store.add_order(order):
                return failed(f"tx_hash {tx_hash} was already used for another payment")
            extra = int(duration / self.time_scale)
            task["end_at"] += extra
            task["task_detail"]["end_at"] += extra
            task["task_detail"]["duration"] += duration
            self.store.put_task(task)
        return ok({"task": self._info(task)["task"], "config_order": order},
                  "All jobs and orders have been successfully extended")

    async def terminate(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        uuid = (await self.form(request)).get("task_uuid", "").strip()
        async with self.lock:
            task = self.store.get_task(uuid)
            if task is None:
                return failed(f"fetch task info for task_uuid='{uuid}' failed")
            status = view(task, self.time_scale, self.base_url)["task"]["status"]
            if status in ("terminated", "finished"):
                return failed(f"task {uuid} is already {status}")
            now = time.time()
            state = task.setdefault("_state", {})
            refund_wei = 0
            if state.get("paid_at") is not None:
                remaining_task_s = max(0, int((task["end_at"] - now) * self.time_scale))
                remaining_task_s = min(remaining_task_s, int(task["task_detail"]["duration"]))
                price_wei = int(Decimal(str(task["task_detail"]["price_per_hour"])) * 10**18)
                refund_wei = price_wei * remaining_task_s // 3600
            refund_tx = None
            if refund_wei and self.chain is not None:
                refund_tx = await asyncio.to_thread(self.chain.refund, uuid, task["refund_wallet"], refund_wei)
            state["terminated_at"] = now
            task["status"] = "terminated"
            task["refund_amount"] = format(Decimal(refund_wei) / 10**18, "f") if refund_tx else "0"
            task["end_at"] = min(task["end_at"], int(now))
            self.store.put_task(task)
            orders = self.store.orders_of(uuid)
            if orders and refund_tx:
                orders[-1]["refund_tx_hash"] = refund_tx
                orders[-1]["updated_at"] = int(now)
                self.store.update_order(orders[-1])
        return ok({"retryable": False, "task_status": "terminate_pending"}, "Task termination is queued")

    async def task_list(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        q = request.query_params
        wallet = q.get("wallet_address") or q.get("wallet") or ""
        if not WALLET.match(wallet):
            return failed("wallet_address is not an Ethereum address")
        try:
            page, size = int(q.get("page", "1")), int(q.get("size", "5"))
        except ValueError:
            return failed("page and size must be integers")
        if page < 1 or not 1 <= size <= 500:
            return failed("page must be >= 1 and size between 1 and 500")
        tasks, total = self.store.tasks_of(wallet, (page - 1) * size, size)
        return ok({"list": [self._info(t) for t in tasks], "page": page, "size": size, "total": total,
                   "total_page": max(1, -(-total // size))}, f"fetch task list for user wallet:{wallet} successfully")

    async def order_status(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        f = await self.form(request)
        order = self.store.order_by_tx(f.get("tx_hash", ""))
        if order is None or order["task_uuid"] != f.get("task_uuid"):
            return failed("no config order for this task and tx_hash")
        return ok(order, "Query order status success.")

    async def claim_review(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        uuid = (await self.form(request)).get("task_uuid", "")
        task = self.store.get_task(uuid)
        if task is None:
            return failed(f"fetch task info for task_uuid='{uuid}' failed")
        return ok({"task_uuid": uuid, "uptime": 1.0, "refunded": False, "refund_amount": "0",
                   "refund_tx_hash": None}, "Uptime is above 90%; no refund is due")

    async def provider_payments(self, request: Request) -> Response:
        if not self.authorised(request):
            return self.deny()
        return ok({"payments": [], "total": 0})

    async def abi_version(self, request: Request) -> Response:
        return ok({"abi_version": "sandbox-1"})


class OrchestratorService:
    """The Orchestrator emulator as a sandbox service (see :mod:`swan_jupyter.sandbox.service`)."""

    name = "orchestrator"

    def __init__(self, ctx: Any) -> None:
        folder = ctx.state_dir / "orchestrator"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_file = folder / "api_key"
        if not key_file.exists():
            import os

            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("sk-sandbox-" + secrets.token_urlsafe(24))
        self.api_key = key_file.read_text().strip()
        self.store = Store(folder / "orchestrator.db")
        chain = ChainOps(ctx.chain) if ctx.chain is not None else None
        self.routes = OrchestratorApp(self.store, chain, self.api_key, ctx.time_scale)
        self.url = ""

    @property
    def app(self) -> Any:
        return self.routes.app

    async def start(self, url: str) -> None:
        self.url = url
        self.routes.base_url = url

    async def stop(self) -> None:
        self.store.close()

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, "api_key": self.api_key, "time_scale": self.routes.time_scale}


def create_service(ctx: Any) -> OrchestratorService:
    """Factory used by the sandbox host."""
    return OrchestratorService(ctx)


__all__ = ["OrchestratorService", "create_service"]
