"""The ``sandbox`` command: ``swan-jupyter sandbox ...`` and ``python -m swan_jupyter.sandbox ...``.

Its options and what each action does live here, beside the host they drive, so that the sandbox never imports
the client's command line (the client's ``swan-jupyter`` hands its ``sandbox`` arguments to :func:`add_arguments`
and :func:`run`). This module imports only the standard library and the neutral number reader and contract at
load, so the client's command can build its parser before it knows whether the sandbox extra is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from ..numbers import NumberError, parse_float
from ..sandbox_contract import DEFAULT_TIME_SCALE, MAX_TIME_SCALE


def positive(name: str, maximum: float) -> Callable[[str], float]:
    """An argparse type: a positive, finite number of at most ``maximum``, in ASCII digits, naming ``name``."""
    def read(text: str) -> float:
        try:
            return parse_float(text, name, maximum=maximum)
        except NumberError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    return read


time_scale = positive("the time scale", MAX_TIME_SCALE)


def default_time_scale() -> float:
    """``$SWAN_TIME_SCALE`` when set and valid (``1`` is real time), else :data:`DEFAULT_TIME_SCALE`."""
    value = os.environ.get("SWAN_TIME_SCALE", "").strip()
    try:
        return time_scale(value) if value else DEFAULT_TIME_SCALE
    except argparse.ArgumentTypeError:
        return DEFAULT_TIME_SCALE


def add_arguments(sandbox: argparse.ArgumentParser) -> None:
    """Add the ``sandbox`` command's actions and options to the parser ``sandbox``."""
    ssub = sandbox.add_subparsers(dest="action", required=True)
    for action, text in (
        ("start", "start the sandbox"),
        ("serve", "run the sandbox host in this process (used by start)"),
        ("stop", "stop the sandbox"),
        ("status", "show the sandbox's status"),
        ("install-chain", "install the local chain (the pinned anvil npm package) into the user data folder"),
    ):
        p = ssub.add_parser(action, help=text)
        if action == "install-chain":
            continue
        p.add_argument("--state", help="state folder (default: $SWAN_SANDBOX_STATE or the user data folder)")
        if action in ("start", "serve"):
            p.add_argument("--time-scale", type=time_scale, default=default_time_scale(),
                           help="task time runs this many times faster than real time (default: $SWAN_TIME_SCALE "
                                f"or {DEFAULT_TIME_SCALE:g}: a deploy runs after 2 s, an hour lasts a minute; "
                                "1 is real time)")
            p.add_argument("--no-chain", action="store_true", help="do not start the local chain")
            p.add_argument("--jwt-assertion", action="store_true",
                           help="accept Abaco's X-Jwt-Assertion-<TENANT> header, only with JWTs signed with the "
                                "sandbox's own key (off: only the tokens of sandbox.json authenticate)")
            p.add_argument("--local-code-users", default=None, metavar="USERS",
                           help="comma-separated sandbox users (user, admin, privileged, user2, or usernames; "
                                "'none' for nobody) who may register file:// and python: actor images, which run "
                                "as you (default: user,admin)")
        if action == "start":
            p.add_argument("--foreground", action="store_true", help="run in the foreground (Ctrl-C stops)")
            p.add_argument("--timeout", type=positive("the timeout", 86_400.0), default=120.0,
                           help="seconds to wait for readiness")
        if action == "status":
            p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    """Do the sandbox action of ``args`` (parsed by :func:`add_arguments`); the process's exit status."""
    try:
        from . import host
    except ImportError as exc:  # python -m swan_jupyter.sandbox without the extra (swan-jupyter checks first)
        print(f"error: the local sandbox is not installed (missing: {exc.name}); "
              'pip install "swan-jupyter[sandbox]"', file=sys.stderr)
        return 2

    if args.action == "install-chain":
        from .chain.anvil import ChainError, install_chain

        try:
            print(f"anvil installed: {install_chain()}")
        except ChainError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        if args.action == "serve" or (args.action == "start" and args.foreground):
            host.serve(args.state, time_scale=args.time_scale, chain=not args.no_chain,
                       jwt_assertion=args.jwt_assertion, local_code_users=args.local_code_users)
            return 0
        if args.action == "start":
            desc = host.start(args.state, time_scale=args.time_scale, chain=not args.no_chain, timeout=args.timeout,
                              jwt_assertion=args.jwt_assertion, local_code_users=args.local_code_users)
            print(host.format_status(host.status(args.state)))
            print(f"description: {desc['host']['state_dir']}/sandbox.json (owner-only)")
            return 0
        if args.action == "stop":
            stopped = host.stop(args.state)
            print("sandbox stopped" if stopped else "sandbox was not running")
            return 0
        report = host.status(args.state)
        print(json.dumps(report, indent=2) if args.json else host.format_status(report))
        return 0 if report["running"] else 3
    except host.SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130



def main(argv: Sequence[str] | None = None) -> int:
    """``python -m swan_jupyter.sandbox ...``: the same as ``swan-jupyter sandbox ...``."""
    parser = argparse.ArgumentParser(prog="python -m swan_jupyter.sandbox", description="Run the local sandbox.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


__all__ = ["add_arguments", "default_time_scale", "main", "positive", "run", "time_scale"]
