"""A new task, described once and planned once: :class:`TaskDescription` and :class:`Plan`.

::

    from swan_jupyter.orchestrator import TaskDescription
    task = TaskDescription(hardware="C1ae.small", app_image="hello-world", duration="2h")   # checked here
    plan = orch.plan(task)            # the wallet, the hardware, the seconds and the estimate: checked once
    result = orch.create(plan, pay=True, max_spend="5")                                       # nothing re-checked

A description checks what needs no server (exactly one source, the spec or URL of that source, the duration, the
start, the lists); :func:`plan_task` checks what needs the catalogue (the hardware exists, is available and is
offered in the region; the example app exists) and the paying wallet, and prices the task. Each refusal is a
:class:`~swan_jupyter.errors.ValidationError` that says what to do. :func:`creation_form` is what the create
request sends for a plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..numbers import parse_int
from ._task_inputs import paying_wallet
from .amounts import MIN_DURATION, parse_duration
from .deploy_specs import check_sources
from .models import Hardware, Quote

DEPLOY_TYPES = {"source_uri": -99, "dockerfile": 1, "yaml": 2}
#: At most this many preferred providers or allowed IPs, each at most :data:`MAX_NAME` characters.
MAX_LIST, MAX_NAME = 100, 255
_SOURCES = "One of app_image, repo_uri, source_uri, deploy_yaml or dockerfile (swan-sdk: app_repo_image, " \
           "repo_uri, job_source_uri, deploy_yaml, dockerfile)."


def _names(value: Sequence[str], what: str) -> tuple[str, ...]:
    """A bounded tuple of non-empty names without commas (the request joins them with commas)."""
    if isinstance(value, str):
        raise ValidationError(f"{what} must be a list of names, not one string.", hint=f"{what}=[{value!r}]")
    items = tuple(value)
    if len(items) > MAX_LIST:
        raise ValidationError(f"{what} has {len(items)} entries; at most {MAX_LIST} are accepted.")
    for item in items:
        if not isinstance(item, str) or not item.strip() or "," in item or len(item) > MAX_NAME:
            raise ValidationError(f"{what} entry {str(item)[:80]!r} is not a name.",
                                  hint=f"Each entry: a non-empty string without commas, at most {MAX_NAME} chars.")
    return items


def _wallet_address(wallet: str) -> str:
    if not (isinstance(wallet, str) and wallet.startswith("0x") and len(wallet) == 42):
        raise ValidationError(f"wallet_address {wallet!r} is not an Ethereum address.",
                              hint="An address is 0x followed by 40 hex digits.")
    return wallet


@dataclass(frozen=True, kw_only=True)
class TaskDescription:
    """What to run, where and for how long: checked when made (see the module docstring), then never changed.

    Exactly one source: ``app_image`` (an example app's name), ``repo_uri`` (+ ``repo_branch``), ``source_uri``
    (a job source URI), ``deploy_yaml`` or ``dockerfile``. ``hardware``: a name (``"C1ae.small"``) or an id;
    ``region``: one it is offered in (``"global"``: any). ``duration``: seconds or ``"2h"``/``"90m"``, at least
    an hour (kept as whole seconds). ``start_in``: seconds before the start. ``wallet``: the paying wallet (default:
    the profile's). ``preferred_providers`` and ``ip_allowlist``: lists of names.
    """

    hardware: str | int | None = None
    app_image: str | None = None
    repo_uri: str | None = None
    repo_branch: str | None = None
    source_uri: str | None = None
    deploy_yaml: str | None = None
    dockerfile: str | None = None
    region: str = "global"
    duration: int | str = 3600
    start_in: int = 300
    preferred_providers: Sequence[str] = ()
    ip_allowlist: Sequence[str] = ()
    wallet: str | None = None

    def __post_init__(self) -> None:
        seconds = parse_duration(self.duration, minimum=MIN_DURATION)
        if self.hardware is None or (isinstance(self.hardware, str) and not self.hardware.strip()):
            raise ValidationError("Choose hardware: instance_type='C1ae.small' or hardware_id=0.",
                                  hint="List the catalogue with get_hardware() or %swan hardware.")
        hardware = self.hardware if isinstance(self.hardware, str) else parse_int(self.hardware, "hardware_id")
        if len(str(hardware)) > MAX_NAME:
            raise ValidationError(f"hardware {str(hardware)[:80]!r}... is not a hardware name.")
        given = [s for s in (self.app_image, self.source_uri, self.repo_uri, self.deploy_yaml, self.dockerfile) if s]
        if len(given) != 1:
            raise ValidationError(f"Give exactly one source (got {len(given)}).", hint=_SOURCES)
        if not isinstance(self.region, str) or not self.region.strip() or len(self.region) > MAX_NAME:
            raise ValidationError(f"region {self.region!r} is not a region name.", hint="'global' means any region.")
        start_in = parse_int(self.start_in, "start_in", minimum=0, maximum=365 * 86400)
        check_sources(deploy_yaml=self.deploy_yaml, dockerfile=self.dockerfile, repo_uri=self.repo_uri,
                      job_source_uri=self.source_uri, repo_branch=self.repo_branch)
        if self.wallet is not None:
            _wallet_address(self.wallet)
        for name, value in (("duration", seconds), ("hardware", hardware), ("start_in", start_in),
                            ("preferred_providers", _names(self.preferred_providers, "preferred_providers")),
                            ("ip_allowlist", _names(self.ip_allowlist, "ip_allowlist"))):
            object.__setattr__(self, name, value)

    @property
    def seconds(self) -> int:
        """The duration in whole seconds."""
        return int(self.duration)


@dataclass(frozen=True)
class Plan:
    """A task checked against the catalogue and priced: what :meth:`Orchestrator.create` creates and pays.

    ``hardware`` is the catalogue entry, ``seconds`` the duration, ``estimate`` the :class:`Quote` a payment
    made at creation is bound to (a different answer from the server is never paid), ``wallet`` the paying wallet,
    ``repo_uri`` the repository to build from (the example app's, or the task's own; None for the other sources).
    Made by :func:`plan_task` (``orch.plan(task)``).
    """

    task: TaskDescription
    wallet: str
    hardware: Hardware
    seconds: int
    estimate: Quote
    repo_uri: str | None = None


def plan_task(task: TaskDescription, *, default_wallet: str | None, find_hardware: Callable[[str | int], Hardware],
              app_url: Callable[[str], Any], network: str) -> Plan:
    """Check ``task`` against the catalogue (``find_hardware``, ``app_url``) and the paying wallet, and price it."""
    wallet = _wallet_address(paying_wallet(task.wallet, default_wallet))
    assert task.hardware is not None  # a description always names its hardware
    hw = find_hardware(task.hardware)
    if not hw.available:
        raise ValidationError(f"Hardware {hw.name} is {hw.status} right now.", hint="Pick another one.")
    if not hw.offers(task.region):
        raise ValidationError(f"Hardware {hw.name} is not offered in region {task.region!r}.",
                              hint="Offered regions: " + ", ".join(hw.regions) + " (or 'global').")
    repo_uri = str(app_url(task.app_image)) if task.app_image else task.repo_uri
    estimate = Quote.build(hardware=hw.name, hardware_id=hw.hardware_id, region=task.region, duration=task.seconds,
                           price_per_hour=hw.price, wallet=wallet, network=network)
    return Plan(task, wallet, hw, task.seconds, estimate, repo_uri)


def creation_form(plan: Plan, job_source_uri: str | None) -> dict[str, Any]:
    """The form of ``POST /v2/task_deployment-dp`` for ``plan`` (``job_source_uri``: the one resolved for a
    repository or an example app, or the task's own; unused for a deploy YAML or a Dockerfile)."""
    task = plan.task
    form: dict[str, Any] = {"duration": plan.seconds, "cfg_name": plan.hardware.name, "region": task.region,
                            "start_in": task.start_in, "wallet": plan.wallet,
                            "preferred_cp": ",".join(task.preferred_providers) or None,
                            "ip_whitelist": ",".join(task.ip_allowlist) or None}
    spec = task.deploy_yaml or task.dockerfile
    if spec:
        form.update(deploy_type=DEPLOY_TYPES["yaml" if task.deploy_yaml else "dockerfile"], deploy_content=spec)
    else:
        form.update(job_source_uri=job_source_uri, deploy_type=DEPLOY_TYPES["source_uri"],
                    deploy_content=job_source_uri)
    return {k: v for k, v in form.items() if v is not None}
