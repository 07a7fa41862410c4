"""Result objects of the Orchestrator client.

:class:`Result` is what swan-sdk users expect: a dict (``r["task_uuid"]``, ``r.get(...)``, ``r.to_dict()``) with
attribute access that also finds keys in nested objects (``r.uuid`` finds ``r["task"]["uuid"]``).
:class:`Hardware`, :class:`Quote` and :class:`PaymentReceipt` are typed, and render as text and HTML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from ..display import Rich, kv_html, kv_text, status_badge
from .amounts import format_swan


class Result(dict[str, Any]):
    """A dict with attribute access searching nested dicts (swan-sdk compatible).

    As in swan-sdk, ``r["id"]`` and ``r.id`` also find a key of a nested object (the task's ``id``) when the
    result has none of its own; ``r.get(...)`` looks at the top level only. A key found nowhere raises KeyError.
    """

    def __getitem__(self, key: str) -> Any:
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            found, value = _find(self, key) if isinstance(key, str) else (False, None)
            if found:
                return value
            raise

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        found, value = _find(self, name)
        if found:
            return value
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict copy."""
        return dict(self)

    def _repr_text_(self) -> str:
        task = self.get("task") or {}
        status = self.get("status") or (task.get("status") if isinstance(task, dict) else None)
        uuid = self.get("task_uuid") or (task.get("uuid") if isinstance(task, dict) else None)
        return f"{type(self).__name__}(task_uuid={uuid!r}, status={status!r}, keys={sorted(self)})"

    def _repr_html_(self) -> str:
        rows = {k: v for k, v in self.items() if not isinstance(v, dict | list)}
        return kv_html(type(self).__name__, rows)


def _find(data: Any, name: str, depth: int = 0) -> tuple[bool, Any]:
    if isinstance(data, dict):
        if name in data:
            return True, data[name]
        if depth < 3:
            for value in data.values():
                found, inner = _find(value, name, depth + 1)
                if found:
                    return True, inner
    return False, None


class TaskResult(Result, Rich):
    """Result of ``create_task``: task, config order, payment hashes, price, duration, ..."""

    def __repr__(self) -> str:
        return self._repr_text_()

    def _repr_text_(self) -> str:
        receipt = self.get("receipt")
        paid = f", paid {receipt.amount_text}" if receipt is not None else ""
        return (f"Task {self.get('task_uuid')} on {self.get('instance_type')} for {self.get('duration')} s "
                f"(status {self.get('status')}{paid})")

    def _repr_html_(self) -> str:
        receipt = self.get("receipt")
        rows = {
            "task": self.get("task_uuid"),
            "hardware": self.get("instance_type"),
            "region": self.get("region"),
            "duration": f"{self.get('duration')} s",
            "price per hour": f"{self.get('price')} SWAN",
            "status": status_badge(str(self.get("status"))),
        }
        html = kv_html("Swan task", rows, raw_keys=["status"])
        if receipt is not None:
            html += receipt._repr_html_()
        return html


@dataclass(frozen=True)
class Hardware:
    """One entry of the hardware catalogue."""

    hardware_id: int
    name: str
    description: str
    type: str
    regions: tuple[str, ...]
    price: Decimal
    status: str
    snapshot_id: int | None = None
    expiry_time: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def available(self) -> bool:
        return self.status.lower() == "available"

    @property
    def label(self) -> str:
        """A readable one-line label for menus."""
        return f"{self.name} · {self.description or self.type} · {self.price} SWAN/h"

    def offers(self, region: str) -> bool:
        """True when the hardware is offered in ``region`` (``global`` means any region)."""
        return region.lower() == "global" or any(r.lower() == region.lower() for r in self.regions)


@dataclass(frozen=True)
class Quote:
    """What a payment would cost, shown before confirming."""

    task_uuid: str | None
    order_type: str
    hardware: str
    hardware_id: int
    region: str
    duration: int
    price_per_hour: Decimal
    price_per_hour_wei: int
    amount_wei: int
    wallet: str
    chain_id: int | None
    network: str

    @property
    def amount_text(self) -> str:
        return format_swan(self.amount_wei)

    def rows(self) -> dict[str, str]:
        hours = Decimal(self.duration) / 3600
        return {
            "hardware": f"{self.hardware} (id {self.hardware_id})",
            "region": self.region,
            "duration": f"{self.duration} s ({hours.normalize():f} h)",
            "price per hour": f"{self.price_per_hour} SWAN",
            "total": f"{self.amount_text} ({self.amount_wei} wei)",
            "wallet": self.wallet,
            "network": self.network,
        }


@dataclass(frozen=True)
class PaymentReceipt(Rich):
    """A confirmed (and, when ``validated``, server-accepted) on-chain payment."""

    task_uuid: str
    order_type: str
    amount_wei: int
    tx_hash: str
    approve_tx_hash: str | None
    block_number: int
    gas_used: int
    fee_wei: int
    payer: str
    contract: str
    chain_id: int
    validated: bool = False
    resumed: bool = False
    recorded_at: float = 0.0

    @property
    def amount_swan(self) -> Decimal:
        from .amounts import wei_to_swan

        return wei_to_swan(self.amount_wei)

    @property
    def amount_text(self) -> str:
        return format_swan(self.amount_wei)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _rows(self) -> dict[str, Any]:
        return {
            "task": self.task_uuid,
            "order": self.order_type,
            "amount": f"{self.amount_text} ({self.amount_wei} wei)",
            "tx hash": self.tx_hash,
            "approve tx": self.approve_tx_hash or "(allowance sufficed)",
            "block": self.block_number,
            "gas used": f"{self.gas_used:,}",
            "fee": f"{self.fee_wei} wei",
            "payer": self.payer,
            "contract": self.contract,
            "chain id": self.chain_id,
            "validated by server": "yes" if self.validated else "not yet",
            "time": dt.datetime.fromtimestamp(self.recorded_at, dt.timezone.utc).isoformat(timespec="seconds")
            if self.recorded_at else "",
        }

    def _repr_text_(self) -> str:
        title = "Payment receipt" + (" (resumed, not paid again)" if self.resumed else "")
        return kv_text(title, self._rows())

    def _repr_html_(self) -> str:
        title = "Payment receipt" + (" (resumed, not paid again)" if self.resumed else "")
        return kv_html(title, self._rows()).replace("<table", "<table class='swan-receipt'", 1)


def hardware_from_wire(item: dict[str, Any]) -> Hardware:
    """A :class:`Hardware` from one ``/cp/machines*`` entry (prices kept exact)."""
    regions = item.get("region") or []
    if isinstance(regions, str):
        regions = [regions]
    return Hardware(
        hardware_id=int(item.get("hardware_id", -1)),
        name=str(item.get("hardware_name") or ""),
        description=str(item.get("hardware_description") or ""),
        type=str(item.get("hardware_type") or ""),
        regions=tuple(str(r) for r in regions),
        price=Decimal(str(item.get("hardware_price") or "0")),
        status=str(item.get("hardware_status") or "unknown"),
        snapshot_id=item.get("snapshot_id"),
        expiry_time=item.get("expiry_time"),
        raw=dict(item),
    )

