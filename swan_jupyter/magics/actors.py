"""``%%actor_send`` and ``%actors``: Abaco actors from a notebook.

Interpolation rules (the same for both magics):

* The magic LINE is expanded by IPython before the magic sees it: ``{expr}`` and ``$name`` are replaced by
  their values (``%actors get {actor.id}``, ``--env RUN=$run_id``); ``$$`` and doubled braces give a literal
  ``$``/brace, and if any expression fails the whole line is left as written.
* The CELL BODY of ``%%actor_send`` is the message and is never expanded, formatted or evaluated: ``$`` and
  braces are sent as written. The one body form with a meaning is ``--binary`` with a body of exactly
  ``$name``: the bytes of variable ``name`` are sent.
* Secrets (tokens, nonces) never go on a magic line: they come from the profile or the environment.

Results follow the ``%%bigquery df`` convention: with a trailing VAR the result is stored in that variable and
nothing is displayed; without it the result is returned (and displayed, as HTML in JupyterLab and as text in
a terminal).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from ..display import Displayable, esc, kv_html, kv_text
from ..numbers import MAX_WORKERS, NumberError, parse_span, shown
from ._frontend import widget_frontend
from ._interrupts import kept_from
from ._messages import decoded, message_from_body
from ._parsing import HelpShown, MagicArgumentParser, Subcommands, seconds, whole
from .core import SessionOfShell, store, swan_magics
from .functions import add_map_command

SEND_HELP = """Send the cell body as a message to an Abaco actor.

  %%actor_send ACTOR [VAR] [--sync] [--timeout S] [--env KEY=VALUE ...] [--binary] [--json | --text]

The body is the message. A body that parses as a non-empty JSON object or array is sent as JSON (the actor
sees _abaco_Content_Type=application/json); anything else as text, except a body that looks like JSON (starts
with { or is wrapped in [...]) but does not parse: it is refused with the parse error. --json insists on JSON
(error otherwise), --text sends the body as text even if it looks like JSON. --binary sends bytes: a body of
exactly $name sends bytes(name) from your namespace, any other body its UTF-8 encoding.

Without --sync the answer is an Execution handle (ex.wait(), ex.status, ex.logs(), ex.results()); with --sync
the magic waits (at most --timeout seconds, default 60) and answers the actor's first result (bytes) or, when
it sent none, its logs (text). VAR receives that answer instead of displaying it.

The line expands {expr} and $name (e.g. %%actor_send {actor.id} ex --env RUN=$run); the body is never
expanded. Environment names message, MSG, x-nonce, _actor_configs and _abaco_* are refused.

Examples:
  %%actor_send PZmwGM6voQEl5 ex
  {"n": 3}

  %%actor_send my-alias out --sync --timeout 30 --env MODE=fast
  one two three

  %%actor_send my-alias --binary
  $payload
"""

ACTORS_INTRO = "Abaco actors: %actors SUBCOMMAND [ARGS] [VAR]."

ACTORS_EPILOG = """Listings are DataFrames with stable dtypes (UTC times, Int64 counts, categorical statuses).
A trailing VAR stores the result instead of displaying it. The line expands {expr} and $name.

Examples:
  %actors list df
  %actors create --image abacosamples/test --name echo --env MODE=fast a
  %actors logs {a.id} {ex.id}
  %actors metrics --actor {a.id} m
  %actors search executions status=COMPLETE runtime.gt=1 --limit 10"""


class TextBlock(str, Displayable):
    """Text (logs) that displays as a preformatted block in JupyterLab and as itself in a terminal."""

    def _repr_text_(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f"<pre style='white-space:pre-wrap'>{esc(str(self))}</pre>"


class ResultList(list[bytes], Displayable):
    """Execution results (raw bytes), displayed as a numbered list of sizes and previews."""

    def _rows(self) -> list[tuple[str, str]]:
        return [(f"#{i}", f"{len(item)} bytes  {bytes(item[:60])!r}{'…' if len(item) > 60 else ''}")
                for i, item in enumerate(self, 1)]

    def _repr_text_(self) -> str:
        return kv_text(f"{len(self)} result(s)", self._rows())

    def _repr_html_(self) -> str:
        return kv_html(f"{len(self)} result(s)", self._rows())

    __str__ = Displayable.__str__  # before dict's / list's own
    __repr__ = Displayable.__repr__


def _send_parser() -> MagicArgumentParser:
    p = MagicArgumentParser(prog="%%actor_send", description=SEND_HELP)
    p.add_argument("actor", help="actor id or alias")
    p.add_argument("var", nargs="?", help="variable that receives the Execution or the --sync answer")
    p.add_argument("--sync", action="store_true", help="wait for the answer (result bytes or logs)")
    p.add_argument("--timeout", type=seconds("--timeout"), default=60.0, help="seconds --sync waits (default 60)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment variable (repeat)")
    p.add_argument("--binary", action="store_true", help="send bytes (application/octet-stream)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--json", dest="kind", action="store_const", const="json", help="the body must be JSON")
    kind.add_argument("--text", dest="kind", action="store_const", const="text", help="send the body as text")
    return p


def parse_env(pairs: list[str], option: str = "--env") -> dict[str, str]:
    """``["K=V", ...]`` -> ``{"K": "V"}``; a pair without ``=`` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} expects KEY=VALUE, got {pair!r}.")
        out[key] = value
    return out


def parse_since(text: str | None) -> datetime | None:
    """``--since``: ISO 8601 (naive = UTC), Unix seconds, or a span back from now in the one span grammar
    (:func:`~swan_jupyter.numbers.parse_span`, also ``--duration``'s): ``30min``, ``2h``, ``1h30m``, ``1d``."""
    if text is None:
        return None
    from ..actors.models import parse_time

    try:  # a span back from now, in the grammar of --duration (swan_jupyter.numbers.parse_span)
        back = parse_span(text, "--since")
    except NumberError as exc:
        problem = exc
    else:
        try:
            return datetime.now(UTC) - timedelta(seconds=float(back))
        except OverflowError:
            raise UsageError(f"--since {text}: that is further back than dates go.") from None
    when = parse_time(text)
    if when is None:
        raise UsageError(f"--since expects ISO 8601 (2026-11-01T10:00) or a span such as 30min, 2h, 1h30m, 1d; "
                         f"got {shown(text)}: it {problem.problem}.")
    return when


def _filters(tokens: list[str]) -> tuple[dict[str, Any], str | None]:
    """``KEY=VALUE`` search filters, and a trailing VAR (a token without ``=``)."""
    var = None
    if tokens and "=" not in tokens[-1]:
        var = tokens.pop()
    out: dict[str, Any] = {}
    for key, value in parse_env(tokens, "a filter").items():
        out[key] = value
    return out, var


def _client(m: Any) -> Any:
    """The Abaco client of the session of magics ``m``."""
    return m.session.actors()


def _frames() -> Any:
    from ..frames import actors as frames

    return frames


def _create(m: ActorMagics, args: Any) -> Any:
    client = _client(m)
    body: dict[str, Any] = {"image": args.image, "stateless": not args.stateful}
    if args.env:
        body["default_environment"] = parse_env(args.env)
    if args.hints:
        body["hints"] = list(args.hints)
    for key in ("name", "description", "max_workers", "link", "webhook"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    actor = client.add(body)
    if args.workers and actor.id:
        client.add_workers(actor.id, args.workers)
    return actor


def _update(m: ActorMagics, args: Any) -> Any:
    changes: dict[str, Any] = {k: getattr(args, k) for k in ("image", "description", "link", "webhook")
                               if getattr(args, k) is not None}
    if args.env:
        changes["default_environment"] = parse_env(args.env)
    if args.force:
        changes["force"] = True
    if not changes:
        raise UsageError("Nothing to change: give --image, --description, --link, --webhook, --env or --force.")
    return _client(m).update(args.actor, changes)


def _delete(m: ActorMagics, args: Any) -> Any:
    _client(m).delete(args.actor)
    print(f"Actor {args.actor} deleted.")


def _state(m: ActorMagics, args: Any) -> Any:
    client = _client(m)
    if args.set_state is not None:
        try:
            new_state = json.loads(args.set_state)
        except ValueError:
            raise UsageError("--set expects JSON, e.g. --set '{\"count\": 1}'.") from None
        client.set_state(args.actor, new_state)
    return client.get_state(args.actor)


def _grant(m: ActorMagics, args: Any) -> Any:
    perms = _client(m).grant(args.actor, args.user, args.level)
    print(f"{args.user} now has {args.level.upper()} on {args.actor}.")
    return _frames().permissions_frame(perms)


def _add_workers(m: ActorMagics, args: Any) -> Any:
    client = _client(m)
    client.add_workers(args.actor, args.n)
    return _frames().workers_frame(client.list_workers(args.actor))


def _metrics(m: ActorMagics, args: Any) -> Any:
    """``%actors metrics``: a new frame, or (``--refresh VAR``) the frame in VAR brought up to date."""
    frames, client = _frames(), _client(m)
    if args.refresh:
        if not args.var:
            raise UsageError("--refresh needs the variable that holds the frame: %actors metrics --refresh df")
        current = m.shell.user_ns.get(args.var) if m.shell is not None else None
        if "execution_id" not in getattr(current, "columns", ()):
            raise UsageError(f"{args.var!r} does not hold an execution frame (make one: %actors metrics {args.var}).")
        if args.actors or args.filters or args.since:
            raise UsageError("--refresh fetches for the actors the frame was built for: drop --actor/--filter/--since.")
        return frames.refresh_execution_metrics(client, current, max_workers=args.workers,
                                                progress_after=m._progress_after())
    selection: Any = args.actors
    if args.filters:
        if args.actors:
            raise UsageError("Give either --actor or --filter, not both.")
        selection = parse_env(args.filters, "--filter")
    return frames.execution_metrics(client, selection, since=parse_since(args.since), method=args.method,
                                    max_workers=args.workers, progress_after=m._progress_after())


def _executions(m: ActorMagics, args: Any) -> Any:
    client = _client(m)
    actor = client.get(args.actor)  # an unknown actor is an error here, not an empty frame
    return _frames().execution_metrics(client, [str(actor.id)], progress_after=m._progress_after())


def _search(m: ActorMagics, args: Any) -> Any:
    args.filters, args.var = _filters(list(args.filters))
    client = _client(m)
    page = client.search(args.kind, args.filters, limit=args.limit, skip=args.skip)
    # executions search cannot see (actors read as an admin, through a role or ABACO_WORLD) are added, with a warning
    frame = _frames().search_frame(args.kind, page, client=client, filters=args.filters)
    frame.attrs["total_count"] = page.total_count
    return frame


#: What to use instead of each widget where there are no widgets.
INSTEAD = {"form": "%%actor_send ACTOR", "create-form": "%actors create --image IMAGE", "explore": "%actors metrics df"}


def _widget(m: Any, cmd: str) -> Any:
    """``%actors form`` / ``create-form`` / ``explore``: the widgets live in :mod:`swan_jupyter.widgets`."""
    if not widget_frontend(m.shell):
        raise UsageError(f"no widget frontend: %actors {cmd} needs Jupyter; use {INSTEAD[cmd]} instead.")
    try:
        if cmd == "form":
            from ..widgets.message_form import ActorMessageForm

            return ActorMessageForm(_client(m))
        if cmd == "create-form":
            from ..widgets.actor_form import ActorForm

            return ActorForm(_client(m))
        from ..widgets.explorer import ExecutionExplorer, require_plotting

        require_plotting()  # before any request: a missing matplotlib is an install hint, not a widget error
        return ExecutionExplorer(actors=_client(m))
    except ImportError as exc:
        raise UsageError(f"%actors {cmd} needs the interactive widgets, which are not available ({exc}).") from None


def _event_options(parser: Any) -> None:
    parser.add_argument("--link", help="actor id or alias that gets this actor's events as messages ('' unlinks)")
    parser.add_argument("--webhook", help="URL that gets this actor's events as JSON POSTs")


def _actors_table() -> Subcommands:
    t = Subcommands("%actors", ACTORS_INTRO, ACTORS_EPILOG)
    f = _frames
    t.add("list", lambda m, a: f().actors_frame(_client(m).list()), "your actors (DataFrame)",
          "Example: %actors list df")
    t.add("get", lambda m, a: _client(m).get(a.actor), "one actor (id or alias)", "Example: %actors get {actor.id}",
          "actor")
    p = t.add("create", _create, "register an actor",
              "Example: %actors create --image abacosamples/test --name echo --env MODE=fast a")
    p.add_argument("--image", required=True, help="Docker image")
    p.add_argument("--name")
    p.add_argument("--description")
    p.add_argument("--stateful", action="store_true", help="enable the state API (one worker at most)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="default environment (repeat)")
    p.add_argument("--hint", action="append", default=[], dest="hints", help="a hint (repeat)")
    p.add_argument("--workers", type=whole("--workers", 1, MAX_WORKERS),
                   help="then ensure this many workers (admins only)")
    p.add_argument("--max-workers", dest="max_workers", type=whole("--max-workers", 1, MAX_WORKERS),
                   help="autoscaling cap (privileged only)")
    _event_options(p)
    p = t.add("update", _update, "change some fields of an actor; the others are kept (GET, merge, PUT)",
              "Example: %actors update {actor.id} --image abacosamples/wc --force", "actor")
    _event_options(p)
    p.add_argument("--image")
    p.add_argument("--description")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="replace the default environment (repeat)")
    p.add_argument("--force", action="store_true", help="re-pull the image and bump the revision")
    t.add("delete", _delete, "delete an actor", "Example: %actors delete {actor.id}", "actor", var=False)
    p = t.add("state", _state, "the state of a stateful actor; --set JSON replaces it",
              "Example: %actors state {actor.id} --set '{\"count\": 0}'", "actor")
    p.add_argument("--set", dest="set_state", metavar="JSON", help="new state (non-empty JSON)")
    t.add("permissions", lambda m, a: f().permissions_frame(_client(m).get_permissions(a.actor)),
          "who may do what on an actor (DataFrame)", "", "actor")
    t.add("grant", _grant, "give USER the LEVEL: NONE (revokes), READ, EXECUTE or UPDATE",
          "Example: %actors grant {actor.id} bob READ", "actor", "user", "level", var=False)
    t.add("workers", lambda m, a: f().workers_frame(_client(m).list_workers(a.actor)), "the actor's workers "
          "(DataFrame)", "", "actor")
    p = t.add("add-workers", _add_workers, "ensure at least N workers (admins only)",
              "Example: %actors add-workers {actor.id} 2", "actor", var=False)
    p.add_argument("n", type=whole("N", 1, MAX_WORKERS), nargs="?", default=1)
    t.add("nonces", lambda m, a: f().nonces_frame(_client(m).list_nonces(a.actor)),
          "the actor's nonces (DataFrame; the ids, credentials, are masked)",
          "client.list_nonces has the ids themselves.", "actor")
    p = t.add("add-nonce", lambda m, a: _client(m).add_nonce(a.actor, level=a.level, max_uses=a.max_uses,
                                                            description=a.description),
              "create a nonce (a credential for one actor)",
              "Example: %actors add-nonce {actor.id} --level READ --max-uses 3 n", "actor")
    p.add_argument("--level", default="EXECUTE", help="READ, EXECUTE or UPDATE (default EXECUTE)")
    p.add_argument("--max-uses", dest="max_uses", type=whole("--max-uses", -1), default=-1,
                   help="-1 = unlimited (default)")
    p.add_argument("--description")
    _add_execution_commands(t)
    add_map_command(t)
    t.help()
    return t


def _add_execution_commands(t: Subcommands) -> None:
    """Executions, logs, results, metrics, search and the widgets."""
    f = _frames
    t.add("executions", _executions, "the actor's executions (DataFrame, the same schema as metrics)", "",
          "actor")
    t.add("logs", lambda m, a: TextBlock(_client(m).get_logs(a.actor, a.execution)), "an execution's logs",
          "Example: %actors logs {actor.id} {ex.id}", "actor", "execution")
    t.add("results", lambda m, a: ResultList(_client(m).results(a.actor, a.execution)),
          "drain an execution's results (each result is returned once)", "", "actor", "execution")
    p = t.add("metrics", _metrics, "per-execution metrics across actors (DataFrame; all your actors by default)",
              "Examples:\n  %actors metrics df\n  %actors metrics --actor {a.id} --actor my-alias df\n"
              "  %actors metrics --filter image=abacosamples/wc df\n  %actors metrics --since 1h recent\n"
              "  %actors metrics --refresh df      (append only what is new to df)")
    p.add_argument("--actor", action="append", dest="actors", metavar="ACTOR", help="only this actor (repeat)")
    p.add_argument("--filter", action="append", dest="filters", default=[], metavar="KEY=VALUE",
                   help="only actors matching this search filter (repeat)")
    p.add_argument("--method", choices=("auto", "search", "details"), default="auto",
                   help="how to fetch (default auto: search API, else one GET per execution)")
    p.add_argument("--workers", type=whole("--workers", 1, MAX_WORKERS), default=16,
                   help="concurrent requests (default 16)")
    p.add_argument("--since", metavar="TIME", help="only executions received since TIME: ISO 8601 (UTC unless it "
                                                   "has an offset) or a span back from now (30min, 2h, 1h30m, 1d)")
    p.add_argument("--refresh", action="store_true",
                   help="VAR holds a frame: fetch only the executions newer than its newest row and append them")
    t.add("aliases", lambda m, a: f().aliases_frame(_client(m).list_aliases()), "every alias of the tenant "
          "(DataFrame)")
    t.add("configs", lambda m, a: f().configs_frame(_client(m).list_configs()),
          "every actor config of the tenant (DataFrame; secret values masked)",
          "Example: %actors configs cf\nclient.create_config(name, value, actors=[...], is_secret=True) makes one.")
    p = t.add("search", _search, "search actors, executions, workers or logs (Abaco's search syntax)",
              "Examples:\n  %actors search executions status=COMPLETE runtime.gt=1 --limit 10\n"
              "  %actors search actors 'status.in=[\"READY\",\"ERROR\"]' found", "kind", var=False)
    p.add_argument("filters", nargs="*", metavar="KEY=VALUE [VAR]", help="filters, then an optional VAR")
    p.add_argument("--limit", type=whole("--limit"))
    p.add_argument("--skip", type=whole("--skip"))
    t.add("form", lambda m, a: _widget(m, "form"), "a form to send a message and see the execution, logs and results")
    t.add("create-form", lambda m, a: _widget(m, "create-form"), "a form to register an actor")
    t.add("explore", lambda m, a: _widget(m, "explore"), "an explorer of execution metrics (needs the widgets)")


@magics_class
class ActorMagics(SessionOfShell, Magics):
    """``%%actor_send`` and ``%actors`` (Abaco actors)."""

    def _store(self, var: str | None, value: Any) -> Any:
        return store(self.shell, var, value)

    def _progress_after(self) -> float:
        cfg = swan_magics(self.shell)
        return float(cfg.progress_after) if cfg is not None else 2.0

    @cell_magic
    def actor_send(self, line: str, cell: str) -> Any:
        """Send the cell body as a message to an Abaco actor.

        Usage: ``%%actor_send ACTOR [VAR] [--sync] [--timeout S] [--env KEY=VALUE ...] [--binary]
        [--json | --text]``. The body is the message: a non-empty JSON object or array is sent as JSON,
        anything else as text, but a body that looks like JSON and does not parse is refused with the parse
        error (``--json``/``--text`` decide explicitly); ``--binary`` sends bytes (a body of
        exactly ``$name`` sends ``bytes(name)``). The line expands ``{expr}``/``$name``; the body never is.

        Without ``--sync`` the answer is an :class:`~swan_jupyter.actors.Execution` handle; with ``--sync``
        the first result (bytes) or the logs (text), waiting at most ``--timeout`` seconds. ``VAR`` stores
        the answer instead of displaying it. Examples::

            %%actor_send PZmwGM6voQEl5 ex --env MODE=fast
            {"n": 3}

            ex.wait(60).logs()

            %%actor_send {wc.id} --sync --timeout 30
            one two three

            payload = b"\\x00\\x01"
            %%actor_send {actor.id} --binary
            $payload
        """
        try:
            args = _send_parser().parse_line(line)
        except HelpShown:
            return None
        if args.binary and args.kind:
            raise UsageError("--binary cannot be combined with --json or --text.")
        env = parse_env(args.env)
        message: Any
        if args.binary:
            body = cell.strip()
            if body.startswith("$") and body[1:].isidentifier():
                assert self.shell is not None
                name = body[1:]
                if name not in self.shell.user_ns:
                    raise UsageError(f"No variable named {name!r} for the --binary body.")
                value = self.shell.user_ns[name]
                if isinstance(value, str):
                    value = value.encode("utf-8")
                if not isinstance(value, bytes | bytearray | memoryview):
                    raise UsageError(f"Variable {name!r} holds {type(value).__name__}, not bytes.")
                message = bytes(value)
            else:
                message = cell.encode("utf-8")
        else:
            message = message_from_body(cell, args.kind)
        client = self.session.actors()
        if args.sync:
            try:
                answer = client.run_sync(args.actor, message, env, timeout=args.timeout)
            except KeyboardInterrupt as exc:
                raise kept_from(self.shell, args.var, exc) from None
            answer = decoded(answer)
            if args.var:
                return self._store(args.var, answer)
            return TextBlock(answer) if isinstance(answer, str) else answer
        if args.binary:
            return self._store(args.var, client.send_binary(args.actor, message, env))
        return self._store(args.var, client.send_message(args.actor, message, env))

    @line_magic
    def actors(self, line: str) -> Any:  # docstring: the generated manual (below)
        result, var = ACTORS.run(self, line)
        return self._store(var, result)


ACTORS = _actors_table()
ACTORS_HELP = ACTORS.help()
ActorMagics.actors.__doc__ = ACTORS_HELP
