"""Issue 22, item 4: events to ``link`` actors and ``webhook`` URLs, as Abaco sends them.

Source: TACC/abaco ``master`` (v2) and ``prod-v3`` (v3), ``actors/``: ``models.py`` ``Event``/``ActorEvent``/
``ActorExecutionEvent`` (the payload), ``Actor.set_status`` (``ACTOR_READY``/``ACTOR_ERROR`` when the status
changes to READY or ERROR), ``Execution.finalize_execution`` (``EXECUTION_COMPLETE``), ``events.py`` (a link
gets an ordinary JSON message from ``Abaco Event``; a webhook gets the event as a JSON POST, failures logged and
dropped), ``controllers.py`` ``validate_link``/``check_for_link_cycles``; Abaco's own ``tests/test_events.py``.
Webhooks go to loopback addresses only (the sandbox never sends traffic off the machine).
"""

from __future__ import annotations

import ast
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from swan_jupyter.actors import Actors, Agave
from swan_jupyter.errors import RemoteError
from tests.helpers import loopback_server, stop_server
from tests.sandbox.abaco_tools import AbacoServer, Api, wait_for, write_script

EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")

# a fast link target: prints its message and the variables Abaco sets for it, then exits
PRINTER = (
    "import os\n"
    "print('MSG=' + os.environ.get('MSG', ''))\n"
    "for key in ('_abaco_username', '_abaco_Content_Type', '_abaco_execution_id'):\n"
    "    print(key + '=' + os.environ.get(key, ''))\n"
)


class Hooks:
    """A webhook receiver on 127.0.0.1: records each POST; ``hold`` makes every request wait (a slow webhook)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.redirect = ""  # when set: answer 307 with this Location
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hold.wait(30)
                outer.posts.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(307 if outer.redirect else 200)
                if outer.redirect:
                    self.send_header("Location", outer.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server, self.url, self.thread = loopback_server(Handler)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(p["body"]) for p in self.posts]

    def close(self) -> None:
        self.hold.set()
        stop_server(self.server, self.thread)


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    receiver = Hooks()
    yield receiver
    receiver.close()


def event_runs(api: Api, actor_id: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    """The first ``count`` executions of a link actor, once COMPLETE, oldest first."""
    def fetch() -> list[dict[str, Any]]:
        return list(api.ok("GET", f"/{actor_id}/executions")["executions"])

    runs = wait_for(fetch, lambda xs: len(xs) >= count and all(x["status"] == "COMPLETE" for x in xs[:count]),
                    timeout)
    return runs[:count]


def message_of(api: Api, actor_id: str, execution_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The event a PRINTER execution received (its ``MSG``, a Python ``str()`` of a dict) and its variables."""
    lines = api.logs(actor_id, execution_id).splitlines()
    variables = dict(line.split("=", 1) for line in lines if "=" in line)
    return ast.literal_eval(variables.pop("MSG")), variables


def test_link_actor_gets_actor_ready_and_execution_complete(make: Callable[..., Api], flavor: str,
                                                            tmp_path: Path) -> None:
    api = make("user", flavor)
    target = api.create(image=write_script(tmp_path, "printer.py", PRINTER), name=f"ev-link-{flavor}")["id"]
    source = api.create(image="abacosamples/wc", name=f"ev-src-{flavor}", link=target)["id"]
    assert api.ok("GET", f"/{source}")["link"] == target
    api.wait_actor(source)
    ready = event_runs(api, target, 1)[0]
    assert api.ok("GET", f"/{target}/executions/{ready['id']}")["executor"] == "Abaco Event"
    event, variables = message_of(api, target, ready["id"])
    assert variables == {"_abaco_username": "Abaco Event", "_abaco_Content_Type": "application/json",
                         "_abaco_execution_id": ready["id"]}
    assert list(event) == ["status_message", "tenant_id", "event_type", "event_time_utc", "event_time_display",
                           "actor_id", "actor_dbid", "_abaco_link", "_abaco_webhook"]
    assert event["event_type"] == "ACTOR_READY" and event["status_message"] == " "
    assert event["tenant_id"] == "DEV" and event["actor_id"] == source and event["actor_dbid"] == f"DEV_{source}"
    assert event["_abaco_link"] == f"DEV_{target}" and event["_abaco_webhook"] == ""
    assert EVENT_TIME.match(event["event_time_utc"]) and event["event_time_display"] == event["event_time_utc"]

    eid = api.send(source, "one two two")
    api.wait_execution(source, eid)
    done = event_runs(api, target, 2)[1]
    event, _ = message_of(api, target, done["id"])
    assert list(event) == ["actor_id", "execution_id", "status", "exit_code", "tenant_id", "event_type",
                           "event_time_utc", "event_time_display", "actor_dbid", "_abaco_link", "_abaco_webhook"]
    assert event["event_type"] == "EXECUTION_COMPLETE" and event["execution_id"] == eid
    assert event["status"] == "COMPLETE" and event["exit_code"] == 0 and event["actor_id"] == source
    # the link actor's own executions send nothing (it has no link), and a second worker coming up on an actor
    # already READY is no status change: exactly two event executions
    time.sleep(0.5)
    assert len(api.ok("GET", f"/{target}/executions")["executions"]) == 2


def test_abacos_own_event_link_test(make: Callable[..., Api]) -> None:
    """Abaco's ``test_execute_event_actor``: the link actor's logs carry the event as Python text."""
    api = make("user", "v3")
    link = api.create(image="jstubbs/abaco_test", name="abaco_test_suite_event-link", stateless=False)["id"]
    aid = api.create(image="jstubbs/abaco_test", name="abaco_test_suite_event", link=link)["id"]
    api.wait_actor(aid)
    api.wait_execution(aid, api.send(aid, "testing events execution"))
    ready, done = event_runs(api, link, 2)
    logs = api.logs(link, ready["id"])
    assert "'event_type': 'ACTOR_READY'" in logs and "event_time_utc" in logs and "actor_id" in logs
    logs = api.logs(link, done["id"])
    assert "'event_type': 'EXECUTION_COMPLETE'" in logs and "execution_id" in logs


def test_link_by_alias_and_actor_error_event(make: Callable[..., Api], tmp_path: Path) -> None:
    api = make("user", "v3")
    target = api.create(image=write_script(tmp_path, "printer.py", PRINTER))["id"]
    api.ok("POST", "/aliases", json={"alias": "ev-target", "actor_id": target})
    broken = api.create(image="python:no_such_module_here", link="ev-target")["id"]
    api.wait_actor(broken, "ERROR")
    event, _ = message_of(api, target, event_runs(api, target, 1)[0]["id"])
    assert event["event_type"] == "ACTOR_ERROR" and event["actor_id"] == broken
    assert "is not importable" in event["status_message"] and event["_abaco_link"] == f"DEV_{target}"


def test_webhook_gets_the_events_as_json(make: Callable[..., Api], flavor: str, hooks: Hooks) -> None:
    api = make("user", flavor)
    url = f"{hooks.url}/hook?x=1"
    aid = api.create(image="abacosamples/wc", webhook=url)["id"]
    assert api.ok("GET", f"/{aid}")["webhook"] == url
    api.wait_actor(aid)
    eid = api.send(aid, "a b")
    api.wait_execution(aid, eid)
    wait_for(hooks.events, lambda es: len(es) >= 2)
    assert all(p["path"] == "/hook?x=1" for p in hooks.posts)
    assert all(p["headers"]["Content-Type"] == "application/json" for p in hooks.posts)
    ready, done = hooks.events()[:2]
    assert ready["event_type"] == "ACTOR_READY" and done["event_type"] == "EXECUTION_COMPLETE"
    assert done["execution_id"] == eid and done["exit_code"] == 0 and done["status"] == "COMPLETE"
    for event in (ready, done):
        assert event["actor_id"] == aid and event["_abaco_webhook"] == url and event["_abaco_link"] == ""
        assert event["_abaco_Content_Type"] == "application/json" and event["_abaco_username"] == "Abaco Event"
        assert EVENT_TIME.match(event["event_time_utc"])


def test_webhook_to_the_messages_endpoint_with_a_nonce(make: Callable[..., Api], abaco: AbacoServer) -> None:
    """Abaco's ``test_create_actor_with_webhook``: the webhook is the emulator's own messages URL with a nonce."""
    api = make("user", "v3")
    aid = api.create(image="jstubbs/abaco_test", name="abaco_test_suite_event-webhook", stateless=False)["id"]
    nonce = api.ok("POST", f"/{aid}/nonces")["id"]
    webhook = f"{abaco.url}/v3/actors/{aid}/messages?x-nonce={nonce}"
    api.create(image="jstubbs/abaco_test", name="abaco_test_suite_event-2", webhook=webhook)
    first = event_runs(api, aid, 1)[0]
    assert "'event_type': 'ACTOR_READY'" in api.logs(aid, first["id"])


BAD_WEBHOOKS = [
    ("http://example.com/hook", "'example.com' is not a loopback address"),
    ("https://10.0.0.1:8443/x", "'10.0.0.1' is not a loopback address"),
    ("http://[::ffff:8.8.8.8]/x", "'::ffff:8.8.8.8' is not a loopback address"),
    ("http://127.0.0.1.nip.io/x", "'127.0.0.1.nip.io' is not a loopback address"),
    ("http://0.0.0.0:80/x", "'0.0.0.0' is not a loopback address"),
    ("ftp://127.0.0.1/x", "the scheme must be http or https, not 'ftp'"),
    ("127.0.0.1:8000/x", "the scheme must be http or https"),
    ("http:///x", "the URL names no host"),
    ("http://127.0.0.1:99999/x", "the port is not a number from 1 to 65535"),
    ("http://127.0.0.1/" + "x" * 3000, "it is longer than 2048 characters"),
]


@pytest.mark.parametrize(("url", "reason"), BAD_WEBHOOKS)
def test_non_loopback_webhooks_are_refused_on_create_and_update(make: Callable[..., Api], flavor: str,
                                                                url: str, reason: str) -> None:
    api = make("user", flavor)
    message = api.error("POST", "", json={"image": "abacosamples/wc", "webhook": url})
    assert message.startswith("Invalid webhook parameter: ") and reason in message
    assert "only to this machine" in message
    aid = api.create(image="abacosamples/wc")["id"]
    assert api.error("PUT", f"/{aid}", json={"image": "abacosamples/wc", "webhook": url}) == message
    assert api.ok("GET", f"/{aid}")["webhook"] == ""


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "[::1]", "LOCALHOST"])
def test_loopback_webhooks_are_accepted(make: Callable[..., Api], host: str) -> None:
    api = make("user", "v3")
    aid = api.create(image="abacosamples/wc", webhook=f"http://{host}:9/events")["id"]
    updated = api.ok("PUT", f"/{aid}", json={"image": "abacosamples/wc", "webhook": f"https://{host}/e"})
    assert updated["webhook"] == f"https://{host}/e"


def test_link_cycles_self_links_and_execute_permission(make: Callable[..., Api], flavor: str) -> None:
    """Abaco's ``test_cant_create_link_with_cycle`` and ``test_cant_update_link_with_cycle``, and the refusals of
    ``validate_link``."""
    api, other = make("user", flavor), make("user2", flavor)
    first = api.create(image="abacosamples/wc")["id"]
    chain = [first]
    for _ in range(5):
        chain.append(api.create(image="abacosamples/wc", link=chain[-1])["id"])
    cycle = api.error("PUT", f"/{chain[1]}", json={"image": "abacosamples/wc", "link": chain[5]})
    assert cycle == "Error: this update would result in a cycle of linked actors."
    assert api.error("PUT", f"/{first}", json={"image": "abacosamples/wc", "link": chain[5]}) == cycle
    assert api.error("PUT", f"/{first}", json={"image": "abacosamples/wc", "link": first}) == \
        "Invalid link parameter. An actor cannot link to itself."
    api.ok("PUT", f"/{first}", json={"image": "abacosamples/wc", "link": ""})  # unlinking is fine
    # linking to another user's actor needs EXECUTE on it (Abaco's stated rule; see FIDELITY.md)
    refused = other.error("POST", "", json={"image": "abacosamples/wc", "link": first})
    assert refused.startswith("Invalid link parameter. The link must be a valid actor id or alias for which you "
                              "have EXECUTE permission.") and first in refused
    api.ok("POST", f"/{first}/permissions", json={"user": "testotheruser", "level": "EXECUTE"})
    assert other.create(image="abacosamples/wc", link=first)["link"] == first
    unknown = api.error("POST", "", json={"image": "abacosamples/wc", "link": "no-such-alias"})
    assert unknown.startswith("Invalid link parameter; unable to retrieve linked actor data.")


def test_a_cycle_made_through_an_alias_sends_no_endless_events(make: Callable[..., Api], tmp_path: Path) -> None:
    """Abaco checks cycles only when a link is set; retargeting an alias can close one later. The emulator does
    not deliver an event along a cycle (it would run the actors forever)."""
    api = make("user", "v3")
    printer = write_script(tmp_path, "printer.py", PRINTER)
    a, b, c = (api.create(image=printer)["id"] for _ in range(3))
    for aid in (a, b, c):
        api.wait_actor(aid)
    api.ok("POST", "/aliases", json={"alias": "ev-loop", "actor_id": c})
    api.ok("PUT", f"/{b}", json={"image": printer, "link": a})  # b -> a
    api.ok("PUT", f"/{a}", json={"image": printer, "link": "ev-loop"})  # a -> c: no cycle yet
    api.ok("PUT", "/aliases/ev-loop", json={"actor_id": b})  # now a -> b -> a
    api.wait_execution(a, api.send(a, "go"))
    time.sleep(2)
    assert api.ok("GET", f"/{b}/executions")["executions"] == []
    assert len(api.ok("GET", f"/{a}/executions")["executions"]) == 1


def test_slow_or_dead_webhooks_do_not_slow_executions(make: Callable[..., Api], hooks: Hooks) -> None:
    api = make("user", "v3")
    hooks.hold.clear()  # every POST now hangs until the test ends
    slow = api.create(image="abacosamples/wc", webhook=f"{hooks.url}/slow")["id"]
    dead = api.create(image="abacosamples/wc", webhook="http://127.0.0.1:9/dead")["id"]  # discard port: refused
    plain = api.create(image="abacosamples/wc")["id"]
    for aid in (slow, dead, plain):
        api.wait_actor(aid)

    def run_five(aid: str) -> float:
        started = time.monotonic()
        ids = [api.send(aid, f"w{i}") for i in range(5)]
        for eid in ids:
            api.wait_execution(aid, eid)
        return time.monotonic() - started

    baseline = run_five(plain)
    slowed, dead_time = run_five(slow), run_five(dead)
    assert slowed < baseline + 2.0 and dead_time < baseline + 2.0, (baseline, slowed, dead_time)
    assert len(hooks.posts) == 0  # none answered yet: they were all held


def test_client_link_and_webhook_on_add_and_update(abaco: AbacoServer, flavor: str, hooks: Hooks,
                                                   tmp_path: Path) -> None:
    client = Actors(abaco.url, token=abaco.token("user"), flavor=flavor)  # type: ignore[arg-type]
    try:
        target = client.add(image=write_script(tmp_path, "printer.py", PRINTER))
        source = client.add({"image": "abacosamples/wc"}, link=target.id, webhook=f"{hooks.url}/c")
        assert source.link == target.id and source.webhook == f"{hooks.url}/c"
        updated = client.update(source.id, link="", webhook=f"{hooks.url}/d")
        assert updated.link == "" and updated.webhook == f"{hooks.url}/d"
        assert client.update(source.id, link=target.id).webhook == f"{hooks.url}/d"
        with pytest.raises(RemoteError, match="not a loopback address"):
            client.update(source.id, webhook="http://example.com/x")
        with pytest.raises(RemoteError, match="cycle of linked actors"):
            client.update(target.id, link=source.id)
    finally:
        client.close()


def test_agave_facade_passes_link_and_webhook(abaco: AbacoServer, hooks: Hooks) -> None:
    """``ag.actors.add``/``update`` (the agavepy-style facade) send ``link`` and ``webhook`` as given."""
    ag = Agave(api_server=abaco.url, token=abaco.token("user"))
    target = ag.actors.add(body={"image": "abacosamples/wc"})
    source = ag.actors.add(body={"image": "abacosamples/wc", "link": target.id, "webhook": f"{hooks.url}/a"})
    assert source.link == target.id and source.webhook == f"{hooks.url}/a"
    wait_for(lambda: [e["event_type"] for e in hooks.events()], lambda ts: "ACTOR_READY" in ts)
    assert hooks.posts[0]["path"] == "/a"
    updated = ag.actors.update(actorId=source.id, body={"webhook": f"{hooks.url}/b"})
    assert updated.link == target.id and updated.webhook == f"{hooks.url}/b"


def test_webhook_redirects_are_not_followed(make: Callable[..., Api], hooks: Hooks) -> None:
    """A webhook that answers a redirect gets no second POST, wherever the redirect points."""
    other = Hooks()
    try:
        hooks.redirect = f"{other.url}/elsewhere"
        api = make("user", "v3")
        aid = api.create(image="abacosamples/wc", webhook=f"{hooks.url}/first")["id"]
        api.wait_actor(aid)
        api.wait_execution(aid, api.send(aid, "x"))
        wait_for(lambda: len(hooks.posts), lambda n: n >= 2)
        time.sleep(0.5)
        assert other.posts == []
    finally:
        other.close()


def test_failed_webhooks_are_logged_without_their_query(make: Callable[..., Api],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Abaco logs a failed POST and drops it; the emulator's log line leaves out the query (a nonce is a
    credential: Abaco's own test puts one there)."""
    caplog.set_level(logging.ERROR, logger="swan_jupyter.sandbox.abaco.events")
    api = make("user", "v3")
    api.create(image="abacosamples/wc", webhook="http://127.0.0.1:9/dead?x-nonce=DEV_nonce-not-for-logs")
    wait_for(lambda: caplog.text, lambda text: "webhook http://127.0.0.1:9/dead failed" in text)
    assert "nonce-not-for-logs" not in caplog.text
