"""When to look again at an execution that has not ended: polls paced by the executions seen so far.

Abaco has no way to wait for an execution's end (a synchronous message is refused while others wait in the
mailbox), so a caller polls ``GET /actors/{id}/executions/{eid}``. Polling at a fixed short interval costs the
server a request every few milliseconds per call in flight; backing off from a fixed start wastes the time
between the end and the next look. :class:`Pace` learns how long calls take from send to end (queueing
included) and waits most of that before the first look, then looks at short, growing intervals: a call that
behaves like the others is seen ended after two or three polls, an unusual one still within a bounded delay.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque

#: The first look never waits less (a fast call is not polled in a busy loop) ...
MIN_INTERVAL = 0.02
#: ... and the interval between looks never grows beyond this.
MAX_INTERVAL = 0.5
#: Share of the typical turnaround waited before the first look (below 1: most calls are seen at once).
FIRST_LOOK = 0.7
#: Turnarounds remembered (a moving window: the pace follows a changing load).
WINDOW = 32


class Pace:
    """Thread-safe pacing of the polls of many calls to one actor.

    :meth:`delays` gives the successive waits of one call; :meth:`observe` records how long a call took from
    its send until it was seen ended.
    """

    def __init__(self, window: int = WINDOW) -> None:
        self._seen: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    def typical(self) -> float | None:
        """The median turnaround of the recent calls (seconds), None before the first."""
        with self._lock:
            return statistics.median(self._seen) if self._seen else None

    def observe(self, seconds: float) -> None:
        """Record one call's turnaround."""
        with self._lock:
            self._seen.append(max(0.0, seconds))

    def delays(self) -> DelayIterator:
        """The waits of one call: first most of the typical turnaround, then intervals growing by half from a
        tenth of it up to a quarter of it (never below ``MIN_INTERVAL`` nor above ``MAX_INTERVAL``). Without
        history: ``MIN_INTERVAL``, then growing by half up to ``MAX_INTERVAL``."""
        return DelayIterator(self.typical())


class DelayIterator:
    """The successive waits of one call (an endless iterator)."""

    def __init__(self, typical: float | None) -> None:
        if typical:
            self._first = max(MIN_INTERVAL, FIRST_LOOK * typical)
            self._next = _bounded(typical / 10)
            self._cap = _bounded(typical / 4)
        else:
            self._first, self._next, self._cap = MIN_INTERVAL, MIN_INTERVAL, MAX_INTERVAL
        self._started = False

    def __iter__(self) -> DelayIterator:
        return self

    def __next__(self) -> float:
        if not self._started:
            self._started = True
            return self._first
        delay = self._next
        self._next = min(self._cap, self._next * 1.5)
        return delay


def _bounded(seconds: float) -> float:
    return min(MAX_INTERVAL, max(MIN_INTERVAL, seconds))


__all__ = ["MAX_INTERVAL", "MIN_INTERVAL", "DelayIterator", "Pace"]
