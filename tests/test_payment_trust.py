"""Payments an attacker or bad luck cannot bend, against the real sandbox emulator (over loopback) and anvil.

- A payment signed but never broadcast, whose nonce another payment then takes, is never stuck: the payer
  reconciles its wallet's unfinished rows before signing anything, and a row whose nonce was consumed by another
  transaction is marked *replaced* (no money moved) and re-signed when it is resumed.
- What the user confirmed is exactly what gets signed: a server answer that changes the duration or the price
  between the quote and the click is refused, and the new quote is offered instead.
- ``max_session_spend`` holds whoever holds the key, across threads and processes, and counts only what moved.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from swan_jupyter import errors
from swan_jupyter.errors import ValidationError
from swan_jupyter.orchestrator import Orchestrator
from swan_jupyter.sandbox.reliability import Crash, crash_at, new_task
from swan_jupyter.session import Session, reset_default_session
from tests.proxy import RewritingProxy, task_detail_rewrite

ROOT = Path(__file__).resolve().parent.parent
SMALL = 480_000_000_000_000_000  # C1ae.small, 1 h


def client(tmp_path: Path, ledger: str = "ledger.sqlite", **overrides: Any) -> Orchestrator:
    """An Orchestrator on the session sandbox with its own ledger file (a separate notebook or tool)."""
    return Session(notify=lambda _m: None, ledger_path=str(tmp_path / ledger), **overrides).orchestrator()


def orders(orch: Orchestrator, uuid: str, kind: str = "Creation") -> list[dict[str, Any]]:
    return [o for o in orch.get_deployment_info(uuid)["config_orders"] if o["order_type"] == kind]


@pytest.fixture(autouse=True)
def _fresh_default_session(sandbox: dict[str, Any]) -> None:
    reset_default_session()


# -- 1. a signed payment whose nonce is taken -----------------------------------------------------------------


def test_a_payment_signed_but_not_broadcast_is_not_stuck_by_the_next_payment_of_the_wallet(tmp_path: Path) -> None:
    orch = client(tmp_path)
    first = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    second = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    orch.payer().receipt_timeout = 5
    orch.checkpoint = crash_at("after_sign")  # killed after signing, before the broadcast
    with pytest.raises(Crash):
        orch.pay(first)
    orch.checkpoint = None
    signed = orch.ledger.get(f"{first}|Creation")
    assert signed is not None and signed.state == "signed" and signed.nonce is not None
    paid = orch.pay(second)  # the next payment of the same wallet must not take the signed row's nonce
    assert paid.validated
    receipt = orch.resume_payment(first)
    assert receipt is not None and receipt.validated and receipt.tx_hash == signed.tx_hash
    payer = orch.payer()
    assert payer.amount_paid(first) == payer.amount_paid(second) == SMALL
    assert len(orders(orch, first)) == len(orders(orch, second)) == 1


def test_a_row_whose_nonce_another_tool_consumed_is_replaced_and_resigned_once(tmp_path: Path) -> None:
    mine = client(tmp_path, "mine.sqlite")
    other = client(tmp_path, "other.sqlite")  # another notebook on the same wallet, with its own ledger
    uuid = new_task(mine, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    mine.payer().receipt_timeout = 5
    mine.checkpoint = crash_at("after_sign")
    with pytest.raises(Crash):
        mine.pay(uuid)
    mine.checkpoint = None
    signed = mine.ledger.get(f"{uuid}|Creation")
    assert signed is not None and signed.nonce is not None
    new_task(other, hardware="C1ae.small", app_image="hello-world", pay=True)  # takes the nonce
    assert other.payer().w3.eth.get_transaction_count(other.payer().address) > signed.nonce
    swan_before = mine.balance()["swan_wei"]
    receipt = mine.resume_payment(uuid)  # "nonce too low" is not "mined": the row is re-signed, paid once
    assert receipt is not None and receipt.validated and receipt.tx_hash != signed.tx_hash
    payer = mine.payer()
    assert payer.amount_paid(uuid) == SMALL and mine.balance()["swan_wei"] == swan_before - SMALL
    assert [o["tx_hash"].lower() for o in orders(mine, uuid)] == [receipt.tx_hash.lower()]
    row = mine.ledger.get(f"{uuid}|Creation")
    assert row is not None and row.state == "validated" and row.replaced_tx == signed.tx_hash


def test_a_renewal_whose_nonce_was_taken_does_not_block_the_next_renewal(tmp_path: Path) -> None:
    mine = client(tmp_path, "mine.sqlite")
    other = client(tmp_path, "other.sqlite")
    uuid = new_task(mine, hardware="C1ae.small", app_image="hello-world", pay=True)["task_uuid"]
    paid = mine.payer().amount_paid(uuid)
    mine.payer().receipt_timeout = 5
    mine.checkpoint = crash_at("after_sign")
    with pytest.raises(Crash):
        mine.renew(uuid, "1h")
    mine.checkpoint = None
    new_task(other, hardware="C1ae.small", app_image="hello-world", pay=True)  # takes the nonce
    result = mine.renew(uuid, "2h")  # nothing was paid for the first renewal: this one goes ahead
    assert result["receipt"].validated
    assert mine.payer().amount_paid(uuid) == paid + 2 * SMALL
    assert [o["duration"] for o in orders(mine, uuid, "Renewal")] == [7200]
    assert mine.resume_payment(uuid) is not None  # the superseded renewal is never paid later
    assert mine.payer().amount_paid(uuid) == paid + 2 * SMALL


# -- 2. the confirmation binds the amount ------------------------------------------------------------------------


def test_a_quote_changed_by_the_server_after_confirmation_is_refused_not_paid(sandbox: dict[str, Any],
                                                                               tmp_path: Path) -> None:
    base = client(tmp_path)
    with RewritingProxy(sandbox["orchestrator"]["url"]) as proxy:
        orch = Orchestrator(proxy.url, sandbox["orchestrator"]["api_key"], settings=base.settings)
        uuid = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
        shown = orch.quote(uuid)
        assert shown.amount_wei == SMALL and shown.contract and shown.chain_id == 31337
        proxy.rewrite = task_detail_rewrite(duration=36000)  # the server now says 10 h: 4.8 SWAN
        with pytest.raises(errors.QuoteChangedError) as info:
            orch.pay(uuid, confirmed=shown)
        assert info.value.quote.amount_wei == 10 * SMALL and "duration" in info.value.message
        assert "4.8 SWAN" in info.value.message and "0.48 SWAN" in info.value.message
        assert orch.payer().amount_paid(uuid) == 0
        row = orch.ledger.get(f"{uuid}|Creation")
        assert row is None or (row.tx_hash is None and row.state in ("intent", "failed"))
        proxy.rewrite = None
        receipt = orch.pay(uuid, confirmed=shown)  # the quote holds again: exactly what was shown is paid
        assert receipt.amount_wei == SMALL and orch.payer().amount_paid(uuid) == SMALL


def test_the_confirmation_widget_pays_what_it_showed_or_offers_the_new_quote(sandbox: dict[str, Any],
                                                                            tmp_path: Path) -> None:
    from swan_jupyter.widgets.confirm import PaymentConfirmation

    base = client(tmp_path)
    with RewritingProxy(sandbox["orchestrator"]["url"]) as proxy:
        orch = Orchestrator(proxy.url, sandbox["orchestrator"]["api_key"], settings=base.settings)
        uuid = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
        widget = PaymentConfirmation(orch.quote(uuid), lambda quote: orch.pay(uuid, confirmed=quote),
                                     background=False)
        assert "0.48 SWAN" in widget.review.value
        proxy.rewrite = task_detail_rewrite(duration=36000)
        widget.click_confirm()
        assert widget.state == "pending" and orch.payer().amount_paid(uuid) == 0  # refused, nothing paid
        assert "4.8 SWAN" in widget.review.value and "changed" in widget.status.value
        assert widget.confirm_button.description == "Pay 4.8 SWAN" and not widget.confirm_button.disabled
        proxy.rewrite = None  # the server's answer is back to 1 h: the 4.8 SWAN on screen is refused in turn
        widget.click_confirm()
        assert widget.state == "pending" and "0.48 SWAN" in widget.review.value
        assert orch.payer().amount_paid(uuid) == 0
        widget.click_confirm()  # the user confirms the quote now shown: exactly that one is paid
        assert widget.state == "done", widget.status.value
        widget.click_confirm()  # further clicks do nothing
    assert orch.payer().amount_paid(uuid) == SMALL and widget.calls == 3


def test_create_task_with_auto_pay_pays_the_catalogue_quote_or_nothing(sandbox: dict[str, Any],
                                                                     tmp_path: Path) -> None:
    base = client(tmp_path)
    with RewritingProxy(sandbox["orchestrator"]["url"]) as proxy:
        orch = Orchestrator(proxy.url, sandbox["orchestrator"]["api_key"], settings=base.settings)
        proxy.rewrite = task_detail_rewrite(duration=36000)  # created for 1 h, the server claims 10 h
        with pytest.raises(errors.QuoteChangedError) as info:
            new_task(orch, hardware="C1ae.small", app_image="hello-world", duration="1h", pay=True)
        assert "not paid" in info.value.message and info.value.task_uuid
        assert orch.payer().amount_paid(info.value.task_uuid) == 0


def test_a_renewal_confirmed_at_one_price_is_not_signed_at_another(sandbox: dict[str, Any], tmp_path: Path) -> None:
    base = client(tmp_path)
    uuid = new_task(base, hardware="C1ae.small", app_image="hello-world", pay=True)["task_uuid"]
    with RewritingProxy(sandbox["orchestrator"]["url"]) as proxy:
        orch = Orchestrator(proxy.url, sandbox["orchestrator"]["api_key"], settings=base.settings)
        shown = orch.quote(uuid, order_type="Renewal", duration=3600)
        proxy.rewrite = task_detail_rewrite(price_per_hour="4.8")
        nonce = orch.payer().w3.eth.get_transaction_count(orch.payer().address)
        with pytest.raises(errors.QuoteChangedError, match="price"):
            orch.renew(uuid, 3600, confirmed=shown)
        assert orch.payer().w3.eth.get_transaction_count(orch.payer().address) == nonce  # nothing signed or sent
    assert base.payer().amount_paid(uuid) == SMALL


# -- 3. max_session_spend holds ----------------------------------------------------------------------------------


def test_the_session_cap_holds_when_the_wallet_and_key_come_as_arguments(sandbox: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    key = Path(sandbox["chain"]["wallet"]["private_key_file"]).read_text().strip()
    wallet = Account.from_key(key).address
    orch = Orchestrator(sandbox["orchestrator"]["url"], sandbox["orchestrator"]["api_key"],
                        settings=client(tmp_path, max_session_spend="0.5").settings.replace(wallet_address=None))
    new_task(orch, wallet=wallet, hardware="C1ae.small", app_image="hello-world", private_key=key, pay=True)
    with pytest.raises(ValidationError, match="max_session_spend") as info:
        new_task(orch, wallet=wallet, hardware="C1ae.small", app_image="hello-world",
                 private_key=key, pay=True)
    assert "0.48 SWAN" in info.value.message and "0.5 SWAN" in info.value.message
    assert "max_session_spend" in (info.value.hint or "")


def test_the_session_cap_holds_across_threads(tmp_path: Path) -> None:
    orch = client(tmp_path, max_session_spend="0.5")
    uuids = [new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
             for _ in range(3)]
    outcomes: list[Any] = []
    barrier = threading.Barrier(3)

    def pay(uuid: str) -> None:
        barrier.wait()
        try:
            outcomes.append(orch.pay(uuid))
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=pay, args=(u,)) for u in uuids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    paid = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, ValidationError) and "max_session_spend" in o.message]
    assert len(paid) == 1 and len(refused) == 2, outcomes
    assert sum(orch.payer().amount_paid(u) for u in uuids) == SMALL


_CAPPED_PAYER = """
import sys, time
from pathlib import Path
from swan_jupyter.orchestrator import TaskDescription
from swan_jupyter.session import Session
orch = Session(notify=lambda _m: None, ledger_path=sys.argv[1], max_session_spend="0.5").orchestrator()
plan = orch.plan(TaskDescription(hardware="C1ae.small", app_image="hello-world"))
uuid = orch.create(plan)["task_uuid"]
go = Path(sys.argv[2])
Path(sys.argv[3]).write_text(uuid)
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
try:
    orch.pay(uuid)
    print("paid", uuid, flush=True)
except Exception as exc:
    print("refused", type(exc).__name__, getattr(exc, "message", exc), flush=True)
# Notebooks open at once (argv[4] of them, default 1): this one stays open until the others have paid or been
# refused too (a session whose process has ended no longer counts, as a kernel restart starts a new session).
Path(sys.argv[3] + ".done").write_text("done")
payers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
deadline = time.monotonic() + 120
while len(list(Path(sys.argv[3]).parent.glob("*.done"))) < payers and time.monotonic() < deadline:
    time.sleep(0.01)
"""


def test_the_session_cap_holds_across_processes(tmp_path: Path) -> None:
    ledger, go = tmp_path / "shared.sqlite", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _CAPPED_PAYER, str(ledger), str(go), str(tmp_path / f"u{i}"), "2"],
                              cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    try:
        from tests.helpers import wait_until

        assert wait_until(lambda: all((tmp_path / f"u{i}").exists() for i in range(2)), timeout=60)
        go.write_text("go")
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    lines = [out.strip().splitlines()[-1] if out.strip() else err[-500:] for out, err in outs]
    assert sorted(line.split()[0] for line in lines) == ["paid", "refused"], lines
    assert "max_session_spend" in next(line for line in lines if line.startswith("refused"))
    orch = client(tmp_path)
    assert sum(orch.payer().amount_paid((tmp_path / f"u{i}").read_text()) for i in range(2)) == SMALL


def test_rows_that_moved_no_money_do_not_count_against_the_session_cap(tmp_path: Path) -> None:
    mine = client(tmp_path, "mine.sqlite", max_session_spend="0.5")
    other = client(tmp_path, "other.sqlite")
    first = new_task(mine, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    mine.payer().receipt_timeout = 5
    mine.checkpoint = crash_at("after_sign")
    with pytest.raises(Crash):
        mine.pay(first)
    mine.checkpoint = None
    new_task(other, hardware="C1ae.small", app_image="hello-world", pay=True)  # takes the nonce
    second = new_task(mine, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    receipt = mine.pay(second)  # the first row was replaced: nothing moved, nothing counts
    assert receipt.validated and mine.payer().amount_paid(second) == SMALL
    assert mine.payer().amount_paid(first) == 0
    with pytest.raises(ValidationError, match="max_session_spend"):
        mine.resume_payment(first)  # re-signing it now would overrun the cap
    assert mine.payer().amount_paid(first) == 0


def test_a_cap_refusal_leaves_no_reservation_behind(tmp_path: Path) -> None:
    orch = client(tmp_path, max_session_spend="0.5")
    uuid = new_task(orch, hardware="C1ae.medium", app_image="hello-world")["task_uuid"]  # 1 SWAN
    with pytest.raises(ValidationError, match="max_session_spend"):
        orch.pay(uuid)
    small = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    assert orch.pay(small).amount_wei == SMALL  # the refused 1 SWAN reserved nothing
    with pytest.raises(ValidationError, match="max_session_spend"):
        orch.pay(uuid)  # 0.48 spent + 1 SWAN is still above the cap


def test_a_notebook_opened_later_shares_the_cap_of_one_still_open(tmp_path: Path) -> None:
    """This process pays first; a process started afterwards, on the same ledger and wallet, counts that payment."""
    ledger = tmp_path / "shared.sqlite"
    orch = Orchestrator.from_settings(client(tmp_path, "shared.sqlite", max_session_spend="0.5").settings)
    first = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    assert orch.pay(first).amount_wei == SMALL
    go = tmp_path / "go"
    go.write_text("go")
    proc = subprocess.run([sys.executable, "-c", _CAPPED_PAYER, str(ledger), str(go), str(tmp_path / "later")],
                          cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1].startswith("refused ValidationError"), proc.stderr[-2000:]
    assert orch.payer().amount_paid((tmp_path / "later").read_text()) == 0


# -- 4. caps that no clock can move ------------------------------------------------------------------------------

_REAL_TIME = __import__("time").time


def _clock(monkeypatch: pytest.MonkeyPatch, offset: float) -> None:
    """Set this process's wall clock ``offset`` seconds away from the real time (as an NTP step or a user's date
    change would); monkeypatch restores it after the test."""
    import time

    monkeypatch.setattr(time, "time", lambda: _REAL_TIME() + offset)


_STEPPED_PAYER = """
import sys, time
real = time.time
time.time = lambda: real() + float(sys.argv[2])   # this process's clock, stepped before anything is imported
from swan_jupyter.orchestrator import TaskDescription
from swan_jupyter.session import Session
orch = Session(notify=lambda _m: None, ledger_path=sys.argv[1], max_session_spend="1").orchestrator()
plan = orch.plan(TaskDescription(hardware="C1ae.small", app_image="hello-world"))
uuid = orch.create(plan)["task_uuid"]
try:
    orch.pay(uuid)
    print("paid", uuid, flush=True)
except Exception as exc:
    print("refused", type(exc).__name__, getattr(exc, "message", exc), flush=True)
"""


@pytest.mark.parametrize("step", [-600.0, 3600.0])
def test_clock_steps_never_let_a_session_spend_past_its_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           step: float) -> None:
    orch = client(tmp_path, max_session_spend="1")
    paid = [new_task(orch, hardware="C1ae.small", app_image="hello-world", pay=True)["task_uuid"]]
    _clock(monkeypatch, step)  # the clock jumps (back or forth) between two payments of one session
    paid.append(new_task(orch, hardware="C1ae.small", app_image="hello-world", pay=True)["task_uuid"])
    third = new_task(orch, hardware="C1ae.small", app_image="hello-world")["task_uuid"]
    with pytest.raises(ValidationError, match="max_session_spend"):
        orch.pay(third)  # 0.96 SWAN spent: another 0.48 is above the 1 SWAN cap, whatever the clock says
    _clock(monkeypatch, -step)  # then as far the other way
    with pytest.raises(ValidationError, match="max_session_spend"):
        orch.pay(third)
    # a second process sharing the ledger, its clock an hour off either way, shares the cap while we live
    for offset in (-3600.0, 3600.0):
        done = subprocess.run([sys.executable, "-c", _STEPPED_PAYER, str(tmp_path / "ledger.sqlite"), str(offset)],
                              cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180)
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-800:]
        assert done.returncode == 0 and not done.stderr.strip(), done.stderr[-800:]  # it answered, then ended cleanly
        assert last.startswith("refused") and "max_session_spend" in last, last
    assert sum(orch.payer().amount_paid(u) for u in [*paid, third]) == 2 * SMALL
