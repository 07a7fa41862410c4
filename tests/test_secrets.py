"""No secret leaks: the sandbox's real secrets are planted and everything a user can see is scanned for them."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swan_jupyter.errors import SwanJupyterError
from swan_jupyter.orchestrator import Orchestrator
from swan_jupyter.session import Session, reset_default_session
from tests.helpers import Scenario, TestingShell


def secrets_of(sandbox: dict[str, Any]) -> list[str]:
    key_file = Path(sandbox["chain"]["wallet"]["private_key_file"])
    raw_key = key_file.read_text().strip()
    values = [sandbox["orchestrator"]["api_key"], raw_key, raw_key.removeprefix("0x"),
              sandbox["host"]["admin_token"]]
    for user in (sandbox.get("abaco") or {}).get("users", {}).values():
        values.append(user["token"])
    return [v for v in values if v]


def scan(texts: list[str], secrets: list[str]) -> list[str]:
    return [f"{secret[:6]}… in {text[:80]!r}" for text in texts for secret in secrets if secret in text]


def test_files_holding_secrets_are_owner_only(sandbox: dict[str, Any]) -> None:
    state = Path(sandbox["host"]["state_dir"])
    for path in (state / "sandbox.json", Path(sandbox["chain"]["wallet"]["private_key_file"])):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_nothing_visible_contains_a_secret(sandbox: dict[str, Any], ip: TestingShell,
                                           caplog: pytest.LogCaptureFixture) -> None:
    secrets = secrets_of(sandbox)
    caplog.set_level(logging.DEBUG, logger="swan_jupyter")
    reset_default_session()
    texts: list[str] = []
    ip.run_line_magic("config", 'SwanMagics.max_auto_spend = "5"')
    ip.run_line_magic("swan_deploy", "--app hello-world --hardware C1ae.small --duration 1h --yes t")
    task = ip.user_ns["t"]
    texts += [repr(task), task._repr_html_(), repr(task["receipt"]), task["receipt"]._repr_html_()]
    for line in ("hardware", "tasks", "ledger", "balance", f"status {task['task_uuid']}"):
        value = ip.run_line_magic("swan", line)
        texts += [repr(value), getattr(value, "to_html", lambda: "")()]
    config = ip.run_line_magic("swan_config", "")
    texts += [repr(config), config._repr_html_()]
    orch = Session(notify=lambda _m: None).orchestrator()
    texts += [repr(orch), repr(orch.settings), str(orch.settings.describe()), repr(orch.transport)]
    # errors: a wrong API key, a bad payment, an unknown task
    bad = Orchestrator(sandbox["orchestrator"]["url"], "sk-wrong-" + sandbox["orchestrator"]["api_key"][::-1],
                       settings=orch.settings)
    for call in (bad.get_task_list, lambda: orch.get_deployment_info("no-such-task"),
                 lambda: orch.payments.validate("0x" + "00" * 32, task["task_uuid"])):
        with pytest.raises(SwanJupyterError) as info:
            call()
        texts += [str(info.value), repr(info.value), "\n".join(info.value.summary_lines())]
    # widgets: their synced state is what a saved notebook would keep
    from swan_jupyter.widgets.confirm import PaymentConfirmation
    from swan_jupyter.widgets.deploy_form import DeployForm

    form = DeployForm(orch, background=False)
    texts.append(str(form.widget.get_state()))
    widget = PaymentConfirmation(orch.estimate_price("C1ae.small", 3600), lambda _quote: None, background=False)
    texts += [str(widget.widget.get_state()), str(widget.review.get_state())]
    # the ledger file and the log records
    texts.append(Path(orch.settings.ledger_file).read_bytes().decode("latin-1"))
    texts += [r.getMessage() for r in caplog.records]
    leaks = scan(texts, secrets)
    assert leaks == [], leaks
    assert len(texts) > 20


def test_the_scanner_finds_a_planted_secret(sandbox: dict[str, Any]) -> None:
    secrets = secrets_of(sandbox)
    assert len(secrets) >= 5  # API key, private key (two spellings), admin token, user tokens
    for secret in secrets:
        assert scan(["output: " + secret + " (leaked)"], secrets), secret[:6]
    assert scan(["nothing to see"], secrets) == []


class _Keep(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def shown(texts: list[str], value: Any) -> None:
    """What a notebook shows of ``value``: its repr, str and HTML renderings."""
    texts.extend([repr(value), str(value)])
    for method in ("_repr_html_", "to_html"):
        if hasattr(value, method):
            texts.append(getattr(value, method)())


@pytest.fixture(scope="class")
def actor_side(sandbox: dict[str, Any]) -> Iterator[Scenario]:
    """TestTheActorSideShowsNoTokenAndNoNonce's world: a client, its actor (deleted at the end) with a READ nonce,
    the nonce ids the steps make, and every ``swan_jupyter`` log record from here to the end (at DEBUG)."""
    keep, logger = _Keep(), logging.getLogger("swan_jupyter")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(keep)
    reset_default_session()
    client = Session(notify=lambda _m: None).actors()
    aid = str(client.add({"image": "abacosamples/wc", "name": "secret-scan"}).id)
    try:
        read = str(client.add_nonce(aid, level="READ").id)
        yield Scenario(client=client, aid=aid, read_nonce=read, nonce_ids=[read], records=keep.records)
    finally:
        client.delete(aid)
        logging.getLogger().removeHandler(keep)
        logger.setLevel(level)


class TestTheActorSideShowsNoTokenAndNoNonce:
    """Abaco tokens and nonce ids (credentials) stay out of magics' outputs, frames, reprs, errors, widgets, logs:
    one surface per test (each scans for the nonce ids made so far; the last scans every log record)."""

    def test_client_reprs(self, sandbox: dict[str, Any], actor_side: Scenario) -> None:
        client = actor_side["client"]
        texts = [repr(client), repr(client.transport)]
        assert scan(texts, [*secrets_of(sandbox), *actor_side["nonce_ids"]]) == []

    def test_magic_outputs(self, sandbox: dict[str, Any], ip: TestingShell, actor_side: Scenario) -> None:
        aid = actor_side["aid"]
        nonce = ip.run_line_magic("actors", f"add-nonce {aid} --level EXECUTE --max-uses 5")
        actor_side["nonce_ids"].append(str(nonce.id))
        texts: list[str] = []
        for line in ("list", f"get {aid}", f"nonces {aid}", f"permissions {aid}", f"executions {aid}", "aliases"):
            shown(texts, ip.run_line_magic("actors", line))
        leaks = scan(texts, [*secrets_of(sandbox), *actor_side["nonce_ids"]])
        assert leaks == [], leaks
        assert len(texts) >= 12

    def test_a_sent_message_and_its_logs(self, sandbox: dict[str, Any], ip: TestingShell,
                                         actor_side: Scenario) -> None:
        aid = actor_side["aid"]
        texts: list[str] = []
        ex = ip.run_cell_magic("actor_send", aid, "one two three\n")
        ex.wait(timeout=30)
        shown(texts, ex)
        shown(texts, ip.run_line_magic("actors", f"logs {aid} {ex.id}"))
        leaks = scan(texts, [*secrets_of(sandbox), *actor_side["nonce_ids"]])
        assert leaks == [], leaks
        assert len(texts) >= 4

    def test_a_nonce_client_and_errors(self, sandbox: dict[str, Any], actor_side: Scenario) -> None:
        """A nonce client's own repr and errors: a refused level, a used-up nonce, a wrong token."""
        from swan_jupyter.actors import Actors

        client, aid = actor_side["client"], actor_side["aid"]
        by_nonce = client.with_nonce(actor_side["read_nonce"])
        texts = [repr(by_nonce)]
        wrong = Actors(sandbox["abaco"]["url"], token=sandbox["abaco"]["users"]["user"]["token"][::-1])
        for call in (lambda: by_nonce.send_message(aid, "needs EXECUTE"), lambda: wrong.list(),
                     lambda: client.with_nonce("DEV_notanonce0000").get(aid)):
            with pytest.raises(SwanJupyterError) as info:
                call()
            texts += [str(info.value), repr(info.value), "\n".join(info.value.summary_lines())]
        leaks = scan(texts, [*secrets_of(sandbox), *actor_side["nonce_ids"]])
        assert leaks == [], leaks
        assert len(texts) == 10

    def test_widget_state(self, sandbox: dict[str, Any], actor_side: Scenario) -> None:
        from ipywidgets.embed import embed_data

        from swan_jupyter.widgets.explorer import ExecutionExplorer
        from swan_jupyter.widgets.message_form import ActorMessageForm

        form = ActorMessageForm(actor_side["client"], background=False, wait_timeout=60)
        form.actor.value = actor_side["aid"]
        form.message.value = "four five"
        form.send()
        explorer = ExecutionExplorer(actors=actor_side["client"], background=False)
        texts = [str(embed_data(views=[form.widget, explorer.widget])["manager_state"])]
        assert scan(texts, [*secrets_of(sandbox), *actor_side["nonce_ids"]]) == []

    def test_log_records(self, sandbox: dict[str, Any], actor_side: Scenario) -> None:
        texts = [r.getMessage() for r in actor_side["records"]]
        leaks = scan(texts, [*secrets_of(sandbox), *actor_side["nonce_ids"]])
        assert leaks == [], leaks
        assert len(texts) >= 10  # every request of the steps above is logged at DEBUG


def test_every_secret_the_client_handles_is_registered_and_nothing_else_is_masked(sandbox: dict[str, Any]) -> None:
    """Redaction is by registered value only (issue 11 item 7): each credential is registered where it enters,
    and transaction hashes, addresses and ids stay readable."""
    from swan_jupyter.redact import MASK, redact

    reset_default_session()
    session = Session(notify=lambda _m: None)
    orch = session.orchestrator()
    orch.login()
    orch.payer()  # loads the wallet key from the sandbox's key file
    actors = session.actors()
    aid = str(actors.add({"image": "abacosamples/wc", "name": "registry-check"}).id)
    try:
        nonce_id = str(actors.add_nonce(aid, level="READ").id)
        listed = [str(n.id) for n in actors.list_nonces(aid)]
    finally:
        actors.delete(aid)
    # the sandbox host's admin token and the other users' tokens never reach this client: not in the list
    user_token = sandbox["abaco"]["users"][session.settings.sandbox_user]["token"]
    handled = [sandbox["orchestrator"]["api_key"], user_token, *secrets_of(sandbox)[1:3], nonce_id, *listed]
    for value in handled:
        assert redact(f"<{value}>") == f"<{MASK}>", value[:6]
    # the login token, as the client's transport puts it on every request (its auth object applied to one)
    import requests
    from requests.auth import AuthBase

    auth = orch.transport.session.auth
    assert isinstance(auth, AuthBase)  # logged in
    token = auth(requests.Request("GET", orch.url).prepare()).headers["Authorization"].removeprefix("Bearer ")
    assert token and redact(token) == MASK
    tx = "0x" + "7f" * 32
    wallet = str(sandbox["chain"]["wallet"]["address"])
    for visible in (tx, tx.upper(), wallet, aid, "task-" + "1" * 30):
        assert redact(f"see {visible}") == f"see {visible}"


def test_log_records_of_every_package_logger_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    """The filter on ``swan_jupyter`` does not see records of child loggers (logging only runs the filters of
    the logger a record was made on), so masking must happen for ``swan_jupyter.*`` too, tracebacks included."""
    from swan_jupyter.redact import Secret

    secret = Secret("log-secret-" + "z" * 12).reveal()
    caplog.set_level(logging.DEBUG, logger="swan_jupyter")
    for name in ("swan_jupyter", "swan_jupyter.keys", "swan_jupyter.widgets.deep"):
        try:
            raise ValueError(f"failed with {secret}")
        except ValueError:
            logging.getLogger(name).exception("while using %s", secret)
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) == 3 and "failed with *****" in caplog.text
    assert secret not in text, text


def test_short_ids_keep_their_tail_when_masked() -> None:
    """A masked id keeps its last 4 characters whenever they are less than half of it (nonce ids can be short)."""
    from swan_jupyter.redact import MASK, mask

    assert mask("TACC_abcdEFGH12", keep=4) == MASK + "GH12"
    assert mask("abcdefghi", keep=4) == MASK + "fghi"
    assert mask("abcdefgh", keep=4) == MASK  # a tail of half or more would give too much away


# -- issue 20 item 7: every attribute of every error, and short secrets ---------------------------------------------


def _texts_in(value: Any, depth: int = 0) -> list[str]:
    """Every string inside ``value`` (dicts' keys and values, lists, tuples, bytes), for a leak scan."""
    if depth > 20:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes | bytearray):
        return [bytes(value).decode("utf-8", "replace")]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts_in(k, depth + 1), *_texts_in(v, depth + 1))]
    if isinstance(value, list | tuple | set | frozenset):
        return [t for v in value for t in _texts_in(v, depth + 1)]
    return []


def _everything_in(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), *_texts_in(exc.args), *_texts_in(vars(exc))]


def test_a_remote_errors_payload_is_masked() -> None:
    """An Abaco server that echoes the token back in its error body: the decoded body (``payload``) kept on the
    RemoteError is masked like its message."""
    from swan_jupyter.actors import Actors
    from swan_jupyter.errors import RemoteError
    from tests.helpers import Scripted, ScriptedServer

    token = "echoed-token-" + "q" * 16
    body = {"status": "error", "message": f"token {token} is invalid", "version": "1.0",
            "result": {"token": token, "seen": [token, {token: "as a key"}], "raw": f"Bearer {token}"}}
    with ScriptedServer() as server:
        server.queue.append(Scripted(400, body))
        client = Actors(server.url, token=token, flavor="v3", retries=0)
        with pytest.raises(RemoteError) as info:
            client.list()
    leaks = [t for t in _everything_in(info.value) if token in t]
    assert leaks == [], leaks
    assert info.value.payload["result"]["seen"][0] == "*****"  # the shape is kept, the value masked


def test_no_attribute_of_any_error_class_keeps_a_registered_secret() -> None:
    from swan_jupyter import errors
    from swan_jupyter.redact import Secret

    secret = Secret("attr-secret-" + "w" * 14).reveal()
    made = [
        errors.TransportError(f"m {secret}", method=secret, url=f"https://h/?k={secret}", hint=secret),
        errors.UnknownOutcomeError("m", method="POST", url=secret, check=f"look for {secret}"),
        errors.RemoteError("m", status=400, server_message=secret, method=secret, path=secret,
                           payload={"a": [secret, (secret,), {secret: secret.encode()}]}),
        errors.ProtocolError("m", payload=[secret]),
        errors.PaymentError("m", state=secret, tx_hashes=[secret], task_uuid=secret),
        errors.QuoteChangedError("m", quote={"hardware": secret}, task_uuid=secret),
        errors.RemoteFunctionError("m", execution_id=secret, actor_id=secret, remote_type=secret,
                                   remote_message=secret, remote_traceback=secret, log_tail=secret),
        errors.ConfigurationError(secret, hint=secret), errors.ValidationError(secret),
    ]
    for exc in made:
        leaks = [t for t in _everything_in(exc) if secret in t]
        assert leaks == [], (type(exc).__name__, leaks)


def test_short_secrets_are_registered_and_masked_as_whole_tokens() -> None:
    """Issue 20 item 7: secrets of fewer than 6 characters were never registered, so never masked. They are now,
    but only where they stand as a whole token (not inside a longer run of letters and digits), so a 4-character
    nonce id cannot garble ordinary words."""
    from swan_jupyter.redact import MASK, Secret, is_registered, redact

    short, five = Secret("q7zv").reveal(), Secret("k9x2q").reveal()
    assert is_registered(short) and is_registered(five)
    assert redact("token q7zv refused") == f"token {MASK} refused"
    assert redact("Authorization: Bearer q7zv") == f"Authorization: Bearer {MASK}"
    assert redact("https://h/actors?x-nonce=q7zv&k=1") == f"https://h/actors?x-nonce={MASK}&k=1"
    assert redact('{"token": "k9x2q"}') == f'{{"token": "{MASK}"}}'
    assert redact("q7zv\nk9x2q") == f"{MASK}\n{MASK}"
    for untouched in ("aq7zvb", "q7zv9", "Xk9x2q", "k9x2qs", "q7z"):
        assert redact(untouched) == untouched


def test_an_absurdly_short_credential_is_refused_at_configuration() -> None:
    """A credential of 1 to 3 characters is no real key or token, and masking it (even as a whole token) would hide
    every standalone 'a' or 'id' in the output: it is refused, naming its length, never its value."""
    from swan_jupyter.config import load_settings
    from swan_jupyter.errors import ConfigurationError

    for value in ("x", "ab", "x1y"):
        with pytest.raises(ConfigurationError, match="too short") as info:
            load_settings(profile="sandbox", api_key=value)
        assert f"{len(value)} character" in info.value.message and "api_key" in info.value.message
        assert value not in info.value.message.replace("api_key", "").replace("character", "")


def test_a_transport_error_does_not_keep_the_request_that_carried_a_nonce() -> None:
    """``raise ... from None`` hides the requests exception from tracebacks but keeps it as ``__context__``, and
    that exception keeps the prepared request, whose URL carries ``x-nonce=<id>`` unmasked."""
    from swan_jupyter.actors import Actors
    from swan_jupyter.errors import TransportError

    nonce = "DEV_context_nonce_" + "n" * 8
    client = Actors("http://127.0.0.1:9", nonce=nonce, flavor="v3", retries=0)  # a closed loopback port
    with pytest.raises(TransportError) as info:
        client.message_count("a1")
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert [t for t in _everything_in(info.value) if nonce in t] == []
