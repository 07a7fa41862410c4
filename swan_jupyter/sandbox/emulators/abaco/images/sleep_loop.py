"""abacosamples/sleep_loop: JSON message ``{"sleep": seconds, "iterations": n}``; sleeps n times."""

from __future__ import annotations

import json
import os
import time

try:
    spec = json.loads(os.environ.get("MSG", "{}"))
except ValueError:
    spec = {}
if not isinstance(spec, dict):
    spec = {}
sleep, iterations = float(spec.get("sleep", 1)), int(spec.get("iterations", 3))
for i in range(iterations):
    print(f"iteration {i}", flush=True)
    time.sleep(sleep)
print("done")
