"""``abacosamples/sleep_loop``: sleep in a loop, printing one line per iteration (for force-quit tests).

The message says how long: a number is the iteration count; a JSON object may give ``iterations`` and
``sleep`` (seconds per iteration). The environment variables ``iterations`` and ``sleep`` (for example from
the actor's default environment or the message's query string) are the defaults; without anything it sleeps
100 iterations of 1 second.
"""

from __future__ import annotations

import json
import os
import time


def _settings() -> tuple[int, float]:
    iterations = int(os.environ.get("iterations", "100"))  # noqa: SIM112 (Abaco sample names)
    sleep = float(os.environ.get("sleep", "1"))  # noqa: SIM112
    text = os.environ.get("MSG", "").strip()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    if isinstance(parsed, int | float) and not isinstance(parsed, bool):
        iterations = int(parsed)
    elif isinstance(parsed, dict):
        iterations = int(parsed.get("iterations", iterations))
        sleep = float(parsed.get("sleep", sleep))
    return max(iterations, 0), max(sleep, 0.0)


def main() -> None:
    """Sleep ``iterations`` times ``sleep`` seconds."""
    iterations, sleep = _settings()
    print(f"sleep_loop: {iterations} iterations of {sleep} s", flush=True)
    for i in range(iterations):
        time.sleep(sleep)
        print(f"iteration {i + 1} of {iterations}", flush=True)
    print("sleep_loop: done", flush=True)


if __name__ == "__main__":
    main()
