"""The payment ledger: a SQLite file that makes paying idempotent across crashes, restarts and double clicks.

Every payment has a key (``<task_uuid>|Creation`` for a task's first payment, ``<task_uuid>|Renewal|<id>`` for a
renewal). Its row moves through::

    intent -> approving -> signed -> sent -> confirmed -> validated
                                    \\-> failed (nothing reached the chain, or the transaction reverted)

The signed raw transaction is stored *before* it is broadcast: resuming re-broadcasts the very same transaction
(same nonce, same hash), so a crash at any step can never produce a second payment. Amounts are stored as
decimal text (exact integers of wei).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

STATES = ("intent", "approving", "signed", "sent", "confirmed", "validated", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    key TEXT PRIMARY KEY,
    task_uuid TEXT NOT NULL,
    order_type TEXT NOT NULL,
    duration INTEGER NOT NULL,
    hardware_id INTEGER NOT NULL,
    price_wei TEXT NOT NULL,
    amount_wei TEXT NOT NULL,
    payer TEXT NOT NULL,
    contract TEXT NOT NULL,
    chain_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    approve_tx TEXT,
    tx_hash TEXT,
    raw_tx TEXT,
    nonce INTEGER,
    block_number INTEGER,
    gas_used INTEGER,
    fee_wei TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_task ON payments(task_uuid);
CREATE UNIQUE INDEX IF NOT EXISTS payments_tx ON payments(tx_hash) WHERE tx_hash IS NOT NULL;
"""


@dataclass
class LedgerEntry:
    """One row of the ledger."""

    key: str
    task_uuid: str
    order_type: str
    duration: int
    hardware_id: int
    price_wei: int
    amount_wei: int
    payer: str
    contract: str
    chain_id: int
    state: str
    approve_tx: str | None = None
    tx_hash: str | None = None
    raw_tx: str | None = None
    nonce: int | None = None
    block_number: int | None = None
    gas_used: int | None = None
    fee_wei: int | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def reached_chain(self) -> bool:
        """True once a payment transaction may have been broadcast (it must then be resumed, never redone)."""
        return self.state in ("signed", "sent", "confirmed", "validated")


_INT_COLUMNS = {"price_wei", "amount_wei", "fee_wei"}


class Ledger:
    """The SQLite ledger at ``path`` (created with owner-only permissions)."""

    def __init__(self, path: Path) -> None:
        from .._files import private_dir, private_file

        self.path = Path(path)
        private_dir(self.path.parent)  # a new folder is 0700; an existing one is left as it is
        for leftover in (self.path.with_name(self.path.name + "-journal"),
                         *self.path.parent.glob(f"{glob.escape(self.path.name)}.*.lock")):
            if leftover.exists() or leftover.is_symlink():
                private_file(leftover)  # files of an older version: tightened to 0600
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            from .._files import private_file

            # Every file SQLite opens exists, 0600, before it opens it; files it creates later (a -journal, a
            # -wal after the last connection removed it) copy the main file's mode.
            for suffix in ("", "-wal", "-shm"):
                private_file(self.path.with_name(self.path.name + suffix))
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextlib.contextmanager
    def account_lock(self, payer: str) -> Iterator[None]:
        """A cross-process lock per paying account (a lock file next to the ledger)."""
        lock_path = self.path.with_name(f"{self.path.name}.{payer.lower()}.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def get(self, key: str) -> LedgerEntry | None:
        row = self._connect().execute("SELECT * FROM payments WHERE key = ?", (key,)).fetchone()
        return _entry(row) if row else None

    def by_tx(self, tx_hash: str) -> LedgerEntry | None:
        row = self._connect().execute("SELECT * FROM payments WHERE tx_hash = ?", (tx_hash.lower(),)).fetchone()
        return _entry(row) if row else None

    def for_task(self, task_uuid: str) -> list[LedgerEntry]:
        rows = self._connect().execute(
            "SELECT * FROM payments WHERE task_uuid = ? ORDER BY created_at", (task_uuid,)
        ).fetchall()
        return [_entry(r) for r in rows]

    def all(self) -> list[LedgerEntry]:
        rows = self._connect().execute("SELECT * FROM payments ORDER BY created_at").fetchall()
        return [_entry(r) for r in rows]

    def create(self, entry: LedgerEntry) -> LedgerEntry:
        """Record an intent (before anything is signed); returns the existing row if the key is taken."""
        now = time.time()
        entry.created_at = entry.updated_at = now
        values = {f.name: getattr(entry, f.name) for f in fields(entry)}
        for k in _INT_COLUMNS:
            if values[k] is not None:
                values[k] = str(values[k])
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            existing = db.execute("SELECT * FROM payments WHERE key = ?", (entry.key,)).fetchone()
            if existing:
                db.execute("COMMIT")
                return _entry(existing)
            cols = ", ".join(values)
            db.execute(f"INSERT INTO payments ({cols}) VALUES ({', '.join('?' for _ in values)})",
                       tuple(values.values()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return entry

    def update(self, key: str, **changes: Any) -> LedgerEntry:
        """Change fields of a row (durably: synchronous=FULL) and return it."""
        changes["updated_at"] = time.time()
        for k in _INT_COLUMNS & set(changes):
            if changes[k] is not None:
                changes[k] = str(changes[k])
        if changes.get("tx_hash"):
            changes["tx_hash"] = str(changes["tx_hash"]).lower()
        assignments = ", ".join(f"{k} = ?" for k in changes)
        self._connect().execute(f"UPDATE payments SET {assignments} WHERE key = ?",
                                (*changes.values(), key))
        entry = self.get(key)
        assert entry is not None
        return entry

    def spent_since(self, payer: str, since: float) -> int:
        """Wei committed (signed or later, not failed) by ``payer`` since ``since`` (for session caps)."""
        rows = self._connect().execute(
            "SELECT amount_wei FROM payments WHERE lower(payer) = ? AND created_at >= ? AND state != 'failed' "
            "AND state != 'intent'", (payer.lower(), since)).fetchall()
        return sum(int(r[0]) for r in rows)


def _entry(row: sqlite3.Row) -> LedgerEntry:
    data = dict(row)
    for k in _INT_COLUMNS:
        if data[k] is not None:
            data[k] = int(data[k])
    return LedgerEntry(**data)
