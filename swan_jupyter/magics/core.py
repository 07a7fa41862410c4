"""``SwanMagics``: the configuration shared by every magic, and ``%swan_config``.

Configuration (``%config SwanMagics.<name> = value`` or ``c.SwanMagics.<name>`` in ``ipython_config.py``):

``short_errors`` (True)
    show swan_jupyter errors as two short lines; False shows full tracebacks.
``profile`` (None)
    the profile to use (else ``$SWAN_PROFILE``, the config file's default, or ``sandbox``).
``displaylimit`` (50)
    rows shown when a listing DataFrame is displayed, with a line saying how many were left out; 0 shows all
    (the full frame is still returned).
``auto_confirm`` (False)
    pay without the confirmation widget (like ``--yes``), within ``max_auto_spend``.
``max_auto_spend`` ("")
    cap in SWAN for a payment made without confirmation; empty means the profile's ``max_payment``.
``progress_after`` (2.0)
    seconds before a progress bar appears on long operations.
``widgets`` ("auto")
    show widgets (confirmations, forms, live views): ``auto`` when the frontend renders them (Jupyter), ``on``,
    ``off``; without widgets a confirmation is text and a y/N prompt.
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from traitlets import Bool, CaselessStrEnum, Float, Int, TraitError, Unicode, Union, observe, validate

from ..config import load_settings
from ..display import Displayable, esc, kv_text
from ..errors import ConfigurationError, ValidationError
from ..numbers import MAX_SWAN, NumberError, parse_decimal, parse_int
from ..session import Session, default_session
from ._listing import remember
from ._parsing import HelpShown, MagicArgumentParser

SWAN_CONFIG_HELP = "Show the active profile, endpoints and settings (secrets masked), or switch profile."


def store(shell: Any, var: str | None, value: Any) -> Any:
    """The ``%%bigquery df`` convention of every magic: with ``var`` the value goes into that variable and
    nothing is displayed (returns None); without it the value is returned (and displayed). A DataFrame (a
    listing) displays within ``SwanMagics.displaylimit`` rows, wherever it is displayed (:mod:`._listing`)."""
    remember(value)
    if not var:
        return value
    if not var.isidentifier():
        from IPython.core.error import UsageError

        raise UsageError(f"{var!r} is not a valid variable name.")
    shell.push({var: value})
    return None


def swan_magics(shell: Any) -> SwanMagics | None:
    """The ``SwanMagics`` configurable of ``shell`` (its ``%config SwanMagics.*`` values), if loaded."""
    found = shell.magics_manager.registry.get("SwanMagics") if shell is not None else None
    return found if isinstance(found, SwanMagics) else None


def session_of(shell: Any) -> Session:
    """The session the magics of ``shell`` use (``SwanMagics.session``; the default session if not loaded)."""
    cfg = swan_magics(shell)
    return cfg.session if cfg is not None else default_session()


class SessionOfShell:
    """Mixin of the magics classes: ``self.session`` is their shell's session (``SwanMagics.session``)."""

    shell: Any

    @property
    def session(self) -> Session:
        """The session of this shell's magics."""
        return session_of(self.shell)


#: The most rows a listing may be asked to display.
MAX_DISPLAYLIMIT = 1_000_000


class SettingError(ValidationError, TraitError):
    """A ``%config SwanMagics.*`` value refused: the project's ValidationError, and a TraitError for traitlets."""


@magics_class
class SwanMagics(Magics):
    """Shared configuration of the swan_jupyter magics, and ``%swan_config``."""

    short_errors = Bool(True, help="Show swan_jupyter errors briefly (False: full tracebacks).").tag(config=True)
    profile = Unicode(None, allow_none=True, help="Profile to use (sandbox, testnet, mainnet, ...).").tag(config=True)
    displaylimit = Int(50, help="Rows displayed for listings (0: all); the frame keeps every row.").tag(config=True)
    auto_confirm = Bool(False, help="Pay without the confirmation widget, within max_auto_spend.").tag(config=True)
    max_auto_spend = Union([Unicode(), Int(), Float()], default_value="",
                           help="Cap (SWAN) for payments made without confirmation: \"10\", 10 or 2.5."
                           ).tag(config=True)
    progress_after = Float(2.0, help="Seconds before a progress bar appears.").tag(config=True)
    widgets = CaselessStrEnum(["auto", "on", "off"], "auto",
                              help="Widgets: auto (when the frontend renders them), on or off.").tag(config=True)

    @observe("profile")
    def _profile_changed(self, change: dict[str, Any]) -> None:
        self.session.configure(profile=change["new"])

    @validate("displaylimit")
    def _check_displaylimit(self, proposal: dict[str, Any]) -> int:
        try:
            return parse_int(proposal["value"], "displaylimit", minimum=0, maximum=MAX_DISPLAYLIMIT)
        except NumberError as exc:
            raise SettingError(exc.message, hint="displaylimit is 0 (no limit) or a number of rows.") from None

    @validate("max_auto_spend")
    def _check_spend(self, proposal: dict[str, Any]) -> str:
        raw = proposal["value"]
        if isinstance(raw, bool):
            raise SettingError("max_auto_spend is an amount of SWAN, not True/False.",
                               hint='%config SwanMagics.max_auto_spend = 10   (or "10")')
        value = repr(raw) if isinstance(raw, float) else str(raw).strip()  # numbers are accepted as written
        if value:
            try:
                parse_decimal(value, "max_auto_spend", minimum=0, maximum=MAX_SWAN)
            except NumberError as exc:
                raise SettingError(exc.message, hint='Give an amount of SWAN, e.g. %config SwanMagics.max_auto_spend '
                                                     '= "10".') from None
        return value

    _session: Session | None = None  # set through the ``session`` setter (tests, embedding applications)

    @property
    def session(self) -> Session:
        """The session all magics of this shell share: the one given to this instance, else the default one."""
        session = self._session or default_session()
        if self.profile and session.overrides.get("profile") != self.profile:
            session.configure(profile=self.profile)
        return session

    @session.setter
    def session(self, session: Session | None) -> None:
        """Use ``session`` for every magic of this shell (None: the process-wide default session again)."""
        self._session = session

    @line_magic
    def swan_config(self, line: str) -> Any:
        """Show the active profile, endpoints and settings (secrets masked), or switch profile.

        Usage::

            %swan_config                 # show everything, with where each value came from
            %swan_config --profile testnet   # switch this kernel to another profile
            %swan_config --no-start      # show settings without starting the local sandbox

        Values come from (lowest first) built-in profiles, the config file, environment variables and
        ``%config SwanMagics.*``. Secrets are never displayed.
        """
        parser = MagicArgumentParser(prog="%swan_config", description=SWAN_CONFIG_HELP)
        parser.add_argument("--profile", help="switch to this profile")
        parser.add_argument("--no-start", action="store_true", help="do not start the sandbox to resolve it")
        try:
            args = parser.parse_line(line)
        except HelpShown:
            return None
        if args.profile:
            self.profile = args.profile
        session = self.session
        if args.no_start:
            return SettingsView(load_settings(**session.overrides).describe())
        try:
            return SettingsView(session.settings.describe())
        except ConfigurationError as exc:  # the sandbox cannot run here: the settings are worth seeing anyway
            from IPython.display import display

            from ..display import Notice

            display(Notice(f"{exc.message} {exc.hint or ''}".strip()))
            return SettingsView(load_settings(**session.overrides).describe())


class SettingsView(Displayable):
    """The display of ``%swan_config``."""

    def __init__(self, rows: dict[str, str]) -> None:
        self.rows = rows

    def _repr_text_(self) -> str:
        return kv_text("swan_jupyter settings  (value [source])", self.rows)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(v.rsplit('  [', 1)[0])}"
            f"</td><td style='text-align:left;color:#777'>{esc(v.rsplit('  [', 1)[-1].rstrip(']'))}</td></tr>"
            for k, v in self.rows.items()
        )
        return (
            "<div class='swan-jupyter'><strong>swan_jupyter settings</strong><table>"
            "<tr><th>setting</th><th>value</th><th>source</th></tr>" + body + "</table></div>"
        )
