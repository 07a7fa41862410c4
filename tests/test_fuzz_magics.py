"""Property-based: any %swan / %swan_deploy line ends in a UsageError or a SwanJupyterError, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from swan_jupyter.errors import SwanJupyterError
from tests.helpers import TestingShell

TOKENS = ["--app", "hello-world", "--hardware", "C1ae.small", "G1ae.small", "nope", "--region", "global",
          "Quebec-CA", "Mars", "--duration", "1h", "10m", "-5", "abc", "9999999999999", "--no-pay", "--yes",
          "--repo", "ftp://x", "https://github.com/a/b", "--source-uri", "--branch", "'quoted arg'", '"',
          "--timeout", "0", "hardware", "tasks", "status", "url", "renew", "terminate", "ledger", "apps",
          "00000000-0000-0000-0000-000000000000", "--page", "0", "--size", "1000", "{", "}", "$x", "--help"]


def fails_cleanly(run: Callable[[], Any]) -> str:
    """Run one fuzzed magic and check how it ended: it answered, or it raised a UsageError or a swan_jupyter error
    that says something (its class and message in the two summary lines); any other exception fails the test. The
    outcome is recorded as a hypothesis event (``--hypothesis-show-statistics``) and returned."""
    try:
        run()
    except UsageError as exc:
        assert str(exc).strip(), "a UsageError without a message"
        outcome = "usage error"
    except SwanJupyterError as exc:
        first = exc.summary_lines(color=False)[0]
        assert exc.message.strip() and first.startswith(f"{type(exc).__name__}: "), first
        outcome = type(exc).__name__
    else:
        outcome = "answered"
    event(outcome)
    return outcome


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(magic=st.sampled_from(["swan_deploy", "swan"]), words=st.lists(st.sampled_from(TOKENS), max_size=7),
       text=st.text(max_size=12))
def test_any_magic_line_fails_cleanly(sandbox: dict[str, Any], ip: TestingShell, magic: str, words: list[str],
                                      text: str) -> None:
    if "--yes" in words and "--no-pay" not in words:
        words = [w for w in words if w != "--yes"]  # never pay from a fuzzer
    if magic == "swan" and words and words[0] in ("renew", "terminate"):
        words = ["status", *words[1:]]
    line = " ".join([*words, text.replace("\n", " ")])
    fails_cleanly(lambda: ip.run_line_magic(magic, line))


ACTOR_TOKENS = ["list", "get", "create", "update", "delete", "state", "permissions", "grant", "workers", "nonces",
                "add-nonce", "executions", "logs", "results", "metrics", "aliases", "search", "add-workers",
                "--image", "abacosamples/test", "--level", "READ", "EXECUTE", "BOGUS", "--max-uses", "-3", "2",
                "--set", "{", "}", "[1]", "--actor", "--filter", "k=v", "=", "--limit", "0", "-1", "--skip",
                "executions", "actors", "user2", "NONE", "UPDATE", "no-such-actor", "../..", "%2F", "--help",
                "--sync", "--timeout", "0.01", "--env", "A=1", "MSG=x", "_abaco_x=1", "--binary", "--json",
                "--text", "ex"]
BODIES = st.one_of(st.text(max_size=40), st.sampled_from(['{"n": 1}', "[]", "{}", "$nope", "$data", "null",
                                                          "{bad json", "\x00\ud7ff", " ", ""]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(words=st.lists(st.sampled_from(ACTOR_TOKENS), max_size=6), text=st.text(max_size=10))
def test_any_actors_line_fails_cleanly(sandbox: dict[str, Any], ip: TestingShell, words: list[str],
                                       text: str) -> None:
    if words and words[0] in ("delete", "add-workers"):
        words = ["get", *words[1:]]  # the fuzzer must not delete what other tests use
    line = " ".join([*words, text.replace("\n", " ")])
    fails_cleanly(lambda: ip.run_line_magic("actors", line))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(words=st.lists(st.sampled_from(ACTOR_TOKENS[-12:]), max_size=5), body=BODIES,
       target=st.sampled_from(["known", "unknown", ""]))
def test_any_actor_send_cell_fails_cleanly(sandbox: dict[str, Any], ip: TestingShell, words: list[str], body: str,
                                           target: str) -> None:
    if target == "known" and "fuzz_actor" not in FUZZ:
        from swan_jupyter.session import default_session

        FUZZ["fuzz_actor"] = str(default_session().actors().add({"image": "abacosamples/test"}).id)
    ip.user_ns["data"] = b"\x00\x01 bytes"
    actor = {"known": FUZZ.get("fuzz_actor", ""), "unknown": "no-such-actor", "": ""}[target]
    fails_cleanly(lambda: ip.run_cell_magic("actor_send", " ".join([actor, *words]), body))


FUZZ: dict[str, str] = {}

DEPLOY_BODIES = st.one_of(BODIES, st.sampled_from([
    'version: "2.0"\nservices:\n  web:\n    image: nginx:latest\n', "FROM python:3.11\nCMD python -m http.server\n",
    "services: [", "version: 2\n", "---\n- a\n- b\n", "FROM\n", "\t\tservices:\n", "key: !!python/object:os.system x",
]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(body=DEPLOY_BODIES, flags=st.lists(st.sampled_from(["--dockerfile", "--region", "global", "Mars",
                                                           "--duration", "1h", "5m", "--branch", "x"]), max_size=3))
def test_any_swan_deploy_cell_body_fails_cleanly(sandbox: dict[str, Any], ip: TestingShell, body: str,
                                                 flags: list[str]) -> None:
    line = " ".join(["--hardware", "C1ae.small", "--no-pay", *flags, "d"])  # never pays
    fails_cleanly(lambda: ip.run_cell_magic("swan_deploy", line, body))
