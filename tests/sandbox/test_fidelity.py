"""Issue 16: the emulators checked against the real sources, one test per item, each citing what it follows.

Sources: ``TACC/abaco`` branch ``master`` (v2; commit 9e83e1c) and ``prod-v3`` (v3; d307420), paths under
``actors/`` unless said otherwise; ``swanchain/python-swan-sdk`` (a426746). Line numbers are of those commits.
The full table of refusals and environment variables is ``swan_jupyter/sandbox/abaco/FIDELITY.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.sandbox.abaco_tools import AbacoServer, Api, wait_for


def result_items(api: Api, aid: str, eid: str) -> list[bytes]:
    """Every result item, one GET each, until the empty body."""
    items = []
    while True:
        response = api.call("GET", f"/{aid}/executions/{eid}/results")
        assert response.status_code == 200 and response.headers["content-type"] == "application/octet-stream"
        if not response.content:
            return items
        items.append(response.content)


# -- 1. field names in v2 validation errors ------------------------------------------------------------------------

def test_1_validation_errors_name_the_argument_in_the_servers_case(api: Api) -> None:
    """models.py master 637-658 (``request_parser`` adds each argument as ``under_to_camel(name)`` on camel
    servers) and controllers.py master 843-852 (``Invalid actor description: {msg}``); Abaco's own
    ``test_register_with_invalid_def_env`` asserts ``'defaultEnvironment' in message``."""
    key = api.k("default_environment")
    message = api.error("POST", "", json={"image": "abacosamples/test", key: [1]})
    help_text = "A dictionary of default environmental variables and values."
    assert message == f"Invalid actor description: {({key: help_text})}"
    mine = api.error("POST", f"/{api.create(image='abacosamples/test')['id']}/nonces", json={api.k("max_uses"): "x"})
    assert mine == "Invalid nonce description: " + str(
        {api.k("max_uses"): "Maximum number of times this nonce can be redeemed. Default is unlimited."})


# -- 2. MSG is the Python str() of the message ---------------------------------------------------------------------

def test_2_msg_of_a_json_message_is_the_python_str_of_the_value(api: Api) -> None:
    """controllers.py master 1728-1732 (a truthy JSON body is the message, ``application/json``), 1818 (the value
    is queued as is), worker.py 406-415 and docker_utils.py 538-542 (``d['MSG'] = msg``; docker-py writes
    every environment value with ``str()``); 1710 (``if not args.get('message')``: an empty message argument
    falls through to the body)."""
    actor = api.create(image="abacosamples/test")
    aid = actor["id"]
    sent = api.ok("POST", f"/{aid}/messages", json={"key": "v", "n": [1, True, None]})
    assert sent["msg"] == {"key": "v", "n": [1, True, None]}
    eid = sent[api.k("execution_id")]
    api.wait_execution(aid, eid)
    logs = api.logs(aid, eid)
    assert "Contents of MSG: {'key': 'v', 'n': [1, True, None]}" in logs
    assert "MSG={'key': 'v', 'n': [1, True, None]}" in logs and "_abaco_Content_Type=application/json" in logs
    # a JSON string body on a non-JSON content type: a str message, quotes gone; an empty message argument
    # falls through to the (truthy) body
    empty = api.ok("POST", f"/{aid}/messages", json={"message": "", "x": 1})
    assert empty["msg"] == {"message": "", "x": 1}
    api.wait_execution(aid, empty[api.k("execution_id")])
    assert "MSG={'message': '', 'x': 1}" in api.logs(aid, empty[api.k("execution_id")])


def test_2_actor_state_reaches_the_actor_as_python_str(make: Callable[..., Api]) -> None:
    """worker.py master 421 (``environment['_abaco_actor_state'] = actor.state``, a dict written with str())."""
    api = make("user", "v3")
    actor = api.create(image="abacosamples/test", stateless=False)
    api.wait_actor(actor["id"])
    api.ok("POST", f"/{actor['id']}/state", json={"n": 41, "ok": True})
    eid = api.send(actor["id"], "s")
    api.wait_execution(actor["id"], eid)
    assert "_abaco_actor_state={'n': 41, 'ok': True}" in api.logs(actor["id"], eid)


# -- 3. the nonce level refusal ------------------------------------------------------------------------------------

def test_3_nonce_level_refusal_lists_the_levels_tuple(api: Api) -> None:
    """controllers.py master 1519-1523 (actor nonces) and 634-638 (alias nonces): ``Invalid nonce description.
    The level attribute must be one of: <tuple>``, the tuples of codes.py 66-68; the comparison is exact."""
    actor = api.create(image="abacosamples/test")
    levels = "('NONE', 'READ', 'EXECUTE', 'UPDATE')"
    assert api.error("POST", f"/{actor['id']}/nonces", json={"level": "ALL"}) == \
        f"Invalid nonce description. The level attribute must be one of: {levels}"
    assert api.error("POST", f"/{actor['id']}/nonces", json={"level": "read"}).endswith(levels)
    alias = f"nl-{api.flavor}-{int(time.time() * 1000)}"
    api.ok("POST", "/aliases", json={"alias": alias, api.k("actor_id"): actor["id"]})
    assert api.error("POST", f"/aliases/{alias}/nonces", json={"level": "UPDATE"}) == \
        "Invalid nonce description. The level attribute must be one of: ('NONE', 'READ', 'EXECUTE')"


# -- 4. synchronous sends ----------------------------------------------------------------------------------------

def test_4_synchronous_send_is_accepted_while_up_to_three_messages_wait(make: Callable[..., Api]) -> None:
    """controllers.py master 1786-1792 (prod-v3 1842-1847): refused only when ``box_len > 3``."""
    api = make("user", "v3")
    aid = api.create(image="abacosamples/sleep_loop")["id"]
    api.wait_actor(aid)
    first = api.send(aid, '{"iterations": 1, "sleep": 60}')
    api.wait_execution(aid, first, "RUNNING")
    for _ in range(3):
        api.send(aid, '{"iterations": 0}')
    assert api.ok("GET", f"/{aid}/messages")["messages"] == 3
    with pytest.raises(requests.exceptions.ReadTimeout):  # accepted: it waits for its turn
        api.call("POST", f"/{aid}/messages", params={"_abaco_synchronous": "true"},
                 json={"message": "{'iterations': 0}"}, timeout=1.5)
    assert api.ok("GET", f"/{aid}/messages")["messages"] == 4
    assert api.error("POST", f"/{aid}/messages", params={"_abaco_synchronous": "true"}, json={"message": "x"}) == \
        "Cannot issue synchronous execution when actor message queue > 0."
    api.ok("DELETE", f"/{aid}/messages")
    api.ok("DELETE", f"/{aid}/executions/{first}")
    api.ok("DELETE", f"/{aid}")


# -- 5. the samples ------------------------------------------------------------------------------------------------

def test_5_wc_sends_its_word_count_as_one_bytes_result(api: Api) -> None:
    """samples/word_count/wc.py (master, 1-38): counts lower-cased words, prints them, and
    ``send_bytes_result(json.dumps(wordcount).encode())``; the results endpoint pops one item per GET
    (controllers.py master 1620-1640, ``ExecutionResultsResource``)."""
    aid = api.create(image="abacosamples/wc")["id"]
    eid = api.send(aid, "the cat The dog")
    api.wait_execution(aid, eid)
    assert result_items(api, aid, eid) == [json.dumps({"the": 2, "cat": 1, "dog": 1}).encode()]
    logs = api.logs(aid, eid)
    assert "Didnt get JSON, using raw message." in logs and "Final word count:" in logs and "the: 2" in logs
    assert "Sending bytes result" in logs and "skipping reducer" in logs
    assert result_items(api, aid, eid) == []  # popped


def test_5_test_sample_prints_msg_first_then_sleeps_two_seconds(tmp_path: Path) -> None:
    """samples/abaco_test/test.sh (master 1-34): ``echo "Contents of MSG: "$MSG`` (unquoted: blanks collapse),
    ``sleep 2``, ``Environment:``, ``env``, then the root folder and mount checks; images/abaco_test/test.sh
    (``jstubbs/abaco_test``) stops after ``env``. The real 2 s: an emulator at time scale 1 (the module's runs
    faster)."""
    server = AbacoServer(tmp_path, time_scale=1)
    api = Api(server.url, server.token("user"), "v3")
    try:
        for image, full in (("abacosamples/test", True), ("jstubbs/abaco_test", False)):
            aid = api.create(image=image)["id"]
            eid = api.send(aid, "two   words")
            done = api.wait_execution(aid, eid)
            assert done["runtime"] >= 2 and done["exit_code"] == 0
            logs = api.logs(aid, eid)
            assert logs.startswith("Contents of MSG: two words\nEnvironment:\n")
            assert ("Contents of root file system: " in logs) is full and ("Mount does not exist" in logs) is full
    finally:
        api.session.close()
        server.stop()


def test_5_sleep_loop_and_py3_func_print_what_their_sources_print(make: Callable[..., Api]) -> None:
    """samples/sleep_loop/sleep_loop.py (master 1-34: ``message_dict`` iterations/sleep, ``starting iteration
    <i>``, ``sleep_loop completed.``) and samples/py3_func/call_f.py (1-28: ``result: <r>``)."""
    api = make("user", "v3")
    aid = api.create(image="abacosamples/sleep_loop")["id"]
    eid = api.send(aid, "{'iterations': 2, 'sleep': 0.1}")  # a Python dict text works too (literal_eval)
    api.wait_execution(aid, eid)
    assert api.logs(aid, eid) == "starting iteration 0\nstarting iteration 1\nsleep_loop completed.\n"


# -- 6. aliases ----------------------------------------------------------------------------------------------------

def test_6_alias_reserved_words_and_characters(api: Api) -> None:
    """models.py master 1141-1168 (``Alias.RESERVED_WORDS`` is exactly executions, nonces, logs, messages,
    adapters, admin; ``check_reserved_words``/``check_forbidden_char`` raise without a prefix) and
    controllers.py 437-448, 450-475 (missing arguments, hash ids, then the actor, then the words)."""
    aid = api.create(image="abacosamples/test")["id"]
    key = api.k("actor_id")
    reserved = "['executions', 'nonces', 'logs', 'messages', 'adapters', 'admin']"
    assert api.error("POST", "/aliases", json={"alias": "admin", key: aid}) == \
        f"admin is a reserved word. The following reserved words cannot be used for an alias: {reserved}."
    assert api.error("POST", "/aliases", json={"alias": "a b", key: aid}).startswith(
        "' ' is a forbidden character. The following characters cannot be used for an alias: ['\\', ' ',")
    assert api.error("POST", "/aliases", json={key: aid}) == "Invalid alias description. Missing required " \
        "field: " + str({"alias": "Actual alias for the actor; must be unique within a tenant."})
    name = "utilization" if api.flavor == "v3" else "search"
    made = api.ok("POST", "/aliases", json={"alias": name, key: aid})
    assert made["alias"] == name
    api.ok("DELETE", f"/aliases/{name}")
    assert api.error("POST", "/aliases", json={"alias": "x", key: "nosuchactor"}, status=404) == \
        "No actor found with id: nosuchactor."


# -- 7. sample images and workers -------------------------------------------------------------------------------

def test_7_abaco_test2_runs_and_stateful_actors_take_more_workers(make: Callable[..., Api]) -> None:
    """tests/test_abaco_core.py master 1041-1068 (Abaco's own tests update an actor to ``jstubbs/abaco_test2``
    and expect it to work); controllers.py master 1964-2000 (``WorkersResource.post`` has no one-worker check:
    that rule is only in ``ActorsResource.post``, 926-927)."""
    api, admin = make("user", "v3"), make("admin", "v3")
    aid = api.create(image="abacosamples/test", stateless=False)["id"]
    api.wait_actor(aid)
    assert api.ok("PUT", f"/{aid}", json={"image": "jstubbs/abaco_test2", "stateless": False})["revision"] == 2
    api.wait_actor(aid)
    done = api.wait_execution(aid, api.send(aid, "v2"))
    assert done["exit_code"] == 0
    admin.ok("POST", f"/{aid}/workers", json={"num": 2})
    wait_for(lambda: api.ok("GET", f"/{aid}/workers"), lambda w: len(w) == 2)
    api.ok("DELETE", f"/{aid}")


# -- 8. cron -------------------------------------------------------------------------------------------------------

def test_8_cron_units_are_checked_and_cron_on_follows_the_body(make: Callable[..., Api], flavor: str) -> None:
    """models.py master 896-933 (``set_cron``) and controllers.py master 896-912 (POST: an unknown unit is a
    werkzeug ``BadRequest`` outside any handler, which agaveflask's ``handle_error`` answers as a 500
    "Unrecognized exception type"; a schedule turns cron on) and 1040-1061 (PUT: ``cronOn`` from the body)."""
    api = make("privileged", flavor)
    response = api.call("POST", "", json={"image": "abacosamples/test", api.k("cron_schedule"): "now + 1 flimflams"})
    assert response.status_code == 500
    assert response.json()["message"] == ("Unrecognized exception type: <class 'werkzeug.exceptions.BadRequest'>. "
                                          "Exception: 400 Bad Request: flimflams is an invalid unit of time")
    assert api.error("POST", "", json={"image": "abacosamples/test", api.k("cron_schedule"): "daily"}) == \
        "The cron is not in the correct format"
    assert api.error("POST", "", json={"image": "abacosamples/test", api.k("cron_schedule"): "2000-1-1 1 + 1 hour"}
                     ).startswith("The starting datetime is old. The current UTC time is ")
    actor = api.create(image="abacosamples/test", **{api.k("cron_schedule"): "now + 1 hour"})
    assert actor[api.k("cron_on")] is True and actor[api.k("cron_next_ex")].count("-") == 2
    off = api.ok("PUT", f"/{actor['id']}", json={"image": "abacosamples/test", api.k("cron_schedule"): "now + 2 days",
                                                  api.k("cron_on"): False})
    assert off[api.k("cron_on")] is False and off[api.k("cron_schedule")] == "now + 2 days"


# -- 9. search -----------------------------------------------------------------------------------------------------

def test_9_search_needs_a_permission_entry_and_follows_dotted_keys(make: Callable[..., Api], flavor: str) -> None:
    """models.py master 134-163 (``{'permissions.<user>': {'$exists': True}}`` for every caller, admins
    included), 74-80 (only a key's first segment is case-converted: dotted keys are Mongo paths) and 447-489
    (``broad_ISO_to_datetime``: ``2000-05:00`` is a time; anything else its ``ValueError``)."""
    user, admin = make("user", flavor), make("admin", flavor)
    aid = user.create(image="abacosamples/test")["id"]
    eid = user.send(aid, "searched")
    user.wait_execution(aid, eid)
    assert aid not in {a["id"] for a in admin.ok("GET", "/search/actors", params={"id": aid})["search"]}
    assert admin.ok("GET", "", params={"id": aid})["search"] == []
    found = user.ok("GET", "/search/executions", params={"final_state.StartedAt.gt": "2000-05:00",
                                                          "id": eid})["search"]
    assert [e["id"] for e in found] == [eid]
    assert user.ok("GET", "/search/executions", params={"final_state.StartedAt.lt": "2000", "id": eid})["search"] == []
    assert user.error("GET", "/search/executions", params={"start_time.gt": "yesterday"}).startswith(
        "Inputted datetime was in an incorrect format.")  # a 500 ValueError on Abaco; a 400 here


# -- 10. queues ----------------------------------------------------------------------------------------------------

def test_10_queues_are_a_setting_with_abacos_refusal(make: Callable[..., Api], tmp_path: Path) -> None:
    """controllers.py master 827-833 (POST: ``Invalid queue name.`` inside validate_post's try, so it becomes
    ``Invalid actor description: Unable to process the JSON description.: 400 Bad Request: ...``) and 1062-1066
    (PUT: outside it, a 500); local-dev.conf 40 (``host_queues: default, special``); auth.py 326-328 (a
    non-privileged ``queue``, any truthy value, is refused)."""
    user, privileged = make("user", "v3"), make("privileged", "v3")
    assert user.error("POST", "", json={"image": "abacosamples/test", "queue": "default"}) == \
        "Not authorized -- only admins and privileged users can set queue."
    assert privileged.create(image="abacosamples/test", queue="special")["queue"] == "special"
    assert privileged.error("POST", "", json={"image": "abacosamples/test", "queue": "nope"}) == \
        "Invalid actor description: Unable to process the JSON description.: 400 Bad Request: Invalid queue name."
    server = AbacoServer(tmp_path, {"abaco_queues": "default, gpu"})
    try:
        own = Api(server.url, server.token("privileged"), "v3")
        assert own.create(image="abacosamples/test", queue="gpu")["queue"] == "gpu"
        aid = own.create(image="abacosamples/test")["id"]
        response = own.call("PUT", f"/{aid}", json={"image": "abacosamples/test", "queue": "special"})
        assert response.status_code == 500 and response.json()["message"].endswith("Invalid queue name.")
        own.session.close()
    finally:
        server.stop()


# -- 11. alias nonces: see tests/sandbox/test_access_control.py ---------------------------------------------------
# test_aliases_need_their_own_permission_and_alias_nonces_need_alias_and_actor follows auth.py master 240-262
# (alias routes need the level on the alias and, for nonces and permissions, on its actor).


# -- 12. the Orchestrator's deployment-info message -------------------------------------------------------------

def test_12_deployment_info_message_is_the_real_servers(tmp_path: Path) -> None:
    """python-swan-sdk test/object/conftest.py 119-347 (``task_deployment_response``: ``fetch task info for
    task_uuid='<uuid>' successfully``), 73-77 (creation: ``Task_uuid initialized.``), 431-436 (unknown task)."""
    from tests.sandbox.orchestrator_tools import Emulator

    emu = Emulator(tmp_path, None, 1.0)
    try:
        task = emu.create("0x" + "ab" * 20)
        answer = emu.get(f"/v2/task_deployment/{task['uuid']}")
        assert answer["status"] == "success"
        assert answer["message"] == f"fetch task info for task_uuid='{task['uuid']}' successfully"
    finally:
        emu.stop()
