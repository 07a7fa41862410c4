"""``%%actor_send`` and ``%actors`` through a real IPython shell against the sandbox's Abaco emulator."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError

from swan_jupyter.actors import Actor, Execution, Nonce
from swan_jupyter.errors import NotFoundError, PermissionDeniedError, SwanJupyterError, ValidationError
from swan_jupyter.frames import actors as frames
from tests.helpers import Scenario

SUBCOMMANDS = ["list", "get", "create", "update", "delete", "state", "permissions", "grant", "workers",
               "add-workers", "nonces", "add-nonce", "executions", "logs", "results", "metrics", "aliases",
               "search", "form", "explore", "map"]


@pytest.fixture(params=["v2", "v3"])
def shell(request: pytest.FixtureRequest, ip: Any, abaco_sandbox: dict[str, Any]) -> Iterator[Any]:
    """The shell on the sandbox profile, talking to the v2 or the v3 prefix of the emulator."""
    from swan_jupyter.session import default_session

    session = default_session()
    session.configure(abaco_flavor=request.param)
    try:
        assert session.actors().flavor == request.param
        yield ip
    finally:
        session.configure(abaco_flavor=None)


def test_help_never_calls_the_server(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_cell_magic("actor_send", "--help", "x") is None
    assert ip.run_line_magic("actors", "--help") is None
    for sub in SUBCOMMANDS:
        assert ip.run_line_magic("actors", f"{sub} --help") is None
    out = capsys.readouterr().out
    assert "--binary" in out and "--image" in out and "is never" in out and "expanded" in out
    with pytest.raises(UsageError):
        ip.run_line_magic("actors", "no-such-subcommand")
    with pytest.raises(UsageError):
        ip.run_line_magic("actors", "get")  # missing ACTOR
    with pytest.raises(UsageError):
        ip.run_cell_magic("actor_send", "A --env NOEQUALS", "hi")
    with pytest.raises(UsageError):
        ip.run_cell_magic("actor_send", "A --json --text", "hi")
    with pytest.raises(UsageError):
        ip.run_cell_magic("actor_send", "A --binary --json", "hi")


@pytest.fixture(scope="class", params=["v2", "v3"])
def story(request: pytest.FixtureRequest, abaco_sandbox: dict[str, Any]) -> Iterator[Scenario]:
    """The state of one TestCreateSendAndInspect run (a flavor): the actor and what was sent to it."""
    story = Scenario(flavor=request.param)
    yield story
    if "actor" in story and "deleted" not in story:  # the delete step failed or did not run
        from swan_jupyter.session import Session

        session = Session(notify=lambda _m: None)
        with contextlib.suppress(SwanJupyterError):
            session.actors().delete(str(story["actor"].id))
        session.close()


class TestCreateSendAndInspect:
    """One actor through the magics, step by step, on each flavor: ``%actors create``, ``%%actor_send`` every
    way, every inspection, update and delete. Each step is a test; later steps use what earlier ones made."""

    @pytest.fixture
    def ip(self, ip: Any, story: Scenario) -> Iterator[Any]:
        """The shell on the sandbox profile and the story's flavor, with ``aid`` set once the actor exists."""
        from swan_jupyter.session import default_session

        session = default_session()
        session.configure(abaco_flavor=story["flavor"])
        try:
            assert session.actors().flavor == story["flavor"]
            if "actor" in story:
                ip.user_ns["aid"] = story["actor"].id
            yield ip
        finally:
            session.configure(abaco_flavor=None)

    def test_create(self, ip: Any, story: Scenario) -> None:
        ip.run_line_magic("actors", "create --image abacosamples/test --name magic-echo --env MODE=fast a")
        actor = ip.user_ns["a"]
        story["actor"] = actor
        assert isinstance(actor, Actor) and actor.default_environment == {"MODE": "fast"}

    def test_send_expands_the_line_not_the_body(self, ip: Any, story: Scenario) -> None:
        actor = story.need("actor")
        ip.user_ns["run"] = "r42"
        # The line is expanded ({aid}, $run); the body is not: "$aid" and {braces} arrive literally.
        assert ip.run_cell_magic("actor_send", "{aid} ex --env RUN=$run", '{"n": "$aid", "t": "{x}"}') is None
        ex = ip.user_ns["ex"]
        assert isinstance(ex, Execution) and ex.actor_id == actor.id
        story["ex"] = ex
        logs = ex.wait(timeout=30).logs()
        assert "$aid" in logs and "{x}" in logs and "r42" in logs

    def test_send_text(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        text_ex = ip.run_cell_magic("actor_send", "{aid} --text", '{"looks": "like json"}')
        assert isinstance(text_ex, Execution)
        assert "application/json" not in text_ex.wait(timeout=30).logs().split("_abaco_Content_Type")[-1][:30]

    def test_send_binary_from_a_variable(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        ip.user_ns["payload"] = bytearray(b"\x00\x01\x02")
        bex = ip.run_cell_magic("actor_send", "{aid} --binary", "$payload")
        assert isinstance(bex, Execution) and bex.wait(timeout=30).info is not None

    def test_send_sync_returns_the_answer(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        answer: Any = ip.run_cell_magic("actor_send", "{aid} --sync --timeout 30 --text", "hello sync")
        assert isinstance(answer, str) and "hello sync" in answer and "<pre" in answer._repr_html_()

    def test_send_sync_into_a_variable(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        assert ip.run_cell_magic("actor_send", "{aid} out --sync --timeout 30", "stored") is None
        assert "stored" in ip.user_ns["out"]

    @pytest.mark.parametrize(("line", "body", "error"), [
        ("{aid} --env _abaco_x=1", "hi", ValidationError),
        ("{aid} --json", "not json", UsageError),
        ("{aid} --binary", "$no_such_variable", UsageError),
        ("no-such-alias-anywhere", "hi", NotFoundError),
    ], ids=["reserved-env", "not-json", "no-such-variable", "no-such-actor"])
    def test_send_refuses(self, ip: Any, story: Scenario, line: str, body: str, error: type[Exception]) -> None:
        story.need("actor")
        with pytest.raises(error):
            ip.run_cell_magic("actor_send", line, body)

    def test_list(self, ip: Any, story: Scenario) -> None:
        actor = story.need("actor")
        df = ip.run_line_magic("actors", "list")
        assert isinstance(df, pd.DataFrame) and actor.id in set(df["id"])
        assert ip.run_line_magic("actors", "list listed") is None and actor.id in set(ip.user_ns["listed"]["id"])

    def test_get(self, ip: Any, story: Scenario) -> None:
        actor = story.need("actor")
        assert ip.run_line_magic("actors", "get {aid}").id == actor.id

    def test_executions(self, ip: Any, story: Scenario) -> None:
        ex = story.need("ex")
        ex_df = ip.run_line_magic("actors", "executions {aid}")
        assert ex.id in set(ex_df["execution_id"]) and str(ex_df["status"].dtype) == "category"

    def test_logs(self, ip: Any, story: Scenario) -> None:
        actor, ex = story.need("actor"), story.need("ex")
        shown: Any = ip.run_line_magic("actors", f"logs {actor.id} {ex.id}")
        assert isinstance(shown, str) and "r42" in shown and "<pre" in shown._repr_html_()

    def test_results(self, ip: Any, story: Scenario) -> None:
        actor, ex = story.need("actor"), story.need("ex")
        results = ip.run_line_magic("actors", f"results {actor.id} {ex.id}")
        assert results == [] and "0 result(s)" in repr(results)

    def test_metrics(self, ip: Any, story: Scenario) -> None:
        story.need("ex")
        ip.run_line_magic("actors", "metrics --actor {aid} m")
        m = ip.user_ns["m"]
        assert list(m.columns) == [c.name for c in frames.EXECUTION_COLUMNS] and len(m) >= 4

    def test_metrics_by_name(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        assert ip.run_line_magic("actors", "metrics --filter name=magic-echo --method details") is not None

    def test_permissions(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        perms = ip.run_line_magic("actors", "permissions {aid}")
        assert "UPDATE" in set(perms["level"].astype(str))

    def test_add_nonce(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        nonce = ip.run_line_magic("actors", "add-nonce {aid} --level READ --max-uses 3")
        assert isinstance(nonce, Nonce) and nonce.max_uses == 3 and str(nonce.id) not in repr(nonce)
        story["nonce"] = nonce

    def test_nonces(self, ip: Any, story: Scenario) -> None:
        story.need("nonce")
        nonces = ip.run_line_magic("actors", "nonces {aid}")
        assert len(nonces) >= 1 and str(nonces["max_uses"].dtype) == "Int64"

    def test_update(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        updated = ip.run_line_magic("actors", "update {aid} --description changed")
        assert updated.description == "changed" and updated.default_environment == {"MODE": "fast"}

    def test_update_without_a_change_is_refused(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        with pytest.raises(UsageError):
            ip.run_line_magic("actors", "update {aid}")

    def test_aliases(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        assert isinstance(ip.run_line_magic("actors", "aliases"), pd.DataFrame)

    def test_configs_listing_masks_secret_values(self, ip: Any, story: Scenario) -> None:
        """Issue 22: ``%actors configs`` lists the tenant's actor configs; a secret's value is masked."""
        from swan_jupyter.session import default_session

        actor = story.need("actor")
        client = default_session().actors()
        client.create_config("magic_cfg", "visible", actors=[actor.id])
        client.create_config("magic_secret", "do-not-show-me", actors=[actor.id], is_secret=True)
        try:
            assert ip.run_line_magic("actors", "configs cf") is None
            frame = ip.user_ns["cf"].set_index("name")
            assert frame.loc["magic_cfg", "value"] == "visible" and frame.loc["magic_cfg", "actors"] == [actor.id]
            assert bool(frame.loc["magic_secret", "is_secret"]) and "do-not-show-me" not in frame.to_string()
        finally:
            client.delete_config("magic_cfg")
            client.delete_config("magic_secret")

    def test_search_actors(self, ip: Any, story: Scenario) -> None:
        actor = story.need("actor")
        found = ip.run_line_magic("actors", "search actors name=magic-echo --limit 5")
        assert actor.id in set(found["id"]) and found.attrs["total_count"] >= 1

    def test_search_executions_into_a_variable(self, ip: Any, story: Scenario) -> None:
        actor = story.need("actor")
        assert ip.run_line_magic("actors", "search executions actor_id={aid} hits --limit 50") is None
        assert set(ip.user_ns["hits"]["actor_id"]) == {actor.id}

    def test_workers(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        assert ip.run_line_magic("actors", "workers {aid}") is not None

    def test_delete(self, ip: Any, story: Scenario) -> None:
        story.need("actor")
        assert ip.run_line_magic("actors", "delete {aid}") is None
        story["deleted"] = True
        with pytest.raises((NotFoundError, PermissionDeniedError)):
            ip.run_line_magic("actors", "get {aid}")


def test_stateful_actor_state_and_grants(shell: Any, abaco_sandbox: dict[str, Any]) -> None:
    ip = shell
    actor = ip.run_line_magic("actors", "create --image abacosamples/test --stateful")
    ip.user_ns["sid"] = actor.id
    assert ip.run_line_magic("actors", "state {sid} --set '{{\"count\": 2}}'") == {"count": 2}
    assert ip.run_line_magic("actors", "state {sid}") == {"count": 2}
    with pytest.raises(UsageError):
        ip.run_line_magic("actors", "state {sid} --set notjson")
    user2 = abaco_sandbox["abaco"]["users"]["user2"]["username"]
    table = ip.run_line_magic("actors", f"grant {actor.id} {user2} EXECUTE")
    assert dict(zip(table["user"], table["level"].astype(str), strict=True))[user2] == "EXECUTE"
    from swan_jupyter.session import default_session

    default_session().configure(sandbox_user="user")  # the magics now act as an ordinary user
    try:
        with pytest.raises(PermissionDeniedError):
            ip.run_line_magic("actors", "add-workers {sid} 1")  # admins only
    finally:
        default_session().configure(sandbox_user=None)
    ip.run_line_magic("actors", "delete {sid}")


def test_displaylimit_bounds_the_displayed_listing(ip: Any, abaco_sandbox: dict[str, Any]) -> None:
    """Issue 23 §4: ``SwanMagics.displaylimit`` was validated and read by nothing. A listing frame now displays at
    most that many rows and says how many were left out and how to see them all; the frame itself stays whole."""
    from swan_jupyter.session import default_session

    client = default_session().actors()
    actor = client.add({"image": "abacosamples/test", "name": "displaylimit"})
    names = [f"limit_cfg_{i}" for i in range(4)]
    for name in names:
        client.create_config(name, "v", actors=[str(actor.id)])
    try:
        ip.run_line_magic("config", "SwanMagics.displaylimit = 2")
        frame = ip.run_line_magic("actors", "configs")
        total = len(frame)
        assert total >= 4 and set(names) <= set(frame["name"])  # the whole frame is returned
        data, _meta = ip.display_formatter.format(frame)
        for text in (data["text/plain"], data["text/html"]):
            shown = [name for name in frame["name"] if name in text]
            assert shown == list(frame["name"][:2]), text
            assert f"2 of {total} rows" in text and f"{total - 2} left out" in text
            assert "SwanMagics.displaylimit = 0" in text
        assert ip.run_line_magic("actors", "configs cf") is None  # a frame kept in VAR displays the same way
        assert f"2 of {total} rows" in ip.display_formatter.format(ip.user_ns["cf"])[0]["text/plain"]
        plain = pd.DataFrame({"name": names})  # a frame the user made is the user's business
        assert all(name in ip.display_formatter.format(plain)[0]["text/plain"] for name in names)
        ip.run_line_magic("config", "SwanMagics.displaylimit = 0")  # 0: no limit, pandas' own display
        text = ip.display_formatter.format(frame)[0]["text/plain"]
        assert all(name in text for name in names) and "left out" not in text
    finally:
        for name in names:
            client.delete_config(name)
        client.delete(str(actor.id))
