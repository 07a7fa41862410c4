"""SQLite persistence for the Abaco emulator: JSON records per kind, a mailbox queue and a results queue.

Every write commits immediately (WAL mode), so an accepted message survives a restart.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS obj (kind TEXT, id TEXT, actor_id TEXT, data TEXT, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS mailbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, actor_id TEXT, exec_id TEXT,
    payload BLOB, env TEXT);
CREATE TABLE IF NOT EXISTS results (seq INTEGER PRIMARY KEY AUTOINCREMENT, exec_id TEXT, data BLOB);
"""


class Store:
    """Thread-safe wrapper around one SQLite connection."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def put(self, kind: str, obj: dict[str, Any], actor_id: str | None = None) -> None:
        """Insert or replace a record (keyed by ``obj['id']``, or ``obj['alias']`` for aliases)."""
        key = obj.get("id") or obj.get("alias")
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO obj VALUES (?, ?, ?, ?)",
                             (kind, key, actor_id, json.dumps(obj)))

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """One record or ``None``."""
        with self._lock:
            row = self._db.execute("SELECT data FROM obj WHERE kind=? AND id=?", (kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def all(self, kind: str, actor_id: str | None = None) -> list[dict[str, Any]]:
        """Every record of a kind (optionally of one actor), oldest first."""
        sql, args = "SELECT data FROM obj WHERE kind=?", [kind]
        if actor_id is not None:
            sql += " AND actor_id=?"
            args.append(actor_id)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY rowid", args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def delete(self, kind: str, key: str) -> None:
        """Remove one record."""
        with self._lock:
            self._db.execute("DELETE FROM obj WHERE kind=? AND id=?", (kind, key))

    def delete_actor(self, actor_id: str) -> None:
        """Remove an actor and everything attached to it."""
        with self._lock:
            self._db.execute("DELETE FROM obj WHERE actor_id=? OR (kind='actor' AND id=?)", (actor_id, actor_id))
            self._db.execute("DELETE FROM mailbox WHERE actor_id=?", (actor_id,))

    def enqueue(self, actor_id: str, exec_id: str, payload: bytes, env: dict[str, str]) -> None:
        """Append a message to an actor's mailbox."""
        with self._lock:
            self._db.execute("INSERT INTO mailbox (actor_id, exec_id, payload, env) VALUES (?, ?, ?, ?)",
                             (actor_id, exec_id, payload, json.dumps(env)))

    def dequeue(self, actor_id: str) -> tuple[str, bytes, dict[str, str]] | None:
        """Pop the oldest message of an actor."""
        with self._lock:
            row = self._db.execute("SELECT seq, exec_id, payload, env FROM mailbox WHERE actor_id=? "
                                   "ORDER BY seq LIMIT 1", (actor_id,)).fetchone()
            if row is None:
                return None
            self._db.execute("DELETE FROM mailbox WHERE seq=?", (row[0],))
        return str(row[1]), bytes(row[2]), json.loads(row[3])

    def queued(self, actor_id: str | None = None) -> list[tuple[str, str]]:
        """``(actor_id, exec_id)`` of queued messages."""
        with self._lock:
            rows = self._db.execute("SELECT actor_id, exec_id FROM mailbox ORDER BY seq").fetchall()
        return [(str(a), str(e)) for a, e in rows if actor_id is None or a == actor_id]

    def purge(self, actor_id: str) -> list[str]:
        """Empty an actor's mailbox; returns the execution ids dropped."""
        ids = [e for _, e in self.queued(actor_id)]
        with self._lock:
            self._db.execute("DELETE FROM mailbox WHERE actor_id=?", (actor_id,))
        return ids

    def push_result(self, exec_id: str, data: bytes) -> None:
        """Queue one result item of an execution."""
        with self._lock:
            self._db.execute("INSERT INTO results (exec_id, data) VALUES (?, ?)", (exec_id, data))

    def pop_result(self, exec_id: str) -> bytes | None:
        """Pop the oldest result item of an execution."""
        with self._lock:
            row = self._db.execute("SELECT seq, data FROM results WHERE exec_id=? ORDER BY seq LIMIT 1",
                                   (exec_id,)).fetchone()
            if row is None:
                return None
            self._db.execute("DELETE FROM results WHERE seq=?", (row[0],))
        return bytes(row[1])
