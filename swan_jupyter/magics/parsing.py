"""Argument parsing for the magics: argparse that raises ``UsageError`` instead of exiting the kernel."""

from __future__ import annotations

import argparse
import shlex
from typing import Any, NoReturn

from IPython.core.error import UsageError


class HelpShown(Exception):
    """Raised after ``--help`` printed the usage; the magic returns without doing anything."""


class MagicArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` for magics: bad arguments raise ``UsageError``; ``--help`` never exits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}\n(use --help for details)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message)
        raise HelpShown()

    def parse_line(self, line: str) -> argparse.Namespace:
        """Split ``line`` shell-style (quotes honoured) and parse it."""
        try:
            argv = shlex.split(line, posix=True)
        except ValueError as exc:
            raise UsageError(f"{self.prog}: cannot split the arguments ({exc}); check your quotes.") from None
        return self.parse_args(argv)


def subcommand_parser(prog: str, description: str) -> tuple[MagicArgumentParser, Any]:
    """A parser with subcommands, each of which gets its own ``--help``."""
    parser = MagicArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", parser_class=MagicArgumentParser)
    sub.required = True
    return parser, sub
