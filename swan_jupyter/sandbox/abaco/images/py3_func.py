"""``abacosamples/py3_func``: Abaco's function-call sample (``samples/py3_func/call_f.py``), as a local program.

The binary message must be ``cloudpickle.dumps({"func": f, "args": [...], "kwargs": {...}})``; the result of
``f(*args, **kwargs)`` is cloudpickled onto the results queue (``send_python_result``) and printed as
``result: <result>``. A message that does not unpickle, has no ``func``, or whose call raises ends the
execution with the traceback and exit code 1, as the sample's exceptions do.

**Trusted input only**: unpickling runs arbitrary code, exactly as Abaco's sample does. Anyone who can send a
message to such an actor can run code as the sandbox user, inside the execution's boundary (:mod:`.boundary`).
"""

from __future__ import annotations

import sys

import cloudpickle

from swan_jupyter.sandbox.abaco.images.support import get_binary_message, send_python_result


def main() -> None:
    """Load the call, run it, send the result."""
    raw_message = get_binary_message() or sys.stdin.buffer.read()
    try:
        call = cloudpickle.loads(raw_message)
    except Exception as exc:
        print(f"Got exception: {exc} trying to loads raw_message: {raw_message!r}")
        raise
    print("Was able to execute cloudpickle.loads: {m}")  # sic: the sample's line is not an f-string
    func = call.get("func")
    if not func:
        print(f"Error - function attribute required. Got: {call}")
        raise Exception
    try:
        result = func(*call.get("args"), **call.get("kwargs"))
    except Exception as exc:
        print(f"Got exception trying to call f: {func}. Exception: {exc}")
        raise
    send_python_result(result)
    print(f"result: {result}")


if __name__ == "__main__":
    main()
