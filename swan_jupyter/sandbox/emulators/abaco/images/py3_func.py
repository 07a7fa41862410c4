"""abacosamples/py3_func: run a cloudpickled ``{"func", "args", "kwargs"}`` from a binary message.

The pickled return value is queued as a result. Unpickling runs arbitrary code: trusted input only.
"""

from __future__ import annotations

import os
import sys

import cloudpickle

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import send_bytes_result

job = cloudpickle.loads(sys.stdin.buffer.read())
value = job["func"](*job.get("args", []), **job.get("kwargs", {}))
print(f"py3_func returned {value!r}")
send_bytes_result(cloudpickle.dumps(value))
