"""The :class:`Execution` handle returned by ``Actors.send_message``: status, wait, logs, results."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from ..display import Displayable, esc, kv_html, kv_text, status_badge
from ..errors import RequestTimeoutError
from .models import ExecutionInfo, MessageReceipt

if TYPE_CHECKING:
    from ._client_api import AbacoCalls

#: Execution statuses after which nothing changes any more.
FINAL_STATUSES = frozenset({"COMPLETE", "ERROR"})


class Execution(Displayable):
    """One execution of an actor, as returned by :meth:`Actors.send_message`.

    ``status`` asks the server each time it is read; ``info`` holds the last record fetched. Example::

        ex = client.send_message("PZmwGM6voQEl5", {"n": 3})
        ex.wait(timeout=120).logs()
        for item in ex.results():   # raw bytes, one per result the actor sent
            print(item)
    """

    def __init__(
        self,
        client: AbacoCalls,
        actor_id: str,
        execution_id: str,
        info: ExecutionInfo | None = None,
        *,
        receipt: MessageReceipt | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        self._client = client
        self.actor_id = actor_id
        self.id = execution_id
        self.info = info
        #: Abaco's answer to the message (``execution_id``, ``msg``), when this handle came from a send.
        self.receipt = receipt
        #: When the message was sent (UTC), when this handle came from a send.
        self.sent_at = sent_at

    @property
    def execution_id(self) -> str:
        """The execution id (same as ``id``)."""
        return self.id

    @property
    def status(self) -> str | None:
        """The current status (``SUBMITTED``, ``RUNNING``, ``COMPLETE``, ``ERROR``), fetched from the server."""
        return self.refresh().status

    def refresh(self) -> ExecutionInfo:
        """Fetch the execution record again and return it (also kept in ``info``)."""
        self.info = self._client.get_execution(self.actor_id, self.id)
        return self.info

    @property
    def done(self) -> bool:
        """True once the last fetched status is final (no request)."""
        return self.info is not None and self.info.status in FINAL_STATUSES

    def wait(self, timeout: float = 60.0, poll: float = 1.0) -> Execution:
        """Poll until the execution is ``COMPLETE`` or ``ERROR``; returns ``self`` (``ex.wait().logs()``).

        Polls quickly at first (50 ms) and backs off to ``poll`` seconds. Raises
        :class:`~swan_jupyter.errors.RequestTimeoutError` if it is still running after ``timeout`` seconds (the
        execution itself goes on: wait again, or look at it later).
        """
        deadline = time.monotonic() + timeout
        interval = 0.05
        while True:
            info = self.refresh()
            if info.status in FINAL_STATUSES:
                return self
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RequestTimeoutError(
                    f"Execution {self.id} of actor {self.actor_id} is still {info.status} after {timeout:g} s.",
                    hint="Wait longer (ex.wait(timeout=...)) or look at it later with ex.status / ex.logs().",
                )
            time.sleep(min(interval, remaining))
            interval = min(poll, interval * 1.5)

    def logs(self) -> str:
        """The execution's logs (available after completion; empty before)."""
        return self._client.get_logs(self.actor_id, self.id)

    def results(self) -> list[bytes]:
        """Drain the execution's result queue: every queued result as raw bytes (each is returned once)."""
        return self._client.results(self.actor_id, self.id)

    def _rows(self) -> list[tuple[str, object]]:
        info = self.info
        rows: list[tuple[str, object]] = [("actor", self.actor_id), ("execution", self.id)]
        if info is None:
            rows.append(("status", "sent (call .wait() or read .status)"))
            return rows
        rows.append(("status", info.status))
        for label, value in (
            ("received", info.message_received_time), ("started", info.start_time),
            ("finished", info.finish_time), ("runtime (s)", info.runtime), ("cpu (ns)", info.cpu),
            ("io (bytes)", info.io), ("worker", info.worker_id), ("exit code", info.exit_code),
        ):
            if value is not None:
                rows.append((label, value.isoformat(sep=" ", timespec="milliseconds")
                             if isinstance(value, datetime) else value))
        return rows

    def _repr_text_(self) -> str:
        return kv_text("Abaco execution", self._rows())

    def _repr_html_(self) -> str:
        status = self.info.status if self.info is not None else None
        rows = [(k, status_badge(str(v)) if k == "status" and status else esc(v)) for k, v in self._rows()]
        # every value above is escaped or a badge built from escaped text
        return kv_html("Abaco execution", rows, raw_keys=[k for k, _ in rows])


__all__ = ["FINAL_STATUSES", "Execution"]
