"""Argument parsing for the magics: argparse that raises ``UsageError`` instead of exiting the kernel."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Callable
from typing import Any, NoReturn

from IPython.core.error import UsageError

from ..numbers import UINT256_MAX, NumberError, parse_float, parse_int

#: The longest any magic's ``--timeout`` may be (seconds): a week.
MAX_TIMEOUT = 7 * 86_400.0


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment``, as a shell reads it: a ``#`` that starts a word (at the start or
    after whitespace) and is not inside quotes; a ``#`` inside a word (``https://host/page#part``) stays."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def whole(name: str, minimum: int | None = 0, maximum: int = UINT256_MAX) -> Callable[[str], int]:
    """An argparse ``type=`` reading a whole number with :func:`swan_jupyter.numbers.parse_int` (ASCII digits,
    bounded): ``"²"``, ``"1_000"`` or 5000 digits are a usage error naming ``name``, never a raw ValueError."""
    def read(text: str) -> int:
        try:
            return parse_int(text, name, minimum=minimum, maximum=maximum)
        except NumberError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    read.__name__ = "whole number"
    return read


def seconds(name: str, maximum: float = MAX_TIMEOUT) -> Callable[[str], float]:
    """An argparse ``type=`` reading a positive, finite number of seconds (at most ``maximum``)."""
    def read(text: str) -> float:
        try:
            return parse_float(text, name, maximum=maximum)
        except NumberError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    read.__name__ = "number of seconds"
    return read


class HelpShown(Exception):
    """Raised after ``--help`` printed the usage; the magic returns without doing anything."""


class MagicArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` for magics: bad arguments raise ``UsageError``; ``--help`` never exits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        # "-1h" after an option is its (negative) value, as "-1" already is: the core then says what is wrong
        # with it ("must be positive") instead of argparse's "expected one argument".
        self._negative_number_matcher = re.compile(r"^-\.?\d[\w.:]*$")

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().strip()}\n(use --help for details)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message)
        raise HelpShown()

    def parse_line(self, line: str) -> argparse.Namespace:
        """Split ``line`` shell-style (quotes honoured, a ``# comment`` dropped) and parse it."""
        try:
            argv = shlex.split(strip_comment(line), posix=True)
        except ValueError as exc:
            raise UsageError(f"{self.prog}: cannot split the arguments ({exc}); check your quotes.") from None
        return self.parse_args(argv)


#: A subcommand's handler: ``handler(magics, args)`` returns what the magic returns (or stores in ``VAR``).
Handler = Callable[[Any, argparse.Namespace], Any]


class Subcommands:
    """One parser per subcommand, each bound to its handler with ``set_defaults(handler=...)``.

    The top-level help is generated from the sub-parsers (a synopsis and a one-line summary each), so the
    listing, ``%magic --help``, ``%magic SUB --help`` and the magic's docstring can never drift apart::

        table = Subcommands("%swan", "Everything else on Swan Chain's Orchestrator.")
        p = table.add("hardware", hardware, "the catalogue (DataFrame)", "Example: %swan hardware hw")
        p.add_argument("--region")
        args = table.parser.parse_line(line); args.handler(magics, args)
    """

    def __init__(self, prog: str, intro: str, epilog: str = "") -> None:
        self.prog = prog
        self.intro = intro.strip()
        self.epilog = epilog.strip()
        self.parser = MagicArgumentParser(prog=prog)
        self._sub = self.parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND",
                                               parser_class=MagicArgumentParser)
        self._sub.required = True
        self.commands: dict[str, tuple[MagicArgumentParser, str]] = {}

    def add(self, name: str, handler: Handler, summary: str, details: str = "", *positionals: str,
            var: bool = True) -> MagicArgumentParser:
        """A subcommand ``name`` running ``handler``; ``summary`` is its line in the listing, ``details`` (with
        examples) the rest of its ``--help``; ``positionals`` are its required arguments; ``var`` adds the
        optional trailing VAR that receives the result instead of displaying it."""
        description = summary[:1].upper() + summary[1:] + ("\n\n" + details.strip() if details else "")
        parser: MagicArgumentParser = self._sub.add_parser(name, help=summary.replace("%", "%%"),
                                                           description=description)
        for positional in positionals:
            parser.add_argument(positional)
        if var:
            parser.add_argument("var", nargs="?", help="variable that receives the result instead of displaying it")
        parser.set_defaults(handler=handler)
        self.commands[name] = (parser, summary)
        return parser

    def synopsis(self, name: str) -> str:
        """``%prog name ARG [VAR] [--option X]``, from the sub-parser's arguments."""
        parser = self.commands[name][0]
        words, options = [self.prog, name], []
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not action.option_strings:
                shown = str(action.metavar or action.dest).upper()
                words.append(f"[{shown}]" if action.nargs in ("?", "*") else shown)
            else:
                flag = action.option_strings[-1]
                takes = action.nargs != 0 and not isinstance(action, argparse._StoreConstAction)
                shown = f"{flag} {str(action.metavar or action.dest).upper()}" if takes else flag
                options.append(shown if action.required else f"[{shown}]")
        return " ".join(words + options)

    def listing(self) -> str:
        """Every subcommand's synopsis and summary, one pair per subcommand."""
        lines = []
        for name, (_parser, summary) in self.commands.items():
            synopsis = self.synopsis(name)
            lines.append(f"  {synopsis}\n      {summary}" if len(synopsis) > 50 else f"  {synopsis:<50} {summary}")
        return "\n".join(lines)

    def help(self) -> str:
        """The full manual: intro, the generated listing, then the epilog (examples)."""
        parts = [self.intro, "Subcommands (each has --help):", self.listing()]
        if self.epilog:
            parts.append(self.epilog)
        text = "\n\n".join(parts)
        self.parser.description = text
        return text

    def run(self, magics: Any, line: str) -> tuple[Any, str | None]:
        """Parse ``line`` and run its handler: ``(result, VAR or None)``; ``(None, None)`` after ``--help``."""
        self.help()
        try:
            args = self.parser.parse_line(line)
        except HelpShown:
            return None, None
        try:
            result = args.handler(magics, args)
        except KeyboardInterrupt as exc:  # a long subcommand: keep what exists (see _interrupts)
            from ._interrupts import kept_from

            raise kept_from(getattr(magics, "shell", None), getattr(args, "var", None), exc) from None
        return result, getattr(args, "var", None)  # read after: a handler may take VAR from its own arguments
