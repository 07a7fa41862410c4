"""The Abaco emulator: Abaco's actors API (v2 and v3) over one SQLite store, with a real local runtime.

Served at the same time, over one store (the server it imitates: TACC/abaco, master for v2 and dev-v3 for v3):

* ``/actors/v2/...``: the v2 (Agave) face, camelCase, ``Authorization: Bearer <jwt>`` (agavepy 0.9.5);
* ``/v3/actors/...``: the v3 (Tapis) face, snake_case, ``X-Tapis-Token`` (tapipy 25.x), plus minimal
  ``/v3/sites`` and ``/v3/tenants`` answers;
* ``/actors/...``: Abaco's internal paths (case by configuration; agavepy's JWT mode and Abaco's own tests).

Module map: :mod:`.service` (the sandbox service: tokens, lifecycle, ``describe()``), :mod:`.app` (dispatcher:
slashes, prefixes, 405s, CORS, auth, nonces, permissions), :mod:`.core` (what every handler gets: the call,
the store, access checks), ``routes_*`` (one module per resource),
:mod:`.models` (request parsing, wire records), :mod:`.search`, :mod:`.auth`, :mod:`.wire` (envelopes, ids,
times, case), :mod:`.store` (SQLite), :mod:`.runtime` (workers and child processes) and :mod:`.images` (the
runnable "images" and the helpers actor code uses).

**The runtime is real, not simulated.** An actor's ``image`` names a runnable: the built-in samples
``abacosamples/test``, ``abacosamples/wc``, ``abacosamples/sleep_loop``, ``abacosamples/py3_func``, a Python
file ``file:///abs/path.py`` or a module ``python:package.module``. Every execution is a child process with
Abaco's environment contract (``MSG``, ``_abaco_*``), its stdout+stderr become the logs, its exit code, CPU
time, I/O and wall-clock runtime are measured, results travel through a unix datagram socket, and force-quit
kills the process. See :mod:`.runtime` for the details and for what happens to running executions when the
sandbox stops or is killed (they end ``COMPLETE`` with exit code 137, or ``"undetermined"`` after a crash;
queued messages survive and run after a restart).

**Security.** Actor code runs as the sandbox's own user, without a container: isolated Python in a private
folder, an environment built from an allow-list (names that change how a program starts are refused:
:mod:`.environment`) and, where the kernel has Landlock, no read access outside the system, Python and that
folder (:mod:`.images.boundary`). Register only code you trust. ``file://`` and ``python:`` images are
accepted only from the users of the start option ``--local-code-users`` (:mod:`.local_code`);
``X-Jwt-Assertion`` headers only with ``--jwt-assertion`` and signed with the sandbox's key (:mod:`.auth`).
``abacosamples/py3_func`` unpickles the binary message it receives (cloudpickle), which runs arbitrary code by
design, exactly like Abaco's sample: **trusted input only**. Clients that read results with
``send_python_result``/cloudpickle likewise unpickle what the actor sent.

Deliberate differences from Abaco (documented so tests can rely on them): links use the emulator's own
``http://127.0.0.1:<port>`` (v3 does not force https); ``x-nonce`` is not passed to actor code as an
environment variable; a nonce cannot list, read or create nonces; variables such as ``PYTHONPATH`` or
``LD_PRELOAD`` are refused; ``abacosamples/test`` prints the length of ``_abaco_access_token``, not its value;
synchronous executions end with a 400 instead of hanging when the execution or the actor fails; ``io`` counts
bytes read and written by the process instead of network bytes; ``runtime`` is rounded up to whole seconds;
webhooks must be loopback URLs (events are never sent off the machine), are posted in the background with a
short timeout and no redirects, and a link needs EXECUTE on the linked actor (:mod:`.events`); cron schedules and
admin routes are accepted where Abaco accepts them but not acted upon (admin routes answer 405).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .service import AbacoService, create_service

__all__ = ["AbacoService", "create_service"]


def __getattr__(name: str) -> Any:
    """Import the service lazily: actor processes import :mod:`.images` and must stay light."""
    if name in __all__:
        from . import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
