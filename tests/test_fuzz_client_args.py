"""Property-based: any argument to the public client calls ends in a result or a ``SwanJupyterError`` that names
the problem, never another exception and never a hang. Against the real sandbox over loopback; no payment is
ever made (only calls that cannot pay are fuzzed). The last test checks the case counts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Context, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swan_jupyter.actors import Actors
from swan_jupyter.errors import SwanJupyterError
from swan_jupyter.orchestrator import Orchestrator
from swan_jupyter.orchestrator.amounts import parse_duration, swan_to_wei, to_decimal
from swan_jupyter.session import Session
from tests.helpers import new_task

CASES: Counter[str] = Counter()
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Texts that tend to break things: path tricks, encodings, control characters, huge and empty values.
NASTY = st.sampled_from(["", " ", "..", "../..", "a/b", "%2F", "%00", "?x=1", "#frag", "\x00", "\u202e", "é",
                         "x" * 5000, "None", "null", "-1", "0", "1e309", "NaN", "DEV_pYG5mr4pPXXbZ", "ABACO_WORLD"])
TEXT = st.one_of(NASTY, st.text(max_size=40))
NUMBER = st.one_of(st.integers(min_value=-(10**30), max_value=10**30),
                   st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=True, allow_infinity=True))
ANYTHING = st.one_of(TEXT, NUMBER, st.none(), st.booleans(), st.binary(max_size=64),
                     st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                                          max_size=3))
JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT),
                       lambda inner: st.one_of(st.lists(inner, max_size=4),
                                               st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                       max_leaves=12)


def outcome(call: Callable[[], Any], name: str) -> Any:
    """Run ``call``; a SwanJupyterError must explain itself; anything else but a result fails the test."""
    CASES["n"] += 1
    try:
        result = call()
    except SwanJupyterError as exc:
        text = str(exc)
        assert text.strip() and "Traceback" not in text, (name, text)
        CASES[f"{name}:error"] += 1
        return None
    CASES[f"{name}:ok"] += 1
    return result


@pytest.fixture(scope="module")
def actors(sandbox: dict[str, Any]) -> Iterator[Actors]:
    abaco = sandbox["abaco"]
    client = Actors(abaco["url"], token=abaco["users"]["user"]["token"], flavor="v3", tenant=abaco.get("tenant"),
                    read_timeout=30)
    yield client
    client.close()


@pytest.fixture(scope="module")
def actor_id(actors: Actors) -> Iterator[str]:
    aid = str(actors.add({"image": "abacosamples/test", "name": "fuzz-args", "stateless": False}).id)
    yield aid
    actors.delete(aid)


@pytest.fixture(scope="module")
def orch(sandbox: dict[str, Any]) -> Orchestrator:
    return Session(notify=lambda _m: None).orchestrator()


@SETTINGS
@given(ident=TEXT, which=st.sampled_from(["get", "list_executions", "message_count", "list_nonces",
                                          "get_state", "list_workers", "get_execution", "get_logs"]))
def test_any_actor_or_execution_id(actors: Actors, actor_id: str, ident: str, which: str) -> None:
    calls: dict[str, Callable[[], Any]] = {
        "get": lambda: actors.get(ident), "list_executions": lambda: actors.list_executions(ident),
        "message_count": lambda: actors.message_count(ident), "list_nonces": lambda: actors.list_nonces(ident),
        "get_state": lambda: actors.get_state(ident), "list_workers": lambda: actors.list_workers(ident),
        "get_execution": lambda: actors.get_execution(actor_id, ident),
        "get_logs": lambda: actors.get_logs(actor_id, ident),
    }
    result = outcome(calls[which], "ids")
    if which == "get" and result is not None:
        assert result.id == ident  # an odd id never reaches another actor (no path tricks)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(message=st.one_of(JSONISH, ANYTHING, st.just(object()), st.just({1, 2}), st.just(math.nan)),
       environment=st.one_of(st.none(), st.dictionaries(TEXT, ANYTHING, max_size=3)))
def test_any_message_and_environment(actors: Actors, actor_id: str, message: Any, environment: Any) -> None:
    execution = outcome(lambda: actors.send_message(actor_id, message, environment), "send")
    if execution is not None:
        assert execution.id


@SETTINGS
@given(level=st.one_of(TEXT, st.sampled_from(["read", "EXECUTE", "update", "NONE"])), uses=NUMBER | ANYTHING,
       user=TEXT)
def test_any_nonce_and_permission_arguments(actors: Actors, actor_id: str, level: Any, uses: Any,
                                            user: str) -> None:
    nonce = outcome(lambda: actors.add_nonce(actor_id, level=level, max_uses=uses), "nonce")
    if nonce is not None:
        assert nonce.level in ("READ", "EXECUTE", "UPDATE", "NONE")
        actors.delete_nonce(actor_id, str(nonce.id))
    granted = outcome(lambda: actors.grant(actor_id, user, level), "grant")
    if granted is not None:
        actors.grant(actor_id, user, "NONE")


@SETTINGS
@given(since=st.one_of(TEXT, NUMBER, st.none()), timeout=NUMBER, data=st.binary(max_size=32),
       state=ANYTHING | JSONISH)
def test_any_time_timeout_and_state(actors: Actors, actor_id: str, since: Any, timeout: Any, data: bytes,
                                    state: Any) -> None:
    outcome(lambda: actors.executions_since(actor_id, since), "since")
    try:
        reasonable = isinstance(timeout, int | float | Decimal) and 0 < timeout < 20
    except ArithmeticError:  # Decimal("NaN") refuses comparisons
        reasonable = False
    if not reasonable:
        outcome(lambda: actors.run_sync(actor_id, data, timeout=timeout), "sync_timeout")  # refused before sending
    outcome(lambda: actors.set_state(actor_id, state), "state")


@SETTINGS
@given(body=st.dictionaries(st.sampled_from(["image", "name", "stateless", "default_environment", "defaultEnvironment",
                                             "description", "hints", "link", "webhook", "cron_schedule", "token",
                                             "max_workers", "mem_limit", "bogus", "queue", "use_container_uid"]),
                            ANYTHING | JSONISH, max_size=5))
def test_any_actor_definition(actors: Actors, body: dict[str, Any]) -> None:
    created = outcome(lambda: actors.add(body), "add")
    if created is not None:
        assert created.id
        actors.delete(str(created.id))


@SETTINGS
@given(kind=TEXT, filters=st.one_of(st.none(), st.dictionaries(TEXT, ANYTHING, max_size=3)),
       limit=st.one_of(st.none(), st.integers(min_value=-5, max_value=10**12)),
       skip=st.one_of(st.none(), st.integers(min_value=-5, max_value=10**12)))
def test_any_search(actors: Actors, kind: str, filters: Any, limit: Any, skip: Any) -> None:
    outcome(lambda: actors.search(kind, filters, limit=limit, skip=skip), "search")


@SETTINGS
@given(hardware=st.one_of(TEXT, st.integers(), st.sampled_from(["C1ae.small", "G1ae.medium", "c1ae.SMALL"])),
       duration=st.one_of(TEXT, NUMBER, st.sampled_from(["1h", "90m", "1h30m", "3600", "-1h", "1d", "0"])),
       region=st.one_of(TEXT, st.sampled_from(["global", "Quebec-CA", "Mars"])))
def test_any_price_and_task_arguments(orch: Orchestrator, hardware: Any, duration: Any, region: Any) -> None:
    quote = outcome(lambda: orch.estimate_price(hardware, duration), "price")
    if quote is not None:
        assert isinstance(quote.amount_wei, int) and quote.amount_wei > 0
    task = outcome(lambda: new_task(orch, hardware=hardware, region=region, duration=duration,
                                    app_image="hello-world", pay=False), "create")
    if task is not None:
        assert task["task_uuid"] and isinstance(task["amount_wei"], int)


@SETTINGS
@given(uuid=TEXT, tx=st.one_of(TEXT, st.from_regex(r"0x[0-9a-f]{64}", fullmatch=True)), wallet=TEXT,
       page=st.integers(min_value=-3, max_value=10**9), size=st.integers(min_value=-3, max_value=10**9))
def test_any_task_lookup(orch: Orchestrator, uuid: str, tx: str, wallet: str, page: int, size: int) -> None:
    outcome(lambda: orch.get_deployment_info(uuid), "info")
    outcome(lambda: orch.get_task_list(wallet_address=wallet or None, page=page, size=size), "list")
    outcome(lambda: orch.payments.validate(tx, uuid), "validate")
    outcome(lambda: orch.get_real_url(uuid), "url")


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(NUMBER, TEXT, ANYTHING))
def test_money_and_durations_are_exact_or_refused(value: Any) -> None:
    wei = outcome(lambda: swan_to_wei(value), "wei")
    if wei is not None:
        assert isinstance(wei, int) and not isinstance(value, float)  # a float is never taken as money
        with localcontext(Context(prec=200)):  # exact, whatever the number of digits (the default rounds at 28)
            assert Decimal(wei) == to_decimal(value) * 10**18
    seconds = outcome(lambda: parse_duration(value), "duration")
    if seconds is not None:
        assert isinstance(seconds, int) and seconds > 0


@pytest.mark.chain  # it counts the cases of the fuzz tests above, which run against the full sandbox
def test_the_fuzz_ran_its_cases_and_each_ended_in_a_result_or_a_clear_error() -> None:
    figures = f"client-argument fuzz cases: {CASES['n']} ({dict(sorted(CASES.items()))})"
    assert CASES["n"] >= 800, figures
    ok = sum(n for kind, n in CASES.items() if kind.endswith(":ok"))
    errors = sum(n for kind, n in CASES.items() if kind.endswith(":error"))
    assert ok + errors == CASES["n"], figures  # no case ended any other way
    assert ok > 0 and errors > 0, figures  # the arguments reached the server and were refused, both
