"""``%swan_deploy`` and ``%swan``: the Orchestrator from a notebook.

Both expand ``{var}`` and ``$var`` in the line (IPython's rule); a cell body (deploy YAML or Dockerfile) is data
and is never expanded. A private key is never an argument: payments use the profile's key source.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.display import display

from ..errors import ValidationError
from ..numbers import MAX_SWAN, parse_decimal
from ._frontend import NO_WIDGETS, text_confirmation, widget_frontend
from ._interrupts import kept, kept_from
from ._parsing import HelpShown, MagicArgumentParser, Subcommands, seconds, whole
from .core import SessionOfShell, store, swan_magics

DEPLOY_HELP = """Deploy a task on Swan Chain's Orchestrator, pay for it, and follow it.

Examples:
  %swan_deploy --app hello-world --hardware C1ae.small --duration 2h
  %swan_deploy --repo https://github.com/me/app --branch main --hardware G1ae.small --region Quebec-CA task
  %swan_deploy --source-uri https://.../spaces/abc --hardware 0 --duration 3600 --yes --wait task

  %%swan_deploy --hardware C1ae.small --duration 1h --yes task
  version: "2.0"
  services: ...                      (the cell body is a deploy YAML, or a Dockerfile)

Paying: in a notebook the quote is shown with Confirm / Cancel buttons and the cell returns at once; the click
pays and the widget becomes the receipt. --yes pays without asking (papermill, CI), refusing anything above
SwanMagics.max_auto_spend (or the profile's max_payment). --no-pay creates the task only.
VAR (optional, last positional) receives the task result instead of displaying it.
"""


UNATTENDED_CAP = "the unattended cap (--yes)"

SWAN_INTRO = """Everything else on Swan Chain's Orchestrator: %swan SUBCOMMAND [ARGS] [VAR]."""

SWAN_EPILOG = """Examples:
  %swan hardware hw --region Quebec-CA
  %swan status {task["task_uuid"]} --watch
  %swan renew be49dc4b-... --duration 2h --yes

{var} and $var in the line are replaced by Python values. A trailing VAR stores the result instead of displaying
it. --yes pays without asking, up to SwanMagics.max_auto_spend (or the profile's max_payment); above it the
command refuses."""


def looks_like_dockerfile(body: str) -> bool:
    """True when the first instruction of ``body`` (after comments and ``# syntax=`` directives) is a Dockerfile
    instruction (``FROM``, or ``ARG`` before ``FROM``); a deploy YAML starts with a ``key:`` line."""
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word = line.split(None, 1)[0].upper()
        return word in ("FROM", "ARG")
    return False


def _deploy_parser() -> MagicArgumentParser:
    p = MagicArgumentParser(prog="%swan_deploy", description=DEPLOY_HELP)
    p.add_argument("var", nargs="?", help="variable that receives the task result")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--repo", help="repository URL (with a Dockerfile or deploy.yaml)")
    src.add_argument("--app", help="example app image name (see %%swan apps)")
    src.add_argument("--source-uri", dest="source_uri", help="a job source URI")
    p.add_argument("--branch", help="repository branch")
    p.add_argument("--hardware", help="hardware name (C1ae.small) or id (required unless --form)")
    p.add_argument("--form", action="store_true", help="open the interactive deploy form instead")
    p.add_argument("--region", default="global", help="region (default: global)")
    p.add_argument("--duration", default="1h", help="3600, 2h, 90m, 1h30m (minimum 1h)")
    pay = p.add_mutually_exclusive_group()
    pay.add_argument("--pay", dest="pay", action="store_true", default=True, help="pay (default)")
    pay.add_argument("--no-pay", dest="pay", action="store_false", help="create the task without paying")
    p.add_argument("--yes", action="store_true", help="pay without the confirmation widget, within the cap")
    p.add_argument("--wait", action="store_true", help="after paying, wait until the task runs")
    p.add_argument("--timeout", type=seconds("--timeout"), default=300.0, help="seconds --wait waits (default 300)")
    p.add_argument("--start-in", dest="start_in", type=whole("--start-in"), default=300, help="seconds before start")
    p.add_argument("--dockerfile", action="store_true", help="the cell body is a Dockerfile (auto-detected)")
    return p


@magics_class
class OrchestratorMagics(SessionOfShell, Magics):
    """``%swan_deploy`` and ``%swan``."""

    # -- helpers ---------------------------------------------------------------------------------------------

    def _cap(self) -> Decimal | None:
        cfg = swan_magics(self.shell)
        value = cfg.max_auto_spend if cfg is not None else ""
        return parse_decimal(value, "max_auto_spend", maximum=MAX_SWAN) if value else None

    def _auto(self, yes: bool) -> bool:
        cfg = swan_magics(self.shell)
        return yes or bool(cfg is not None and cfg.auto_confirm)

    def _store(self, var: str | None, value: Any) -> Any:
        return store(self.shell, var, value)

    def _unattended_cap(self, amount_wei: int, orch: Any) -> Decimal:
        """The cap ``--yes`` pays within (SwanMagics.max_auto_spend, else the profile's max_payment), checked
        now against the estimate; the core checks it again, atomically, against what it signs."""
        cap = self._auto_cap(orch)
        orch.payments.precheck(amount_wei, cap, cap_name=UNATTENDED_CAP)
        return cap

    def _auto_cap(self, orch: Any) -> Decimal:
        """The cap ``--yes`` pays within; refused when there is none."""
        cap = self._cap() if self._cap() is not None else orch.settings.max_payment
        if cap is None:
            raise ValidationError(
                "Paying without confirmation (--yes) needs a spending cap.",
                hint='Set one: %config SwanMagics.max_auto_spend = "10"  (SWAN), or max_payment in the profile.',
            )
        return cap

    # -- %swan_deploy ----------------------------------------------------------------------------------------

    @line_cell_magic
    def swan_deploy(self, line: str, cell: str | None = None) -> Any:  # docstring: DEPLOY_HELP (below)
        try:
            args = _deploy_parser().parse_line(line)
        except HelpShown:
            return None
        if args.form:
            if not widget_frontend(self.shell):
                raise UsageError("no widget frontend: --form needs Jupyter; give the options instead: "
                                 "%swan_deploy --app hello-world --hardware C1ae.small --duration 1h")
            from ..widgets.deploy_form import DeployForm

            return self._store(args.var, DeployForm(self.session.orchestrator()))
        if not args.hardware:
            raise UsageError("%swan_deploy: --hardware is required (or use --form).")
        from ..orchestrator.planning import TaskDescription

        body = (cell or "").strip()
        sources = [s for s in (args.repo, args.app, args.source_uri, body) if s]
        if len(sources) != 1:
            raise UsageError("%swan_deploy: give exactly one source: --repo, --app, --source-uri, or a cell body.")
        is_dockerfile = args.dockerfile or looks_like_dockerfile(body)
        description = TaskDescription(  # the inputs first, then the cap
            hardware=args.hardware, region=args.region, duration=args.duration, app_image=args.app,
            repo_uri=args.repo, repo_branch=args.branch, source_uri=args.source_uri, start_in=args.start_in,
            deploy_yaml=body if body and not is_dockerfile else None,
            dockerfile=body if body and is_dockerfile else None)
        orch = self.session.orchestrator()
        plan = orch.plan(description)
        unattended = args.pay and self._auto(args.yes)
        cap = self._auto_cap(orch) if unattended else None
        try:  # unattended: paid within the cap, bound to the plan's estimate
            task = orch.create(plan, pay=unattended, max_spend=cap, cap_name=UNATTENDED_CAP)
        except KeyboardInterrupt as exc:
            raise kept_from(self.shell, args.var, exc, "interrupted before the task was paid: `%swan tasks` shows "
                                                        "whether it was created") from None
        if not args.pay:
            return self._store(args.var, task)
        if unattended:
            if args.wait:
                self._wait(orch, task, args)
            return self._store(args.var, task)
        uuid = task["task_uuid"]
        if not widget_frontend(self.shell):
            _text_payment(self, orch, orch.quote(uuid, task=task.get("task")), lambda q: orch.pay(uuid, confirmed=q),
                          on_done=task.record_payment)
            return self._store(args.var, task)
        from ..widgets.confirm import creation_confirmation

        display(creation_confirmation(orch, task, on_done=task.record_payment))
        return self._store(args.var, task)

    def _wait(self, orch: Any, task: Any, args: Any) -> None:
        """``--wait``: until the task runs; Ctrl-C keeps the paid task in VAR and says how to follow it."""
        uuid = task["task_uuid"]
        try:
            info = orch.wait_until_running(uuid, timeout=args.timeout, progress=True)
        except KeyboardInterrupt:
            raise kept(self.shell, args.var, f"task {uuid} is paid and still deploying: `%swan status {uuid}`",
                       task) from None
        task.update(status=(info.get("task") or {}).get("status"), urls=orch.get_real_url(uuid))

    # -- %swan -----------------------------------------------------------------------------------------------

    @line_magic
    def swan(self, line: str) -> Any:  # docstring: the generated manual (below)
        result, var = SWAN.run(self, line)
        return self._store(var, result)


def _orch(m: Any) -> Any:
    """The Orchestrator client of the session of magics ``m``."""
    return m.session.orchestrator()


def _text_payment(m: OrchestratorMagics, orch: Any, quote: Any, pay: Any, on_done: Any = None) -> Any:
    """A payment's confirmation where there are no widgets: the quote as text and Pay? [y/N] at the prompt."""
    uuid = quote.task_uuid

    def paid() -> Any:
        receipt = pay(quote)
        if on_done is not None:
            on_done(receipt)
        display(receipt)
        return None

    def cancelled() -> Any:
        display(orch.cancel_payment(uuid))
        print(f"Task {uuid} stays unpaid: `%swan pay {uuid}` pays it, `%swan terminate {uuid} --yes` removes it.")

    return text_confirmation(m.shell, f"Confirm payment: {quote.order_type.lower()} of task {uuid}", quote.rows(),
                             f"Pay {quote.amount_text}?", paid, refused=NO_WIDGETS.format(task=uuid),
                             cancel=cancelled)


def _hardware(m: OrchestratorMagics, args: Any) -> Any:
    from ..frames.orchestrator import hardware_frame

    return hardware_frame([h for h in _orch(m).get_hardware(refresh=True)
                           if (not args.region or h.offers(args.region)) and (not args.available or h.available)])


def _tasks(m: OrchestratorMagics, args: Any) -> Any:
    from ..frames.orchestrator import tasks_frame

    orch = _orch(m)
    return tasks_frame(orch.iter_tasks() if args.all else orch.get_task_list(page=args.page, size=args.size)["list"])


def _status(m: OrchestratorMagics, args: Any) -> Any:
    if args.watch and not widget_frontend(m.shell):
        print("no widget frontend: --watch needs Jupyter; here is the status now (run it again to refresh).")
    elif args.watch:
        from ..widgets.status import DeploymentStatus

        return DeploymentStatus(_orch(m), args.task)
    return _orch(m).get_deployment_info(args.task)


def _renew(m: OrchestratorMagics, args: Any) -> Any:
    from ..orchestrator.amounts import parse_duration
    from ..orchestrator.views import renewal

    duration = parse_duration(args.duration)  # the input first: a bad duration needs no client
    orch = _orch(m)
    orch.require_task_status(args.task, "renew")
    quote = orch.quote(args.task, order_type="Renewal", duration=duration)
    if m._auto(args.yes):
        cap = m._unattended_cap(quote.amount_wei, orch)
        return renewal(orch, orch.renew(args.task, duration, max_payment=cap, confirmed=quote))
    import uuid as uuidlib  # here, not at the top: uuid (and platform) would slow the extension's loading

    from ..widgets.confirm import PaymentConfirmation

    key = uuidlib.uuid4().hex  # one renewal per widget, however many clicks
    if not widget_frontend(m.shell):
        return _text_payment(m, orch, quote, lambda shown: renewal(orch, orch.renew(
            args.task, duration, idempotency_key=key, confirmed=shown)))
    display(PaymentConfirmation(quote, lambda shown: renewal(orch, orch.renew(
        args.task, duration, idempotency_key=key, confirmed=shown)), on_cancel=lambda: orch.cancel_payment(args.task)))
    return None


def _pay(m: OrchestratorMagics, args: Any) -> Any:
    orch = _orch(m)
    quote = orch.quote(args.task)
    if m._auto(args.yes):
        cap = m._unattended_cap(quote.amount_wei, orch)
        return orch.pay(args.task, max_payment=cap, confirmed=quote)
    if not widget_frontend(m.shell):
        return _text_payment(m, orch, quote, lambda shown: orch.pay(args.task, confirmed=shown))
    from ..widgets.confirm import PaymentConfirmation

    display(PaymentConfirmation(quote, lambda shown: orch.pay(args.task, confirmed=shown),
                                on_cancel=lambda: orch.cancel_payment(args.task)))
    return None


def _terminate(m: OrchestratorMagics, args: Any) -> Any:
    orch = _orch(m)
    if args.yes:
        return orch.terminate(args.task)
    orch.require_task_status(args.task, "terminate")
    if not widget_frontend(m.shell):
        return text_confirmation(m.shell, f"Terminate task {args.task}?", {
            "effect": "jobs stop now; unused time is refunded on chain"}, "Terminate?", lambda: orch.terminate(
                args.task), refused=f"no widget frontend: `%swan terminate {args.task} --yes` terminates it")
    from ..widgets.confirm import ConfirmAction

    display(ConfirmAction(f"Terminate task {args.task}?",
                          {"task": args.task, "effect": "jobs stop now; unused time is refunded on chain"},
                          lambda: orch.terminate(args.task), confirm_label="Terminate"))
    return None


def _resume(m: OrchestratorMagics, args: Any) -> Any:
    from ..display import Notice

    orch = _orch(m)
    if not any(entry.task_uuid == args.task for entry in orch.payments.entries()):
        raise ValidationError(f"No task {args.task!r} in the payment ledger: nothing to resume.",
                              hint="%swan ledger lists the payments made here; %swan tasks lists your tasks.")
    receipt = orch.resume_payment(args.task)
    return receipt if receipt is not None else Notice(
        f"Nothing to resume for task {args.task}: its payments are finished (`%swan ledger`).")


def _ledger(m: OrchestratorMagics, args: Any) -> Any:
    from ..frames.orchestrator import ledger_frame

    return ledger_frame(_orch(m).payments.entries())


def _swan_table() -> Subcommands:
    table = Subcommands("%swan", SWAN_INTRO, SWAN_EPILOG)
    p = table.add("hardware", _hardware, "the hardware catalogue (DataFrame; prices exact in *_wei columns)",
                  "Example: %swan hardware hw --region Quebec-CA --available")
    p.add_argument("--region", help="only hardware offered in this region")
    p.add_argument("--available", action="store_true", help="only available hardware")
    p = table.add("tasks", _tasks, "your tasks, newest first (DataFrame)", "Example: %swan tasks t --all")
    p.add_argument("--page", type=whole("--page", 1), default=1)
    p.add_argument("--size", type=whole("--size", 1, 100), default=20)
    p.add_argument("--all", action="store_true", help="every page")
    p = table.add("status", _status, "a task's deployment info; --watch: a live view with Renew/Terminate",
                  "Example: %swan status {task.task_uuid} --watch", "task")
    p.add_argument("--watch", action="store_true", help="a live status view with Renew / Terminate")
    table.add("url", lambda m, a: _orch(m).get_real_url(a.task), "the URLs of the task's running jobs",
              "Example: %swan url {task.task_uuid}", "task", var=False)
    p = table.add("renew", _renew, "extend a task: pays renewPayment (confirmation widget)",
                  "Shows the renewal's quote (amount, price, duration, contract, chain) with Pay / Cancel; the click\n"
                  "pays exactly that quote. --yes pays without the widget within SwanMagics.max_auto_spend.\n\n"
                  "Examples:\n  %swan renew {task.task_uuid} --duration 2h\n  %swan renew be49dc4b-... --yes",
                  "task", var=False)
    p.add_argument("--duration", default="1h", help="3600, 2h, 90m (default 1h)")
    p.add_argument("--yes", action="store_true", help="pay without confirmation, within the cap")
    p = table.add("pay", _pay, "pay for a task created without paying (confirmation widget)",
                  "For a task whose confirmation was cancelled, or created with --no-pay. Shows the quote with Pay /\n"
                  "Cancel; --yes pays without the widget within SwanMagics.max_auto_spend. Never pays twice.\n\n"
                  "Example: %swan pay {task.task_uuid} --yes", "task", var=False)
    p.add_argument("--yes", action="store_true", help="pay without confirmation, within the cap")
    p = table.add("terminate", _terminate, "stop a task early; the unused time is refunded on chain",
                  "Example: %swan terminate {task.task_uuid} --yes", "task", var=False)
    p.add_argument("--yes", action="store_true", help="terminate without the confirmation widget")
    table.add("balance", lambda m, a: _orch(m).balance(), "SWAN and gas balances of the configured wallet",
              var=False)
    table.add("ledger", _ledger, "the local payment ledger (DataFrame)", "Example: %swan ledger payments")
    table.add("resume", _resume, "finish an interrupted payment (never pays again)",
              "A signed payment is awaited or re-broadcast, then validated; one whose nonce another transaction\n"
              "took is signed again once, within the caps. Example: %swan resume {task.task_uuid}", "task", var=False)
    table.add("apps", lambda m, a: _orch(m).get_app_repo_image(), "the example app images (%swan_deploy --app NAME)",
              var=False)
    table.help()
    return table


SWAN = _swan_table()
SWAN_HELP = SWAN.help()

OrchestratorMagics.swan_deploy.__doc__ = DEPLOY_HELP
OrchestratorMagics.swan.__doc__ = SWAN_HELP
