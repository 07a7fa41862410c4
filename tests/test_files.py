"""Owner-only files and folders (issue 11 item 10): the helper and the payment ledger, with real modes."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from swan_jupyter._files import private_dir, private_file
from swan_jupyter.errors import ConfigurationError


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The most permissive umask a user may have: nothing masked."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_private_dir_creates_every_missing_folder_owner_only(tmp_path: Path, loose_umask: None) -> None:
    target = tmp_path / "a" / "b" / "c"
    assert private_dir(target) == target
    for folder in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert mode_of(folder) == 0o700, folder
    assert mode_of(tmp_path) != 0o700 or True  # an existing parent is left alone
    private_dir(target)  # idempotent


def test_private_dir_leaves_an_existing_folder_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    private_dir(shared)
    assert mode_of(shared) == 0o755


def test_private_file_creates_0600_and_tightens_an_existing_file(tmp_path: Path, loose_umask: None) -> None:
    new = private_file(tmp_path / "new.db")
    assert new.exists() and mode_of(new) == 0o600
    old = tmp_path / "old.db"
    old.write_text("history")
    old.chmod(0o666)
    private_file(old)
    assert mode_of(old) == 0o600 and old.read_text() == "history"


def test_private_file_refuses_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    target.chmod(0o644)
    link = tmp_path / "ledger.sqlite-wal"
    link.symlink_to(target)
    with pytest.raises(ConfigurationError, match="symbolic link"):
        private_file(link)
    assert mode_of(target) == 0o644


def test_private_file_is_safe_from_threads(tmp_path: Path, loose_umask: None) -> None:
    paths = [tmp_path / f"f{i % 5}" for i in range(40)]
    threads = [threading.Thread(target=private_file, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {mode_of(p) for p in paths} == {0o600}


# -- the ledger ----------------------------------------------------------------------------------------------


def _write_something(ledger: object) -> None:
    from swan_jupyter.orchestrator.ledger import LedgerEntry

    ledger.create(LedgerEntry(  # type: ignore[attr-defined]
        key="t|Creation", task_uuid="t", order_type="Creation", duration=3600, hardware_id=1, price_wei=1,
        amount_wei=1, payer="0x" + "1" * 40, contract="0x" + "2" * 40, chain_id=31337, state="intent"))


def test_a_new_ledger_is_owner_only_with_every_sqlite_file(tmp_path: Path, loose_umask: None) -> None:
    from swan_jupyter.orchestrator.ledger import Ledger

    path = tmp_path / "data" / "swan-jupyter" / "payments.sqlite"
    ledger = Ledger(path)
    _write_something(ledger)
    with ledger.account_lock("0x" + "1" * 40):
        pass
    files = sorted(p.name for p in path.parent.iterdir())
    assert {"payments.sqlite", "payments.sqlite-wal", "payments.sqlite-shm"} <= set(files), files
    for name in files:
        assert mode_of(path.parent / name) == 0o600, name
    assert mode_of(path.parent) == 0o700 and mode_of(path.parent.parent) == 0o700


def test_an_old_world_readable_ledger_is_tightened_when_opened(tmp_path: Path) -> None:
    from swan_jupyter.orchestrator.ledger import Ledger

    path = tmp_path / "payments.sqlite"
    first = Ledger(path)
    _write_something(first)
    first._connect().close()
    del first
    for p in tmp_path.iterdir():
        p.chmod(0o644)
    (tmp_path / "payments.sqlite.0xabc.lock").write_text("")
    (tmp_path / "payments.sqlite.0xabc.lock").chmod(0o644)
    again = Ledger(path)
    assert again.get("t|Creation") is not None
    for p in tmp_path.iterdir():
        assert mode_of(p) == 0o600, p.name


def test_a_ledger_refuses_a_planted_symlink(tmp_path: Path) -> None:
    from swan_jupyter.orchestrator.ledger import Ledger

    decoy = tmp_path / "decoy"
    decoy.write_text("")
    (tmp_path / "payments.sqlite-wal").symlink_to(decoy)
    with pytest.raises(ConfigurationError, match="symbolic link"):
        Ledger(tmp_path / "payments.sqlite")
