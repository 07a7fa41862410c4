"""``abacosamples/sleep_loop``: Abaco's sleep-loop sample (``samples/sleep_loop/sleep_loop.py``), as a local
program (for force-quit tests).

The message is a dict (``MSG`` read with ``literal_eval``, like agavepy's ``message_dict``: a JSON object or
its Python text) that may give ``iterations`` (default 6) and ``sleep`` (seconds per iteration, default 10);
anything else runs the defaults. Each iteration prints ``starting iteration <i>`` and sleeps; the end prints
``sleep_loop completed.``. One difference, on purpose: ``sleep`` may be fractional here (the sample's
``int()`` would make ``0.5`` zero), so tests and notebooks can loop quickly.
"""

from __future__ import annotations

import time

from swan_jupyter.sandbox.abaco.images.support import get_context

ITERATIONS_DEFAULT = 6
SLEEP_DEFAULT = 10


def _settings() -> tuple[int, float]:
    message = get_context()["message_dict"]
    iterations, sleep = ITERATIONS_DEFAULT, float(SLEEP_DEFAULT)
    if message:
        try:
            iterations = int(message.get("iterations", ITERATIONS_DEFAULT))
            sleep = float(message.get("sleep", SLEEP_DEFAULT))
        except Exception as exc:
            print(f"Got exception {exc} trying to read iterations and sleep from msg_dict")
    return iterations, max(sleep, 0.0)


def main() -> None:
    """Sleep ``iterations`` times ``sleep`` seconds."""
    iterations, sleep = _settings()
    for i in range(iterations):
        print(f"starting iteration {i}", flush=True)
        time.sleep(sleep)
    print("sleep_loop completed.", flush=True)


if __name__ == "__main__":
    main()
