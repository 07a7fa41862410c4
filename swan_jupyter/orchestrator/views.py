"""Readable renderings of what the Orchestrator answers about a task.

:class:`TaskInfo` is the deployment info (``get_deployment_info``, ``wait_until_running``, ``%swan status``): still
the swan-sdk dict (``info["task"]["status"]``), shown as a compact card (status, hardware, region, times, price,
jobs with their URLs, payments). :class:`Termination` is what terminating a task did (the refund, or when it
comes); :class:`Renewal` is a renewal with its receipt.
"""

from __future__ import annotations

from typing import Any

from ..display import Displayable, esc, kv_html, kv_text, nested_html, seconds_until, status_badge, utc_text
from ..numbers import NumberError, parse_decimal, shown
from .amounts import decimal_to_wei, format_duration, format_swan
from .models import PaymentReceipt, Result


def swan_text(amount: Any, unit: str = "SWAN") -> str:
    """A decimal amount of SWAN from the server (a price, a refund), written by :func:`format_swan` (the one
    formatter): ``0.476266666666666666`` -> ``0.4763 SWAN``; empty for None."""
    if amount in (None, ""):
        return ""
    try:
        number = parse_decimal(amount, "amount", minimum=None, allow_float=True)
        return format_swan(decimal_to_wei(number), unit)
    except (NumberError, ArithmeticError, ValueError):
        return f"{shown(amount)} (not a readable amount) {unit}"


#: What a task's server status means to a person (the server's word stays one click away).
STATUS_WORDS = {"initialized": "unpaid", "created": "deploying", "accepting_bids": "deploying",
                "completed": "running", "finished": "ended", "terminate_pending": "terminating",
                "terminated": "terminated", "failed": "failed"}


def status_word(raw: Any) -> str:
    """The word a person reads for a task's server status: ``completed`` -> ``running``, ``finished`` ->
    ``ended``, ``accepting_bids`` -> ``deploying``, ``initialized`` -> ``unpaid``."""
    text = str(raw or "")
    return STATUS_WORDS.get(text, text or "unknown")


def status_html(raw: Any) -> str:
    """:func:`status_word` as a badge, with the server's own status behind a click (a ``<details>``)."""
    text = str(raw or "unknown")
    return (f"{status_badge(status_word(raw))} <details style='display:inline-block;vertical-align:top;"
            f"color:#777;font-size:85%'><summary>server status</summary><code>{esc(text)}</code></details>")


_CELL = "style='text-align:left;white-space:nowrap;padding-right:1em'"


def _table(css_class: str, head: list[str], rows: list[list[str]]) -> str:
    """An HTML table of ready (escaped) cells, left-aligned, each cell on one line."""
    th = "".join(f"<th {_CELL}>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{css_class}'><tr>{th}</tr>{body}</table>"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class TaskInfo(Result, Displayable):
    """A task's deployment info ``{task, jobs, computing_providers, config_orders}``, rendered as a card."""

    def _task(self) -> dict[str, Any]:
        return _obj(self.get("task"))

    def _detail(self) -> dict[str, Any]:
        return _obj(self._task().get("task_detail"))

    def _jobs(self) -> list[dict[str, Any]]:
        return [j for j in (self.get("jobs") or []) if isinstance(j, dict)]

    def _orders(self) -> list[dict[str, Any]]:
        return [o for o in (self.get("config_orders") or []) if isinstance(o, dict)]

    def _providers(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for cp in self.get("computing_providers") or []:
            if isinstance(cp, dict):
                out[str(cp.get("node_id"))] = cp
                out[str(cp.get("cp_account_address", "")).lower()] = cp
        return out

    def _provider_of(self, job: dict[str, Any]) -> str:
        found = self._providers()
        cp = found.get(str(job.get("node_id"))) or found.get(str(job.get("cp_account_address", "")).lower())
        if cp:
            return f"{cp.get('name')} ({cp.get('region')})"
        return str(job.get("cp_account_address") or "")[:12]

    def summary(self) -> dict[str, str]:
        """The card's rows: status, hardware, region, duration, price, times, refund."""
        task, detail = self._task(), self._detail()
        requirements = _obj(detail.get("requirements"))
        end_at = task.get("end_at")
        left = ""
        seconds = seconds_until(end_at)
        if seconds is not None and str(task.get("status")) in ("completed", "accepting_bids", "created"):
            left = f" ({seconds // 3600} h {seconds % 3600 // 60} min {seconds % 60} s left, wall clock)"
        rows = {
            "status": f"{status_word(task.get('status'))} (server: {task.get('status') or 'unknown'})",
            "hardware": str(detail.get("hardware") or ""),
            "region": str(requirements.get("region") or ""),
            "duration": format_duration(detail.get("duration")),
            "price": swan_text(detail.get("price_per_hour"), "SWAN/h"),
            "created": utc_text(task.get("created_at")),
            "runs from": utc_text(task.get("start_at")),
            "ends": utc_text(end_at) + (left if utc_text(end_at) else ""),
        }
        if task.get("refund_amount") not in (None, ""):
            rows["refund"] = swan_text(task.get("refund_amount"))
        return {k: v for k, v in rows.items() if v}

    def _repr_text_(self) -> str:
        task = self._task()
        lines = [kv_text(f"Task {task.get('uuid', '')}", self.summary())]
        jobs = self._jobs()
        if jobs:
            lines.append(f"  jobs ({len(jobs)})")
            lines += [f"    {j.get('status')!s:<12} {j.get('job_real_uri') or '-'}" for j in jobs]
        orders = self._orders()
        if orders:
            lines.append("  payments")
            lines += [f"    {o.get('order_type')!s:<9} {o.get('status')!s:<24} {o.get('tx_hash') or '-'}"
                      for o in orders]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        task = self._task()
        rows = self.summary()
        rows["status"] = status_html(task.get("status"))
        html = kv_html(f"Task {task.get('uuid', '')}", rows, raw_keys=["status"])
        jobs = self._jobs()
        if jobs:
            html += _table("swan-jobs", ["provider", "job", "URL"], [
                [esc(self._provider_of(j)), status_badge(str(j.get("status"))),
                 f"<a href='{esc(j['job_real_uri'])}' target='_blank'>{esc(j['job_real_uri'])}</a>"
                 if j.get("job_real_uri") else ""] for j in jobs])
        else:
            html += "<div><i>No jobs yet (they start once the payment is validated).</i></div>"
        orders = self._orders()
        if orders:
            html += _table("swan-payments", ["payment", "status", "duration", "tx hash", "refund tx"], [
                [esc(o.get("order_type")), esc(o.get("status")), esc(format_duration(o.get("duration"))),
                 f"<code>{esc(o.get('tx_hash') or '')}</code>", f"<code>{esc(o.get('refund_tx_hash') or '')}</code>"]
                for o in orders])
        else:
            html += "<div><i>No payment yet: %swan pay TASK pays for it.</i></div>"
        return f"<div class='swan-jupyter swan-task-card'>{html}</div>"

    __str__ = Displayable.__str__  # before dict's / list's own
    __repr__ = Displayable.__repr__


class Termination(Result, Displayable):
    """What terminating a task did: the server's answer plus the task as it stands (refund, or when it comes)."""

    def _info(self) -> dict[str, Any]:
        return _obj(self.get("info"))

    def rows(self) -> dict[str, str]:
        """Task, status and the refund (amount, transaction, wallet) or when it will come."""
        info = self._info()
        task = _obj(info.get("task"))
        orders = [o for o in info.get("config_orders") or [] if isinstance(o, dict)]
        status = str(task.get("status") or self.get("task_status") or "")
        refund_tx = next((o.get("refund_tx_hash") for o in reversed(orders) if o.get("refund_tx_hash")), None)
        rows = {"task": str(self.get("task_uuid") or ""), "status": status_word(status)}
        if not orders:
            rows["refund"] = "none: the task was never paid"
        elif task.get("refund_amount") not in (None, ""):
            rows["refund"] = swan_text(task.get("refund_amount")) + " (the unused time)"
            rows["refund tx"] = str(refund_tx or "pending")
            rows["to wallet"] = str(task.get("refund_wallet") or "")
        else:
            rows["refund"] = ("not yet: the unused time is refunded on chain when the Orchestrator finishes the "
                              f"termination; %swan status {self.get('task_uuid')} shows it (refund, refund tx)")
        return rows

    def _repr_text_(self) -> str:
        return kv_text("Task terminated" if self.rows()["status"] == "terminated" else "Termination queued",
                       self.rows())

    def _repr_html_(self) -> str:
        rows = self.rows()
        title = "Task terminated" if rows["status"] == "terminated" else "Termination queued"
        rows["status"] = status_html(_obj(self._info().get("task")).get("status") or self.get("task_status"))
        return kv_html(title, rows, raw_keys=["status"])

    __str__ = Displayable.__str__  # before dict's / list's own
    __repr__ = Displayable.__repr__


class Renewal(Result, Displayable):
    """A renewal's answer: the receipt rendered as the confirmation widget renders it, and the new end."""

    def _repr_text_(self) -> str:
        receipt = self.get("receipt")
        order = _obj(self.get("config_order"))
        head = f"Task {self.get('task_uuid')} renewed for {format_duration(order.get('duration'))}".rstrip()
        return head + ("\n" + receipt._repr_text_() if receipt is not None else f" (paid by {self.get('tx_hash')})")

    def _repr_html_(self) -> str:
        receipt = self.get("receipt")
        order = _obj(self.get("config_order"))
        rows = {"task": self.get("task_uuid"), "renewed by": format_duration(order.get("duration")),
                "order status": order.get("status")}
        html = kv_html("Task renewed", rows)
        return html + (receipt._repr_html_() if receipt is not None else nested_html({"tx hash": self.get("tx_hash")}))

    __str__ = Displayable.__str__  # before dict's / list's own
    __repr__ = Displayable.__repr__


class Balance(Result, Displayable):
    """The configured wallet's balances: exact wei in ``swan_wei`` / ``gas_wei``, shown with :func:`format_swan`."""

    def rows(self) -> dict[str, str]:
        """Wallet, SWAN, gas and network, readable."""
        return {"wallet": str(self.get("wallet")), "SWAN": format_swan(int(self.get("swan_wei") or 0)),
                "gas": format_swan(int(self.get("gas_wei") or 0), "ETH"),
                "network": f"{self.get('network')} (chain {self.get('chain_id')})"}

    def _repr_text_(self) -> str:
        return kv_text("Wallet balance", self.rows())

    def _repr_html_(self) -> str:
        return kv_html("Wallet balance", self.rows())

    __str__ = Displayable.__str__  # before dict's / list's own
    __repr__ = Displayable.__repr__


def renewal(orch: Any, result: Any) -> Renewal:
    """``renew_task``'s answer as a :class:`Renewal`, its receipt as the ledger has it now (validated once the
    server applied it), so what is shown is what the ledger says."""
    receipt = result.get("receipt")
    if receipt is not None and not receipt.validated and receipt.tx_hash:
        entry = orch.ledger.by_tx(receipt.tx_hash)
        if entry is not None and entry.state == "validated":
            receipt = PaymentReceipt.from_entry(entry, resumed=receipt.resumed)
    return Renewal({**result, "receipt": receipt})
