"""Which environment variables may reach an execution, and the environment a child process starts with.

Abaco passes every query parameter of a message and the whole ``default_environment`` into the container, and
the container bounds what they can do. Here an execution is a process of the sandbox's own user, so a variable
that changes how a program *starts* (which interpreter options, which libraries, which start-up files) would let
anyone who may send a message run their own code as that user. Such names are refused with a 400 that names them,
in a message's query, in ``default_environment`` on create and on update; the runtime drops them again (with a
log line) from actors stored before the rule existed. The rule, by what the variable steers:

* **Python start-up**: every ``PYTHON*`` name (``PYTHONPATH``, ``PYTHONSTARTUP``, ``PYTHONHOME``,
  ``PYTHONWARNINGS``, which imports the modules it names, ...). Python also runs isolated (``-I``), so it would
  ignore them anyway: refusing says so instead of dropping silently.
* **The dynamic loader and the C library**: ``LD_*``, ``DYLD_*``, ``MALLOC_*``, ``GCONV_*`` and the rest of
  glibc's list of variables it removes for set-uid programs (``unsecvars.h``: ``GCONV_PATH``,
  ``GETCONF_DIR``, ``GLIBC_TUNABLES``, ``HOSTALIASES``, ``LOCALDOMAIN``, ``LOCPATH``, ``NIS_PATH``,
  ``NLSPATH``, ``RESOLV_HOST_CONF``, ``RES_OPTIONS``, ``TMPDIR``, ``TZDIR``), and ``OPENSSL_*`` (which
  configuration file and engines libssl loads).
* **Other interpreters and shells an execution could start**: ``PERL*``, ``RUBY*``, ``NODE_*``,
  ``JAVA_TOOL_OPTIONS``, ``_JAVA_OPTIONS``, ``JDK_JAVA_OPTIONS``, ``CLASSPATH``, ``BASH_ENV``, ``ENV``,
  ``BASH_FUNC_*`` (exported functions), ``SHELLOPTS``, ``BASHOPTS``, ``IFS``, ``CDPATH``, ``GLOBIGNORE``,
  ``PS4``, ``PROMPT_COMMAND``.
* **Set by the sandbox for every execution**: ``PATH`` (where programs are found), ``HOME`` and ``TMPDIR``
  (the execution's own folder), ``_abaco_results_sock`` and ``_abaco_binary_data`` (the files the runtime hands
  over; Abaco overwrites its other ``_abaco_*`` names, and so does the emulator).
* **Not a variable name**: empty, or containing ``=`` or a NUL byte; values may not contain a NUL byte either.

Names are compared case-insensitively. Programs that actor code itself starts (``git``, a pager) read more
variables than these; the samples start none, and ``file://``/``python:`` code is already the code of a trusted
user (see :mod:`.local_code`).

The child's environment is not a copy of the host's: it holds ``PATH`` and ``TZ`` from the host (nothing else),
``HOME`` and ``TMPDIR`` (its folder), ``LANG``, ``HOSTNAME``, then the actor's default environment, the
message's query and Abaco's variables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from .wire import AbacoError

PYTHON = "it changes how Python starts"
LOADER = "it changes how the dynamic loader or the C library starts a program"
INTERPRETER = "it changes how a shell or another interpreter starts"
RESERVED = "the sandbox sets it for every execution"
PREFIXES: tuple[tuple[str, str], ...] = (
    ("PYTHON", PYTHON), ("LD_", LOADER), ("DYLD_", LOADER), ("MALLOC_", LOADER), ("GCONV_", LOADER),
    ("OPENSSL_", LOADER), ("PERL", INTERPRETER), ("RUBY", INTERPRETER), ("NODE_", INTERPRETER),
    ("BASH_FUNC_", INTERPRETER),
)
NAMES: dict[str, str] = {
    **dict.fromkeys(("GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NIS_PATH",
                     "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR"), LOADER),
    **dict.fromkeys(("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "BASH_ENV", "ENV",
                     "SHELLOPTS", "BASHOPTS", "IFS", "CDPATH", "GLOBIGNORE", "PS4", "PROMPT_COMMAND"), INTERPRETER),
    **dict.fromkeys(("PATH", "HOME", "TMPDIR", "_ABACO_RESULTS_SOCK", "_ABACO_BINARY_DATA"), RESERVED),
}
HOST_NAMES = ("PATH", "TZ")  # the only variables of the sandbox host an execution inherits
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
HINT = "the names the sandbox refuses, and why, are listed in the Abaco emulator's FIDELITY.md"


def refusal_reason(name: str) -> str | None:
    """Why ``name`` may not reach an execution, or ``None`` when it may."""
    if not name or "=" in name or "\x00" in name:
        return "it is not a valid environment variable name"
    upper = name.upper()
    if upper in NAMES:
        return NAMES[upper]
    for prefix, reason in PREFIXES:
        if upper.startswith(prefix):
            return reason
    return None


def check_variables(items: Iterable[tuple[str, Any]], prefix: str, where: str) -> None:
    """Raise a 400 (``prefix`` + the reason) for the first name or value that may not reach an execution."""
    for name, value in items:
        reason = refusal_reason(name)
        if reason is None and isinstance(value, str) and "\x00" in value:
            reason = "its value contains a NUL byte"
        if reason is not None:
            raise AbacoError(f"{prefix}the variable {name!r} of {where} cannot reach an execution: {reason} "
                             f"({HINT}).")


def allowed(values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The variables of ``values`` that may reach an execution, and the names dropped."""
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in values.items():
        if refusal_reason(name) is None and "\x00" not in value:
            kept[name] = value
        else:
            dropped.append(name)
    return kept, dropped


def base_environment(workdir: str, hostname: str) -> dict[str, str]:
    """What every execution starts with, before the actor's and the message's variables."""
    env = {name: os.environ[name] for name in HOST_NAMES if os.environ.get(name)}
    env.setdefault("PATH", DEFAULT_PATH)
    env.update({"HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8", "HOSTNAME": hostname})
    return env
