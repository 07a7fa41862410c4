"""Reliability trials against a running sandbox: payment crash trials, cancel trials, the spending-cap race, load
with a restart, and the fault-injection controls (``/_sandbox/faults``).

A testing tool of the sandbox, shared by the test suite (``tests/``) and ``benchmarks/reliability.py``, so that
neither the benchmarks nor anything else depends on the test tree. The client never imports it.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Crash(BaseException):
    """Stands for the paying process dying at a checkpoint (a BaseException: no ``except Exception`` stops it)."""


def crash_at(point: str) -> Callable[[str], None]:
    """A checkpoint hook that "kills" the payer (raises :class:`Crash`) when it reaches step ``point``."""

    def hook(step: str) -> None:
        if step == point:
            raise Crash(step)

    return hook


def new_task(orch: Any, *, pay: bool = False, max_spend: str | None = None, private_key: Any = None,
             **task: Any) -> Any:
    """Plan and create a task the client's one way, ``orch.create(orch.plan(TaskDescription(**task)), pay=...,
    max_spend=..., private_key=...)``; the :class:`~swan_jupyter.orchestrator.models.TaskResult`."""
    from swan_jupyter.orchestrator import TaskDescription

    return orch.create(orch.plan(TaskDescription(**task)), pay=pay, max_spend=max_spend, private_key=private_key)


CRASH_POINTS = ("before_sign", "after_sign", "after_send", "after_receipt", "before_validate", "after_validate",
                "lost_validate_response", "signed_then_other_payment", None)


def set_faults(description: dict[str, Any], target: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """PUT (or DELETE with None) the fault rules through the admin route of ``target``'s port."""
    url = description[target]["url"] if target != "chain" else description["chain"]["rpc_url"]
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + "/_sandbox/faults", data=data, method="PUT" if body is not None else "DELETE",
                                 headers={"X-Sandbox-Admin": description["host"]["admin_token"],
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return dict(json.loads(resp.read()))


def injected(description: dict[str, Any], target: str) -> dict[str, int]:
    """How many faults of each kind the rules in force have injected (``{"abaco:error": 12, ...}``)."""
    url = description[target]["url"] if target != "chain" else description["chain"]["rpc_url"]
    req = urllib.request.Request(url + "/_sandbox/faults",
                                 headers={"X-Sandbox-Admin": description["host"]["admin_token"]})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return dict(json.loads(resp.read())["injected"])


@dataclass
class TrialReport:
    trials: int = 0
    crashes: Counter[str] = field(default_factory=Counter)
    double: int = 0
    lost: int = 0
    unvalidated: int = 0
    ledger_mismatch: int = 0
    stuck: int = 0
    different: int = 0
    others_wrong: int = 0

    def line(self) -> str:
        return (f"{self.trials} payment trials (crash points {dict(self.crashes)}): {self.double} double payments, "
                f"{self.lost} lost payments, {self.stuck} stuck, {self.different} paid other than confirmed, "
                f"{self.unvalidated} paid but not validated, {self.ledger_mismatch} ledger/chain mismatches, "
                f"{self.others_wrong} wrong interleaved payments")

    def ok(self) -> bool:
        return not (self.double or self.lost or self.stuck or self.different or self.unvalidated
                    or self.ledger_mismatch or self.others_wrong)


def run_payment_trials(make_client: Any, description: dict[str, Any], trials: int, seed: int,
                       make_other: Any = None) -> TrialReport:
    """Create tasks and pay exactly the confirmed quote, killing the payer at a random checkpoint, then resume
    with a fresh client.

    ``signed_then_other_payment``: the payer dies after signing (nothing broadcast); another payment of the same
    wallet follows (``make_other``'s client: a second notebook with its own ledger, else the same ledger), then
    the first is resumed. It must end with exactly one payment of the confirmed amount, never stuck.
    """
    from swan_jupyter.errors import PaymentError

    rng = random.Random(seed)
    report = TrialReport()
    for i in range(trials):
        point = rng.choice(CRASH_POINTS)
        report.trials += 1
        report.crashes[str(point)] += 1
        client = make_client()
        task = new_task(client, hardware=rng.choice(["C1ae.small", "C1ae.medium", "G1ae.medium"]),
                        region="global", duration=3600 + 60 * rng.randrange(0, 120),
                                  app_image="hello-world")
        uuid = task["task_uuid"]
        due = task["amount_wei"]
        confirmed = client.quote(uuid, task=task["task"])
        if point == "lost_validate_response":
            set_faults(description, "orchestrator", {"rules": [{"target": "orchestrator", "methods": ["POST"],
                                                                "paths": ["^/v2/task_payment_validate$"],
                                                                "lose_rate": 1.0, "limit": 1}]})
        elif point is not None:
            def crash(step: str, point: str = point) -> None:
                if step == (point if point != "signed_then_other_payment" else "after_sign"):
                    raise Crash(step)

            client.checkpoint = crash
        try:
            client.pay(uuid, confirmed=confirmed)
        except Crash:
            pass
        finally:
            if point == "lost_validate_response":
                set_faults(description, "orchestrator", None)
        if point == "signed_then_other_payment":
            other = (make_other if make_other is not None and i % 2 == 0 else make_client)()
            extra = new_task(other, hardware="C1ae.small", app_image="hello-world", pay=True)
            report.others_wrong += other.payer().amount_paid(extra["task_uuid"]) != extra["amount_wei"]
        resumed = make_client()  # a new process: nothing in memory, the same ledger file
        try:
            receipt = resumed.pay(uuid, confirmed=confirmed)
        except PaymentError:
            report.stuck += 1
            continue
        payer = resumed.payer()
        paid = payer.amount_paid(uuid)
        report.double += paid > due
        report.lost += paid < due
        report.different += paid != confirmed.amount_wei
        orders = [o for o in resumed.get_deployment_info(uuid)["config_orders"] if o["order_type"] == "Creation"]
        report.unvalidated += len(orders) != 1
        entry = resumed.ledger.get(f"{uuid}|Creation")
        report.ledger_mismatch += not (entry is not None and entry.state == "validated"
                                       and orders and entry.tx_hash == orders[0]["tx_hash"]
                                       and entry.tx_hash == receipt.tx_hash.lower())
    return report


# -- cancel means cancel ----------------------------------------------------------------------------------------


@dataclass
class CancelReport:
    """Cancels after a failed broadcast: what each said, and what the chain says after later payments."""

    trials: int = 0
    said_cancelled: int = 0
    said_paid: int = 0
    paid_after_cancel: int = 0  # said "cancelled, nothing paid", yet amountPaid > 0 afterwards
    wrong_paid: int = 0  # said "already paid" but amountPaid differs from the amount due
    stuck: int = 0  # the cancel, or the next payment of the wallet, failed
    faults: Counter[str] = field(default_factory=Counter)
    reasons: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.trials} trials ({dict(self.faults)}): {self.said_cancelled} said cancelled, {self.said_paid} "
                f"said already paid; {self.paid_after_cancel} paid after cancel, {self.wrong_paid} wrong 'paid', "
                f"{self.stuck} stuck" + (f" (first: {self.reasons[0]})" if self.reasons else ""))

    def ok(self) -> bool:
        return self.trials > 0 and not (self.paid_after_cancel or self.wrong_paid or self.stuck)


def run_cancel_trials(make_client: Any, make_other: Any, description: dict[str, Any], trials: int,
                      seed: int) -> CancelReport:
    """The Pay click's broadcast fails (503: the node never saw it; or the answer is lost after the node took
    it), the user cancels (``cancel_payment`` or ``terminate_task``), then another payment of the same wallet
    follows, from the same ledger or from a second one, and a fresh client resumes the task's payments. A
    cancel that said "nothing paid" must leave ``amountPaid`` at 0; one that said "already paid", the amount."""
    from swan_jupyter.errors import SwanJupyterError, UnknownOutcomeError

    rng = random.Random(seed)
    report = CancelReport()
    make_client().payer().approve(10**26)  # the payment is then the only transaction a Pay click sends
    for i in range(trials):
        client = make_client()
        fault = rng.choice(["error", "lose"])
        report.trials += 1
        report.faults[fault] += 1
        task = new_task(client, hardware="C1ae.small", app_image="hello-world")
        uuid, due = task["task_uuid"], task["amount_wei"]
        set_faults(description, "chain", {"rules": [{"target": "chain", "methods": ["eth_sendRawTransaction"],
                                                     f"{fault}_rate": 1.0}]})
        try:
            client.pay(uuid)
        except UnknownOutcomeError:
            pass
        finally:
            set_faults(description, "chain", None)
        try:
            outcome = client.terminate_task(uuid)["cancellation"] if i % 2 else client.cancel_payment(uuid)
            other = (make_other if i % 4 < 2 else make_client)()
            new_task(other, hardware="C1ae.small", app_image="hello-world", pay=True)
            if outcome.outcome == "cancelled" or not outcome.terminated:  # a terminated task is not validated
                make_client().resume_payment(uuid)  # a new process: nothing in memory, the same ledger
        except SwanJupyterError as exc:
            report.stuck += 1
            report.reasons.append(f"trial {i} ({fault}): {type(exc).__name__}: {exc}")
            continue
        paid = client.payer().amount_paid(uuid)
        if outcome.outcome == "cancelled":
            report.said_cancelled += 1
            report.paid_after_cancel += paid != 0
        else:
            report.said_paid += 1
            report.wrong_paid += paid != due
    return report


# -- spending caps under concurrency --------------------------------------------------------------------------

_CAP_WORKER = """
import sys
from swan_jupyter.errors import ValidationError
from swan_jupyter.orchestrator import TaskDescription
from swan_jupyter.session import Session
orch = Session(notify=lambda _m: None, ledger_path=sys.argv[1], max_session_spend=sys.argv[2],
               start_sandbox=False).orchestrator()
paid = refused = 0
task = TaskDescription(hardware="C1ae.small", app_image="hello-world")
for _ in range(int(sys.argv[3])):
    uuid = orch.create(orch.plan(task))["task_uuid"]
    try:
        paid += orch.pay(uuid).amount_wei
    except ValidationError:
        refused += 1
print(paid, refused)
"""


@dataclass
class CapReport:
    cap_wei: int
    attempts: int = 0
    paid_wei: int = 0
    refused: int = 0
    on_chain_wei: int = 0

    def line(self) -> str:
        from swan_jupyter.orchestrator.amounts import format_swan

        return (f"{self.attempts} payment attempts of 0.48 SWAN under max_session_spend {format_swan(self.cap_wei)}: "
                f"{format_swan(self.paid_wei)} paid ({format_swan(self.on_chain_wei)} on chain), "
                f"{self.refused} refused by the cap")

    def ok(self) -> bool:
        return self.paid_wei == self.on_chain_wei <= self.cap_wei and self.cap_wei - self.paid_wei < 480 * 10**15


def run_cap_race(state: Any, cap: str, threads: int, processes: int, per_worker: int) -> CapReport:
    """``threads`` threads of this process and ``processes`` other processes pay tasks of one wallet and one
    ledger under one ``max_session_spend``; what was paid (ledger and chain) must never exceed the cap."""
    import os
    import subprocess
    import sys
    import threading
    from pathlib import Path

    from swan_jupyter.errors import ValidationError
    from swan_jupyter.orchestrator.amounts import swan_to_wei
    from swan_jupyter.session import Session

    ledger = str(Path(state) / f"cap-{random.getrandbits(32):08x}.sqlite")
    report = CapReport(swan_to_wei(cap))
    orch = Session(notify=lambda _m: None, ledger_path=ledger, max_session_spend=cap,
                   sandbox_state_dir=state, start_sandbox=False).orchestrator()
    env = {**os.environ, "SWAN_SANDBOX_STATE": str(state)}
    procs = [subprocess.Popen([sys.executable, "-c", _CAP_WORKER, ledger, cap, str(per_worker)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    lock = threading.Lock()
    uuids: list[str] = []

    def worker() -> None:
        for _ in range(per_worker):
            uuid = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
            with lock:
                uuids.append(uuid)
            try:
                amount = orch.pay(uuid).amount_wei
                with lock:
                    report.paid_wei += amount
            except ValidationError:
                with lock:
                    report.refused += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(600)
    try:
        for p in procs:
            out, err = p.communicate(timeout=600)
            if p.returncode != 0 or not out.strip():
                raise RuntimeError(f"a cap-race process failed: {err[-2000:]}")
            paid, refused = (int(x) for x in out.split()[-2:])
            report.paid_wei += paid
            report.refused += refused
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    report.attempts = (threads + processes) * per_worker
    committed = [e for e in orch.ledger.all() if e.state in ("signed", "sent", "confirmed", "validated")]
    report.on_chain_wei = sum(orch.payer().amount_paid(e.task_uuid) for e in committed)
    return report


# -- load, then SIGKILL and restart ----------------------------------------------------------------------------

TERMINAL = {"COMPLETE", "ERROR", "SHUTDOWN_REQUESTED"}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class LoadReport:
    """What a load run did and what the clients were told."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (actor id, execution id) accepted
    unknown_messages: list[tuple[str, float]] = field(default_factory=list)  # answer lost: (actor id, sent at)
    paid: list[Any] = field(default_factory=list)  # receipts of validated payments
    tasks: list[str] = field(default_factory=list)  # every task created (paid or not)
    elapsed: float = 0.0

    def calls(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def line(self) -> str:
        every = [x for v in self.latencies.values() for x in v]
        kinds = ", ".join(f"{k} {len(v)}" for k, v in sorted(self.latencies.items()))
        return (f"{self.calls()} calls in {self.elapsed:.1f} s ({self.calls() / max(self.elapsed, 1e-9):.1f}/s; "
                f"{kinds}), p50 {percentile(every, 0.5) * 1000:.1f} ms, p99 {percentile(every, 0.99) * 1000:.1f} ms, "
                f"{sum(self.failures.values())} errors {dict(self.failures)}; {len(self.messages)} messages "
                f"accepted, {len(self.paid)} deployments paid and validated")


#: The calls of one load thread, in turn: its n-th call is ``LOAD_CYCLE[n % 6]`` (a deployment, two messages, ...).
LOAD_CYCLE = ("deploy", "message", "message", "executions", "tasks", "listings")


class LoadClient:
    """One thread of :func:`run_load`: its own session, one method per kind of call in :data:`LOAD_CYCLE`, and
    :meth:`call`, which runs one and records it in the shared report."""

    def __init__(self, session: Any, report: LoadReport, lock: threading.Lock) -> None:
        self.session, self.report, self.lock = session, report, lock
        self.orch, self.actors = session.orchestrator(), session.actors()

    def call(self, kind: str, aid: str, n: int, index: int) -> None:
        """Run the call ``kind``: its latency is recorded if it succeeds, its exception type counted if not."""
        started = time.perf_counter()
        try:
            getattr(self, kind)(aid, n, index)
        except Exception as exc:  # counted by type; the checks after the run judge the outcome
            with self.lock:
                self.report.failures[type(exc).__name__] += 1
            time.sleep(0.05)
            return
        with self.lock:
            self.report.latencies.setdefault(kind, []).append(time.perf_counter() - started)

    def deploy(self, aid: str, n: int, index: int) -> None:
        """Create a task (recorded before paying: a crash may cut the payment) and pay it."""
        task = new_task(self.orch, hardware="C1ae.small", duration=3600, app_image="hello-world")
        with self.lock:
            self.report.tasks.append(task["task_uuid"])
        receipt = self.orch.pay(task["task_uuid"])
        with self.lock:
            self.report.paid.append(receipt)

    def message(self, aid: str, n: int, index: int) -> None:
        """Send ``aid`` a message; a send whose answer was lost is recorded for the checks after a crash."""
        from swan_jupyter.errors import UnknownOutcomeError

        sent = time.time()
        try:
            execution = self.actors.send_message(aid, {"n": n, "worker": index})
        except UnknownOutcomeError:
            with self.lock:
                self.report.unknown_messages.append((aid, sent))
            raise
        with self.lock:
            self.report.messages.append((aid, str(execution.id)))

    def executions(self, aid: str, n: int, index: int) -> None:
        self.actors.list_executions(aid)

    def tasks(self, aid: str, n: int, index: int) -> None:
        self.orch.get_task_list(size=20)

    def listings(self, aid: str, n: int, index: int) -> None:
        self.actors.list()
        self.orch.get_hardware(refresh=True)


def run_load(make_session: Any, actor_ids: list[str], threads: int, seconds: float,
             during: Any = None) -> LoadReport:
    """``threads`` clients, each with its own session, for ``seconds``: actor messages, actor and execution
    listings, hardware and task listings, and paid deployments. ``during()`` runs in the middle (e.g. a kill)."""
    report, lock, stop = LoadReport(), threading.Lock(), threading.Event()

    def worker(index: int) -> None:
        client = LoadClient(make_session(), report, lock)
        n = index
        while not stop.is_set():
            n += 1
            client.call(LOAD_CYCLE[n % len(LOAD_CYCLE)], actor_ids[n % len(actor_ids)], n, index)
        client.session.close()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    _wait_calling_halfway(seconds, during)
    stop.set()
    for t in pool:
        t.join(120)
    report.elapsed = time.perf_counter() - began
    return report


def _wait_calling_halfway(seconds: float, during: Any) -> None:
    """Sleep ``seconds``, calling ``during()`` (if given) halfway."""
    if during is None:
        time.sleep(seconds)
        return
    time.sleep(seconds / 2)
    during()
    time.sleep(seconds / 2)


@dataclass
class CrashCheck:
    messages: int = 0
    lost_messages: int = 0  # accepted (an execution id was returned) but no such execution after the restart
    unfinished: int = 0  # the execution exists but never reached a final status
    unknown_taken: int = 0  # answer lost in the crash, found among the executions afterwards
    paid: int = 0
    orders_missing: int = 0  # validated payment whose order the server no longer has
    chain_missing: int = 0  # validated payment not on chain
    resumed: int = 0  # interrupted payments finished after the restart
    double: int = 0  # tasks paid more than their price
    corrupted: int = 0  # records that cannot be read back

    def line(self) -> str:
        return (f"{self.messages} accepted messages: {self.lost_messages} lost, {self.unfinished} unfinished; "
                f"{self.unknown_taken} of the sends cut by the crash were taken; {self.paid} validated payments: "
                f"{self.orders_missing} without their order, {self.chain_missing} missing on chain; "
                f"{self.resumed} interrupted payments resumed, {self.double} double payments; "
                f"{self.corrupted} unreadable records")

    def ok(self) -> bool:
        return not (self.lost_messages or self.unfinished or self.orders_missing or self.chain_missing
                    or self.double or self.corrupted)


def check_after_restart(session: Any, report: LoadReport, *, settle: float = 120.0) -> CrashCheck:
    """After a crash and restart: every accepted message has its execution (finished within ``settle`` s),
    every validated payment its order and its amount on chain; interrupted payments are resumed, never doubled."""
    import time

    from swan_jupyter.errors import SwanJupyterError

    actors, orch = session.actors(), session.orchestrator()
    check = CrashCheck(messages=len(report.messages), paid=len(report.paid))
    by_actor: dict[str, set[str]] = {}
    for aid, eid in report.messages:
        by_actor.setdefault(aid, set()).add(eid)
    deadline = time.monotonic() + settle
    for aid, wanted in by_actor.items():
        while True:
            try:
                summary = actors.list_executions(aid)
            except SwanJupyterError:
                check.corrupted += 1
                break
            status = {str(e.id): str(e.status) for e in summary.executions}
            pending = [e for e in wanted if status.get(e) not in TERMINAL]
            if not pending or time.monotonic() > deadline:
                check.lost_messages += sum(e not in status for e in wanted)
                check.unfinished += sum(e in status and status[e] not in TERMINAL for e in wanted)
                break
            time.sleep(0.5)
    for aid, sent in report.unknown_messages:
        taken = actors.executions_since(aid, time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(sent)))
        check.unknown_taken += bool(taken)
    payer = orch.payer()
    for receipt in report.paid:
        orders = orch.get_deployment_info(receipt.task_uuid)["config_orders"]
        check.orders_missing += not any(o["tx_hash"] == receipt.tx_hash.lower() for o in orders)
        check.chain_missing += payer.amount_paid(receipt.task_uuid) < receipt.amount_wei
    paid_uuids = {r.task_uuid for r in report.paid}
    for uuid in report.tasks:
        if uuid not in paid_uuids and orch.resume_payment(uuid) is not None:
            check.resumed += 1
        info = orch.get_deployment_info(uuid)
        due = sum(e.amount_wei for e in orch.ledger.for_task(uuid) if e.order_type == "Creation")
        check.double += payer.amount_paid(uuid) > due
        creations = [o for o in info["config_orders"] if o["order_type"] == "Creation"]
        check.double += len(creations) > 1
    return check
