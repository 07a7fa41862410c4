"""The Orchestrator client: tasks planned once and paid safely, with exact money and real errors.

::

    from swan_jupyter import Session
    from swan_jupyter.orchestrator import TaskDescription
    orch = Session().orchestrator()                 # the active profile (the sandbox by default)
    orch.get_hardware()                             # the catalogue, prices exact
    plan = orch.plan(TaskDescription(hardware="C1ae.small", app_image="hello-world", duration="1h"))
    plan.estimate                                   # the Quote: exact wei, before anything is created
    task = orch.create(plan, pay=True, max_spend="5")
    orch.wait_until_running(task["task_uuid"])

swan-sdk's names (``create_task(...)``, ``submit_payment``, ...) are :class:`~.swan_sdk.SwanSdk`, the facade
``swan_jupyter.resource()`` returns. Payments never happen twice: see :mod:`swan_jupyter.orchestrator.ledger`. A
private key is never an argument of a magic; the client reads it with :func:`swan_jupyter.keys.load_account`
(``private_key=`` is accepted for swan-sdk compatibility, held as a masked secret, never logged).
"""

from __future__ import annotations

import difflib
import json
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..config import Settings, load_settings
from ..errors import (
    ConfigurationError,
    Interrupted,
    NotFoundError,
    PaymentError,
    ProtocolError,
    QuoteChangedError,
    RemoteError,
    RequestTimeoutError,
    UnknownOutcomeError,
    ValidationError,
)
from ..numbers import parse_int
from ..redact import Secret, credential
from ..transport import TokenAuth, Transport, path_segment
from . import _wire as wire
from ._task_inputs import actionable_task, paying_wallet
from .amounts import parse_duration
from .ledger import Ledger
from .models import Cancellation, Hardware, PaymentReceipt, Quote, Result, TaskResult, hardware_from_wire
from .payer import Checkpoint, Payer
from .payments import EXTEND_PATH, VALIDATE_PATH, Payments
from .planning import Plan, TaskDescription, creation_form, plan_task
from .swan_sdk import deprecated_door

if TYPE_CHECKING:
    from .views import Termination

_CREATE_CHECK = "list your tasks (get_task_list, or %swan tasks) to see whether the task was created"


class Orchestrator:
    """Client of one Orchestrator server (see the module docstring).

    :param url: the server's base URL.
    :param api_key: the API key (a :class:`~swan_jupyter.redact.Secret` or a string).
    :param settings: the settings (caps, wallet, key sources, timeouts); default: the active profile.
    :param transport: the HTTP :class:`~swan_jupyter.transport.Transport` to use (as ``httpx.Client`` takes
        ``transport=``); default: one built from the settings' timeouts and retries.
    :param provider: a web3 provider for the chain (as web3.py takes one); default: HTTP to the RPC URL.
    :param transport_factory: builds the transport when none is given, called as :class:`Transport` is.
    """

    def __init__(self, url: str, api_key: str | Secret | None = None, *, settings: Settings | None = None,
                 transport: Transport | None = None, provider: Any = None,
                 transport_factory: Callable[..., Transport] = Transport) -> None:
        self.settings = settings or load_settings()
        self.url = url.rstrip("/")
        self._api_key = None if api_key is None else credential(api_key, "the Orchestrator API key")
        s = self.settings
        self.transport = transport or transport_factory(
            self.url, envelope="swan", connect_timeout=s.connect_timeout, read_timeout=s.read_timeout,
            retries=s.retries, backoff=s.backoff, pool_size=s.pool_size, service="Orchestrator")
        self._token: Secret | None = None
        self._contract_info: dict[str, Any] | None = None
        self._hardware: list[Hardware] | None = None
        self._lock = threading.RLock()
        self.checkpoint: Checkpoint | None = None
        self.payments = Payments(self, provider=provider)
        self._app_urls: dict[str, str] = {}

    # -- construction -----------------------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings, *, transport_factory: Callable[..., Transport] = Transport,
                      provider: Any = None) -> Orchestrator:
        """A client for the settings' ``orchestrator_url`` and ``api_key`` (its transport built by
        ``transport_factory``; ``provider``: a web3 provider for the chain)."""
        if not settings.orchestrator_url:
            raise ConfigurationError(
                f"No Orchestrator URL is configured for profile '{settings.profile}'.",
                hint="Set SWAN_ORCHESTRATOR_URL or orchestrator_url in the profile (the sandbox fills it itself).",
            )
        return cls(settings.orchestrator_url, settings.api_key, settings=settings, provider=provider,
                   transport_factory=transport_factory)

    def close(self) -> None:
        """Close connections."""
        self.transport.close()

    def __repr__(self) -> str:
        return f"Orchestrator({self.url!r}, logged_in={self._token is not None})"

    # -- auth -------------------------------------------------------------------------------------------------

    def login(self) -> None:
        """``POST /login_by_api_key``; the token is kept masked. Called on first use."""
        if self._api_key is None or not self._api_key:
            raise ConfigurationError(
                "No Orchestrator API key is configured.",
                hint="Set SWAN_API_KEY in the kernel's environment or api_key in your profile.",
            )
        token = self.transport.post("/login_by_api_key", data={"api_key": self._api_key.reveal()})
        if not isinstance(token, str) or not token:
            raise ConfigurationError("The Orchestrator answered the login without a token.")
        self._token = credential(token, "the Orchestrator's login token")
        self.transport.set_auth(TokenAuth(self._token))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._lock:
            if self._token is None:
                self.login()
        return self.transport.request(method, path, **kwargs)

    # -- catalogue --------------------------------------------------------------------------------------------

    def contract_info(self) -> dict[str, Any]:
        """Chain RPC URL and contract addresses (``GET /contract_info``), cached."""
        if self._contract_info is None:
            endpoint = "GET /contract_info"
            data = wire.obj(self._call("GET", "/contract_info"), endpoint)
            info = wire.obj(data.get("contract_info"), endpoint, "contract_info")
            detail = wire.obj(info.get("contract_detail"), endpoint, "contract_info.contract_detail")
            for key in ("client_contract_address", "swan_token_contract_address"):
                address = wire.text(detail, key, endpoint, where="contract_detail.")
                if not (address.startswith("0x") and len(address) == 42):
                    raise wire.fail(endpoint, f"contract_detail.{key}", "an address (0x + 40 hex digits)", address)
            self._contract_info = dict(detail)
        return self._contract_info

    def get_hardware(self, *, refresh: bool = False) -> list[Hardware]:
        """The hardware catalogue (``GET /cp/machines-dp-ssh-ready``), cached until ``refresh``."""
        if self._hardware is None or refresh:
            endpoint = "GET /cp/machines-dp-ssh-ready"
            data = wire.obj(self._call("GET", "/cp/machines-dp-ssh-ready"), endpoint)
            self._hardware = [hardware_from_wire(h, endpoint, i)
                              for i, h in enumerate(wire.items(data.get("hardware"), endpoint, "hardware"))]
        return list(self._hardware)

    get_instance_resources = get_hardware

    def hardware(self, name_or_id: str | int) -> Hardware:
        """One hardware entry by name (``C1ae.small``) or id; ValidationError naming close matches."""
        items = self.get_hardware()
        key = str(name_or_id).strip()
        for hw in items:
            if hw.name.lower() == key.lower() or str(hw.hardware_id) == key:
                return hw
        close = difflib.get_close_matches(key, [h.name for h in items], n=3)
        raise ValidationError(
            f"Unknown hardware {name_or_id!r}.",
            hint=("Did you mean " + ", ".join(close) + "? " if close else "")
            + "List the catalogue with %swan hardware (or get_hardware()).",
        )

    def get_gpu_selection_list(self, region: str = "global") -> Any:
        """GPU models and counts available per region."""
        return self._call("GET", "/gpu-selection-list", params={"region": region})

    def get_custom_instance_result(self, *, cpu: int, memory: int, storage: int, gpu_model: str | None = None,
                                   gpu_count: int = 0, region: str = "global") -> Result:
        """Availability and price of a custom instance."""
        for name, value in (("cpu", cpu), ("memory", memory), ("storage", storage)):
            if not isinstance(value, int) or value <= 0:
                raise ValidationError(f"{name} must be a positive integer, got {value!r}.")
        if gpu_count and not gpu_model:
            raise ValidationError("gpu_model is required when gpu_count > 0.")
        form = {"cpu": cpu, "memory": memory, "storage": storage, "gpu_count": gpu_count, "region": region}
        if gpu_model:
            form["gpu_model"] = gpu_model
        return _result(self._call("POST", "/custom_instance", data=form), "POST /custom_instance")

    def get_app_repo_image(self, name: str | None = None) -> Any:
        """Example app images: all of them, or the repo URL of ``name`` (remembered for the session: a deploy
        then costs no round trip for it)."""
        if name is None:
            return self._call("GET", "/util/example_code_mapping")
        if name in self._app_urls:
            return self._app_urls[name]
        try:
            data = self._call("GET", "/util/example_code_mapping", params={"name": name})
        except RemoteError as exc:
            raise ValidationError(f"Invalid app_repo_image {name!r}: {exc.server_message}",
                                  hint="List them with get_app_repo_image().") from None
        if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not data["url"]:
            raise ValidationError(f"Invalid app_repo_image {name!r}.", hint="List them with get_app_repo_image().")
        self._app_urls[name] = data["url"]
        return data["url"]

    def get_source_uri(self, repo_uri: str, wallet_address: str, hardware_id: int | None = None,
                       repo_branch: str | None = None, custom_instance: dict[str, Any] | None = None) -> str:
        """The job source URI of a repository, for a hardware id or a custom instance."""
        form: dict[str, Any] = {"wallet_address": wallet_address, "repo_uri": repo_uri, "dp": "true"}
        if repo_branch:
            form["repo_branch"] = repo_branch
        if custom_instance is not None:
            form["custom_instance"] = json.dumps(custom_instance)
        elif hardware_id is not None:
            form["hardware_id"] = hardware_id
        data = self._call("POST", "/v2/get_source_uri", data=form)
        uri = (data or {}).get("job_source_uri")
        if not uri:
            raise RemoteError("The Orchestrator returned no job_source_uri.", server_message=str(data))
        return str(uri)

    # -- prices -----------------------------------------------------------------------------------------------

    def estimate_price(self, hardware: str | int, duration: str | int = 3600) -> Quote:
        """What ``duration`` on ``hardware`` costs (exact wei), before creating anything."""
        hw = self.hardware(hardware)
        return Quote.build(hardware=hw.name, hardware_id=hw.hardware_id, duration=parse_duration(duration),
                           price_per_hour=hw.price, wallet=self.settings.wallet_address or "",
                           network=self.payments.network())

    # -- payments (the rules live in :class:`Payments`, ``self.payments``) -----------------------------------

    def send_payment_form(self, path: str, form: dict[str, Any]) -> Any:
        """POST a payment's form (validate a creation, extend a task): the request :class:`Payments` sends and
        repeats when an answer is lost. Only those two paths are sent."""
        if path not in (VALIDATE_PATH, EXTEND_PATH):
            raise ValueError(f"{path!r} is not a payment request ({VALIDATE_PATH}, {EXTEND_PATH}).")
        return self._call("POST", path, data=form)

    @property
    def ledger(self) -> Ledger:
        """The persistent payment ledger (``settings.ledger_file``)."""
        return self.payments.ledger

    def payer(self, private_key: str | Secret | None = None) -> Payer:
        """The web3 payer for this server's chain and the configured wallet (built once)."""
        with self._lock:
            return self.payments.payer(private_key)

    def quote(self, task_uuid: str, *, order_type: str = "Creation", duration: str | int | None = None,
              task: Mapping[str, Any] | None = None) -> Quote:
        """The exact amount a payment for ``task_uuid`` needs, with its contract and chain: what a confirmation
        shows, and what ``pay(..., confirmed=quote)`` will sign or refuse (see :class:`Payments`)."""
        return self.payments.quote(task_uuid, order_type=order_type, duration=duration, task=task)

    def pay(self, task_uuid: str, *, private_key: str | Secret | None = None,
            max_payment: str | Decimal | None = None, confirmed: Quote | None = None) -> PaymentReceipt:
        """Pay for a created task and have the payment validated; resumes, never pays twice. ``confirmed``: the
        :class:`Quote` the user confirmed; a payment that would differ raises QuoteChangedError, unsigned."""
        return self.payments.pay(task_uuid, private_key=private_key, max_payment=max_payment,
                                 confirmed=confirmed)[0]

    def renew(self, task_uuid: str, duration: str | int = 3600, *, tx_hash: str | None = None,
              private_key: str | Secret | None = None, idempotency_key: str | None = None,
              max_payment: str | Decimal | None = None, confirmed: Quote | None = None) -> Result:
        """Extend a task by ``duration``: pay ``renewPayment`` (unless ``tx_hash`` is given), then extend.

        ``confirmed``: the renewal :class:`Quote` the user confirmed (``quote(uuid, order_type="Renewal",
        duration=...)``); a payment that would differ is refused with the new quote. A task that was never paid,
        or is terminated or finished, is refused first with what to do (:meth:`require_task_status`).
        """
        if tx_hash is None:
            self.require_task_status(task_uuid, "renew")
        return self.payments.renew(task_uuid, duration, tx_hash, True, private_key, idempotency_key=idempotency_key,
                                   max_payment=max_payment, confirmed=confirmed)

    def cancel_payment(self, task_uuid: str, *, private_key: str | Secret | None = None) -> Cancellation:
        """Cancel the task's unfinished payments and say what happened, once it is known (see
        :meth:`Payments.cancel`, the one cancel path): ``outcome`` ``"cancelled"`` or ``"paid"``."""
        return self.payments.cancel(task_uuid, private_key=private_key)

    def resume_payment(self, task_uuid: str) -> PaymentReceipt | None:
        """Finish every interrupted payment of ``task_uuid`` (see :meth:`Payments.resume`); never pays twice."""
        return self.payments.resume(task_uuid)

    def balance(self) -> dict[str, Any]:
        """SWAN and gas balances of the configured wallet (exact wei and display text)."""
        return self.payments.balance()

    submit_payment = deprecated_door("submit_payment")
    validate_payment = deprecated_door("validate_payment")
    make_payment = deprecated_door("make_payment")
    renew_task = deprecated_door("renew_task")

    # -- tasks ------------------------------------------------------------------------------------------------

    def plan(self, task: TaskDescription) -> Plan:
        """Check ``task`` against the catalogue and the paying wallet, once, and price it: the :class:`Plan`
        (hardware, seconds, the estimate :class:`Quote`) that :meth:`create` takes. Creates nothing."""
        return plan_task(task, default_wallet=self.settings.wallet_address, find_hardware=self.hardware,
                         app_url=self.get_app_repo_image, network=self.payments.network())

    def create(self, plan: Plan, *, pay: bool = False, max_spend: str | Decimal | None = None,
               private_key: str | Secret | None = None, cap_name: str = "this call's cap") -> TaskResult:
        """Create the planned task; with ``pay``, pay for it (bound to ``plan.estimate``) and have the payment
        validated. Nothing is checked again but the caps: with ``pay``, ``max_spend`` (SWAN; ``cap_name`` names it
        in a refusal) and the profile's caps refuse the estimate before anything is created, and hold again,
        atomically, for what is signed. Returns a :class:`TaskResult` (``r["task_uuid"]``, ``r["receipt"]``)."""
        if pay:
            self.payments.precheck(plan.estimate.amount_wei, max_spend, plan.wallet, cap_name)
        job_source = plan.task.source_uri
        if plan.repo_uri and not (plan.task.deploy_yaml or plan.task.dockerfile):
            job_source = self.get_source_uri(plan.repo_uri, plan.wallet, plan.hardware.hardware_id,
                                             plan.task.repo_branch)
        task = self._create(creation_form(plan, job_source))
        hw = plan.hardware
        result = TaskResult(task=task, task_uuid=task["uuid"], instance_type=hw.name, hardware_id=hw.hardware_id,
                            region=plan.task.region, price=str(hw.price), duration=plan.seconds,
                            job_source_uri=job_source, wallet_address=plan.wallet, status=task.get("status"),
                            config_order=None, tx_hash=None, tx_hash_approve=None, receipt=None,
                            amount_wei=plan.estimate.amount_wei)
        if pay:
            self._pay_created(result, plan.estimate, private_key, max_spend)
        return result

    create_task = deprecated_door("create_task")
    validate_task = deprecated_door("validate_task")

    def _pay_created(self, result: TaskResult, estimate: Quote, private_key: str | Secret | None,
                     max_payment: str | Decimal | None) -> None:
        """Pay a task just created, bound to the catalogue quote it was created with (a different answer from
        the server is never paid)."""
        uuid = result["task_uuid"]
        try:
            receipt, order = self.payments.pay(uuid, private_key=private_key, max_payment=max_payment,
                                               task=result["task"], confirmed=estimate)
        except KeyboardInterrupt:
            raise Interrupted(f"task {uuid} was created and its payment interrupted: `%swan resume {uuid}` finishes "
                              "it (never pays twice)", result) from None
        except QuoteChangedError as exc:
            raise QuoteChangedError(f"Task {uuid} was created but not paid: {exc.message}", quote=exc.quote,
                                    task_uuid=uuid, hint=exc.hint) from None
        result.record_payment(receipt, order)

    def _create(self, form: dict[str, Any]) -> dict[str, Any]:
        """``POST /v2/task_deployment-dp``; an answer that cannot be read is an unknown outcome (never resent)."""
        data = self._call("POST", "/v2/task_deployment-dp", data=form, outcome_check=_CREATE_CHECK)
        try:
            task = wire.obj(wire.obj(data, "POST /v2/task_deployment-dp").get("task"),
                            "POST /v2/task_deployment-dp", "task")
            wire.text(task, "uuid", "POST /v2/task_deployment-dp", where="task.")
        except ProtocolError as exc:
            raise UnknownOutcomeError(
                f"The Orchestrator's answer to the task creation cannot be read ({exc.message}); the task may or "
                "may not have been created.", url=self.url, check=_CREATE_CHECK) from None
        return task

    def get_deployment_info(self, task_uuid: str) -> Result:
        """``{task, jobs, computing_providers, config_orders}`` of a task; NotFoundError if unknown."""
        wire.check_uuid(task_uuid)
        try:
            data = self._call("GET", f"/v2/task_deployment/{path_segment(task_uuid, 'task uuid')}")
        except RemoteError as exc:
            if exc.status in (None, 200, 404) and "fail" in exc.server_message.lower():
                raise NotFoundError(f"No task {task_uuid} on this Orchestrator.", status=exc.status,
                                    server_message=exc.server_message, method="GET",
                                    path=f"/v2/task_deployment/{task_uuid}") from None
            raise
        from .views import TaskInfo

        return TaskInfo(wire.optional_obj(data, "GET /v2/task_deployment"))

    def get_real_url(self, task_uuid: str) -> list[str]:
        """The URLs (``job_real_uri``) of the task's running jobs."""
        info = self.get_deployment_info(task_uuid)
        jobs = wire.items(info.get("jobs"), "GET /v2/task_deployment", "jobs")
        return [str(j["job_real_uri"]) for j in jobs if j.get("job_real_uri")]

    def get_task_list(self, wallet_address: str | None = None, page: int = 1, size: int = 10) -> Result:
        """One page of the wallet's tasks, newest first: ``{list, page, size, total, total_page}``."""
        wallet = paying_wallet(wallet_address, self.settings.wallet_address)
        page, size = parse_int(page, "page", minimum=1), parse_int(size, "size", minimum=1, maximum=100)
        data = _result(self._call("GET", "/v2/task_list", params={"wallet_address": wallet, "page": page,
                                                                  "size": size}), "GET /v2/task_list")
        data["list"] = wire.items(data.get("list"), "GET /v2/task_list", "list")
        return data

    def iter_tasks(self, wallet_address: str | None = None, *, size: int = 50) -> list[dict[str, Any]]:
        """Every task of the wallet (all pages; an empty page ends the listing whatever ``total_page`` says)."""
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self.get_task_list(wallet_address, page=page, size=size)
            out.extend(data["list"])
            pages = wire.integer(data, "total_page", "GET /v2/task_list") if data.get("total_page") else 1
            if page >= pages or not data["list"]:
                return out
            page += 1

    def wait_until_running(self, task_uuid: str, *, timeout: float = 300.0, poll: float = 1.0,
                           progress: bool | Callable[[Result], None] = False) -> Result:
        """Poll until the task has running jobs with URLs (status ``completed``), or raise on failure/timeout."""
        deadline = time.monotonic() + timeout
        bar: Any = None
        try:
            while True:
                info = self.get_deployment_info(task_uuid)
                task = info.get("task") or {}
                jobs = info.get("jobs") or []
                running = [j for j in jobs if str(j.get("status")) == "Running"]
                if callable(progress):
                    progress(info)
                elif progress:
                    if bar is None:
                        from tqdm.auto import tqdm

                        bar = tqdm(total=3, desc=f"task {task_uuid[:8]}", unit="job")
                    bar.n = len(running)
                    bar.set_postfix_str(str(task.get("status")))
                    bar.refresh()
                status = str(task.get("status"))
                if status in ("failed", "terminated", "finished"):
                    raise RemoteError(f"Task {task_uuid} ended with status {status!r} before running.",
                                      server_message=status)
                if running and all(j.get("job_real_uri") for j in running) and status in ("completed", "running"):
                    return info
                if time.monotonic() > deadline:
                    raise RequestTimeoutError(f"Task {task_uuid} is not running after {timeout:.0f} s "
                                              f"(status {status!r}, {len(running)} job(s) running).",
                                              hint="Check it later with %swan status.")
                time.sleep(poll)
        finally:
            if bar is not None:
                bar.close()

    def terminate_task(self, task_uuid: str, *, private_key: str | Secret | None = None) -> Result:
        """Stop the task early; the unused time is refunded on chain.

        Refused before anything is sent: a malformed uuid (ValidationError), an unknown task (NotFoundError), a
        task already terminated or finished (ValidationError saying so). An unfinished payment of the task is
        cancelled first (:meth:`cancel_payment`, which needs the wallet's key when a payment was signed); while
        that cancel is not settled, the task is not terminated. The answer's ``cancellation`` says what became
        of the payment.
        """
        self.require_task_status(task_uuid, "terminate")
        cancellation = self.payments.cancel(task_uuid, private_key=private_key, terminated=True)
        if cancellation.outcome == "pending":
            raise PaymentError(cancellation.message + " The task was not terminated.", state="cancelling",
                               task_uuid=task_uuid, hint=f"Terminate it again in a moment: %swan terminate {task_uuid}")
        result = _result(self._call("POST", "/terminate_task", data={"task_uuid": task_uuid},
                                    outcome_check="check the task's status with get_deployment_info"),
                         "POST /terminate_task")
        if cancellation.outcome != "none":
            result["cancellation"] = cancellation
        return result

    def terminate(self, task_uuid: str, *, wait: float = 10.0, poll: float = 0.5) -> Termination:
        """Terminate the task and report the refund: waits up to ``wait`` seconds for the Orchestrator to finish
        the termination; the answer then shows the refund (amount, transaction, wallet), or says when it comes."""
        answer = self.terminate_task(task_uuid)
        deadline = time.monotonic() + wait
        while True:
            info = self.get_deployment_info(task_uuid)
            task = info.get("task") or {}
            done = task.get("status") == "terminated" and (
                task.get("refund_amount") not in (None, "") or not info.get("config_orders"))
            if done or time.monotonic() >= deadline:
                break
            time.sleep(poll)
        from .views import Termination

        return Termination({**answer, "task_uuid": task_uuid, "info": info})

    def require_task_status(self, task_uuid: str, action: str) -> Result:
        """The task's deployment info when ``action`` (``"terminate"`` or ``"renew"``) can apply to it, else a
        :class:`ValidationError` that says why and what to do (a malformed uuid, a task never paid, one already
        terminated or finished); an unknown task raises NotFoundError."""
        return actionable_task(self.get_deployment_info, task_uuid, action)

    def claim_review(self, task_uuid: str) -> Result:
        """Ask for an uptime review (refund when uptime was below 90%)."""
        return _result(self._call("POST", "/claim_review", data={"task_uuid": task_uuid}), "POST /claim_review")

    def get_config_order_status(self, task_uuid: str, tx_hash: str) -> Result:
        """The config order a payment created."""
        return _result(self._call("POST", "/v2/config_order_status", data={"task_uuid": task_uuid,
                                                                           "tx_hash": tx_hash}),
                       "POST /v2/config_order_status")


def _result(data: Any, endpoint: str) -> Result:
    """A :class:`Result` of an answer that must be an object (``None`` reads as an empty one)."""
    return Result(wire.optional_obj(data, endpoint))
