"""Result objects of the Orchestrator client.

:class:`Result` is what swan-sdk users expect: a dict (``r["task_uuid"]``, ``r.get(...)``, ``r.to_dict()``) with
attribute access that also finds keys in nested objects (``r.uuid`` finds ``r["task"]["uuid"]``).
:class:`Hardware` and :class:`Quote` are typed (frozen dataclasses). :class:`TaskResult` and
:class:`PaymentReceipt` render as text and HTML (a card); a plain :class:`Result` shows its fields as nested
HTML tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from ..display import Displayable, Notice, esc, kv_html, kv_text, nested_html, status_badge
from . import _wire as wire
from .amounts import amount_due, format_duration, format_swan, price_to_wei, wei_to_swan


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
        """Every field, nested objects and lists as nested tables, receipts as receipts."""
        return f"<div class='swan-jupyter'><strong>{esc(type(self).__name__)}</strong>{nested_html(dict(self))}</div>"


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


class TaskResult(Result, Displayable):
    """Result of ``create_task``: task, config order, payment hashes, price, duration, ..."""

    def record_payment(self, receipt: Any, order: Any = None) -> None:
        """Note a confirmed payment of this task (``receipt``) and, once validated, its config ``order``."""
        self.update(receipt=receipt, tx_hash=receipt.tx_hash, tx_hash_approve=receipt.approve_tx_hash,
                    status="paid")
        if order is not None:
            self["config_order"] = order

    __str__ = Displayable.__str__  # before dict's / list's own
    __repr__ = Displayable.__repr__

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
    contract: str | None = None

    @classmethod
    def build(cls, *, hardware: str, hardware_id: int, duration: int, price_per_hour: Decimal, wallet: str,
              network: str, task_uuid: str | None = None, order_type: str = "Creation", region: str = "global",
              chain_id: int | None = None, contract: str | None = None, amount_wei: int | None = None) -> Quote:
        """The one way to make a quote: the price in wei and the amount due (integer wei, floored as the contract
        does) are computed here from ``price_per_hour`` and ``duration``; ``amount_wei`` is given only to rebuild
        a quote that was already confirmed (a ledger row), never computed elsewhere."""
        price_wei = price_to_wei(price_per_hour)
        return cls(task_uuid=task_uuid, order_type=order_type, hardware=hardware, hardware_id=hardware_id,
                   region=region, duration=duration, price_per_hour=price_per_hour, price_per_hour_wei=price_wei,
                   amount_wei=amount_due(price_wei, duration) if amount_wei is None else amount_wei, wallet=wallet,
                   chain_id=chain_id, network=network, contract=contract)

    @property
    def amount_text(self) -> str:
        return format_swan(self.amount_wei)

    def rows(self) -> dict[str, str]:
        rows = {
            "hardware": f"{self.hardware} (id {self.hardware_id})",
            "region": self.region,
            "duration": format_duration(self.duration),
            "price per hour": f"{self.price_per_hour} SWAN",
            "total": f"{self.amount_text} ({self.amount_wei} wei)",
            "wallet": self.wallet,
            "network": self.network,
        }
        if self.chain_id is not None:
            rows["chain id"] = str(self.chain_id)
        if self.contract:
            rows["contract"] = self.contract
        return rows

    def differences(self, fresh: Quote) -> list[str]:
        """What ``fresh`` changes in what this quote binds (empty when the same payment would be signed).

        Bound: order type, task, hardware id, price per hour (wei), duration, amount; contract and chain when
        both quotes name them (a catalogue estimate made before any key is loaded names neither).
        """
        out = []
        if self.order_type != fresh.order_type:
            out.append(f"order {self.order_type} -> {fresh.order_type}")
        if self.task_uuid is not None and fresh.task_uuid is not None and self.task_uuid != fresh.task_uuid:
            out.append(f"task {self.task_uuid} -> {fresh.task_uuid}")
        if self.hardware_id != fresh.hardware_id:
            out.append(f"hardware id {self.hardware_id} -> {fresh.hardware_id}")
        if self.price_per_hour_wei != fresh.price_per_hour_wei:
            out.append(f"price {self.price_per_hour} -> {fresh.price_per_hour} SWAN/h")
        if self.duration != fresh.duration:
            out.append(f"duration {self.duration} s -> {fresh.duration} s")
        if self.amount_wei != fresh.amount_wei:
            out.append(f"total {self.amount_text} -> {fresh.amount_text}")
        if self.contract and fresh.contract and self.contract.lower() != fresh.contract.lower():
            out.append(f"contract {self.contract} -> {fresh.contract}")
        if self.chain_id is not None and fresh.chain_id is not None and self.chain_id != fresh.chain_id:
            out.append(f"chain {self.chain_id} -> {fresh.chain_id}")
        return out


@dataclass(frozen=True, repr=False)
class PaymentReceipt(Displayable):
    """A confirmed (and, when ``validated``, server-accepted) on-chain payment; ``str()`` is the receipt card (the
    same rows as the widget), ``to_dict()`` every field."""

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

    @classmethod
    def from_entry(cls, entry: Any, *, resumed: bool = False) -> PaymentReceipt:
        """The receipt of a confirmed or validated ledger row (:class:`~.ledger.LedgerEntry`)."""
        return cls(task_uuid=entry.task_uuid, order_type=entry.order_type, amount_wei=entry.amount_wei,
                   tx_hash=entry.tx_hash or "", approve_tx_hash=entry.approve_tx,
                   block_number=entry.block_number or 0, gas_used=entry.gas_used or 0, fee_wei=entry.fee_wei or 0,
                   payer=entry.payer, contract=entry.contract, chain_id=entry.chain_id,
                   validated=entry.state == "validated", resumed=resumed, recorded_at=entry.updated_at)

    @property
    def amount_swan(self) -> Decimal:
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
            "fee": format_swan(self.fee_wei) if self.fee_wei else "0 SWAN",
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


class Cancellation(Notice):
    """What cancelling a task's payment did, said once it is known (:meth:`Orchestrator.cancel_payment`).

    ``outcome`` is ``cancelled`` (nothing was paid), ``paid`` (the payment had already gone through),
    ``pending`` (the cancel and the payment are both unmined yet: one will be, never both) or ``none`` (nothing
    to cancel: the task's payments were validated by the server). ``rows`` are the task's ledger rows as they
    ended; ``terminated`` says the task was terminated too.
    """

    def __init__(self, task_uuid: str, rows: list[Any], *, terminated: bool = False) -> None:
        self.task_uuid, self.rows, self.terminated = task_uuid, list(rows), terminated
        states = {row.state for row in self.rows}
        self.outcome = ("pending" if "cancelling" in states else "paid" if "confirmed" in states
                        else "cancelled" if states - {"validated"} or not states else "none")
        super().__init__(self._message())

    @property
    def offers_cleanup(self) -> bool:
        """Whether removing the task is the natural next step (the payment was cancelled: nothing was paid)."""
        return self.outcome == "cancelled"

    @property
    def paid_wei(self) -> int:
        """What the task's cancelled payments moved after all (the ones that had gone through)."""
        return sum(row.amount_wei for row in self.rows if row.state == "confirmed")

    def _message(self) -> str:
        uuid = self.task_uuid
        if self.outcome == "pending":
            row = next(r for r in self.rows if r.state == "cancelling")
            return (f"Cancelling the payment for task {uuid}: the cancel transaction {row.cancel_tx} and the payment "
                    f"{row.tx_hash} are both still unmined; one of them will be, never both, and nothing more is "
                    f"sent for this payment. Run `%swan terminate {uuid}` or `cancel_payment('{uuid}')` again to "
                    "see which.")
        if self.outcome == "paid":
            txs = ", ".join(str(r.tx_hash) for r in self.rows if r.state == "confirmed")
            where = ("which is terminated; its refund follows the Orchestrator's rules" if self.terminated else
                     f"not yet validated: `%swan resume {uuid}` starts the task, `%swan terminate {uuid}` ends it "
                     "(its refund follows the Orchestrator's rules)")
            return (f"The payment had already gone through: {format_swan(self.paid_wei)} paid for task {uuid} "
                    f"(transaction {txs}), {where}.")
        if self.outcome == "none":
            return f"Nothing to cancel for task {uuid}: its payments were validated by the Orchestrator."
        replaced = [r for r in self.rows if r.state == "cancelled" and r.cancel_tx]
        how = (f" The signed payment was replaced by the cancel transaction {replaced[-1].cancel_tx} (0 SWAN to "
               "your own wallet; its gas is the only cost), so it can never be mined." if replaced else "")
        return f"Cancelled: nothing was paid for task {uuid}.{how}" + (" The task is terminated." if self.terminated
                                                                        else "")


def hardware_from_wire(item: dict[str, Any], endpoint: str = "GET /cp/machines-dp-ssh-ready",
                       index: int = 0) -> Hardware:
    """A :class:`Hardware` from one ``/cp/machines*`` entry (prices kept exact).

    The id, the name and the price must be there and readable: a :class:`~swan_jupyter.errors.ProtocolError`
    names the entry and the field otherwise (a missing price is never read as 0).
    """
    where = f"hardware[{index}]."
    regions = item.get("region") or []
    if isinstance(regions, str):
        regions = [regions]
    if not isinstance(regions, list):
        raise wire.fail(endpoint, where + "region", "a list of regions", regions)
    return Hardware(
        hardware_id=wire.integer(item, "hardware_id", endpoint, where=where),
        name=wire.text(item, "hardware_name", endpoint, where=where),
        description=str(item.get("hardware_description") or ""),
        type=str(item.get("hardware_type") or ""),
        regions=tuple(str(r) for r in regions),
        price=wire.price(item, "hardware_price", endpoint, where=where),
        status=str(item.get("hardware_status") or "unknown"),
        snapshot_id=item.get("snapshot_id"),
        expiry_time=item.get("expiry_time"),
        raw=dict(item),
    )
