"""The Orchestrator emulator's HTTP endpoints (the paths of swan-sdk 0.1.4, swan/common/constant.py, and the
ones older clients call), as a Starlette app.

Authentication as swan-sdk 0.1.4 logs in (swan/api/orchestrator.py, Orchestrator.api_key_login): ``POST
/login_by_api_key`` issues a token; every other endpoint accepts ``Authorization: Bearer <issued token>`` or the raw
API key as the bearer (swanchain/go-swan-sdk client.go, NewAPIClient, sends it before logging in). ``GET
/cp/machines*``, ``GET /contract_info``, ``GET /abi_version`` and the emulator's own pages (``/_jobs/...``,
``/_sources/...``) need no auth.

Payment validation, renewal and termination are serialised by one asyncio lock (a payment is checked and
recorded as a whole); blocking web3 calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import html
import logging
import secrets
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..chain import amount_due
from . import catalogue as cat
from .lifecycle import (
    Clock,
    deployment_view,
    job_status,
    order_view,
    remaining_task_seconds,
    task_status,
    task_wire,
)
from .payments import ChainPayments, ChainUnavailable, PaymentRejected, normalise_tx_hash, price_wei
from .store import JobRow, OrderRow, RefundRow, Store, TxHashUsed
from .tasks import MAX_DURATION, build_task, parse_custom
from .wire import BadRequest, Form, check_address, failed, ok

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

#: Task statuses in which a renewal is accepted.
RENEWABLE = ("created", "accepting_bids", "completed")


def swan(amount_wei: int) -> str:
    """Wei as a decimal string of SWAN (``"0.6"``, ``"0"``), exact."""
    return format((Decimal(amount_wei) / 10**18).normalize(), "f")


class OrchestratorRoutes:
    """The endpoints over a :class:`Store`, optional :class:`ChainPayments`, the API key and a :class:`Clock`."""

    def __init__(self, store: Store, payments: ChainPayments | None, api_key: str, clock: Clock) -> None:
        self.store = store
        self.payments = payments
        self.api_key = api_key
        self.clock = clock
        self.base_url = "http://127.0.0.1"
        self.lock = asyncio.Lock()
        self._tokens: set[str] = set()
        open_, auth = False, True
        table: list[tuple[str, str, Handler, bool]] = [
            ("POST", "/login_by_api_key", self.login, open_),
            ("GET", "/contract_info", self.contract_info, open_),
            ("GET", "/cp/machines-dp-ssh-ready", self.machines, open_),
            ("GET", "/cp/machines-dp", self.machines, open_),
            ("GET", "/cp/machines", self.machines_legacy, open_),
            ("GET", "/gpu-selection-list", self.gpu_selection, auth),
            ("POST", "/custom_instance", self.custom_instance, auth),
            ("POST", "/v2/get_source_uri", self.source_uri, auth),
            ("GET", "/util/example_code_mapping", self.example_apps, auth),
            ("POST", "/v2/task_deployment-dp", self.create_task, auth),
            ("POST", "/v2/task_deployment", self.create_task_legacy, auth),
            ("GET", "/v2/task_deployment/{task_uuid}", self.deployment_info, auth),
            ("POST", "/v2/task_payment_validate", self.validate_payment, auth),
            ("POST", "/v2/extend_task", self.extend_task, auth),
            ("POST", "/terminate_task", self.terminate_task, auth),
            ("GET", "/v2/task_list", self.task_list, auth),
            ("POST", "/v2/config_order_status", self.config_order_status, auth),
            ("POST", "/claim_review", self.claim_review, auth),
            ("GET", "/provider/payments", self.provider_payments, auth),
            ("GET", "/abi_version", self.abi_version, open_),
            ("GET", "/_sources/{source_id}", self.source_document, open_),
            ("GET", "/_jobs/{job_uuid}/", self.job_page, open_),
            ("GET", "/_jobs/{job_uuid}/{rest:path}", self.job_page, open_),
        ]
        routes = [Route(path, self._endpoint(handler, needs_auth), methods=[method])
                  for method, path, handler, needs_auth in table]
        self.app = Starlette(routes=routes, exception_handlers={HTTPException: self._http_error,
                                                                 Exception: self._internal_error})

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _endpoint(self, handler: Handler, needs_auth: bool) -> Handler:
        async def run(request: Request) -> Response:
            if needs_auth and not self.authorised(request):
                return failed("authentication required: log in with POST /login_by_api_key and send "
                              "'Authorization: Bearer <token>' (the API key itself is accepted too)", status_code=401)
            try:
                return await handler(request)
            except BadRequest as exc:
                return failed(str(exc))
            except PaymentRejected as exc:
                return failed(f"payment validation failed: {exc}")
            except ChainUnavailable as exc:
                return failed(f"{exc}; try again", status_code=503)

        run.__name__ = handler.__name__
        return run

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        if code == 404:
            return failed(f"no such endpoint: {request.method} {request.url.path}", status_code=404)
        if code == 405:
            return failed(f"method {request.method} is not allowed on {request.url.path}", status_code=405)
        return failed(f"HTTP error {code}", status_code=code)

    async def _internal_error(self, request: Request, exc: Exception) -> Response:
        log.error("orchestrator emulator: %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return failed(f"internal error of the emulator ({type(exc).__name__}); see the sandbox log",
                      status_code=500)

    def authorised(self, request: Request) -> bool:
        """Whether the request carries an issued token or the API key as its bearer."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if secrets.compare_digest(token.encode(), self.api_key.encode()) or token in self._tokens:
            return True
        if self.store.has_token(token):
            self._tokens.add(token)
            return True
        return False

    def _task(self, task_uuid: str) -> dict[str, Any]:
        task = self.store.get_task(task_uuid)
        if task is None:
            raise BadRequest(f"fetch task info for task_uuid='{task_uuid}' failed")
        return task

    def _info(self, task: dict[str, Any], now: float) -> dict[str, Any]:
        return deployment_view(task, self.store.jobs_of(task["uuid"]), self.store.orders_of(task["uuid"]),
                               self.clock, self.base_url, now)

    def _chain(self) -> ChainPayments:
        if self.payments is None:
            raise BadRequest("this sandbox runs without a chain: payments are not available")
        return self.payments

    # -- auth, contracts, catalogue ---------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        key = (await Form.of(request)).text("api_key", required=False) or ""
        if not key or not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return failed("login failed: the api_key is not valid")
        token = secrets.token_urlsafe(32)
        self.store.add_token(token)
        self._tokens.add(token)
        return ok(token, "login success")

    async def contract_info(self, request: Request) -> Response:
        detail = self._chain().contract_detail()
        return ok({"contract_info": {"contract_detail": detail, "time": int(time.time())},
                   "signature": "0x" + "00" * 65}, "get contract info successfully")

    async def machines(self, request: Request) -> Response:
        now = int(time.time())
        return ok({"hardware": [m.wire(now) for m in cat.MACHINES]}, "list hardware successfully")

    async def machines_legacy(self, request: Request) -> Response:
        now = int(time.time())
        return ok({"hardware": [m.wire(now, legacy=True) for m in cat.MACHINES]}, "list hardware successfully")

    async def gpu_selection(self, request: Request) -> Response:
        region = Form.query(request).text("region", required=False, default="all") or "all"
        if region not in ("all", "global") and region not in cat.REGIONS:
            raise BadRequest(f"unknown region {region!r}; regions: all, global, {', '.join(cat.REGIONS)}")
        return ok({"gpus": cat.gpu_selection(region)}, "get gpu selection list successfully")

    async def custom_instance(self, request: Request) -> Response:
        form = await Form.of(request)
        region = form.text("region", required=False, default="global") or "global"
        custom = parse_custom(form.fields, region)
        if custom.machine is None:
            return ok({"available": False, "custom_instance": custom.wire(), "price_expiry_time": None,
                       "price_per_hour": None}, "no hardware available for this custom instance in this region")
        expiry = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + cat.PRICE_VALIDITY_SECONDS))
        return ok({"available": True, "custom_instance": custom.wire(), "price_expiry_time": expiry,
                   # a float on this endpoint (swan-sdk 0.1.4 swan/object/models.py,
                   # CustomInstanceResult.price_per_hour); a decimal string in the catalogue
                   "price_per_hour": float(Decimal(custom.machine.price)),
                   "hardware_id": custom.machine.hardware_id, "hardware_name": custom.machine.name},
                  "custom instance is available")

    async def source_uri(self, request: Request) -> Response:
        form = await Form.of(request)
        wallet = form.wallet("wallet_address")
        repo = form.required("repo_uri")
        if not repo.startswith(("http://", "https://", "git@")):
            raise BadRequest(f"repo_uri {repo[:80]!r} must be the URL of a repository holding a Dockerfile or "
                             "deploy.yaml")
        hardware: dict[str, Any]
        custom = form.json_object("custom_instance")
        if custom is not None:
            fitted = parse_custom(custom, str(custom.get("region") or "global"))
            if fitted.machine is None:
                raise BadRequest(f"no hardware covers the custom instance {fitted.wire()}")
            hardware = {"custom_instance": fitted.wire(), "hardware_id": fitted.machine.hardware_id}
        else:
            hardware_id = form.integer("hardware_id", minimum=0)
            machine = cat.by_id(hardware_id)
            if machine is None:
                raise BadRequest(f"Unknown hardware_id {hardware_id}; see GET /cp/machines-dp-ssh-ready")
            hardware = {"hardware_id": hardware_id, "hardware_name": machine.name}
        source_id = uuidlib.uuid4().hex
        self.store.put_source(source_id, {"repo_uri": repo, "repo_branch": form.text("repo_branch", required=False),
                                          "wallet_address": wallet, **hardware, "created_at": int(time.time()),
                                          "deploy": "Dockerfile or deploy.yaml (deploy.yaml wins)"})
        return ok({"job_source_uri": f"{self.base_url}/_sources/{source_id}"}, "get source uri successfully")

    async def source_document(self, request: Request) -> Response:
        source = self.store.get_source(request.path_params["source_id"])
        if source is None:
            return failed("unknown job source", status_code=404)
        return ok(source, "job source")

    async def example_apps(self, request: Request) -> Response:
        name = Form.query(request).text("name", required=False)
        if name is None:
            return ok(list(cat.EXAMPLE_APPS), "Getting all example code mappings successfully")
        found = next((a for a in cat.EXAMPLE_APPS if a["name"] == name), None)
        if found is None:
            known = ", ".join(a["name"] for a in cat.EXAMPLE_APPS)
            raise BadRequest(f"no example app named {name!r}; known: {known}")
        return ok(dict(found), "Getting example code mapping successfully")

    # -- tasks ------------------------------------------------------------------------------------------------

    async def _create(self, request: Request, legacy: bool) -> Response:
        form = await Form.of(request)
        now = time.time()
        task = build_task(form, task_id=self.store.next_id("task"), now=now, clock=self.clock, legacy=legacy)
        self.store.add_task(task)
        return ok({"task": task_wire(task, self.clock, now)}, "Task_uuid initialized.")

    async def create_task(self, request: Request) -> Response:
        return await self._create(request, legacy=False)

    async def create_task_legacy(self, request: Request) -> Response:
        return await self._create(request, legacy=True)

    async def deployment_info(self, request: Request) -> Response:
        task_uuid = request.path_params["task_uuid"]
        task = self._task(task_uuid)
        # the real servers' answer, captured in python-swan-sdk test/object/conftest.py (task_deployment_response)
        return ok(self._info(task, time.time()), f"fetch task info for task_uuid='{task_uuid}' successfully")

    def _new_order(self, task: dict[str, Any], tx_hash: str, order_type: str, duration: int,
                   now: float) -> dict[str, Any]:
        return {"id": self.store.next_id("order"), "uuid": str(uuidlib.uuid4()), "config_id": 2,
                "task_uuid": task["uuid"], "order_type": order_type, "status": "pending_payment_confirm",
                "duration": duration, "region": task["task_detail"]["requirements"]["region"],
                "start_in": task["start_in"], "started_at": int(now), "ended_at": None, "error_code": None,
                "preferred_cp_list": task["task_detail"]["requirements"]["preferred_cp_list"], "space_id": None,
                "tx_hash": tx_hash, "refund_tx_hash": None, "approve_hash": None, "created_at": int(now),
                "updated_at": int(now)}

    def _reused(self, tx_hash: str, task_uuid: str, order_type: str) -> dict[str, Any] | None:
        """The existing order when ``tx_hash`` already paid this very order; refuses any other reuse."""
        used = self.store.used_tx(tx_hash)
        if used is None:
            return None
        if used == (task_uuid, order_type):
            order = self.store.order_by_tx(tx_hash)
            assert order is not None
            return order_view(order, self.clock, time.time())
        raise BadRequest(f"tx_hash {tx_hash} was already used for the {used[1].lower()} of task {used[0]}")

    async def validate_payment(self, request: Request) -> Response:
        form = await Form.of(request)
        task_uuid = form.required("task_uuid")
        tx_hash = normalise_tx_hash(form.required("tx_hash"))
        async with self.lock:
            task = self._task(task_uuid)
            existing = self._reused(tx_hash, task_uuid, "Creation")
            if existing is not None:
                return ok(existing, "Query order status success.")
            status = task_status(task, self.clock, time.time())
            if status != "initialized":
                paid = f" (paid by {task['tx_hash']})" if task.get("tx_hash") else ""
                raise BadRequest(f"task {task_uuid} is {status}{paid}; only an initialized task can be paid")
            duration = int(task["task_detail"]["duration"])
            proof = await asyncio.to_thread(self._chain().verify, tx_hash, task, "Creation", duration)
            now = time.time()
            order = self._new_order(task, tx_hash, "Creation", duration, now)
            state = task["_state"]
            state["paid_at"] = now
            state["end"] = now + self.clock.real(duration)
            task["status"] = "created"
            task["tx_hash"] = tx_hash
            task["start_at"] = task["task_detail"]["start_at"] = int(now)
            task["updated_at"] = task["task_detail"]["updated_at"] = int(now)
            task["task_detail"]["amount"] = swan(proof.amount_wei)
            first = cat.PROVIDERS.index(cat.provider_for_region(task["task_detail"]["requirements"]["region"]))
            jobs = [JobRow(str(uuidlib.uuid4()), self.store.next_id("job", 9000), task_uuid, i,
                           (first + i) % len(cat.PROVIDERS)) for i in range(task["task_detail"]["bidder_limit"])]
            task["leading_job_id"] = jobs[0].uuid
            try:
                self.store.record_payment(task, order, now, jobs)
            except TxHashUsed:
                raise BadRequest(f"tx_hash {tx_hash} was already used for another payment") from None
        return ok(order_view(OrderRow(order, now), self.clock, now), "Query order status success.")

    async def extend_task(self, request: Request) -> Response:
        form = await Form.of(request)
        task_uuid = form.required("task_uuid")
        duration = form.integer("duration", minimum=1, maximum=MAX_DURATION)
        tx_hash = normalise_tx_hash(form.required("tx_hash"))
        async with self.lock:
            task = self._task(task_uuid)
            existing = self._reused(tx_hash, task_uuid, "Renewal")
            if existing is not None:
                return ok({"task": task_wire(task, self.clock, time.time()), "config_order": existing},
                          "All jobs and orders have been successfully extended")
            status = task_status(task, self.clock, time.time())
            if status not in RENEWABLE:
                raise BadRequest(f"task {task_uuid} is {status}; only a paid, running task can be renewed")
            await asyncio.to_thread(self._chain().verify, tx_hash, task, "Renewal", duration)
            now = time.time()
            order = self._new_order(task, tx_hash, "Renewal", duration, now)
            task["_state"]["end"] += self.clock.real(duration)
            task["task_detail"]["duration"] = int(task["task_detail"]["duration"]) + duration
            task["updated_at"] = task["task_detail"]["updated_at"] = int(now)
            try:
                self.store.record_payment(task, order, now)
            except TxHashUsed:
                raise BadRequest(f"tx_hash {tx_hash} was already used for another payment") from None
        return ok({"task": task_wire(task, self.clock, now),
                   "config_order": order_view(OrderRow(order, now), self.clock, now)},
                  "All jobs and orders have been successfully extended")

    async def terminate_task(self, request: Request) -> Response:
        task_uuid = (await Form.of(request)).required("task_uuid")
        async with self.lock:
            task = self._task(task_uuid)
            now = time.time()
            status = task_status(task, self.clock, now)
            if status in ("terminated", "finished", "failed"):
                raise BadRequest(f"task {task_uuid} is already {status}")
            remaining = remaining_task_seconds(task, self.clock, now)
            due = amount_due(price_wei(task["task_detail"]["price_per_hour"]), remaining)
            refund_tx, refunded = None, 0
            if due > 0:
                refund_tx, refunded = await asyncio.to_thread(self._chain().send_refund, task_uuid,
                                                              task["refund_wallet"], due)
            now = time.time()
            task["_state"]["terminated_at"] = now
            task["_state"]["end"] = min(task["_state"]["end"], now)
            task["updated_at"] = task["task_detail"]["updated_at"] = int(now)
            task["refund_amount"] = swan(refunded)
            orders = self.store.orders_of(task_uuid)
            order = None
            if orders and refund_tx:
                order = dict(orders[-1].data)
                order["refund_tx_hash"] = refund_tx
                order["updated_at"] = int(now)
            self.store.record_termination(task, RefundRow(task_uuid, task["refund_wallet"], refunded, refund_tx, now),
                                          order)
        return ok({"retryable": False, "task_status": "terminate_pending"}, "Task termination is queued")

    async def task_list(self, request: Request) -> Response:
        query = Form.query(request)
        wallet = query.text("wallet_address", required=False) or query.text("wallet", required=False)
        if wallet is None:
            raise BadRequest("wallet_address (or wallet) is required")
        check_address(wallet, "wallet_address")
        page = query.integer("page", default=1, minimum=1, maximum=10**9)
        size = query.integer("size", default=5, minimum=1, maximum=100)
        tasks, total = self.store.tasks_of(wallet, (page - 1) * size, size)
        now = time.time()
        return ok({"list": [self._info(t, now) for t in tasks], "page": page, "size": size, "total": total,
                   "total_page": -(-total // size)}, f"fetch task list for user wallet:{wallet} successfully")

    async def config_order_status(self, request: Request) -> Response:
        form = await Form.of(request)
        task_uuid = form.required("task_uuid")
        tx_hash = normalise_tx_hash(form.required("tx_hash"))
        order = self.store.order_by_tx(tx_hash)
        if order is None or order.data["task_uuid"] != task_uuid:
            raise BadRequest(f"no config order of task {task_uuid} was paid by {tx_hash}")
        return ok(order_view(order, self.clock, time.time()), "Query order status success.")

    async def claim_review(self, request: Request) -> Response:
        task_uuid = (await Form.of(request)).required("task_uuid")
        task = self._task(task_uuid)
        if task["_state"].get("paid_at") is None:
            raise BadRequest(f"task {task_uuid} was never paid: there is no uptime to review")
        # the emulator's providers never fail: uptime is 100 %, so no uptime refund is due
        return ok({"task_uuid": task_uuid, "uptime": 1.0, "refunded": False, "refund_amount": "0",
                   "refund_tx_hash": None}, "Task uptime is above 90%; no refund is due")

    async def provider_payments(self, request: Request) -> Response:
        payments: list[dict[str, Any]] = []
        for order in self.store.all_orders():
            task = self.store.get_task(order.data["task_uuid"])
            if task is None:
                continue
            jobs = self.store.jobs_of(task["uuid"])
            due = amount_due(price_wei(task["task_detail"]["price_per_hour"]), int(order.data["duration"]))
            for job in jobs:
                provider = cat.PROVIDERS[job.provider % len(cat.PROVIDERS)]
                payments.append({"cp_account_address": provider["cp_account_address"], "task_uuid": task["uuid"],
                                 "job_uuid": job.uuid, "order_type": order.data["order_type"],
                                 "tx_hash": order.data["tx_hash"], "amount": swan(due // len(jobs)),
                                 "created_at": order.data["created_at"]})
        return ok({"payments": payments, "total": len(payments)}, "get provider payments successfully")

    async def abi_version(self, request: Request) -> Response:
        return ok({"abi_version": "v2", "contract": "ClientPayment"}, "abi version")

    # -- the apps of running jobs -----------------------------------------------------------------------------

    async def job_page(self, request: Request) -> Response:
        job = self.store.job(request.path_params["job_uuid"])
        task = self.store.get_task(job.task_uuid) if job is not None else None
        if job is None or task is None:
            return HTMLResponse("<html><body><h1>404</h1><p>No such job.</p></body></html>", status_code=404)
        status = job_status(task, self.clock, time.time())
        name = html.escape(task["uuid"])
        if status != "Running":
            return HTMLResponse(f"<html><body><h1>Job {html.escape(job.uuid)} is {html.escape(str(status))}</h1>"
                                f"<p>Task {name} is not running.</p></body></html>", status_code=410)
        detail = task["task_detail"]
        provider = cat.PROVIDERS[job.provider % len(cat.PROVIDERS)]
        return HTMLResponse(
            "<!doctype html><html><head><title>Swan sandbox app</title></head><body>"
            f"<h1>Swan sandbox task {name}</h1>"
            f"<p>Job {html.escape(job.uuid)} is running on {html.escape(provider['name'])} "
            f"({html.escape(provider['region'])}), hardware {html.escape(detail['hardware'])}.</p>"
            f"<p>Source: {html.escape(str(detail['job_source_uri'] or detail['deploy_type']))}</p>"
            "</body></html>")


__all__ = ["OrchestratorRoutes"]
