"""The emulator's "images": what an actor's ``image`` names, turned into a command line to run.

Abaco runs Docker images; the sandbox runs local Python programs as child processes instead:

* built-in samples (modules of this package), each following its source in ``TACC/abaco``:
  ``abacosamples/test`` (``Contents of MSG: ...``, 2 s, the environment; ``samples/abaco_test``),
  ``jstubbs/abaco_test`` (the shorter ``images/abaco_test``; ``jstubbs/abaco_test2``, whose source is not
  published and which Abaco's tests only switch an actor to, runs the same), ``abacosamples/wc`` (word count
  of ``MSG``, sent as a bytes result; ``samples/word_count``), ``abacosamples/sleep_loop`` (sleeps as the
  message says; ``samples/sleep_loop``) and ``abacosamples/py3_func`` (runs a cloudpickled function, also
  ``abacosamples/py3_func_v3``; ``samples/py3_func``). A docker-style ``:tag`` suffix is ignored.
* ``file:///abs/path.py``: a Python file, run as ``python /abs/path.py``.
* ``python:package.module``: a module importable by the sandbox's interpreter, run as ``python -m``.

Anything else cannot run here: the actor goes to ``ERROR`` with a ``status_message`` that says why.
Actor code talks to the emulator through :mod:`.support` (results channel, binary message, context).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

BUILTIN: dict[str, tuple[str, ...]] = {
    "abacosamples/test": ("test",),
    "jstubbs/abaco_test": ("test", "--short"),
    "jstubbs/abaco_test2": ("test", "--short"),
    "abacosamples/wc": ("wc",),
    "abacosamples/sleep_loop": ("sleep_loop",),
    "abacosamples/py3_func": ("py3_func",),
    "abacosamples/py3_func_v3": ("py3_func",),
}


class ImageError(Exception):
    """The image names nothing the sandbox can run (the message says why)."""


def _strip_tag(image: str) -> str:
    name, _, tag = image.rpartition(":")
    if name and "/" not in tag:
        return name
    return image


def resolve(image: str, time_scale: float = 1.0) -> list[str]:
    """The command line (interpreter first) that runs ``image``; raises :class:`ImageError`. Built-in samples
    get the sandbox's time scale (their fixed sleeps are in sandbox seconds)."""
    image = image.strip()
    if image.startswith("file://"):
        path = Path(image[len("file://"):])
        if not path.is_absolute():
            raise ImageError(f"Could not pull image {image}: file images need an absolute path (file:///abs/path.py).")
        if not path.is_file():
            raise ImageError(f"Could not pull image {image}: no such file.")
        if not os.access(path, os.R_OK):
            raise ImageError(f"Could not pull image {image}: the file is not readable.")
        return [sys.executable, str(path)]
    if image.startswith("python:"):
        module = image[len("python:"):].strip()
        try:
            found = importlib.util.find_spec(module) if module else None
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise ImageError(f"Could not pull image {image}: module {module or '<empty>'} is not importable.")
        return [sys.executable, "-m", module]
    builtin = BUILTIN.get(_strip_tag(image))
    if builtin is None:
        raise ImageError(
            f"Could not pull image {image}: the sandbox runs local programs, not Docker images. Use one of "
            f"{', '.join(sorted(BUILTIN))}, file:///abs/path.py or python:package.module.")
    module, *args = builtin
    return [sys.executable, "-m", f"{__name__}.{module}", *args, f"--time-scale={time_scale:g}"]
