"""SQLite records of the Abaco emulator (``STATE_DIR/abaco/abaco.db``, WAL mode, ``synchronous=FULL``).

Tables: ``actors``, ``workers``, ``executions``, ``nonces`` (one JSON document each plus indexed columns),
``logs`` (one text per execution, with its expiry), ``results`` (one row per result item, popped in order),
``permissions`` (actor and alias permission entries), ``aliases`` and ``mailbox`` (queued messages, the
binary body kept as a BLOB). An actor's state lives in its document.

Every write is one committed transaction before the HTTP answer goes out, so a killed sandbox loses nothing
it acknowledged. Times are unix seconds (floats); :mod:`.wire` turns them into Abaco's display forms.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._storage import emulator_journal, immediate, private_database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actors (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created REAL NOT NULL, doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, actor_id TEXT NOT NULL, created REAL NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workers_by_actor ON workers(actor_id, created);
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, actor_id TEXT NOT NULL, created REAL NOT NULL,
    status TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_actor ON executions(actor_id, created);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions(status);
CREATE TABLE IF NOT EXISTS logs (
    execution_id TEXT PRIMARY KEY, actor_id TEXT NOT NULL, text TEXT NOT NULL, expires REAL
);
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, execution_id TEXT NOT NULL, actor_id TEXT NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_execution ON results(execution_id, seq);
CREATE TABLE IF NOT EXISTS nonces (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, actor_id TEXT, alias TEXT, created REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS permissions (
    tenant TEXT NOT NULL, kind TEXT NOT NULL, obj TEXT NOT NULL, user TEXT NOT NULL, level TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (tenant, kind, obj, user)
);
CREATE TABLE IF NOT EXISTS aliases (
    tenant TEXT NOT NULL, alias TEXT NOT NULL, actor_id TEXT NOT NULL, owner TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (tenant, alias)
);
CREATE TABLE IF NOT EXISTS mailbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, actor_id TEXT NOT NULL, execution_id TEXT NOT NULL,
    body BLOB NOT NULL, content_type TEXT NOT NULL, env TEXT NOT NULL, sender TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mailbox_by_actor ON mailbox(actor_id, seq);
CREATE TABLE IF NOT EXISTS configs (
    tenant TEXT NOT NULL, name TEXT NOT NULL, created REAL NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
);
"""

Doc = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """A queued message: the execution it belongs to, its body, its Abaco content type and environment."""

    seq: int
    actor_id: str
    execution_id: str
    body: bytes
    content_type: str
    env: dict[str, str]
    sender: str


class Store:
    """Thread-safe access to the emulator's SQLite database (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(private_database(path), check_same_thread=False, isolation_level=None)
        emulator_journal(self._db)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock, suppress(sqlite3.Error):
            self._db.close()

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """One immediate transaction, committed on success, rolled back on error."""
        return immediate(self._db, self._lock)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
            return tuple(row) if row is not None else None

    # -- generic documents (actors, workers, executions, nonces) -----------------------------------------------

    def get(self, table: str, key: str) -> Doc | None:
        """The document stored under ``key`` in ``table``."""
        row = self._one(f"SELECT doc FROM {table} WHERE id = ?", (key,))
        return json.loads(row[0]) if row else None

    def update(self, table: str, key: str, change: Callable[[Doc], None]) -> Doc | None:
        """Read, change in place and write back one document atomically; ``None`` if it does not exist."""
        with self.tx() as db:
            row = db.execute(f"SELECT doc FROM {table} WHERE id = ?", (key,)).fetchone()
            if row is None:
                return None
            doc: Doc = json.loads(row[0])
            change(doc)
            db.execute(f"UPDATE {table} SET doc = ? WHERE id = ?", (json.dumps(doc), key))
            if table == "executions":
                db.execute("UPDATE executions SET status = ? WHERE id = ?", (doc["status"], key))
            return doc

    # -- actors ----------------------------------------------------------------------------------------------

    def add_actor(self, doc: Doc, owner: str) -> None:
        """Store a new actor and give its owner UPDATE."""
        with self.tx() as db:
            db.execute("INSERT INTO actors (id, tenant, created, doc) VALUES (?, ?, ?, ?)",
                       (doc["id"], doc["tenant"], doc["create_time"], json.dumps(doc)))
            self._set_permission(db, doc["tenant"], "actor", doc["id"], owner, "UPDATE")

    def put_actor(self, doc: Doc) -> None:
        """Replace an actor's document."""
        with self.tx() as db:
            db.execute("UPDATE actors SET doc = ? WHERE id = ?", (json.dumps(doc), doc["id"]))

    def actors(self, tenant: str | None = None) -> list[Doc]:
        """Every actor (of one tenant), oldest first."""
        if tenant is None:
            rows = self._all("SELECT doc FROM actors ORDER BY created")
        else:
            rows = self._all("SELECT doc FROM actors WHERE tenant = ? ORDER BY created", (tenant,))
        return [json.loads(r[0]) for r in rows]

    def delete_actor(self, actor_id: str) -> None:
        """Remove an actor and everything that belongs to it (workers, executions, logs, results, nonces,
        permissions, queued messages, the aliases pointing to it and their permissions and nonces)."""
        with self.tx() as db:
            aliases = [r[0] for r in db.execute("SELECT alias FROM aliases WHERE actor_id = ?", (actor_id,))]
            for table in ("workers", "executions", "logs", "results", "nonces", "mailbox"):
                db.execute(f"DELETE FROM {table} WHERE actor_id = ?", (actor_id,))
            db.execute("DELETE FROM permissions WHERE kind = 'actor' AND obj = ?", (actor_id,))
            for alias in aliases:
                db.execute("DELETE FROM permissions WHERE kind = 'alias' AND obj = ?", (alias,))
                db.execute("DELETE FROM nonces WHERE alias = ?", (alias,))
            db.execute("DELETE FROM aliases WHERE actor_id = ?", (actor_id,))
            db.execute("DELETE FROM actors WHERE id = ?", (actor_id,))

    # -- permissions -----------------------------------------------------------------------------------------

    @staticmethod
    def _set_permission(db: sqlite3.Connection, tenant: str, kind: str, obj: str, user: str, level: str) -> None:
        row = db.execute("SELECT seq FROM permissions WHERE tenant = ? AND kind = ? AND obj = ? AND user = ?",
                         (tenant, kind, obj, user)).fetchone()
        if row is not None:
            db.execute("UPDATE permissions SET level = ? WHERE tenant = ? AND kind = ? AND obj = ? AND user = ?",
                       (level, tenant, kind, obj, user))
            return
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM permissions").fetchone()[0]
        db.execute("INSERT INTO permissions (tenant, kind, obj, user, level, seq) VALUES (?, ?, ?, ?, ?, ?)",
                   (tenant, kind, obj, user, level, seq))

    def set_permission(self, tenant: str, kind: str, obj: str, user: str, level: str) -> None:
        """Set (overwrite) one user's level on an actor or alias."""
        with self.tx() as db:
            self._set_permission(db, tenant, kind, obj, user, level)

    def permissions(self, tenant: str, kind: str, obj: str) -> dict[str, str]:
        """The permission dict of an actor or alias, in insertion order."""
        rows = self._all("SELECT user, level FROM permissions WHERE tenant = ? AND kind = ? AND obj = ? ORDER BY seq",
                         (tenant, kind, obj))
        return {str(u): str(lv) for u, lv in rows}

    def permitted_actor_ids(self, tenant: str, user: str) -> set[str]:
        """Ids of the actors on which ``user`` has any explicit entry (NONE excluded)."""
        rows = self._all("SELECT obj FROM permissions WHERE tenant = ? AND kind = 'actor' AND user = ? "
                         "AND level != 'NONE'", (tenant, user))
        return {str(r[0]) for r in rows}

    # -- aliases ---------------------------------------------------------------------------------------------

    def add_alias(self, tenant: str, alias: str, actor_id: str, owner: str, created: float) -> bool:
        """Create an alias (its creator gets UPDATE on it); ``False`` if the alias exists."""
        with self.tx() as db:
            if db.execute("SELECT 1 FROM aliases WHERE tenant = ? AND alias = ?", (tenant, alias)).fetchone():
                return False
            db.execute("INSERT INTO aliases (tenant, alias, actor_id, owner, created) VALUES (?, ?, ?, ?, ?)",
                       (tenant, alias, actor_id, owner, created))
            self._set_permission(db, tenant, "alias", alias, owner, "UPDATE")
            return True

    def alias(self, tenant: str, alias: str) -> Doc | None:
        """One alias record ``{"alias", "actor_id", "owner"}``."""
        row = self._one("SELECT alias, actor_id, owner FROM aliases WHERE tenant = ? AND alias = ?", (tenant, alias))
        return {"alias": row[0], "actor_id": row[1], "owner": row[2]} if row else None

    def aliases(self, tenant: str) -> list[Doc]:
        """Every alias of a tenant, oldest first."""
        rows = self._all("SELECT alias, actor_id, owner FROM aliases WHERE tenant = ? ORDER BY created", (tenant,))
        return [{"alias": r[0], "actor_id": r[1], "owner": r[2]} for r in rows]

    def retarget_alias(self, tenant: str, alias: str, actor_id: str) -> None:
        """Point an alias at another actor."""
        with self.tx() as db:
            db.execute("UPDATE aliases SET actor_id = ? WHERE tenant = ? AND alias = ?", (actor_id, tenant, alias))

    def delete_alias(self, tenant: str, alias: str) -> None:
        """Remove an alias with its permissions and nonces."""
        with self.tx() as db:
            db.execute("DELETE FROM aliases WHERE tenant = ? AND alias = ?", (tenant, alias))
            db.execute("DELETE FROM permissions WHERE tenant = ? AND kind = 'alias' AND obj = ?", (tenant, alias))
            db.execute("DELETE FROM nonces WHERE tenant = ? AND alias = ?", (tenant, alias))

    # -- actor configs ---------------------------------------------------------------------------------------

    def add_config(self, doc: Doc, owner: str, created: float) -> bool:
        """Store a new actor config (its creator gets UPDATE on it); ``False`` if the name is taken."""
        with self.tx() as db:
            if db.execute("SELECT 1 FROM configs WHERE tenant = ? AND name = ?",
                          (doc["tenant"], doc["name"])).fetchone():
                return False
            db.execute("INSERT INTO configs (tenant, name, created, doc) VALUES (?, ?, ?, ?)",
                       (doc["tenant"], doc["name"], created, json.dumps(doc)))
            self._set_permission(db, doc["tenant"], "config", doc["name"], owner, "UPDATE")
            return True

    def put_config(self, doc: Doc) -> None:
        """Replace an actor config's document."""
        with self.tx() as db:
            db.execute("UPDATE configs SET doc = ? WHERE tenant = ? AND name = ?",
                       (json.dumps(doc), doc["tenant"], doc["name"]))

    def config(self, tenant: str, name: str) -> Doc | None:
        """One actor config."""
        row = self._one("SELECT doc FROM configs WHERE tenant = ? AND name = ?", (tenant, name))
        return json.loads(row[0]) if row else None

    def configs(self, tenant: str) -> list[Doc]:
        """Every actor config of a tenant, oldest first."""
        rows = self._all("SELECT doc FROM configs WHERE tenant = ? ORDER BY created", (tenant,))
        return [json.loads(r[0]) for r in rows]

    def delete_config(self, tenant: str, name: str) -> None:
        """Remove an actor config with its permissions."""
        with self.tx() as db:
            db.execute("DELETE FROM configs WHERE tenant = ? AND name = ?", (tenant, name))
            db.execute("DELETE FROM permissions WHERE tenant = ? AND kind = 'config' AND obj = ?", (tenant, name))

    # -- workers ---------------------------------------------------------------------------------------------

    def add_worker(self, doc: Doc) -> None:
        """Store a new worker record."""
        with self.tx() as db:
            db.execute("INSERT INTO workers (id, tenant, actor_id, created, doc) VALUES (?, ?, ?, ?, ?)",
                       (doc["id"], doc["tenant"], doc["actor_id"], doc["create_time"], json.dumps(doc)))

    def workers(self, actor_id: str | None = None) -> list[Doc]:
        """The workers of one actor (or all), oldest first."""
        if actor_id is None:
            rows = self._all("SELECT doc FROM workers ORDER BY created")
        else:
            rows = self._all("SELECT doc FROM workers WHERE actor_id = ? ORDER BY created", (actor_id,))
        return [json.loads(r[0]) for r in rows]

    def delete_worker(self, worker_id: str) -> None:
        """Remove a worker record."""
        with self.tx() as db:
            db.execute("DELETE FROM workers WHERE id = ?", (worker_id,))

    # -- executions, mailbox, logs, results ------------------------------------------------------------------

    def add_message(self, execution: Doc, body: bytes, content_type: str, env: dict[str, str], sender: str) -> None:
        """Record a new execution (SUBMITTED) and queue its message, in one transaction."""
        with self.tx() as db:
            db.execute("INSERT INTO executions (id, tenant, actor_id, created, status, doc) VALUES (?, ?, ?, ?, ?, ?)",
                       (execution["id"], execution["tenant"], execution["actor_id"],
                        execution["message_received_time"], execution["status"], json.dumps(execution)))
            db.execute("INSERT INTO mailbox (actor_id, execution_id, body, content_type, env, sender) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (execution["actor_id"], execution["id"], body, content_type, json.dumps(env), sender))

    def add_execution(self, execution: Doc) -> None:
        """Record an execution that needs no worker (the legacy ``POST .../executions``)."""
        with self.tx() as db:
            db.execute("INSERT INTO executions (id, tenant, actor_id, created, status, doc) VALUES (?, ?, ?, ?, ?, ?)",
                       (execution["id"], execution["tenant"], execution["actor_id"],
                        execution["message_received_time"], execution["status"], json.dumps(execution)))

    def mailbox_count(self, actor_id: str) -> int:
        """How many messages wait for a worker."""
        row = self._one("SELECT COUNT(*) FROM mailbox WHERE actor_id = ?", (actor_id,))
        return int(row[0]) if row else 0

    def purge_mailbox(self, actor_id: str) -> int:
        """Drop every queued message of an actor; returns how many were dropped."""
        with self.tx() as db:
            return db.execute("DELETE FROM mailbox WHERE actor_id = ?", (actor_id,)).rowcount

    def claim(self, actor_id: str, worker_id: str, now: float) -> tuple[Message, Doc] | None:
        """Take the oldest queued message of an actor for a worker: the message leaves the mailbox and its
        execution becomes RUNNING with this worker, atomically."""
        with self.tx() as db:
            row = db.execute("SELECT seq, execution_id, body, content_type, env, sender FROM mailbox "
                             "WHERE actor_id = ? ORDER BY seq LIMIT 1", (actor_id,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM mailbox WHERE seq = ?", (row[0],))
            erow = db.execute("SELECT doc FROM executions WHERE id = ?", (row[1],)).fetchone()
            if erow is None:
                return None
            execution: Doc = json.loads(erow[0])
            execution.update(status="RUNNING", worker_id=worker_id, start_time=now)
            db.execute("UPDATE executions SET doc = ?, status = ? WHERE id = ?",
                       (json.dumps(execution), "RUNNING", execution["id"]))
            message = Message(seq=int(row[0]), actor_id=actor_id, execution_id=str(row[1]), body=bytes(row[2]),
                              content_type=str(row[3]), env=json.loads(row[4]), sender=str(row[5]))
            return message, execution

    def executions(self, actor_id: str | None = None, status: str | None = None,
                   received_since: float | None = None) -> list[Doc]:
        """Executions of one actor (or all), optionally of one status or received since a time, oldest first."""
        return [json.loads(text) for text in self.execution_texts(actor_id, status, received_since)]

    def execution_texts(self, actor_id: str | None = None, status: str | None = None,
                        received_since: float | None = None) -> list[str]:
        """:meth:`executions` as stored JSON texts, for readers that parse only some of them (search)."""
        sql, args = "SELECT doc FROM executions WHERE 1 = 1", list[str | float]()
        if actor_id is not None:
            sql += " AND actor_id = ?"
            args.append(actor_id)
        if received_since is not None:  # ``created`` is the message's received time
            sql += " AND created >= ?"
            args.append(received_since)
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        return [str(r[0]) for r in self._all(sql + " ORDER BY created", tuple(args))]

    def finish_execution(self, execution: Doc, log_text: str, log_expires: float | None) -> None:
        """Write an ended execution and its logs in one transaction."""
        with self.tx() as db:
            db.execute("UPDATE executions SET doc = ?, status = ? WHERE id = ?",
                       (json.dumps(execution), execution["status"], execution["id"]))
            db.execute("INSERT OR REPLACE INTO logs (execution_id, actor_id, text, expires) VALUES (?, ?, ?, ?)",
                       (execution["id"], execution["actor_id"], log_text, log_expires))

    def log(self, execution_id: str) -> tuple[str, float | None] | None:
        """The stored logs of an execution and their expiry."""
        row = self._one("SELECT text, expires FROM logs WHERE execution_id = ?", (execution_id,))
        return (str(row[0]), row[1]) if row else None

    def add_result(self, execution_id: str, actor_id: str, data: bytes) -> None:
        """Append one result item to an execution's queue."""
        with self.tx() as db:
            db.execute("INSERT INTO results (execution_id, actor_id, data) VALUES (?, ?, ?)",
                       (execution_id, actor_id, data))

    def pop_result(self, execution_id: str) -> bytes | None:
        """Remove and return the oldest result item of an execution (``None`` when the queue is empty)."""
        with self.tx() as db:
            row = db.execute("SELECT seq, data FROM results WHERE execution_id = ? ORDER BY seq LIMIT 1",
                             (execution_id,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM results WHERE seq = ?", (row[0],))
            return bytes(row[1])

    def result_count(self, execution_id: str) -> int:
        """How many result items wait in an execution's queue."""
        row = self._one("SELECT COUNT(*) FROM results WHERE execution_id = ?", (execution_id,))
        return int(row[0]) if row else 0

    # -- nonces ----------------------------------------------------------------------------------------------

    def add_nonce(self, doc: Doc) -> None:
        """Store a new nonce."""
        with self.tx() as db:
            db.execute("INSERT INTO nonces (id, tenant, actor_id, alias, created, doc) VALUES (?, ?, ?, ?, ?, ?)",
                       (doc["id"], doc["tenant"], doc.get("actor_id"), doc.get("alias"), doc["create_time"],
                        json.dumps(doc)))

    def nonces(self, actor_id: str | None = None, alias: str | None = None, tenant: str | None = None) -> list[Doc]:
        """The nonces of an actor or of an alias, oldest first."""
        if alias is not None:
            rows = self._all("SELECT doc FROM nonces WHERE alias = ? AND tenant = ? ORDER BY created",
                             (alias, tenant))
        else:
            rows = self._all("SELECT doc FROM nonces WHERE actor_id = ? AND alias IS NULL ORDER BY created",
                             (actor_id,))
        return [json.loads(r[0]) for r in rows]

    def delete_nonce(self, nonce_id: str) -> None:
        """Remove a nonce."""
        with self.tx() as db:
            db.execute("DELETE FROM nonces WHERE id = ?", (nonce_id,))

    def redeem_nonce(self, nonce_id: str, now: float) -> Doc | None:
        """Use a nonce once, atomically: ``None`` if it has no use left, else the updated nonce.

        Unlimited nonces (``remaining_uses == -1``) count uses only; limited ones also lose one remaining use.
        """
        with self.tx() as db:
            row = db.execute("SELECT doc FROM nonces WHERE id = ?", (nonce_id,)).fetchone()
            if row is None:
                return None
            doc: Doc = json.loads(row[0])
            remaining = int(doc["remaining_uses"])
            if remaining == -1:
                pass
            elif remaining > 0:
                doc["remaining_uses"] = remaining - 1
            else:
                return None
            doc["current_uses"] = int(doc["current_uses"]) + 1
            doc["last_use_time"] = now
            db.execute("UPDATE nonces SET doc = ? WHERE id = ?", (json.dumps(doc), nonce_id))
            return doc

    # -- restart recovery ------------------------------------------------------------------------------------

    def orphaned_runs(self) -> list[Doc]:
        """Executions left RUNNING by a previous process (the sandbox stopped or was killed meanwhile)."""
        return self.executions(status="RUNNING")
