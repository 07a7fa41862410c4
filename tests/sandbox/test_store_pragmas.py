"""The emulators' databases commit without waiting for the disk (WAL, ``synchronous=NORMAL``): a commit reaches the
operating system, so a killed host loses nothing it accepted (``test_sigkill_loses_no_accepted_message...`` in
test_abaco_runtime.py), only a power cut could. With ``FULL`` every commit waited for an fsync on the event loop:
83% of the host's loop time under a functions map (seven commits per call). The client's payment ledger stays
``FULL`` (money)."""

from __future__ import annotations

from pathlib import Path

from swan_jupyter.sandbox.abaco.store import Store as AbacoStore
from swan_jupyter.sandbox.orchestrator.store import Store as OrchestratorStore


def test_the_emulators_databases_are_wal_with_normal_sync(tmp_path: Path) -> None:
    for store in (AbacoStore(tmp_path / "abaco.sqlite"), OrchestratorStore(tmp_path / "orchestrator.sqlite")):
        try:
            db = store._db
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        finally:
            store.close()


def test_the_payment_ledger_still_waits_for_the_disk(tmp_path: Path) -> None:
    from swan_jupyter.orchestrator.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger.sqlite")
    assert ledger._connect().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
