"""The contract between the client and the local sandbox, read by both sides from here.

The client never imports the sandbox package, and the sandbox never imports the client's modules. What they must
agree on lives in this module: the file in which a running sandbox describes itself (its endpoints, credentials
and options, owner-only in the state folder), the health route every sandbox port answers, and the time scale a
sandbox runs at when nobody says otherwise.
"""

from __future__ import annotations

#: The sandbox's description, in its state folder (mode 0600): written by the host, read by the client.
DESCRIPTION_FILE = "sandbox.json"
#: The route every sandbox port answers 200 on while it serves (never behind credentials).
HEALTH_PATH = "/_sandbox/health"
#: The sandbox's default time scale: task time runs 60 times faster than real time, so a deploy's jobs run two
#: real seconds after payment (``--wait`` returns in seconds) and a one-hour task lasts one real minute.
DEFAULT_TIME_SCALE = 60.0
#: The fastest the sandbox's task time may run (``inf`` or ``1e999`` would stop its clock making sense).
MAX_TIME_SCALE = 100_000.0

__all__ = ["DEFAULT_TIME_SCALE", "DESCRIPTION_FILE", "HEALTH_PATH", "MAX_TIME_SCALE"]
