"""SQLite's write lock holds across threads, second ledgers and other processes.

SQLite locks a database with POSIX advisory locks, and POSIX drops every lock a process holds on a file when the
process closes *any* descriptor of that file (https://sqlite.org/howtocorrupt.html, section 2.2). So nothing in
the process may open and close a descriptor of a database file that SQLite has open: not a thread's first
connection, not a second ``Ledger`` on the same path, not the sandbox's stores. Reproduced the way it was found:
thread A holds ``BEGIN IMMEDIATE``, thread B connects for the first time (or a second ledger opens), and another
process must still wait for the write lock.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from swan_jupyter.orchestrator.ledger import Ledger, LedgerEntry

#: A second process that tries to take the write lock without waiting: exit 0 if it got it, 3 if it was locked.
_OTHER_WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    db.execute("BEGIN IMMEDIATE")
except sqlite3.OperationalError as exc:
    print(exc)
    sys.exit(3)
db.execute("ROLLBACK")
print("got the write lock")
"""


def _other_process_can_write(path: Path) -> bool:
    done = subprocess.run([sys.executable, "-c", _OTHER_WRITER, str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode in (0, 3), done.stderr
    return done.returncode == 0


def _entry(key: str) -> LedgerEntry:
    return LedgerEntry(key=key, task_uuid=key, order_type="Creation", duration=3600, hardware_id=1, price_wei=1,
                       amount_wei=1, payer="0x" + "1" * 40, contract="0x" + "2" * 40, chain_id=31337, state="intent")


@contextmanager
def write_lock_held(ledger: Ledger) -> Iterator[None]:
    """Thread A inside a ledger write transaction (the cap check of ``reserve`` runs there) for the block."""
    entered, release = threading.Event(), threading.Event()

    def check(_spent: int) -> None:
        entered.set()
        release.wait(30)

    holder = threading.Thread(target=ledger.reserve, args=(_entry("held"),), kwargs={"check": check})
    holder.start()
    try:
        assert entered.wait(30), "thread A never entered its write transaction"
        yield
    finally:
        release.set()
        holder.join(30)
    assert ledger.get("held") is not None  # thread A's transaction committed


def _in_new_thread(action: Callable[[], object]) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    if errors:
        raise errors[0]


def test_the_write_lock_survives_another_threads_first_connection(tmp_path: Path) -> None:
    path = tmp_path / "payments.sqlite"
    ledger = Ledger(path)
    assert _other_process_can_write(path)  # the probe itself works when nobody holds the lock
    with write_lock_held(ledger):
        _in_new_thread(lambda: ledger.get("anything"))  # thread B: its first connection to the ledger
        assert not _other_process_can_write(path), "the other process took the write lock thread A holds"


def test_the_write_lock_survives_a_second_ledger_on_the_same_path(tmp_path: Path) -> None:
    path = tmp_path / "payments.sqlite"
    ledger = Ledger(path)
    with write_lock_held(ledger):
        _in_new_thread(lambda: Ledger(path).all())
        assert not _other_process_can_write(path), "the other process took the write lock thread A holds"


@pytest.mark.parametrize("store_module", ["swan_jupyter.sandbox.abaco.store",
                                          "swan_jupyter.sandbox.orchestrator.store"])
def test_the_sandbox_stores_are_private_and_keep_their_write_lock(tmp_path: Path, store_module: str) -> None:
    import importlib

    module = importlib.import_module(store_module)
    path = tmp_path / "store.db"
    store = module.Store(path)
    second = module.Store(path)  # the same database opened again in this process (a restart of one service)
    transaction = store.tx() if hasattr(store, "tx") else store._transaction()
    try:
        transaction.__enter__()
        assert not _other_process_can_write(path), "the other process took the store's write lock"
        second.close()
        assert not _other_process_can_write(path), "closing a second store dropped the first one's write lock"
        for suffix in ("", "-wal", "-shm"):
            assert oct(Path(f"{path}{suffix}").stat().st_mode & 0o777) == oct(0o600), suffix
    finally:
        transaction.__exit__(None, None, None)
        store.close()


def test_the_time_based_session_names_still_work_for_a_release_with_a_warning(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "payments.sqlite")
    with pytest.warns(DeprecationWarning, match="session_spent"):
        assert ledger.spent_since("0x" + "1" * 40, 0.0) == 0
    with pytest.warns(DeprecationWarning, match="since"):
        row = ledger.reserve(_entry("old-style"), since=0.0, check=lambda _spent: None)
    assert row.state == "intent" and row.session_id
