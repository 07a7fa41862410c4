"""SQLite records of the Orchestrator emulator: tasks, config orders (one per tx hash), sources.

Each write is committed before the HTTP answer is sent, so a killed sandbox loses no accepted record.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    uuid TEXT PRIMARY KEY, id INTEGER NOT NULL, wallet TEXT NOT NULL, data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_wallet ON tasks(lower(wallet), created_at);
CREATE TABLE IF NOT EXISTS orders (
    tx_hash TEXT PRIMARY KEY, id INTEGER NOT NULL, task_uuid TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_task ON orders(task_uuid);
CREATE TABLE IF NOT EXISTS sources (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    """Thread-safe access to the emulator's database (one connection, one lock: small and fast enough)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def next_id(self, name: str) -> int:
        with self._lock:
            self._db.execute("INSERT INTO counters(name, value) VALUES (?, 1000) ON CONFLICT(name) "
                             "DO UPDATE SET value = value + 1", (name,))
            return int(self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    def put_task(self, task: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO tasks(uuid, id, wallet, data, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(uuid) DO UPDATE SET data = excluded.data",
                (task["uuid"], task["id"], task["refund_wallet"], json.dumps(task), task["created_at"]))

    def get_task(self, uuid: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM tasks WHERE uuid = ?", (uuid,)).fetchone()
        return json.loads(row[0]) if row else None

    def tasks_of(self, wallet: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        with self._lock:
            total = int(self._db.execute("SELECT count(*) FROM tasks WHERE lower(wallet) = ?",
                                         (wallet.lower(),)).fetchone()[0])
            rows = self._db.execute(
                "SELECT data FROM tasks WHERE lower(wallet) = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (wallet.lower(), limit, offset)).fetchall()
        return [json.loads(r[0]) for r in rows], total

    def add_order(self, order: dict[str, Any]) -> bool:
        """Insert a config order; False when its tx hash was already used."""
        with self._lock:
            try:
                self._db.execute("INSERT INTO orders(tx_hash, id, task_uuid, data) VALUES (?, ?, ?, ?)",
                                 (order["tx_hash"].lower(), order["id"], order["task_uuid"], json.dumps(order)))
            except sqlite3.IntegrityError:
                return False
        return True

    def update_order(self, order: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE orders SET data = ? WHERE tx_hash = ?",
                             (json.dumps(order), order["tx_hash"].lower()))

    def order_by_tx(self, tx_hash: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM orders WHERE tx_hash = ?", (tx_hash.lower(),)).fetchone()
        return json.loads(row[0]) if row else None

    def orders_of(self, task_uuid: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM orders WHERE task_uuid = ? ORDER BY id",
                                    (task_uuid,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def put_source(self, source_id: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO sources(id, data) VALUES (?, ?)", (source_id, json.dumps(data)))

    def get_source(self, source_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM sources WHERE id = ?", (source_id,)).fetchone()
        return json.loads(row[0]) if row else None
