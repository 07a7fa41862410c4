"""Shared by the fast reliability tests and benchmarks/reliability.py: payment crash trials and fault control."""

from __future__ import annotations

import json
import random
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CRASH_POINTS = ("before_sign", "after_sign", "after_send", "after_receipt", "before_validate", "after_validate",
                "lost_validate_response", None)


class Crash(BaseException):
    """Stands for the paying process dying at a checkpoint."""


def set_faults(description: dict[str, Any], target: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """PUT (or DELETE with None) the fault rules through the admin route of ``target``'s port."""
    url = description[target]["url"] if target != "chain" else description["chain"]["rpc_url"]
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + "/_sandbox/faults", data=data, method="PUT" if body is not None else "DELETE",
                                 headers={"X-Sandbox-Admin": description["host"]["admin_token"],
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return dict(json.loads(resp.read()))


@dataclass
class TrialReport:
    trials: int = 0
    crashes: Counter[str] = field(default_factory=Counter)
    double: int = 0
    lost: int = 0
    unvalidated: int = 0
    ledger_mismatch: int = 0

    def line(self) -> str:
        return (f"{self.trials} payment trials (crash points {dict(self.crashes)}): {self.double} double payments, "
                f"{self.lost} lost payments, {self.unvalidated} paid but not validated, "
                f"{self.ledger_mismatch} ledger/chain mismatches")


def run_payment_trials(make_client: Any, description: dict[str, Any], trials: int, seed: int) -> TrialReport:
    """Create tasks and pay them, killing the payer at a random checkpoint, then resume with a fresh client."""
    rng = random.Random(seed)
    report = TrialReport()
    for _ in range(trials):
        point = rng.choice(CRASH_POINTS)
        report.trials += 1
        report.crashes[str(point)] += 1
        client = make_client()
        task = client.create_task(instance_type=rng.choice(["C1ae.small", "C1ae.medium", "G1ae.medium"]),
                                  region="global", duration=3600 + 60 * rng.randrange(0, 120),
                                  app_repo_image="hello-world")
        uuid = task["task_uuid"]
        due = task["amount_wei"]
        if point == "lost_validate_response":
            set_faults(description, "orchestrator", {"rules": [{"target": "orchestrator", "methods": ["POST"],
                                                                "paths": ["^/v2/task_payment_validate$"],
                                                                "lose_rate": 1.0, "limit": 1}]})
        elif point is not None:
            def crash(step: str, point: str = point) -> None:
                if step == point:
                    raise Crash(step)

            client.checkpoint = crash
        try:
            client.pay(uuid)
        except Crash:
            pass
        finally:
            if point == "lost_validate_response":
                set_faults(description, "orchestrator", None)
        resumed = make_client()  # a new process: nothing in memory, the same ledger file
        receipt = resumed.pay(uuid)
        payer = resumed.payer()
        paid = payer.amount_paid(uuid)
        report.double += paid > due
        report.lost += paid < due
        orders = [o for o in resumed.get_deployment_info(uuid)["config_orders"] if o["order_type"] == "Creation"]
        report.unvalidated += len(orders) != 1
        entry = resumed.ledger.get(f"{uuid}|Creation")
        report.ledger_mismatch += not (entry is not None and entry.state == "validated"
                                       and orders and entry.tx_hash == orders[0]["tx_hash"]
                                       and entry.tx_hash == receipt.tx_hash.lower())
    return report
