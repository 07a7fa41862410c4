"""``%%actor_send`` and ``%actors`` through a real IPython shell against the sandbox's Abaco emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError

from swan_jupyter.actors import Actor, Execution, Nonce
from swan_jupyter.errors import NotFoundError, PermissionDeniedError, ValidationError
from swan_jupyter.frames import actors as frames

SUBCOMMANDS = ["list", "get", "create", "update", "delete", "state", "permissions", "grant", "workers",
               "add-workers", "nonces", "add-nonce", "executions", "logs", "results", "metrics", "aliases",
               "search", "form", "explore", "map"]


@pytest.fixture(params=["v2", "v3"])
def shell(request: pytest.FixtureRequest, ip: Any, sandbox: dict[str, Any]) -> Iterator[Any]:
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


def test_create_send_and_inspect(shell: Any) -> None:
    ip = shell
    ip.run_line_magic("actors", "create --image abacosamples/test --name magic-echo --env MODE=fast a")
    actor = ip.user_ns["a"]
    assert isinstance(actor, Actor) and actor.default_environment == {"MODE": "fast"}
    ip.user_ns["aid"] = actor.id
    ip.user_ns["run"] = "r42"
    # The line is expanded ({aid}, $run); the body is not: "$aid" and {braces} arrive literally.
    assert ip.run_cell_magic("actor_send", "{aid} ex --env RUN=$run", '{"n": "$aid", "t": "{x}"}') is None
    ex = ip.user_ns["ex"]
    assert isinstance(ex, Execution) and ex.actor_id == actor.id
    logs = ex.wait(timeout=30).logs()
    assert "$aid" in logs and "{x}" in logs and "r42" in logs
    text_ex = ip.run_cell_magic("actor_send", "{aid} --text", '{"looks": "like json"}')
    assert isinstance(text_ex, Execution)
    assert "application/json" not in text_ex.wait(timeout=30).logs().split("_abaco_Content_Type")[-1][:30]
    ip.user_ns["payload"] = bytearray(b"\x00\x01\x02")
    bex = ip.run_cell_magic("actor_send", "{aid} --binary", "$payload")
    assert isinstance(bex, Execution) and bex.wait(timeout=30).info is not None
    answer: Any = ip.run_cell_magic("actor_send", "{aid} --sync --timeout 30 --text", "hello sync")
    assert isinstance(answer, str) and "hello sync" in answer and "<pre" in answer._repr_html_()
    assert ip.run_cell_magic("actor_send", "{aid} out --sync --timeout 30", "stored") is None
    assert "stored" in ip.user_ns["out"]
    with pytest.raises(ValidationError):
        ip.run_cell_magic("actor_send", "{aid} --env _abaco_x=1", "hi")
    with pytest.raises(UsageError):
        ip.run_cell_magic("actor_send", "{aid} --json", "not json")
    with pytest.raises(UsageError):
        ip.run_cell_magic("actor_send", "{aid} --binary", "$no_such_variable")
    with pytest.raises(NotFoundError):
        ip.run_cell_magic("actor_send", "no-such-alias-anywhere", "hi")

    df = ip.run_line_magic("actors", "list")
    assert isinstance(df, pd.DataFrame) and actor.id in set(df["id"])
    assert ip.run_line_magic("actors", "list listed") is None and actor.id in set(ip.user_ns["listed"]["id"])
    assert ip.run_line_magic("actors", "get {aid}").id == actor.id
    ex_df = ip.run_line_magic("actors", "executions {aid}")
    assert ex.id in set(ex_df["execution_id"]) and str(ex_df["status"].dtype) == "category"
    shown: Any = ip.run_line_magic("actors", f"logs {actor.id} {ex.id}")
    assert isinstance(shown, str) and "r42" in shown and "<pre" in shown._repr_html_()
    results = ip.run_line_magic("actors", f"results {actor.id} {ex.id}")
    assert results == [] and "0 result(s)" in repr(results)
    ip.run_line_magic("actors", "metrics --actor {aid} m")
    m = ip.user_ns["m"]
    assert list(m.columns) == [c.name for c in frames.EXECUTION_COLUMNS] and len(m) >= 4
    assert ip.run_line_magic("actors", "metrics --filter name=magic-echo --method details") is not None
    perms = ip.run_line_magic("actors", "permissions {aid}")
    assert "UPDATE" in set(perms["level"].astype(str))
    nonce = ip.run_line_magic("actors", "add-nonce {aid} --level READ --max-uses 3")
    assert isinstance(nonce, Nonce) and nonce.max_uses == 3 and str(nonce.id) not in repr(nonce)
    nonces = ip.run_line_magic("actors", "nonces {aid}")
    assert len(nonces) >= 1 and str(nonces["max_uses"].dtype) == "Int64"
    updated = ip.run_line_magic("actors", "update {aid} --description changed")
    assert updated.description == "changed" and updated.default_environment == {"MODE": "fast"}
    with pytest.raises(UsageError):
        ip.run_line_magic("actors", "update {aid}")
    assert isinstance(ip.run_line_magic("actors", "aliases"), pd.DataFrame)
    found = ip.run_line_magic("actors", "search actors name=magic-echo --limit 5")
    assert actor.id in set(found["id"]) and found.attrs["total_count"] >= 1
    assert ip.run_line_magic("actors", "search executions actor_id={aid} hits --limit 50") is None
    assert set(ip.user_ns["hits"]["actor_id"]) == {actor.id}
    assert ip.run_line_magic("actors", "workers {aid}") is not None
    assert ip.run_line_magic("actors", "delete {aid}") is None
    with pytest.raises((NotFoundError, PermissionDeniedError)):
        ip.run_line_magic("actors", "get {aid}")


def test_stateful_actor_state_and_grants(shell: Any, sandbox: dict[str, Any]) -> None:
    ip = shell
    actor = ip.run_line_magic("actors", "create --image abacosamples/test --stateful")
    ip.user_ns["sid"] = actor.id
    assert ip.run_line_magic("actors", "state {sid} --set '{{\"count\": 2}}'") == {"count": 2}
    assert ip.run_line_magic("actors", "state {sid}") == {"count": 2}
    with pytest.raises(UsageError):
        ip.run_line_magic("actors", "state {sid} --set notjson")
    user2 = sandbox["abaco"]["users"]["user2"]["username"]
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
