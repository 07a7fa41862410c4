"""DataFrames of the Orchestrator: hardware catalogue, tasks, and the payment ledger.

Money columns: ``*_wei`` hold exact Python ints (``object`` dtype, never cast by pandas); ``*_swan`` are
floats for display and plotting only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..numbers import MAX_SWAN, NumberError, parse_decimal
from . import Column, build_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..orchestrator.ledger import LedgerEntry
    from ..orchestrator.models import Hardware

TASK_STATUSES = ("initialized", "created", "accepting_bids", "completed", "finished", "terminated", "failed")
LEDGER_STATES = ("intent", "approving", "signed", "sent", "confirmed", "validated", "failed")

#: Read left to right as a catalogue: what, whether it can be had, what it costs, where; the exact wei price
#: (for computations) last, out of the way.
HARDWARE_COLUMNS = [
    Column("name"), Column("status", "cat", ("available", "unavailable")),
    Column("type", "cat", ("CPU", "GPU", "AI GPU")), Column("price_per_hour_swan", "float"), Column("description"),
    Column("regions", "obj"), Column("hardware_id", "int"), Column("price_per_hour_wei", "obj"),
]

TASK_COLUMNS = [
    Column("task_uuid"), Column("status", "cat", TASK_STATUSES), Column("hardware"), Column("hardware_id", "int"),
    Column("region"), Column("duration", "dur"), Column("price_per_hour_swan", "float"),
    Column("price_per_hour_wei", "obj"), Column("created_at", "time"), Column("start_at", "time"),
    Column("end_at", "time"), Column("jobs", "int"), Column("jobs_running", "int"),
    Column("refund_amount_swan", "float"), Column("refund_amount_wei", "obj"), Column("tx_hash"),
]

LEDGER_COLUMNS = [
    Column("task_uuid"), Column("order_type", "cat", ("Creation", "Renewal")), Column("state", "cat", LEDGER_STATES),
    Column("amount_wei", "obj"), Column("amount_swan", "float"), Column("duration", "dur"),
    Column("tx_hash"), Column("approve_tx"), Column("block_number", "int"), Column("gas_used", "int"),
    Column("fee_wei", "obj"), Column("payer"), Column("chain_id", "int"), Column("created_at", "time"),
    Column("updated_at", "time"), Column("error"),
]


def hardware_frame(items: Iterable[Hardware]) -> pd.DataFrame:
    """The catalogue, one row per hardware type (a :class:`~.hardware.HardwareFrame`: one line each in a
    notebook, the exact ``price_per_hour_wei`` last)."""
    rows = [{
        "hardware_id": h.hardware_id, "name": h.name, "type": h.type, "description": h.description,
        "regions": list(h.regions), "price_per_hour_swan": float(h.price),
        "price_per_hour_wei": _wei(h.price), "status": h.status,
    } for h in items]
    from .hardware import HardwareFrame

    return HardwareFrame(build_frame(rows, HARDWARE_COLUMNS))


def tasks_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Tasks from ``get_task_list``/``iter_tasks`` items (``{task, jobs, ...}``) or bare task dicts."""
    rows = []
    for item in items:
        inner = item.get("task")
        task: Mapping[str, Any] = inner if isinstance(inner, dict) else item
        detail = task.get("task_detail") or {}
        jobs = item.get("jobs") or []
        refund = task.get("refund_amount")
        price = _decimal(detail.get("price_per_hour"))
        refund_dec = _decimal(refund)
        rows.append({
            "task_uuid": task.get("uuid"), "status": task.get("status"), "hardware": detail.get("hardware"),
            "hardware_id": detail.get("hardware_id"), "region": (detail.get("requirements") or {}).get("region"),
            "duration": detail.get("duration"),
            "price_per_hour_swan": float(price) if price is not None else None,
            "price_per_hour_wei": _wei(price),
            "created_at": task.get("created_at"), "start_at": task.get("start_at"), "end_at": task.get("end_at"),
            "jobs": len(jobs), "jobs_running": sum(1 for j in jobs if j.get("status") == "Running"),
            "refund_amount_swan": float(refund_dec) if refund_dec is not None else None,
            "refund_amount_wei": _wei(refund_dec),
            "tx_hash": task.get("tx_hash"),
        })
    return build_frame(rows, TASK_COLUMNS)


def _decimal(value: Any) -> Decimal | None:
    """An exact Decimal from the server's decimal string or number; None when absent, not a number, negative or
    beyond what a uint256 of wei holds (read by :func:`swan_jupyter.numbers.parse_decimal`)."""
    if value is None or isinstance(value, bool) or str(value).strip() in ("", "None", "null"):
        return None
    try:
        return parse_decimal(value, "amount", maximum=MAX_SWAN, allow_float=True)
    except NumberError:
        return None


def _wei(amount: Decimal | None) -> int | None:
    """``amount`` SWAN in wei, exactly (``Decimal * 10**18`` rounds to 28 digits); None for None."""
    from ..orchestrator.amounts import price_to_wei

    return None if amount is None else price_to_wei(amount)


def ledger_frame(entries: Iterable[LedgerEntry]) -> pd.DataFrame:
    """The payment ledger, one row per payment."""
    rows = [{
        "task_uuid": e.task_uuid, "order_type": e.order_type, "state": e.state, "amount_wei": e.amount_wei,
        "amount_swan": float(Decimal(e.amount_wei) / 10**18), "duration": e.duration, "tx_hash": e.tx_hash,
        "approve_tx": e.approve_tx, "block_number": e.block_number, "gas_used": e.gas_used, "fee_wei": e.fee_wei,
        "payer": e.payer, "chain_id": e.chain_id, "created_at": e.created_at, "updated_at": e.updated_at,
        "error": e.error,
    } for e in entries]
    return build_frame(rows, LEDGER_COLUMNS)
