"""SQLite records of the Orchestrator emulator (``STATE_DIR/orchestrator/orchestrator.db``, WAL mode).

Tables: ``tasks`` (one JSON document per task plus indexed columns), ``jobs``, ``config_orders``,
``used_tx_hashes`` (a UNIQUE hash column: a payment transaction can pay for one order only), ``refunds``,
``sources`` (job source documents), ``tokens`` (SHA-256 of issued login tokens, never the tokens) and
``counters`` (integer ids). Every write is committed before the HTTP answer goes out, and multi-row changes
(a validated payment: hash + order + task + jobs) are one transaction, so a killed sandbox loses nothing it
acknowledged and never keeps half a payment.

Timestamps stored here are real unix seconds (floats); :mod:`.lifecycle` turns them into wire views.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._storage import emulator_journal, immediate, private_database

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    uuid TEXT PRIMARY KEY,
    id INTEGER NOT NULL UNIQUE,
    wallet TEXT NOT NULL,
    created_at REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_by_wallet ON tasks(lower(wallet), created_at);
CREATE TABLE IF NOT EXISTS jobs (
    uuid TEXT PRIMARY KEY,
    id INTEGER NOT NULL UNIQUE,
    task_uuid TEXT NOT NULL REFERENCES tasks(uuid),
    position INTEGER NOT NULL,
    provider INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_task ON jobs(task_uuid, position);
CREATE TABLE IF NOT EXISTS config_orders (
    id INTEGER PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    task_uuid TEXT NOT NULL REFERENCES tasks(uuid),
    order_type TEXT NOT NULL,
    tx_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_task ON config_orders(task_uuid, id);
CREATE TABLE IF NOT EXISTS used_tx_hashes (
    tx_hash TEXT PRIMARY KEY,
    task_uuid TEXT NOT NULL,
    order_type TEXT NOT NULL,
    used_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_uuid TEXT NOT NULL,
    wallet TEXT NOT NULL,
    amount_wei TEXT NOT NULL,
    tx_hash TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class JobRow:
    """A job of a paid task: its position (0-2) and the index of its provider in the catalogue."""

    uuid: str
    id: int
    task_uuid: str
    position: int
    provider: int


@dataclass(frozen=True)
class OrderRow:
    """A config order: the stored wire fields plus the real time it was recorded."""

    data: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class RefundRow:
    """A refund sent on chain (``tx_hash`` None when nothing was due)."""

    task_uuid: str
    wallet: str
    amount_wei: int
    tx_hash: str | None
    created_at: float


class TxHashUsed(Exception):
    """The transaction hash already paid for an order (the UNIQUE constraint fired)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """Thread-safe access to the emulator's database: one connection guarded by one lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = self._open(path)
        emulator_journal(self._db)
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._lock = threading.RLock()

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        """Connect; a database of an older, incompatible layout is moved aside (kept, not deleted)."""
        db = sqlite3.connect(private_database(path), check_same_thread=False, isolation_level=None)
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and version != SCHEMA_VERSION:
            db.close()
            aside = path.with_name(f"{path.name}.v{version}-{int(time.time())}")
            log.warning("orchestrator database %s has layout v%d; moved to %s", path, version, aside)
            for suffix in ("", "-wal", "-shm"):
                old = Path(str(path) + suffix)
                if old.exists():
                    os.replace(old, Path(str(aside) + suffix))
            db = sqlite3.connect(private_database(path), check_same_thread=False, isolation_level=None)
        return db

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._lock)

    def _next_id(self, db: sqlite3.Connection, name: str, start: int) -> int:
        db.execute("INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + 1",
                   (name, start))
        return int(db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    def next_id(self, name: str, start: int = 1000) -> int:
        """A new integer id in the sequence ``name`` (first value ``start``)."""
        with self._transaction() as db:
            return self._next_id(db, name, start)

    # -- tokens -----------------------------------------------------------------------------------------------

    def add_token(self, token: str) -> None:
        """Remember an issued login token (only its SHA-256 is stored)."""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO tokens(digest, created_at) VALUES (?, ?)", (_digest(token), time.time()))

    def has_token(self, token: str) -> bool:
        """Whether ``token`` was issued by this emulator (survives restarts)."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM tokens WHERE digest = ?", (_digest(token),)).fetchone()
        return row is not None

    # -- tasks ------------------------------------------------------------------------------------------------

    def add_task(self, task: dict[str, Any]) -> None:
        """Insert a new task document (``uuid``, ``id``, ``refund_wallet`` and ``_state.created`` required)."""
        with self._transaction() as db:
            db.execute("INSERT INTO tasks(uuid, id, wallet, created_at, data) VALUES (?, ?, ?, ?, ?)",
                       (task["uuid"], task["id"], task["refund_wallet"], task["_state"]["created"], json.dumps(task)))

    def put_task(self, task: dict[str, Any]) -> None:
        """Replace a task document."""
        with self._transaction() as db:
            db.execute("UPDATE tasks SET data = ? WHERE uuid = ?", (json.dumps(task), task["uuid"]))

    def get_task(self, uuid: str) -> dict[str, Any] | None:
        """The task document, or None."""
        with self._lock:
            row = self._db.execute("SELECT data FROM tasks WHERE uuid = ?", (uuid,)).fetchone()
        return json.loads(row[0]) if row else None

    def tasks_of(self, wallet: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """One page of ``wallet``'s tasks (case-insensitive), newest first, and the total count."""
        with self._lock:
            total = int(self._db.execute("SELECT count(*) FROM tasks WHERE lower(wallet) = ?",
                                         (wallet.lower(),)).fetchone()[0])
            rows = self._db.execute(
                "SELECT data FROM tasks WHERE lower(wallet) = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (wallet.lower(), limit, offset)).fetchall()
        return [json.loads(r[0]) for r in rows], total

    # -- payments ---------------------------------------------------------------------------------------------

    def used_tx(self, tx_hash: str) -> tuple[str, str] | None:
        """``(task_uuid, order_type)`` the hash already paid for, or None."""
        with self._lock:
            row = self._db.execute("SELECT task_uuid, order_type FROM used_tx_hashes WHERE tx_hash = ?",
                                   (tx_hash.lower(),)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def record_payment(self, task: dict[str, Any], order: dict[str, Any], created_at: float,
                       jobs: Sequence[JobRow] = ()) -> None:
        """Atomically: mark ``order['tx_hash']`` used, insert the order and ``jobs``, save ``task``.

        Raises :class:`TxHashUsed` (nothing written) when the hash was already used.
        """
        tx_hash = str(order["tx_hash"]).lower()
        try:
            with self._transaction() as db:
                db.execute("INSERT INTO used_tx_hashes(tx_hash, task_uuid, order_type, used_at) VALUES (?, ?, ?, ?)",
                           (tx_hash, order["task_uuid"], order["order_type"], created_at))
                db.execute("INSERT INTO config_orders(id, uuid, task_uuid, order_type, tx_hash, created_at, data) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (order["id"], order["uuid"], order["task_uuid"], order["order_type"], tx_hash, created_at,
                            json.dumps(order)))
                for job in jobs:
                    db.execute("INSERT INTO jobs(uuid, id, task_uuid, position, provider) VALUES (?, ?, ?, ?, ?)",
                               (job.uuid, job.id, job.task_uuid, job.position, job.provider))
                db.execute("UPDATE tasks SET data = ? WHERE uuid = ?", (json.dumps(task), task["uuid"]))
        except sqlite3.IntegrityError as exc:
            raise TxHashUsed(tx_hash) from exc

    def orders_of(self, task_uuid: str) -> list[OrderRow]:
        """The task's config orders, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT data, created_at FROM config_orders WHERE task_uuid = ? ORDER BY id",
                                    (task_uuid,)).fetchall()
        return [OrderRow(json.loads(r[0]), float(r[1])) for r in rows]

    def order_by_tx(self, tx_hash: str) -> OrderRow | None:
        """The config order paid by ``tx_hash``, or None."""
        with self._lock:
            row = self._db.execute("SELECT data, created_at FROM config_orders WHERE tx_hash = ?",
                                   (tx_hash.lower(),)).fetchone()
        return OrderRow(json.loads(row[0]), float(row[1])) if row else None

    def all_orders(self) -> list[OrderRow]:
        """Every config order, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT data, created_at FROM config_orders ORDER BY id").fetchall()
        return [OrderRow(json.loads(r[0]), float(r[1])) for r in rows]

    def jobs_of(self, task_uuid: str) -> list[JobRow]:
        """The task's jobs in position order (empty before payment)."""
        with self._lock:
            rows = self._db.execute("SELECT uuid, id, task_uuid, position, provider FROM jobs WHERE task_uuid = ? "
                                    "ORDER BY position", (task_uuid,)).fetchall()
        return [JobRow(str(r[0]), int(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in rows]

    def job(self, job_uuid: str) -> JobRow | None:
        """One job by uuid, or None."""
        with self._lock:
            r = self._db.execute("SELECT uuid, id, task_uuid, position, provider FROM jobs WHERE uuid = ?",
                                 (job_uuid,)).fetchone()
        return JobRow(str(r[0]), int(r[1]), str(r[2]), int(r[3]), int(r[4])) if r else None

    # -- termination and refunds ------------------------------------------------------------------------------

    def record_termination(self, task: dict[str, Any], refund: RefundRow, order: dict[str, Any] | None) -> None:
        """Atomically save the terminated ``task``, the ``refund`` and the order that carries its tx hash."""
        with self._transaction() as db:
            db.execute("INSERT INTO refunds(task_uuid, wallet, amount_wei, tx_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                       (refund.task_uuid, refund.wallet, str(refund.amount_wei), refund.tx_hash, refund.created_at))
            if order is not None:
                db.execute("UPDATE config_orders SET data = ? WHERE id = ?", (json.dumps(order), order["id"]))
            db.execute("UPDATE tasks SET data = ? WHERE uuid = ?", (json.dumps(task), task["uuid"]))

    def refunds_of(self, task_uuid: str) -> list[RefundRow]:
        """Refunds recorded for the task."""
        with self._lock:
            rows = self._db.execute("SELECT task_uuid, wallet, amount_wei, tx_hash, created_at FROM refunds "
                                    "WHERE task_uuid = ? ORDER BY id", (task_uuid,)).fetchall()
        return [RefundRow(str(r[0]), str(r[1]), int(r[2]), r[3], float(r[4])) for r in rows]

    # -- job sources ------------------------------------------------------------------------------------------

    def put_source(self, source_id: str, data: dict[str, Any]) -> None:
        """Store a job source document."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO sources(id, data) VALUES (?, ?)", (source_id, json.dumps(data)))

    def get_source(self, source_id: str) -> dict[str, Any] | None:
        """A job source document, or None."""
        with self._lock:
            row = self._db.execute("SELECT data FROM sources WHERE id = ?", (source_id,)).fetchone()
        return json.loads(row[0]) if row else None
