"""The one path by which a message enters an actor's mailbox: a SUBMITTED execution, the queued message
(committed before the caller answers) and a worker woken or started for it. ``POST .../messages`` and the
events sent to link actors (:mod:`.events`) both use it, as Abaco's controller and events agent both put an
ordinary message on the actor's channel."""

from __future__ import annotations

import time
from typing import Any, Protocol

from .store import Store
from .wire import new_hashid

Doc = dict[str, Any]


class Wakes(Protocol):
    """What a mailbox needs of the runtime (:class:`~.runtime.Runtime`): to be told a message is waiting."""

    def message_queued(self, actor: Doc) -> None: ...


def queue_message(store: Store, runtime: Wakes, actor: Doc, data: bytes, content_type: str, env: dict[str, str],
                  sender: str, now: float | None = None) -> Doc:
    """Queue ``data`` for ``actor`` as sent by ``sender`` (also the execution's executor); the new execution."""
    execution: Doc = {
        "id": new_hashid(), "tenant": actor["tenant"], "actor_id": actor["id"], "executor": sender,
        "status": "SUBMITTED", "message_received_time": time.time() if now is None else now, "start_time": None,
        "finish_time": None, "worker_id": None, "exit_code": None, "final_state": None, "cpu": 0, "io": 0,
        "runtime": 0,
    }
    store.add_message(execution, data, content_type, env, sender)
    runtime.message_queued(actor)
    return execution
