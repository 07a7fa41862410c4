"""The start of every execution, inside the child process: close the filesystem, then run the program.

The runtime starts ``python -I -B -u -c <boot> <package folder> <rules> <kind> <target> [args...]``
(:func:`swan_jupyter.sandbox.abaco.images.command`). This module then:

1. **Closes the filesystem** with Landlock (Linux 5.13+, no privilege needed; the process and everything it
   starts keep the restriction). Readable: the system folders (``/usr``, ``/lib*``, ``/bin``, ``/sbin``,
   ``/etc``, ``/sys``), the Python installation (``sys.prefix``, ``sys.base_prefix``, every folder of the
   isolated ``sys.path``), the ``swan_jupyter`` package and, for a ``file://`` image, its script file.
   Writable: the execution's own folder (its cwd, ``HOME`` and ``TMPDIR``) and ``/dev/null``. Everything else
   is refused (``PermissionError``): the sandbox's state folder (wallet key, ``sandbox.json``, the token-signing
   secret), other executions' folders, the owner's home. Where the kernel allows it (Landlock ABI 6), the
   execution also cannot signal processes outside it (the sandbox host) nor reach abstract unix sockets.
   A readable folder that would contain a protected folder (the state folder, the folder of all executions)
   is skipped. Where Landlock is missing (another OS, an older kernel, a kernel without it) the execution runs
   without this restriction and says so on its standard error: same-user processes can read the owner's files.
2. **Runs the program**: a module with ``runpy.run_module`` (as ``python -m`` does) or a file with
   ``runpy.run_path``; ``sys.argv`` is the target and its arguments.

Not restricted: the network (an execution calls the sandbox back through ``_abaco_api_server``, as Abaco
actors do), CPU and memory.
"""

from __future__ import annotations

import ctypes
import json
import os
import runpy
import sys
from collections.abc import Iterable

# Landlock (include/uapi/linux/landlock.h): the same syscall numbers on every architecture.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
ALL_ABI1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/sys")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


class _Ruleset(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when there is none."""
    libc = _libc()
    if libc is None:
        return 0
    version = int(libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION)))
    return max(version, 0)


def _handled(abi: int) -> int:
    rights = ALL_ABI1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def readable_paths(extra: Iterable[str], protect: Iterable[str]) -> list[str]:
    """The folders and files an execution may read: system, Python, ``extra``; never one that contains (or is
    inside) a protected folder."""
    candidates = [*SYSTEM, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(sys.executable), *sys.path, *extra]
    closed = [os.path.realpath(p) for p in protect]
    found: list[str] = []
    for candidate in candidates:
        if not candidate or not os.path.isabs(candidate) or not os.path.exists(candidate):
            continue
        real = os.path.realpath(candidate)
        if any(_inside(c, real) or _inside(real, c) for c in closed) or real in found:
            continue
        found.append(real)
    return found


def restrict(readable: Iterable[str], writable: Iterable[str]) -> int:
    """Apply Landlock to this process: read ``readable``, read and write ``writable`` and the devices, nothing
    else. Returns the ABI used, 0 when Landlock is unavailable (nothing is restricted then)."""
    abi = landlock_abi()
    libc = _libc()
    if abi < 1 or libc is None:
        return 0
    handled = _handled(abi)
    attr = _Ruleset(handled, 0, (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_Ruleset) if abi >= 6 else ctypes.sizeof(ctypes.c_uint64)
    ruleset = int(libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    if ruleset < 0:
        return 0
    try:
        rules = [(p, READ) for p in readable] + [(p, handled) for p in writable] + [(d, FILE_RIGHTS) for d in DEVICES]
        for path, rights in rules:
            _add_rule(libc, ruleset, path, rights & handled)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = _PathBeneath(rights, fd)
        if libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def main(argv: list[str]) -> None:
    """``<rules json> <kind> <target> [args...]``: restrict, then run the program as ``__main__``."""
    rules, kind, target, *args = argv
    protect = list(json.loads(rules).get("protect", []))
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    extra = [package, target] if kind == "path" else [package]
    if restrict(readable_paths(extra, protect), [os.getcwd()]) == 0:
        print("[sandbox] this kernel has no Landlock: the execution can read every file of the sandbox's user",
              file=sys.stderr, flush=True)
    sys.argv = [target, *args]
    if kind == "path":
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)
