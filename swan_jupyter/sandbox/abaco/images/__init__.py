"""The emulator's "images": what an actor's ``image`` names, turned into a command line to run.

Abaco runs Docker images; the sandbox runs local Python programs as child processes instead:

* built-in samples (modules of this package), each following its source in ``TACC/abaco``:
  ``abacosamples/test`` (``Contents of MSG: ...``, 2 s, the environment; ``samples/abaco_test``),
  ``jstubbs/abaco_test`` (the shorter ``images/abaco_test``; ``jstubbs/abaco_test2``, whose source is not
  published and which Abaco's tests only switch an actor to, runs the same), ``abacosamples/wc`` (word count
  of ``MSG``, sent as a bytes result; ``samples/word_count``), ``abacosamples/sleep_loop`` (sleeps as the
  message says; ``samples/sleep_loop``) and ``abacosamples/py3_func`` (runs a cloudpickled function, also
  ``abacosamples/py3_func_v3``; ``samples/py3_func``). A docker-style ``:tag`` suffix is ignored.
* ``file:///abs/path.py``: a Python file, run like ``python /abs/path.py``.
* ``python:package.module``: a module importable by the sandbox's interpreter, run like ``python -m``.

Every one runs isolated (:func:`command`): ``python -I -B -u`` starts :mod:`.boundary`, which imports this package
from its own folder only, closes the filesystem around the execution's folder (Landlock, where the kernel has it)
and then runs the program. Neither the execution's folder nor the script's folder is on ``sys.path``.

Anything else cannot run here: the actor goes to ``ERROR`` with a ``status_message`` that says why.
Actor code talks to the emulator through :mod:`.support` (results channel, binary message, context).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
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


PACKAGE_DIR = str(Path(__file__).resolve().parents[3])  # the swan_jupyter package folder
_IMPORT_PACKAGE = ("import importlib.util as u, sys\n"
                   "s = u.spec_from_file_location('swan_jupyter', sys.argv[1] + '/__init__.py', "
                   "submodule_search_locations=[sys.argv[1]])\n"
                   "m = u.module_from_spec(s); sys.modules['swan_jupyter'] = m; s.loader.exec_module(m)\n")
BOOT = (_IMPORT_PACKAGE + "from swan_jupyter.sandbox.abaco.images import boundary\n"
        "boundary.main(sys.argv[2:])\n")
#: The fork server's bootstrap (:mod:`.warm`): the same interpreter, flags and package import as :data:`BOOT`.
SERVER_BOOT = (_IMPORT_PACKAGE + "from swan_jupyter.sandbox.abaco.images import warm\n"
               "warm.serve(sys.argv[2:])\n")
INTERPRETER_FLAGS = ("-I", "-B", "-u")


class ImageError(Exception):
    """The image names nothing the sandbox can run (the message says why)."""


@dataclass(frozen=True)
class Program:
    """What an image runs: a module (``kind="module"``) or a Python file (``kind="path"``), with arguments."""

    kind: str
    target: str
    args: tuple[str, ...] = ()


def command(program: Program, protect: Sequence[str] = ()) -> list[str]:
    """The command line of one execution: the sandbox's interpreter, isolated (``-I``: no ``PYTHON*`` variable,
    no user site, no cwd or script folder on ``sys.path``; ``-B``: no bytecode written; ``-u``: unbuffered), the
    bootstrap that imports ``swan_jupyter`` from :data:`PACKAGE_DIR` only and hands over to :mod:`.boundary`
    with the folders that must stay closed (``protect``: the state folder, the folder of all executions)."""
    rules = json.dumps({"protect": list(protect)})
    return [sys.executable, *INTERPRETER_FLAGS, "-c", BOOT, PACKAGE_DIR, rules, program.kind, program.target,
            *program.args]


def server_command(control_fd: int) -> list[str]:
    """The command line of the fork server (:mod:`.warm`): what :func:`command` runs, serving instead."""
    return [sys.executable, *INTERPRETER_FLAGS, "-c", SERVER_BOOT, PACKAGE_DIR, str(control_fd)]


def boundary_arguments(argv: Sequence[str]) -> list[str] | None:
    """The arguments :func:`.boundary.main` gets from a command line of :func:`command` (rules, kind, target,
    args), or ``None`` when ``argv`` is not one (a warm start then cannot stand in for it)."""
    prefix = [sys.executable, *INTERPRETER_FLAGS, "-c", BOOT, PACKAGE_DIR]
    if list(argv[:len(prefix)]) != prefix or len(argv) < len(prefix) + 3:
        return None
    return list(argv[len(prefix):])


def _strip_tag(image: str) -> str:
    name, _, tag = image.rpartition(":")
    if name and "/" not in tag:
        return name
    return image


def resolve(image: str, time_scale: float = 1.0) -> Program:
    """The program that runs ``image``; raises :class:`ImageError`. Built-in samples get the sandbox's time
    scale (their fixed sleeps are in sandbox seconds)."""
    image = image.strip()
    if image.startswith("file://"):
        path = Path(image[len("file://"):])
        if not path.is_absolute():
            raise ImageError(f"Could not pull image {image}: file images need an absolute path (file:///abs/path.py).")
        if not path.is_file():
            raise ImageError(f"Could not pull image {image}: no such file.")
        if not os.access(path, os.R_OK):
            raise ImageError(f"Could not pull image {image}: the file is not readable.")
        return Program("path", str(path))
    if image.startswith("python:"):
        module = image[len("python:"):].strip()
        try:
            found = importlib.util.find_spec(module) if module else None
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise ImageError(f"Could not pull image {image}: module {module or '<empty>'} is not importable.")
        return Program("module", module)
    builtin = BUILTIN.get(_strip_tag(image))
    if builtin is None:
        raise ImageError(
            f"Could not pull image {image}: the sandbox runs local programs, not Docker images. Use one of "
            f"{', '.join(sorted(BUILTIN))}, file:///abs/path.py or python:package.module.")
    module, *args = builtin
    return Program("module", f"{__name__}.{module}", (*args, f"--time-scale={time_scale:g}"))
