"""The payment ledger: a SQLite file that makes paying idempotent across crashes, restarts and double clicks.

Every payment has a key (``<task_uuid>|Creation`` for a task's first payment, ``<task_uuid>|Renewal|<id>`` for a
renewal). Its row moves through::

    intent -> approving -> signed -> sent -> confirmed -> validated
       ^                    |  \\-> failed (nothing reached the chain, or the transaction reverted)
       |                    v
       +---------------- replaced (its nonce was taken by another transaction: nothing was paid)

    any unfinished state -> cancelling -> cancelled (the cancel transaction, or another, used the nonce)
                                  \\--> confirmed (the payment had gone through before the cancel)

Cancelling (:meth:`~swan_jupyter.orchestrator.payer.Payer.cancel_locked`) drops the payment's signed bytes from
the row first, so nothing can ever broadcast them again, and stores the cancel transaction (a 0-value transfer
to self with the same nonce and a higher fee) in ``cancel_raw``/``cancel_tx`` before it is broadcast.

The signed raw transaction is stored *before* it is broadcast: resuming re-broadcasts the very same transaction
(same nonce, same hash), so a crash at any step can never produce a second payment. A signed row whose nonce
another transaction consumed (another notebook or wallet on the same key) can never be mined: the payer marks
it ``replaced`` (keeping the dead hash in ``replaced_tx``) and re-signs it, with a fresh nonce, only when it is
resumed and the contract's ``amountPaid`` shows that nothing was paid meanwhile. Amounts are stored as decimal
text (exact integers of wei).

Spending caps are enforced here, atomically: :meth:`Ledger.reserve` checks what the wallet has committed and
records the new row in one SQLite write transaction (callers also hold the account's cross-process lock).

A session's spending is counted by identity, never by comparing clock readings: each process has a spending
session (:func:`current_session`, a random id) recorded on every row it reserves and in the ``spending_sessions``
table. The session's spending is what the rows of every *live* session sharing the ledger committed: this one,
and other processes still running (known by their pid and, on Linux, their start time since boot, so a reused pid
is not taken for a live notebook). Clock steps forwards or backwards and NTP slews change nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import sqlite3
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .._sqlite import write_transaction
from ..errors import SwanDeprecationWarning

STATES = ("intent", "approving", "signed", "sent", "confirmed", "validated", "failed", "replaced", "cancelling",
          "cancelled")
#: States whose amount counts as spent: money moved, or a signed transaction may still move it.
COMMITTED = ("signed", "sent", "confirmed", "validated", "cancelling")
#: States of a payment that is unfinished and may hold a nonce of its wallet.
UNFINISHED = ("approving", "signed", "sent", "cancelling")

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
    updated_at REAL NOT NULL,
    paid_before_wei TEXT,
    replaced_tx TEXT,
    reserved_at REAL,
    session_id TEXT,
    cancel_tx TEXT,
    cancel_raw TEXT
);
CREATE INDEX IF NOT EXISTS payments_task ON payments(task_uuid);
CREATE TABLE IF NOT EXISTS spending_sessions (id TEXT PRIMARY KEY, pid INTEGER NOT NULL, process_start TEXT);
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
    paid_before_wei: int | None = None
    replaced_tx: str | None = None
    reserved_at: float | None = None
    session_id: str | None = None
    cancel_tx: str | None = None
    cancel_raw: str | None = None

    @property
    def reached_chain(self) -> bool:
        """True once a payment transaction may have been broadcast (it must then be resumed or cancelled, never
        redone)."""
        return self.state in ("signed", "sent", "confirmed", "validated", "cancelling")


_INT_COLUMNS = {"price_wei", "amount_wei", "fee_wei", "paid_before_wei"}
#: Columns added after the first release, with their SQL types (older ledgers are migrated on open).
_ADDED_COLUMNS = {"paid_before_wei": "TEXT", "replaced_tx": "TEXT", "reserved_at": "REAL", "session_id": "TEXT",
                  "cancel_tx": "TEXT", "cancel_raw": "TEXT"}


@dataclass(frozen=True)
class SpendingSession:
    """One process's spending session: a random ``id``, its ``pid`` and its start time since boot (``None``
    where the system does not tell), which tells a live process from another that later got the same pid."""

    id: str
    pid: int
    process_start: str | None


_session: SpendingSession | None = None
_session_guard = threading.Lock()


def current_session() -> SpendingSession:
    """This process's spending session (a forked child gets its own)."""
    global _session
    with _session_guard:
        if _session is None or _session.pid != os.getpid():
            _session = SpendingSession(uuid.uuid4().hex, os.getpid(), _process_start(os.getpid()))
        return _session


class Ledger:
    """The SQLite ledger at ``path`` (created with owner-only permissions)."""

    def __init__(self, path: Path) -> None:
        from .._files import private_database, private_dir, private_file

        self.path = Path(path)
        private_dir(self.path.parent)  # a new folder is 0700; an existing one is left as it is
        for leftover in self.path.parent.glob(f"{glob.escape(self.path.name)}.*.lock"):
            private_file(leftover)  # lock files of an older version (flock files, never opened by SQLite): 0600
        self._local = threading.local()
        # Processes opening a new ledger at the same moment would race to switch it to WAL and create the
        # schema ("database is locked" without waiting): the first connection is made under a file lock.
        # The database's files are made private by path only (private_database opens no descriptor of a file
        # SQLite may hold: closing one would drop this process's locks, see _files); -wal and -shm created later
        # by SQLite copy the main file's mode, so connecting touches no file of ours.
        with self._file_lock(self.path.with_name(self.path.name + ".init.lock")):
            private_database(self.path)
            with self._connect() as db:
                db.executescript(_SCHEMA)
                _migrate(db)

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextlib.contextmanager
    def account_lock(self, payer: str) -> Iterator[None]:
        """A cross-process lock per paying account (a lock file next to the ledger)."""
        with self._file_lock(self.path.with_name(f"{self.path.name}.{payer.lower()}.lock")):
            yield

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` write transaction: committed when the block ends, rolled back if it raises."""
        with write_transaction(self._connect()) as db:
            yield db

    @staticmethod
    @contextlib.contextmanager
    def _file_lock(lock_path: Path) -> Iterator[None]:
        """An exclusive ``flock`` on ``lock_path`` (created 0600), held for the ``with`` block."""
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
        with self._write() as db:
            existing = db.execute("SELECT * FROM payments WHERE key = ?", (entry.key,)).fetchone()
            if existing:
                return _entry(existing)
            _insert(db, "INSERT", entry)
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

    def session_spent(self, payer: str) -> int:
        """Wei committed by ``payer`` (rows signed or later, not failed or replaced) in the live sessions sharing
        this ledger: this process's and those of other processes still running."""
        db = self._connect()
        return _committed(db, payer, _live_sessions(db, register=False))

    def spent_since(self, payer: str, since: float | None = None) -> int:
        """Deprecated: use :meth:`session_spent` (spending is counted by session identity, not by time)."""
        warnings.warn("Ledger.spent_since(payer, since) is deprecated: use Ledger.session_spent(payer); a session's "
                      "spending is counted by session identity, not from a time.", SwanDeprecationWarning, stacklevel=2)
        return self.session_spent(payer)

    def unfinished(self, payer: str) -> list[LedgerEntry]:
        """``payer``'s rows that are approving, signed or sent (they may hold one of its nonces)."""
        marks = ", ".join("?" for _ in UNFINISHED)
        rows = self._connect().execute(
            f"SELECT * FROM payments WHERE lower(payer) = ? AND state IN ({marks}) ORDER BY nonce, created_at",
            (payer.lower(), *UNFINISHED)).fetchall()
        return [_entry(r) for r in rows]

    def reserve(self, entry: LedgerEntry, *, check: Callable[[int], None], since: float | None = None) -> LedgerEntry:
        """Record ``entry`` as an ``intent`` to pay, after ``check(spent_wei)`` passed, in one write transaction.

        ``spent_wei`` is what ``entry.payer`` has committed in the live sessions (:meth:`session_spent`), read
        inside the transaction, so two callers can never both pass a cap that only one of them fits under; the row
        is recorded under this process's session. (``since`` is deprecated and ignored.) ``check``
        raises to refuse; then nothing is written. A row already under ``entry.key`` that never reached the
        chain (intent, failed, replaced) is overwritten with ``entry``'s amounts: it is what is being confirmed
        now. Returns the stored row.
        """
        if since is not None:
            warnings.warn("Ledger.reserve(since=...) is deprecated and ignored: a session's spending is counted by "
                          "session identity.", SwanDeprecationWarning, stacklevel=2)
        with self._write() as db:
            existing = db.execute("SELECT * FROM payments WHERE key = ?", (entry.key,)).fetchone()
            if existing is not None and _entry(existing).reached_chain:
                return _entry(existing)
            check(_committed(db, entry.payer, _live_sessions(db, register=True)))
            now = time.time()
            entry.state, entry.reserved_at, entry.updated_at = "intent", now, now
            entry.session_id = current_session().id
            entry.created_at = float(existing["created_at"]) if existing is not None else now
            if existing is not None:
                entry.replaced_tx = entry.replaced_tx or existing["replaced_tx"]
            _insert(db, "INSERT OR REPLACE", entry)
        stored = self.get(entry.key)
        assert stored is not None
        return stored


def _migrate(db: sqlite3.Connection) -> None:
    """Add the columns a ledger written by an older release lacks (another process may add them first)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(payments)")}
    for column, kind in _ADDED_COLUMNS.items():
        if column not in have:
            try:
                db.execute(f"ALTER TABLE payments ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):
                    raise


def _insert(db: sqlite3.Connection, verb: str, entry: LedgerEntry) -> None:
    values = _row_values(entry)
    db.execute(f"{verb} INTO payments ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
               tuple(values.values()))


def _row_values(entry: LedgerEntry) -> dict[str, Any]:
    values = {f.name: getattr(entry, f.name) for f in fields(entry)}
    for k in _INT_COLUMNS:
        if values[k] is not None:
            values[k] = str(values[k])
    if values.get("tx_hash"):
        values["tx_hash"] = str(values["tx_hash"]).lower()
    return values


def _live_sessions(db: sqlite3.Connection, *, register: bool) -> list[str]:
    """The ids of the live spending sessions sharing this ledger: this process's, and every other one whose
    process still runs. Two notebooks open at once thus share one ``max_session_spend``. With ``register`` (in a
    write transaction), this session is recorded and the sessions of ended processes are forgotten."""
    mine = current_session()
    if register:
        db.execute("INSERT OR IGNORE INTO spending_sessions (id, pid, process_start) VALUES (?, ?, ?)",
                   (mine.id, mine.pid, mine.process_start))
    live = [mine.id]
    for session_id, pid, started in db.execute("SELECT id, pid, process_start FROM spending_sessions").fetchall():
        if session_id == mine.id:
            continue
        if _alive(int(pid), started):
            live.append(str(session_id))
        elif register:
            db.execute("DELETE FROM spending_sessions WHERE id = ?", (session_id,))
    return live


def _alive(pid: int, process_start: str | None) -> bool:
    """Whether process ``pid`` runs, and is the one that recorded ``process_start`` (when both are known)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = _process_start(pid)
    return process_start is None or now is None or now == process_start


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (Linux's ``/proc/PID/stat``; no wall clock), or
    ``None`` where that is not available."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            text = stat_file.read().decode("ascii", "replace")
    except OSError:
        return None
    fields_after_name = text.rpartition(")")[2].split()
    return fields_after_name[19] if len(fields_after_name) > 19 else None


def _committed(db: sqlite3.Connection, payer: str, sessions: list[str]) -> int:
    states = ", ".join("?" for _ in COMMITTED)
    ids = ", ".join("?" for _ in sessions)
    rows = db.execute(
        f"SELECT amount_wei FROM payments WHERE lower(payer) = ? AND session_id IN ({ids}) AND state IN ({states})",
        (payer.lower(), *sessions, *COMMITTED)).fetchall()
    return sum(int(r[0]) for r in rows)


def _entry(row: sqlite3.Row) -> LedgerEntry:
    data = dict(row)
    for k in _INT_COLUMNS:
        if data[k] is not None:
            data[k] = int(data[k])
    return LedgerEntry(**data)
