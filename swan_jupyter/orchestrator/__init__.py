"""Swan Orchestrator client core: tasks, hardware, exact prices and safe on-chain payments."""

from __future__ import annotations

from .amounts import amount_due, format_swan, parse_duration, price_to_wei
from .client import Orchestrator
from .ledger import Ledger, LedgerEntry
from .models import Hardware, PaymentReceipt, Quote, Result, TaskResult
from .planning import Plan, TaskDescription
from .swan_sdk import SwanSdk

__all__ = [
    "Hardware",
    "Ledger",
    "LedgerEntry",
    "Orchestrator",
    "PaymentReceipt",
    "Plan",
    "Quote",
    "Result",
    "SwanSdk",
    "TaskDescription",
    "TaskResult",
    "amount_due",
    "format_swan",
    "parse_duration",
    "price_to_wei",
]
