"""Who may run local code: ``file://`` and ``python:`` images run any program as the sandbox's owner.

The sandbox owner names the users allowed to register such images with the start option
``--local-code-users`` (setting ``abaco_local_code_users``: sandbox user keys from ``sandbox.json`` such as
``user`` and ``admin``, or their usernames; ``none`` for nobody). Default: :data:`DEFAULT_USERS`. Everyone else
gets an Abaco-style 400 naming the option, on create and update, and so does any request authenticated by a
nonce (a nonce is handed to others). The runtime checks the actor's owner again before it starts a worker or an
execution, so actors registered under an earlier, wider setting stop running after a restart.
The built-in samples (``abacosamples/...``) are not local code in this sense and stay open to every user.
"""

from __future__ import annotations

from collections.abc import Iterable

from .auth import SANDBOX_USERS, Caller
from .wire import AbacoError

DEFAULT_USERS = ("user", "admin")
LOCAL_PREFIXES = ("file://", "python:")
NOBODY = ("", "none")


def is_local(image: object) -> bool:
    """Whether ``image`` names local code (a file or a module run by the sandbox's interpreter)."""
    return isinstance(image, str) and image.strip().startswith(LOCAL_PREFIXES)


def resolve_users(names: str | Iterable[str] | None) -> frozenset[str]:
    """The usernames allowed to run local code, from keys or usernames (comma-separated text or a list).

    ``None`` means the default; ``""``/``"none"`` nobody. Raises ``ValueError`` for a name that is no sandbox user.
    """
    if names is None:
        names = DEFAULT_USERS
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    items = [n for n in items if n.lower() not in NOBODY]
    known = {key: name for key, (name, _) in SANDBOX_USERS.items()}
    allowed = set()
    for item in items:
        if item in known:
            allowed.add(known[item])
        elif item in known.values():
            allowed.add(item)
        else:
            raise ValueError(f"--local-code-users: {item!r} is not a sandbox user; use keys "
                             f"({', '.join(known)}) or usernames ({', '.join(known.values())}), or 'none'")
    return frozenset(allowed)


def refusal(allowed: frozenset[str]) -> str:
    """Abaco-style refusal naming the option and who may."""
    who = ", ".join(sorted(allowed)) or "nobody"
    return ("Not authorized -- only the users named by the sandbox option --local-code-users may register "
            f"file:// and python: images (they run as the sandbox's owner); now allowed: {who}.")


def check_caller(image: object, caller: Caller, allowed: frozenset[str]) -> None:
    """Refuse a local-code ``image`` for a caller not allowed (or authenticated by a nonce)."""
    if is_local(image) and (caller.nonce is not None or caller.user not in allowed):
        raise AbacoError(refusal(allowed))
