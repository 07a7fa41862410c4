"""Storage helpers shared by the sandbox's services: owner-only files written atomically, owner-only SQLite
databases, and SQLite write transactions. (The sandbox is its own subpackage: it does not import the client's
helpers; the SQLite and file-mode rules it shares with the payment ledger live in the package's ``_sqlite`` and
``_files`` modules, which belong to neither side.)"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._files import private_database
from .._sqlite import write_transaction


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file, fsync, rename), mode 0600 from creation on."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older temporary file may exist with another mode
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        if fd != -1:
            os.close(fd)
    os.replace(tmp, path)


def emulator_journal(db: sqlite3.Connection) -> None:
    """WAL with ``synchronous=NORMAL`` for an emulator's database: a commit reaches the operating system (a killed
    host loses nothing it accepted; the database is never corrupted) without an fsync per commit, which the
    event loop waited for (most of the host's time under a functions map). The payment ledger keeps ``FULL``."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def immediate(db: sqlite3.Connection, lock: threading.RLock | threading.Lock) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction on ``db`` (an autocommit connection) under ``lock``: committed when
    the block succeeds, rolled back when it raises."""
    with lock, write_transaction(db):
        yield db


__all__ = ["emulator_journal", "immediate", "private_database", "write_private"]
