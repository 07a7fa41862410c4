"""The ``swan-jupyter`` command.

``swan-jupyter sandbox start [--state DIR] [--time-scale N] [--foreground] [--jwt-assertion]
[--local-code-users USERS]``
    start the local sandbox (in the background unless ``--foreground``) and print its endpoints; task time runs
    ``--time-scale`` times faster than real time (default ``$SWAN_TIME_SCALE`` or 60, so ``--wait`` deploys take
    seconds; ``--time-scale 1`` is realistic);
    ``--jwt-assertion`` accepts Abaco's ``X-Jwt-Assertion-<TENANT>`` header signed with the sandbox's key,
    ``--local-code-users`` names who may register ``file://``/``python:`` images (default ``user,admin``);
``swan-jupyter sandbox stop [--state DIR]``
    stop it, and every process it started;
``swan-jupyter sandbox status [--state DIR] [--json]``
    show whether it runs and the health of each endpoint;
``swan-jupyter sandbox install-chain``
    install the local chain (the pinned anvil npm package, with npm) into the user data folder, where the
    sandbox finds it: the way to the chain for a pip installation (a checkout has it from ``npm ci``);
``swan-jupyter config [--profile NAME]``
    show the active settings, secrets masked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from .errors import SwanJupyterError
from .numbers import NumberError, parse_float
from .sandbox_contract import DEFAULT_TIME_SCALE, MAX_TIME_SCALE


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


def _parser() -> argparse.ArgumentParser:
    plain = (__doc__ or "").replace("``", "")  # the help is read in a terminal: no RST markup
    parser = argparse.ArgumentParser(prog="swan-jupyter", description="Run the local sandbox; show the settings.",
                                     epilog="commands:\n" + plain.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox = sub.add_parser("sandbox", help="run the local sandbox (emulators + local chain)")
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
    cfg = sub.add_parser("config", help="show the active settings (secrets masked)")
    cfg.add_argument("--profile", help="profile to show (default: the active one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``swan-jupyter`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "config":
        from .config import load_settings

        try:
            settings = load_settings(args.profile)
        except SwanJupyterError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        rows = settings.describe()
        width = max(map(len, rows), default=0)
        for key, value in rows.items():
            print(f"{key:{width}s}  {value}")
        return 0

    from .sandbox_link import missing_sandbox_modules, sandbox_not_installed

    missing = missing_sandbox_modules()
    if missing:
        error = sandbox_not_installed(missing)
        print(f"error: {error.message}\n  {error.hint}", file=sys.stderr)
        return 2
    from .sandbox import host

    if args.action == "install-chain":
        from .sandbox.chain.anvil import ChainError, install_chain

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


if __name__ == "__main__":
    sys.exit(main())
