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
import sys
from collections.abc import Sequence

from .errors import SwanJupyterError


def _parser() -> argparse.ArgumentParser:
    plain = (__doc__ or "").replace("``", "")  # the help is read in a terminal: no RST markup
    parser = argparse.ArgumentParser(prog="swan-jupyter", description="Run the local sandbox; show the settings.",
                                     epilog="commands:\n" + plain.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sandbox = sub.add_parser("sandbox", help="run the local sandbox (emulators + local chain)")
    from .sandbox.commands import add_arguments  # stdlib only at load: fine without the sandbox extra

    add_arguments(sandbox)
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
    from .sandbox.commands import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
