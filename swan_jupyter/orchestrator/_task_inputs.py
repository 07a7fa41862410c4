"""Checks around a task that are not its description: the paying wallet, and whether an action (terminate,
renew) can apply to an existing task. A new task's inputs are checked by
:class:`~swan_jupyter.orchestrator.planning.TaskDescription` and :func:`~swan_jupyter.orchestrator.planning.plan_task`.
Each refusal is a :class:`~swan_jupyter.errors.ValidationError` that says what to do.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable

from ..errors import ValidationError
from .models import Result

WALLET_HINT = ("Pass wallet_address=..., or set the paying wallet: SWAN_WALLET_ADDRESS=0x..., or wallet_address in "
               "the profile of the config file (README: Configuration); the sandbox profile has its own.")


def paying_wallet(wallet_address: str | None, default: str | None) -> str:
    """``wallet_address``, or the profile's (``default``); refused when neither is set."""
    wallet = wallet_address or default
    if not wallet:
        raise ValidationError("wallet_address is required.", hint=WALLET_HINT)
    return wallet


def actionable_task(deployment_info: Callable[[str], Result], task_uuid: str, action: str) -> Result:
    """The task's deployment info when ``action`` (``"terminate"`` or ``"renew"``) can apply to it, else a
    :class:`ValidationError` that says why and what to do (a malformed uuid, a task never paid, one already
    terminated or finished); an unknown task raises NotFoundError."""
    try:
        uuidlib.UUID(str(task_uuid))
    except ValueError:
        raise ValidationError(f"{task_uuid!r} is not a task uuid.",
                              hint="Task uuids look like 'be49dc4b-3f1e-4a43-b2c7-…'; %swan tasks lists yours."
                              ) from None
    info = deployment_info(task_uuid)
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
