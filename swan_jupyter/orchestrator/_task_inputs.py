"""The checks of a new task's inputs, run before any request that creates anything.

:meth:`~swan_jupyter.orchestrator.Orchestrator.create_task` and
:meth:`~swan_jupyter.orchestrator.Orchestrator.validate_task` run them in one order: the wallet (given or
configured, an Ethereum address), the duration, the hardware (known, available, offered in the region), then
exactly one source and ``start_in``. Each refusal is a :class:`~swan_jupyter.errors.ValidationError` that says
what to do.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import ValidationError
from ..numbers import parse_int
from .amounts import MIN_DURATION, parse_duration
from .models import Hardware, Result

if TYPE_CHECKING:
    from .client import Orchestrator

WALLET_HINT = ("Pass wallet_address=..., or set the paying wallet: SWAN_WALLET_ADDRESS=0x..., or wallet_address in "
               "the profile of the config file (README: Configuration); the sandbox profile has its own.")


def paying_wallet(wallet_address: str | None, settings: Settings) -> str:
    """``wallet_address``, or the profile's; refused when neither is set."""
    wallet = wallet_address or settings.wallet_address
    if not wallet:
        raise ValidationError("wallet_address is required.", hint=WALLET_HINT)
    return wallet


def task_basics(orch: Orchestrator, wallet_address: str | None, instance_type: str | None,
                hardware_id: int | None, region: str, duration: str | int) -> tuple[str, Hardware, int]:
    """The wallet, the hardware (available, offered in ``region``) and the duration of a new task, checked."""
    wallet = paying_wallet(wallet_address, orch.settings)
    if not (wallet.startswith("0x") and len(wallet) == 42):
        raise ValidationError(f"wallet_address {wallet!r} is not an Ethereum address.")
    seconds = parse_duration(duration, minimum=MIN_DURATION)
    if instance_type is None and hardware_id is None:
        raise ValidationError("Choose hardware: instance_type='C1ae.small' or hardware_id=0.",
                              hint="List the catalogue with get_hardware() or %swan hardware.")
    hw = orch.hardware(instance_type if instance_type is not None else parse_int(hardware_id, "hardware_id"))
    if not hw.available:
        raise ValidationError(f"Hardware {hw.name} is {hw.status} right now.", hint="Pick another one.")
    if not hw.offers(region):
        raise ValidationError(
            f"Hardware {hw.name} is not offered in region {region!r}.",
            hint="Offered regions: " + ", ".join(hw.regions) + " (or 'global').",
        )
    return wallet, hw, seconds


def source_and_start(start_in: int, *sources: str | None) -> None:
    """Exactly one source among ``sources`` (app image, job source URI, repository, YAML, Dockerfile), and a
    ``start_in`` that is not negative."""
    given = [s for s in sources if s]
    if len(given) != 1:
        raise ValidationError(f"Give exactly one source (got {len(given)}).",
                              hint="One of app_repo_image, repo_uri, job_source_uri, deploy_yaml or dockerfile.")
    if start_in < 0:
        raise ValidationError("start_in must be >= 0 seconds.")


def actionable_task(orch: Orchestrator, task_uuid: str, action: str) -> Result:
    """The task's deployment info when ``action`` (``"terminate"`` or ``"renew"``) can apply to it, else a
    :class:`ValidationError` that says why and what to do (a malformed uuid, a task never paid, one already
    terminated or finished); an unknown task raises NotFoundError."""
    try:
        uuidlib.UUID(str(task_uuid))
    except ValueError:
        raise ValidationError(f"{task_uuid!r} is not a task uuid.",
                              hint="Task uuids look like 'be49dc4b-3f1e-4a43-b2c7-…'; %swan tasks lists yours."
                              ) from None
    info = orch.get_deployment_info(task_uuid)
    status = str((info.get("task") or {}).get("status") or "")
    if status == "terminated":
        raise ValidationError(f"Task {task_uuid} is already terminated.",
                              hint=f"Nothing to {action}; %swan status {task_uuid} shows its refund.")
    if status in ("finished", "failed"):
        raise ValidationError(f"Task {task_uuid} has already {'finished' if status == 'finished' else 'failed'}.",
                              hint=f"Nothing to {action}; deploy a new task instead.")
    if action == "renew" and not info.get("config_orders"):
        raise ValidationError(
            f"Task {task_uuid} was never paid (status {status}), so it cannot be renewed.",
            hint=f"Pay for it first: %swan pay {task_uuid}   (or remove it: %swan terminate {task_uuid} --yes)")
    return info
