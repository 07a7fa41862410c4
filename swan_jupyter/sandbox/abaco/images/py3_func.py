"""``abacosamples/py3_func``: run a cloudpickled function and return its result through the results queue.

The binary message must be ``cloudpickle.dumps({"func": f, "args": [...], "kwargs": {...}})``; the result of
``f(*args, **kwargs)`` is cloudpickled onto the results queue (``send_python_result``).

**Trusted input only**: unpickling runs arbitrary code, exactly as Abaco's sample does. Anyone who can send a
message to such an actor can run code as the sandbox user.
"""

from __future__ import annotations

import sys

import cloudpickle

from swan_jupyter.sandbox.abaco.images.support import get_binary_message, send_python_result


def main() -> int:
    """Load the call, run it, send the result; exit 1 with a message when the input is not a call."""
    data = get_binary_message() or sys.stdin.buffer.read()
    if not data:
        print("py3_func: no binary message (send cloudpickle.dumps({'func':..., 'args':..., 'kwargs':...}) "
              "as application/octet-stream)", file=sys.stderr)
        return 1
    call = cloudpickle.loads(data)
    if not isinstance(call, dict) or "func" not in call:
        print("py3_func: the message is not a dict with a 'func' key", file=sys.stderr)
        return 1
    result = call["func"](*call.get("args", []), **call.get("kwargs", {}))
    print(f"py3_func: {getattr(call['func'], '__name__', 'function')} returned a {type(result).__name__}")
    send_python_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
