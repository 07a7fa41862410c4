"""``%%actor_function`` and ``%actors map``: Python functions on Abaco from a notebook.

``%%actor_function NAME`` runs the cell here (so ``NAME`` is defined and usable locally), then binds ``NAME``
to a :class:`~swan_jupyter.actors.functions.FunctionHandle` on a function actor: ``NAME(x)`` runs remotely,
``NAME.fn(x)`` locally. ``%actors map NAME ITERABLE_VAR [VAR]`` maps it over a variable of the namespace and
gives the DataFrame of :meth:`~swan_jupyter.actors.functions.FunctionHandle.map`.

The line expands ``{expr}`` and ``$name`` as every magic line does; the cell body is Python, run as a cell.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class

from ..numbers import MAX_WORKERS
from ._parsing import HelpShown, MagicArgumentParser, Subcommands, seconds, whole
from .core import SessionOfShell, store, swan_magics

FUNCTION_HELP = """Define a Python function in the cell and bind its name to a handle that runs it on Abaco.

  %%actor_function NAME [--workers N] [--actor ID] [--image IMAGE] [--python-version X.Y] [--timeout S]

The cell runs here first, so NAME is defined like any function; then NAME is rebound to a function handle on
your function actor (swan-fn-NAME: yours, reused, or registered; --actor uses the actor you name instead):

  NAME(*args, **kwargs)   runs remotely and returns the value (a remote exception is raised here as
                          RemoteFunctionError, with the remote traceback and the execution id)
  NAME.submit(...)        a concurrent.futures.Future
  NAME.map(items)         a DataFrame, one row per item (or %actors map NAME ITEMS [VAR])
  NAME.fn(...)            the local function

--workers makes sure the actor has N workers (admins only on Abaco; otherwise a warning). Results are
unpickled, and unpickling runs code: use only your own actors or actors you trust (--actor).

Example:
  %%actor_function square --workers 4
  def square(x):
      return x * x
"""

MAP_SUMMARY = "map a function handle over a variable of the namespace (DataFrame, one row per item)"
MAP_DETAILS = """NAME is a handle made by %%actor_function (or client.function); ITERABLE is the name of a variable
holding the inputs (each item is one argument; --star: a tuple of arguments). Failures are rows, never
raised; a summary line lists them. Example:
  %actors map square numbers df --max-in-flight 8 --timeout 60"""


def _function_parser() -> MagicArgumentParser:
    p = MagicArgumentParser(prog="%%actor_function", description=FUNCTION_HELP)
    p.add_argument("name", help="the function defined in the cell")
    p.add_argument("--workers", type=whole("--workers", 1, MAX_WORKERS), help="make sure the actor has N workers")
    p.add_argument("--actor", help="use this actor (id or alias) instead of your own function actor")
    p.add_argument("--image", default="abacosamples/py3_func", help="image of a new actor (default py3_func)")
    p.add_argument("--python-version", dest="python_version", help="the image's Python, e.g. 3.11")
    p.add_argument("--timeout", type=seconds("--timeout"), default=300.0, help="seconds a call may take (default 300)")
    return p


def _lookup(shell: Any, name: str, what: str) -> Any:
    if not name.isidentifier() or name not in shell.user_ns:
        raise UsageError(f"No variable named {name!r} ({what}).")
    return shell.user_ns[name]


def _map(m: Any, args: Any) -> Any:
    """``%actors map``: the handler registered in the ``%actors`` table."""
    from ..actors.functions import FunctionHandle

    handle = _lookup(m.shell, args.name, "the function handle")
    if not isinstance(handle, FunctionHandle):
        raise UsageError(f"{args.name!r} is a {type(handle).__name__}, not a function handle: define it with "
                         f"%%actor_function {args.name}.")
    items = _lookup(m.shell, args.iterable, "the inputs")
    try:
        iter(items)
    except TypeError:
        raise UsageError(f"{args.iterable!r} holds a {type(items).__name__}, which cannot be iterated.") from None
    cfg = swan_magics(m.shell)
    progress_after = float(cfg.progress_after) if cfg is not None else 2.0
    return handle.map(items, max_in_flight=args.max_in_flight, timeout=args.timeout, ordered=not args.unordered,
                      star=args.star, progress_after=progress_after)


def add_map_command(table: Subcommands) -> None:
    """Add ``map`` to the ``%actors`` table."""
    p = table.add("map", _map, MAP_SUMMARY, MAP_DETAILS, "name", "iterable")
    p.add_argument("--max-in-flight", dest="max_in_flight", type=whole("--max-in-flight", 1, MAX_WORKERS),
                   help="calls in flight (default 2 x workers)")
    p.add_argument("--timeout", type=seconds("--timeout"), help="seconds each call may take from its send")
    p.add_argument("--unordered", action="store_true", help="rows in completion order")
    p.add_argument("--star", action="store_true", help="each item is a tuple of positional arguments")


@magics_class
class FunctionMagics(SessionOfShell, Magics):
    """``%%actor_function`` (remote Python functions)."""

    @cell_magic
    def actor_function(self, line: str, cell: str) -> Any:
        """Define a Python function in the cell and bind its name to a handle that runs it on Abaco.

        Usage: ``%%actor_function NAME [--workers N] [--actor ID] [--image IMAGE] [--python-version X.Y]
        [--timeout S]``. The cell runs in this kernel first (so ``NAME`` exists), then ``NAME`` becomes a
        :class:`~swan_jupyter.actors.functions.FunctionHandle`: ``NAME(x)`` runs remotely, ``NAME.submit(x)``
        gives a Future, ``NAME.map(items)`` a DataFrame, ``NAME.fn`` is the local function. Example::

            %%actor_function square --workers 4
            def square(x):
                return x * x

            square(7)                    # 49, computed on Abaco
            %actors map square numbers df
        """
        try:
            args = _function_parser().parse_line(line)
        except HelpShown:
            return None
        if not args.name.isidentifier():
            raise UsageError(f"{args.name!r} is not a valid Python name.")
        assert self.shell is not None
        result = self.shell.run_cell(cell, store_history=False)
        if not result.success:
            result.raise_error()
            raise UsageError("The cell failed; the function was not bound.")
        fn = _lookup(self.shell, args.name, "the cell must define it")
        if not callable(fn):
            raise UsageError(f"{args.name!r} is a {type(fn).__name__}, not a function.")
        handle = self.session.actors().function(fn, args.actor, image=args.image, workers=args.workers,
                                                  python_version=args.python_version, timeout=args.timeout)
        store(self.shell, args.name, handle)
        return None


__all__ = ["FUNCTION_HELP", "FunctionMagics", "add_map_command"]
