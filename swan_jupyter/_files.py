"""Owner-only files and folders, created private from the start (no window where others can open them).

* :func:`private_dir` creates a folder (and any missing parents) with mode ``0700``;
* :func:`private_file` creates a file with mode ``0600``, or tightens an existing one to ``0600``;
* :func:`private_database` makes a SQLite database and its companion files owner-only *without opening any
  descriptor of a file SQLite may have open* (see below).

Both set the mode explicitly after creating (``os.mkdir``/``os.open`` modes are reduced by the umask, never
widened, so a loose umask cannot leave them open) and never change the process-wide umask, so they are safe to
call from any thread. A file that is a symbolic link is refused: in a folder others can write to, a planted
link would make us create or chmod a file elsewhere. Nothing is done on Windows, where modes do not apply.

Use them for anything that holds payment history, signed transactions, tokens or keys.

SQLite databases need :func:`private_database`, never :func:`private_file`: SQLite locks with POSIX advisory
locks, and POSIX drops *every* lock a process holds on a file when the process closes *any* descriptor of that
file (https://sqlite.org/howtocorrupt.html, section 2.2). Opening and closing the database (or its ``-wal`` or
``-shm``) while another thread's connection holds a transaction would silently hand the write lock to another
process. :func:`private_database` therefore only creates a file that does not exist yet (``O_EXCL``: a new inode
that nobody has open) and otherwise works by path (``lstat`` and ``chmod``), and SQLite gives the ``-wal``,
``-shm`` and ``-journal`` files it creates later the main file's mode::

    from swan_jupyter._files import private_database

    db = sqlite3.connect(private_database(path))
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import ConfigurationError

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create folder ``path`` and its missing parents with mode ``0700``; return it as a :class:`Path`.

    A folder that already exists is left as it is (it may be shared on purpose, like a home folder); the files
    inside are what :func:`private_file` protects.
    """
    folder = Path(path)
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, DIR_MODE)
        except FileExistsError:  # created meanwhile by another thread or process: leave it
            continue
        except OSError as exc:
            raise ConfigurationError(f"Cannot create the folder {created}: {exc.strerror}.",
                                     hint="Check that its parent exists and that you may write to it.") from None
        if os.name != "nt":
            os.chmod(created, DIR_MODE)
    if not folder.is_dir():
        raise ConfigurationError(f"{folder} is not a folder.", hint="Choose another location for this file.")
    return folder


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty with mode ``0600`` if it is missing, or set an existing file to ``0600``.

    The content of an existing file is untouched. Raises :class:`~swan_jupyter.errors.ConfigurationError`
    when ``path`` is a symbolic link, not a regular file, or belongs to another user.
    """
    file = Path(path)
    if os.name == "nt":
        file.touch(exist_ok=True)
        return file
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(file, flags, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP or file.is_symlink():
            raise ConfigurationError(
                f"{file} is a symbolic link; a private file must be a plain file.",
                hint=f"Remove the link (rm {file}) if you did not create it, or choose another location.",
            ) from None
        raise ConfigurationError(f"Cannot create {file}: {exc.strerror}.",
                                 hint="Check that you may write to its folder.") from None
    try:
        if _needs_chmod(file, os.fstat(fd)):
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return file


#: The files of a SQLite database at ``path``: ``path`` itself and its companions.
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def private_database(path: str | os.PathLike[str]) -> Path:
    """Make the SQLite database ``path`` owner-only (its folder too, if it is created) and return it as a
    :class:`Path`, without ever opening a descriptor of a file that already exists.

    A missing database file is created empty with mode ``0600`` (``O_EXCL``: nobody can have that new file open);
    existing ones (the database, ``-wal``, ``-shm``, ``-journal``) are checked with ``lstat`` and set to
    ``0600`` with ``chmod``, by path. Safe to call while other connections of this process hold transactions on
    the database. Raises :class:`~swan_jupyter.errors.ConfigurationError` for a symbolic link, a file that is
    not a regular file, or one that belongs to another user.
    """
    database = Path(path)
    private_dir(database.parent)
    if os.name == "nt":
        return database
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(database, flags, FILE_MODE)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigurationError(f"Cannot create {database}: {exc.strerror}.",
                                 hint="Check that you may write to its folder.") from None
    else:
        try:
            os.fchmod(fd, FILE_MODE)  # the umask may have narrowed the mode, never widened it: set it exactly
        finally:
            os.close(fd)  # a new inode: no lock of this process can be on it
    for suffix in SQLITE_SUFFIXES:
        file = Path(f"{database}{suffix}")
        try:
            info = os.lstat(file)
        except FileNotFoundError:
            continue
        if _needs_chmod(file, info):
            os.chmod(file, FILE_MODE)
    return database


def _needs_chmod(file: Path, info: os.stat_result) -> bool:
    """Whether ``file`` (described by ``info``, from ``fstat`` or ``lstat``) is ours and plain but not 0600;
    raises :class:`ConfigurationError` for a link, another kind of file, or another user's file."""
    if stat.S_ISLNK(info.st_mode):
        raise ConfigurationError(
            f"{file} is a symbolic link; a private file must be a plain file.",
            hint=f"Remove the link (rm {file}) if you did not create it, or choose another location.")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError(f"{file} is not a regular file.", hint="Choose another location.")
    if info.st_uid != os.geteuid():
        raise ConfigurationError(f"{file} belongs to another user, so it cannot be made private.",
                                 hint=f"Remove it or choose another location: ls -l {file}")
    return stat.S_IMODE(info.st_mode) != FILE_MODE


__all__ = ["DIR_MODE", "FILE_MODE", "SQLITE_SUFFIXES", "private_database", "private_dir", "private_file"]
