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
from ..session import default_session
from .parsing import HelpShown, MagicArgumentParser, subcommand_parser

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


SWAN_HELP = """Everything else on Swan Chain's Orchestrator. `%swan SUBCOMMAND --help` describes each one.

  %swan hardware [VAR] [--region R] [--available]   the catalogue (DataFrame; prices exact in *_wei columns)
  %swan tasks [VAR] [--page N] [--size N] [--all]    your tasks, newest first (DataFrame)
  %swan status TASK [VAR] [--watch]                  deployment info; --watch: a live view with Renew/Terminate
  %swan url TASK                                     the URLs of the task's running jobs
  %swan renew TASK [--duration 1h] [--yes]           extend a task: pays renewPayment (confirmation widget)
  %swan terminate TASK [--yes]                       stop a task early; the unused time is refunded on chain
  %swan balance                                      SWAN and gas balances of the configured wallet
  %swan ledger [VAR]                                 the local payment ledger (DataFrame)
  %swan resume TASK                                  finish an interrupted payment (never pays again)
  %swan apps                                         the example app images (%swan_deploy --app NAME)

Examples:
  %swan hardware hw --region Quebec-CA
  %swan status {task["task_uuid"]} --watch
  %swan renew be49dc4b-... --duration 2h --yes

{var} and $var in the line are replaced by Python values. --yes pays without asking, up to
SwanMagics.max_auto_spend (or the profile's max_payment); above it the command refuses.
"""


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
    p.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits (default 300)")
    p.add_argument("--start-in", dest="start_in", type=int, default=300, help="seconds before start")
    p.add_argument("--dockerfile", action="store_true", help="the cell body is a Dockerfile (auto-detected)")
    return p


@magics_class
class OrchestratorMagics(Magics):
    """``%swan_deploy`` and ``%swan``."""

    # -- helpers ---------------------------------------------------------------------------------------------

    def _swan_config(self) -> Any:
        return self.shell.magics_manager.registry.get("SwanMagics") if self.shell else None

    def _cap(self) -> Decimal | None:
        cfg = self._swan_config()
        value = getattr(cfg, "max_auto_spend", "") if cfg is not None else ""
        return Decimal(value) if value else None

    def _auto(self, yes: bool) -> bool:
        cfg = self._swan_config()
        return yes or bool(getattr(cfg, "auto_confirm", False))

    def _store(self, var: str | None, value: Any) -> Any:
        if var:
            if not var.isidentifier():
                raise UsageError(f"{var!r} is not a valid variable name.")
            assert self.shell is not None
            self.shell.push({var: value})
            return None
        return value

    def _unattended_cap(self, amount_wei: int, orch: Any) -> Decimal:
        """The cap ``--yes`` pays within (SwanMagics.max_auto_spend, else the profile's max_payment), checked
        now against the estimate; the core checks it again, atomically, against what it signs."""
        cap = self._cap() if self._cap() is not None else orch.settings.max_payment
        if cap is None:
            raise ValidationError(
                "Paying without confirmation (--yes) needs a spending cap.",
                hint='Set one: %config SwanMagics.max_auto_spend = "10"  (SWAN), or max_payment in the profile.',
            )
        orch.payments.precheck(amount_wei, cap, cap_name="the unattended cap (--yes)")
        return Decimal(cap)

    # -- %swan_deploy ----------------------------------------------------------------------------------------

    @line_cell_magic
    def swan_deploy(self, line: str, cell: str | None = None) -> Any:  # docstring: DEPLOY_HELP (below)
        try:
            args = _deploy_parser().parse_line(line)
        except HelpShown:
            return None
        if args.form:
            from ..widgets.deploy_form import DeployForm

            return self._store(args.var, DeployForm(default_session().orchestrator()))
        if not args.hardware:
            raise UsageError("%swan_deploy: --hardware is required (or use --form).")
        from ..orchestrator.amounts import parse_duration

        body = (cell or "").strip()
        sources = [s for s in (args.repo, args.app, args.source_uri, body) if s]
        if len(sources) != 1:
            raise UsageError("%swan_deploy: give exactly one source: --repo, --app, --source-uri, or a cell body.")
        duration = parse_duration(args.duration)
        orch = default_session().orchestrator()
        quote = orch.estimate_price(args.hardware, duration)
        unattended = args.pay and self._auto(args.yes)
        cap = self._unattended_cap(quote.amount_wei, orch) if unattended else None
        is_dockerfile = args.dockerfile or looks_like_dockerfile(body)
        task = orch.create_task(
            instance_type=args.hardware, region=args.region, duration=duration, app_repo_image=args.app,
            repo_uri=args.repo, repo_branch=args.branch, job_source_uri=args.source_uri,
            deploy_yaml=body if body and not is_dockerfile else None,
            dockerfile=body if body and is_dockerfile else None, start_in=args.start_in,
        )
        if not args.pay:
            return self._store(args.var, task)
        uuid = task["task_uuid"]
        if unattended:  # bound to the estimate checked against the cap: a different answer is never paid
            receipt = orch.pay(uuid, max_payment=cap, confirmed=quote)
            task.update(receipt=receipt, tx_hash=receipt.tx_hash, tx_hash_approve=receipt.approve_tx_hash,
                        status="paid")
            if args.wait:
                info = orch.wait_until_running(uuid, timeout=args.timeout, progress=True)
                task.update(status=(info.get("task") or {}).get("status"), urls=orch.get_real_url(uuid))
            return self._store(args.var, task)
        from ..widgets.confirm import PaymentConfirmation

        widget = PaymentConfirmation(orch.quote(uuid, task=task.get("task")),
                                     lambda shown: orch.pay(uuid, confirmed=shown),
                                     on_done=lambda receipt: task.update(receipt=receipt, tx_hash=receipt.tx_hash,
                                                                         status="paid"))
        display(widget)
        return self._store(args.var, task)

    # -- %swan -----------------------------------------------------------------------------------------------

    @line_magic
    def swan(self, line: str) -> Any:  # docstring: SWAN_HELP (below)
        parser, sub = subcommand_parser("%swan", "Swan Orchestrator commands")
        p = sub.add_parser("hardware", help="the hardware catalogue as a DataFrame")
        p.add_argument("var", nargs="?")
        p.add_argument("--region", help="only hardware offered in this region")
        p.add_argument("--available", action="store_true", help="only available hardware")
        p = sub.add_parser("tasks", help="your tasks as a DataFrame")
        p.add_argument("var", nargs="?")
        p.add_argument("--page", type=int, default=1)
        p.add_argument("--size", type=int, default=20)
        p.add_argument("--all", action="store_true", help="every page")
        p = sub.add_parser("status", help="a task's deployment info (--watch: a live view)")
        p.add_argument("task")
        p.add_argument("var", nargs="?")
        p.add_argument("--watch", action="store_true", help="a live status view with Renew / Terminate")
        p = sub.add_parser("url", help="the URLs of a task's running jobs")
        p.add_argument("task")
        p = sub.add_parser("renew", help="extend a task (pays renewPayment)")
        p.add_argument("task")
        p.add_argument("--duration", default="1h")
        p.add_argument("--yes", action="store_true", help="pay without confirmation, within the cap")
        p = sub.add_parser("terminate", help="stop a task early; unused time is refunded")
        p.add_argument("task")
        p.add_argument("--yes", action="store_true", help="terminate without the confirmation widget")
        sub.add_parser("balance", help="SWAN and gas balances of the wallet")
        p = sub.add_parser("ledger", help="the payment ledger as a DataFrame")
        p.add_argument("var", nargs="?")
        p = sub.add_parser("resume", help="finish an interrupted payment of a task")
        p.add_argument("task")
        sub.add_parser("apps", help="example app images")
        try:
            args = parser.parse_line(line)
        except HelpShown:
            return None
        from ..orchestrator.amounts import parse_duration

        orch = default_session().orchestrator()
        cmd = args.subcommand
        if cmd == "hardware":
            from ..frames.orchestrator import hardware_frame

            hardware = [h for h in orch.get_hardware(refresh=True)
                        if (not args.region or h.offers(args.region)) and (not args.available or h.available)]
            return self._store(args.var, hardware_frame(hardware))
        if cmd == "tasks":
            from ..frames.orchestrator import tasks_frame

            items = orch.iter_tasks() if args.all else orch.get_task_list(page=args.page, size=args.size)["list"]
            return self._store(args.var, tasks_frame(items))
        if cmd == "status":
            if args.watch:
                from ..widgets.status import DeploymentStatus

                return self._store(args.var, DeploymentStatus(orch, args.task))
            return self._store(args.var, orch.get_deployment_info(args.task))
        if cmd == "url":
            return orch.get_real_url(args.task)
        if cmd == "renew":
            duration = parse_duration(args.duration)
            quote = orch.quote(args.task, order_type="Renewal", duration=duration)
            if self._auto(args.yes):
                cap = self._unattended_cap(quote.amount_wei, orch)
                return orch.renew_task(args.task, duration, max_payment=cap, confirmed=quote)
            import uuid as uuidlib

            from ..widgets.confirm import PaymentConfirmation

            key = uuidlib.uuid4().hex  # one renewal per widget, however many clicks
            display(PaymentConfirmation(quote, lambda shown: orch.renew_task(args.task, duration, idempotency_key=key,
                                                                             confirmed=shown)))
            return None
        if cmd == "terminate":
            if args.yes:
                return orch.terminate_task(args.task)
            from ..widgets.confirm import ConfirmAction

            display(ConfirmAction(f"Terminate task {args.task}?",
                                  {"task": args.task, "effect": "jobs stop now; unused time is refunded on chain"},
                                  lambda: orch.terminate_task(args.task), confirm_label="Terminate"))
            return None
        if cmd == "balance":
            return orch.balance()
        if cmd == "ledger":
            from ..frames.orchestrator import ledger_frame

            return self._store(args.var, ledger_frame(orch.payments.entries()))
        if cmd == "resume":
            return orch.resume_payment(args.task)
        if cmd == "apps":
            return orch.get_app_repo_image()
        raise UsageError(f"%swan: unknown subcommand {cmd!r}")


OrchestratorMagics.swan_deploy.__doc__ = DEPLOY_HELP
OrchestratorMagics.swan.__doc__ = SWAN_HELP
