"""swan-sdk's Orchestrator names over this package's client, by composition, as :mod:`swan_jupyter.actors.agave` is
for agavepy.

Code written for swan-sdk 0.1.x runs with one import changed::

    import swan_jupyter as swan                                   # was: import swan
    orch = swan.resource(api_key=KEY, service_name="Orchestrator")
    task = orch.create_task(wallet_address=W, instance_type="C1ae.small", app_repo_image="hello-world",
                            private_key=PK)                       # plans, creates and pays
    orch.get_deployment_info(task["task_uuid"])

:class:`SwanSdk` keeps swan-sdk's names and keyword arguments (``create_task`` with its 19, ``validate_task``,
``submit_payment``, ``validate_payment``, ``make_payment``, ``renew_task``) and turns each into the client's one
way: a :class:`~swan_jupyter.orchestrator.planning.TaskDescription`, ``client.plan``, ``client.create``, and the
client's :class:`~swan_jupyter.orchestrator.payments.Payments`. Every other name (``get_hardware``,
``get_deployment_info``, ``terminate_task``, ...) is the client's own, reached through the facade.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from ..errors import SwanDeprecationWarning, ValidationError
from ..numbers import parse_int
from ..redact import Secret
from .models import Hardware, PaymentReceipt, Quote, Result, TaskResult
from .payments import Payments
from .planning import Plan, TaskDescription


class SdkClient(Protocol):
    """What the facade needs of the client (:class:`~swan_jupyter.orchestrator.Orchestrator` is one)."""

    payments: Payments

    def plan(self, task: TaskDescription) -> Plan:
        """Check and price a task."""
        ...

    def create(self, plan: Plan, *, pay: bool = False, max_spend: str | Decimal | None = None,
               private_key: str | Secret | None = None) -> TaskResult:
        """Create (and pay for) a planned task."""
        ...

    def renew(self, task_uuid: str, duration: str | int = 3600, *, tx_hash: str | None = None,
              private_key: str | Secret | None = None, idempotency_key: str | None = None,
              max_payment: str | Decimal | None = None, confirmed: Quote | None = None) -> Result:
        """Extend a task."""
        ...


class SwanSdk:
    """swan-sdk's ``Orchestrator`` (see the module docstring), over ``client``; ``.client`` is the client."""

    def __init__(self, client: SdkClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "client":
            raise AttributeError(name)
        return getattr(self.client, name)

    def __repr__(self) -> str:
        return f"SwanSdk({self.client!r})"

    def create_task(
        self,
        wallet_address: str | None = None,
        hardware_id: int | None = None,
        instance_type: str | None = None,
        region: str = "global",
        duration: str | int = 3600,
        app_repo_image: str | None = None,
        job_source_uri: str | None = None,
        repo_uri: str | None = None,
        repo_branch: str | None = None,
        repo_owner: str | None = None,
        repo_name: str | None = None,
        start_in: int = 300,
        auto_pay: bool | None = None,
        private_key: str | Secret | None = None,
        preferred_cp_list: Sequence[str] | None = None,
        ip_whitelist: Sequence[str] | None = None,
        deploy_yaml: str | None = None,
        dockerfile: str | None = None,
        max_payment: str | Decimal | None = None,
    ) -> TaskResult:
        """Create a task (and, with ``auto_pay``, pay for it and have the payment validated): swan-sdk's call.

        Exactly one source: ``app_repo_image``, ``repo_uri`` (+ ``repo_branch``; or ``repo_owner`` + ``repo_name``
        for GitHub), ``job_source_uri``, ``deploy_yaml`` or ``dockerfile``; hardware by ``instance_type`` or
        ``hardware_id``. Everything is checked before anything is created. ``auto_pay`` left unset pays exactly
        when a ``private_key`` is given, as swan-sdk code written ``create_task(..., private_key=pk)`` expects.
        In this package's own words: ``client.create(client.plan(TaskDescription(...)), pay=..., max_spend=...)``.
        """
        if repo_uri is None and repo_owner and repo_name:
            repo_uri = f"https://github.com/{repo_owner}/{repo_name}"
        task = TaskDescription(
            hardware=_hardware(instance_type, hardware_id), app_image=app_repo_image,
            repo_uri=repo_uri, repo_branch=repo_branch, source_uri=job_source_uri, deploy_yaml=deploy_yaml,
            dockerfile=dockerfile, region=region, duration=duration, start_in=start_in,
            preferred_providers=preferred_cp_list or (), ip_allowlist=ip_whitelist or (), wallet=wallet_address)
        pay = private_key is not None if auto_pay is None else auto_pay
        return self.client.create(self.client.plan(task), pay=pay, max_spend=max_payment, private_key=private_key)

    def validate_task(self, *, wallet_address: str | None = None, instance_type: str | None = None,
                      hardware_id: int | None = None, region: str = "global", duration: str | int = 3600,
                      app_repo_image: str | None = None, job_source_uri: str | None = None,
                      repo_uri: str | None = None, deploy_yaml: str | None = None, dockerfile: str | None = None,
                      start_in: int = 300, repo_branch: str | None = None) -> tuple[Hardware, int]:
        """Check a new task's inputs as :meth:`create_task` does, creating nothing; the hardware and the seconds
        (``client.plan(TaskDescription(...))`` says the same and prices it)."""
        plan = self.client.plan(TaskDescription(
            hardware=_hardware(instance_type, hardware_id), app_image=app_repo_image,
            repo_uri=repo_uri, repo_branch=repo_branch, source_uri=job_source_uri, deploy_yaml=deploy_yaml,
            dockerfile=dockerfile, region=region, duration=duration, start_in=start_in, wallet=wallet_address))
        return plan.hardware, plan.seconds

    def submit_payment(self, task_uuid: str, private_key: str | Secret | None = None, duration: int | None = None,
                       *, order_type: str = "Creation", idempotency_key: str | None = None,
                       max_payment: str | Decimal | None = None, task: dict[str, Any] | None = None,
                       confirmed: Quote | None = None) -> PaymentReceipt:
        """Pay on chain for a task without server validation; see :meth:`Payments.submit`."""
        return self.client.payments.submit(task_uuid, private_key, duration, order_type=order_type,
                                           idempotency_key=idempotency_key, max_payment=max_payment, task=task,
                                           confirmed=confirmed)

    def validate_payment(self, tx_hash: str, task_uuid: str) -> Result:
        """Have the server check a payment transaction for a task; safe to repeat (see :meth:`Payments.validate`)."""
        return self.client.payments.validate(tx_hash, task_uuid)

    def make_payment(self, task_uuid: str, *, private_key: str | Secret | None = None,
                     max_payment: str | Decimal | None = None, confirmed: Quote | None = None) -> PaymentReceipt:
        """Pay for a new task and have the payment validated; resumes, never pays twice."""
        return self.client.payments.pay(task_uuid, private_key=private_key, max_payment=max_payment,
                                        confirmed=confirmed)[0]

    def renew_task(self, task_uuid: str, duration: str | int = 3600, tx_hash: str | None = None,
                   auto_pay: bool = True, private_key: str | Secret | None = None, *,
                   idempotency_key: str | None = None, max_payment: str | Decimal | None = None,
                   confirmed: Quote | None = None) -> Result:
        """Extend a task by ``duration``: pay ``renewPayment`` (unless ``tx_hash`` is given), then extend."""
        if tx_hash is None and not auto_pay:
            raise ValidationError("renew_task needs tx_hash, or auto_pay=True to pay now.")
        return self.client.renew(task_uuid, duration, tx_hash=tx_hash, private_key=private_key,
                                 idempotency_key=idempotency_key, max_payment=max_payment, confirmed=confirmed)


def _hardware(instance_type: str | None, hardware_id: Any) -> str | int | None:
    """swan-sdk's two ways to name hardware as one: the name, else the id (a whole number, refused otherwise)."""
    if instance_type is not None:
        return instance_type
    return None if hardware_id is None else parse_int(hardware_id, "hardware_id")


#: The client's names that moved to :class:`SwanSdk`, with what to write instead on the client.
MOVED = {
    "create_task": "orch.create(orch.plan(TaskDescription(...)), pay=..., max_spend=...)",
    "validate_task": "orch.plan(TaskDescription(...))",
    "submit_payment": "orch.payments.submit(...)",
    "validate_payment": "orch.payments.validate(tx_hash, task_uuid)",
    "make_payment": "orch.pay(...)",
    "renew_task": "orch.renew(task_uuid, duration, ...)",
}


def deprecated_door(name: str) -> Callable[..., Any]:
    """A method of the client that keeps swan-sdk's ``name`` working for one release: it warns
    (:class:`~swan_jupyter.errors.SwanDeprecationWarning`, saying what to write instead) and calls
    :class:`SwanSdk`'s ``name``."""
    instead = MOVED[name]

    def door(self: SdkClient, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"Orchestrator.{name} is deprecated and goes in the next release: write {instead}; "
                      f"swan-sdk code keeps {name} through swan_jupyter.resource(...).", SwanDeprecationWarning,
                      stacklevel=2)
        return getattr(SwanSdk(self), name)(*args, **kwargs)

    door.__name__ = door.__qualname__ = name
    door.__doc__ = f"Deprecated: write ``{instead}`` (swan-sdk's ``{name}`` stays on :class:`SwanSdk`)."
    return door
