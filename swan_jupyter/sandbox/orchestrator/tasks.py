"""Task creation: validating the deploy form (as swan-sdk 0.1.4 sends it: swan/api/orchestrator.py,
Orchestrator._deploy_task) and building the stored task document.

A task document holds the wire fields of a task (swan-sdk 0.1.4 swan/object/models.py: Task, TaskDetail) plus
``_state`` (internal, never sent): real unix times ``created``, ``paid_at``, ``end`` and ``terminated_at`` from
which :mod:`.lifecycle` derives statuses.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...numbers import parse_int
from . import catalogue as cat
from .catalogue import Machine
from .lifecycle import Clock
from .wire import BadRequest, Form, address_list, ip_list

MIN_DURATION = 3600
MAX_DURATION = 366 * 24 * 3600
DEPLOY_TYPES = {-99: "source URI", 0: "field", 1: "Dockerfile", 2: "YAML"}


@dataclass(frozen=True)
class CustomInstance:
    """A custom instance request and the catalogue machine that serves it (None if none fits)."""

    cpu: int
    memory: int
    storage: int
    gpu_model: str | None
    gpu_count: int
    region: str
    machine: Machine | None

    def wire(self) -> dict[str, Any]:
        """The ``custom_instance`` object as ``/custom_instance`` echoes it."""
        return {"cpu": self.cpu, "gpu_count": self.gpu_count, "gpu_model": self.gpu_model, "memory": self.memory,
                "region": self.region, "storage": self.storage}


def _positive(value: Any, name: str, *, zero: bool = False) -> int:
    try:
        number = parse_int(value if isinstance(value, int | str) else str(value), name, minimum=None)
    except ValueError:  # NumberError is one
        raise BadRequest(f"custom instance {name} must be an integer, got {str(value)[:40]!r}") from None
    if number < 0 or (number == 0 and not zero):
        raise BadRequest(f"custom instance {name} must be {'>= 0' if zero else '> 0'}, got {number}")
    return number


def parse_custom(fields: dict[str, Any], region: str) -> CustomInstance:
    """Validate ``cpu``, ``memory``, ``storage``, ``gpu_model``, ``gpu_count`` and fit a machine."""
    for name in ("cpu", "memory", "storage"):
        if fields.get(name) in (None, ""):
            raise BadRequest(f"custom instance {name} is required")
    cpu = _positive(fields["cpu"], "cpu")
    memory = _positive(fields["memory"], "memory")
    storage = _positive(fields["storage"], "storage")
    gpu_count = _positive(fields.get("gpu_count") or 0, "gpu_count", zero=True)
    model = fields.get("gpu_model")
    gpu_model = str(model).strip() if model not in (None, "", "null", "None") else None
    if gpu_count > 0 and gpu_model is None:
        raise BadRequest("custom instance gpu_model is required when gpu_count > 0")
    if gpu_model is not None and gpu_model.lower() not in {m.lower() for m in cat.gpu_models()}:
        raise BadRequest(f"unknown gpu_model {gpu_model!r}; known: {', '.join(cat.gpu_models())}")
    check_region(region)
    machine = cat.fit_custom(cpu, memory, storage, gpu_model, gpu_count, region)
    return CustomInstance(cpu, memory, storage, gpu_model, gpu_count, region, machine)


def check_region(region: str) -> None:
    """Refuse a region that no provider serves."""
    if region != "global" and region not in cat.REGIONS:
        raise BadRequest(f"unknown region {region!r}; regions: global, {', '.join(cat.REGIONS)}")


def choose_machine(form: Form, region: str, deploy_type: int) -> tuple[Machine, CustomInstance | None]:
    """The machine named by ``cfg_name`` or fitted to ``custom_instance``, checked against ``region``."""
    check_region(region)
    custom_fields = form.json_object("custom_instance")
    name = form.text("cfg_name", required=False)
    if custom_fields is not None and name is None:
        custom = parse_custom(custom_fields, region)
        if custom.machine is None:
            raise BadRequest(f"no hardware available in region {region!r} covers the custom instance "
                             f"{custom.wire()}")
        return custom.machine, custom
    if name is None:
        if deploy_type in (1, 2):
            name = cat.DEFAULT_MACHINE
        else:
            raise BadRequest("cfg_name (an instance type such as C1ae.small) or custom_instance is required")
    machine = cat.by_name(name)
    if machine is None:
        raise BadRequest(f"Unknown hardware cfg_name {name!r}; see GET /cp/machines-dp-ssh-ready")
    if not machine.available:
        raise BadRequest(f"hardware {machine.name} is unavailable right now")
    if not machine.offered_in(region):
        raise BadRequest(f"hardware {machine.name} is not offered in region {region!r}; offered in: "
                         + ", ".join(machine.regions))
    return machine, None


def _check_content(deploy_type: int, content: str | None) -> None:
    if deploy_type not in (1, 2):
        return
    kind = DEPLOY_TYPES[deploy_type]
    if content is None:
        raise BadRequest(f"deploy_content (the {kind} text) is required for deploy_type {deploy_type}")
    if deploy_type == 1 and not any(line.strip().upper().startswith("FROM ") for line in content.splitlines()):
        raise BadRequest("deploy_content is not a Dockerfile: it has no FROM line")
    if deploy_type == 2 and "services" not in content:
        raise BadRequest("deploy_content is not an LDL deploy YAML: it has no 'services' section")


def build_task(form: Form, *, task_id: int, now: float, clock: Clock, legacy: bool = False) -> dict[str, Any]:
    """Validate a ``/v2/task_deployment(-dp)`` form and return the new task document (status ``initialized``).

    ``legacy`` (``/v2/task_deployment``) ignores ``deploy_type``, ``deploy_content`` and ``custom_instance``.
    """
    duration = form.integer("duration", minimum=None)
    if duration < MIN_DURATION:
        raise BadRequest(f"duration {duration} s is below the minimum of {MIN_DURATION} seconds")
    if duration > MAX_DURATION:
        raise BadRequest(f"duration {duration} s is above the maximum of {MAX_DURATION} seconds")
    wallet = form.wallet("wallet")
    region = form.text("region", required=False, default="global") or "global"
    start_in = form.integer("start_in", default=300, minimum=0, maximum=7 * 24 * 3600)
    if legacy:
        form = Form({k: v for k, v in form.fields.items() if k not in ("deploy_type", "deploy_content",
                                                                         "custom_instance")})
    deploy_type = form.integer("deploy_type", default=-99)
    if deploy_type not in DEPLOY_TYPES:
        raise BadRequest(f"deploy_type must be one of -99 (source URI), 1 (Dockerfile), 2 (YAML); got {deploy_type}")
    content = form.text("deploy_content", required=False)
    source = form.text("job_source_uri", required=False) or (content if deploy_type == -99 else None)
    if deploy_type in (-99, 0):
        if source is None:
            raise BadRequest("job_source_uri is required (from POST /v2/get_source_uri) for deploy_type -99")
        if not source.startswith(("http://", "https://", "ipfs://")):
            raise BadRequest(f"job_source_uri {source[:80]!r} is not an http(s) or ipfs URL")
    _check_content(deploy_type, content)
    machine, custom = choose_machine(form, region, deploy_type)
    preferred = address_list(form.text("preferred_cp", required=False), "preferred_cp")
    whitelist = ip_list(form.text("ip_whitelist", required=False), "ip_whitelist")

    created = int(now)
    end = now + clock.real(duration)
    task_uuid = str(uuidlib.uuid4())
    requirements = {
        "hardware": machine.gpu or "None", "hardware_type": machine.type,
        "memory": str(custom.memory if custom else machine.memory_gib),
        "vcpu": str(custom.cpu if custom else machine.vcpu), "region": region,
        "storage": str(custom.storage) if custom else None,
        "preferred_cp_list": ",".join(preferred) if preferred else None, "update_max_lag": None,
    }
    detail = {
        "amount": None, "bidder_limit": 3, "created_at": created, "updated_at": created, "start_at": created,
        "end_at": int(end), "duration": duration, "hardware": machine.name, "hardware_id": machine.hardware_id,
        "price_per_hour": machine.price, "job_source_uri": source if deploy_type in (-99, 0) else None,
        "job_result_uri": None, "status": "paid", "storage_source": "swanhub",
        "type": "instance" if custom is None else "custom_instance",
        "ip_whitelist": ",".join(whitelist) if whitelist else None,
        "dcc_selected_cp_list": None, "dcc_node_job_source_uri": None,
        "deploy_type": deploy_type, "deploy_content": content if deploy_type in (1, 2) else None,
        "custom_instance": custom.wire() if custom else None,
        "requirements": requirements,
        "space": {"name": "0", "uuid": uuidlib.uuid4().hex, "activeOrder": {"config": {
            "name": machine.name, "hardware_id": machine.hardware_id, "hardware": machine.gpu or "CPU only",
            "hardware_type": machine.type, "description": machine.description, "memory": machine.memory_gib,
            "vcpu": machine.vcpu, "price_per_hour": float(Decimal(machine.price))}}},
    }
    return {
        "id": task_id, "uuid": task_uuid, "name": None, "status": "initialized", "comments": None,
        "created_at": created, "updated_at": created, "start_at": created, "end_at": int(end), "start_in": start_in,
        "leading_job_id": None, "refund_amount": None, "refund_wallet": wallet, "source": "v2",
        "task_detail": detail, "task_detail_cid": None, "tx_hash": None, "type": "None", "user_id": 1,
        "_state": {"created": now, "paid_at": None, "end": end, "terminated_at": None},
    }
