"""The mailbox: send a message (async or synchronous), count and purge queued messages (TACC/abaco
actors/controllers.py, MessagesResource).

How a POST body becomes a message (MessagesResource.validate_post): a non-empty ``message`` argument (JSON key,
query parameter or form field) is the message as ``str``; else an ``application/octet-stream`` body
(``Content-Length`` required, at most the configured maximum) is a binary message; else a truthy JSON body is an
``application/json`` message; else the body must parse as JSON and is a ``str`` message; otherwise 400. Whatever
JSON value the message is, the actor's ``MSG`` is its Python ``str()`` (``{'key': 'value'}``, not JSON text), as on
Abaco. Every query parameter except ``message`` becomes an environment variable of the execution (``x-nonce`` is
left out too: the emulator never hands a nonce to actor code); a name that would change how the execution's
program starts (``PYTHONPATH``, ``LD_PRELOAD``, ...: :mod:`.environment`) is refused with a 400 naming it.

Synchronous execution (``?_abaco_synchronous=true``, refused only while more than 3 messages wait) answers the
first result item as raw bytes, or the logs as text when the execution completes without results. Unlike Abaco,
it does not hang when the execution ends in ERROR or the actor cannot run: it answers 400 with the reason.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.responses import Response

from .core import Call, Core, Route
from .environment import check_variables
from .mailbox import queue_message
from .runtime import python_str
from .wire import AbacoError, ok, plain_cased, raw_response

Doc = dict[str, Any]
BINARY = "application/octet-stream"
SYNC_POLL = 0.1
SYNC_MAX_WAITING = 3  # controllers.py master 1786-1792: refused only when `box_len > 3`, whatever the message says


def _links(call: Call, actor: Doc) -> Doc:
    url = f"{call.flavor.actors_url(call.base)}/{actor['id']}"
    return {"self": f"{url}/messages", "owner": call.flavor.profile_url(call.base, actor["owner"])}


async def get_messages(call: Call, core: Core) -> Response:
    """GET /actors/{id}/messages: how many messages wait in the mailbox."""
    actor = call.the_actor
    return ok(call.flavor, {"messages": core.store.mailbox_count(actor["id"]), "_links": _links(call, actor)},
              "The request was successful")


async def purge_messages(call: Call, core: Core) -> Response:
    """DELETE /actors/{id}/messages: drop every queued message (their executions stay SUBMITTED, as in Abaco)."""
    actor = call.the_actor
    core.store.purge_mailbox(actor["id"])
    return ok(call.flavor, {"msg": "Actor mailbox purged.", "_links": _links(call, actor)},
              "The request was successful")


def _message_argument(call: Call) -> str | None:
    """flask-restful's ``message`` argument (``type=str``): the JSON body's key first, then the query string,
    then a form field; ``None`` when absent or null (``controllers.py`` master 1704-1710)."""
    body = call.body
    if call.content_type.startswith("application/json") and isinstance(body, dict) and "message" in body:
        return None if body["message"] is None else str(body["message"])
    query = call.arg("message")
    if query is not None:
        return query
    if call.content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")) \
            and isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return None


def read_message(call: Call, max_content: int) -> tuple[bytes, str, Any]:
    """The message bytes given to the actor (``MSG`` as UTF-8, or the binary body), its Abaco content type and
    the ``msg`` echoed in the answer, as ``MessagesResource.validate_post`` reads them (master 1704-1746):
    a non-empty ``message`` argument is a ``str`` message; else a binary body; else a truthy JSON body is an
    ``application/json`` message; else the body must parse as JSON and is a ``str`` message."""
    argument = _message_argument(call)
    if argument:  # an empty message argument falls through to the body, as `if not args.get('message')` does
        return argument.encode(), "str", argument
    if call.content_type == BINARY:
        if call.request.headers.get("content-length") is None:
            raise AbacoError("Content Length required for application/octet-stream.")
        if len(call.raw) > max_content:
            raise AbacoError(f"Message exceeds max content length of: {max_content}")
        return call.raw, BINARY, "binary - omitted"
    body = call.body
    if call.content_type.startswith("application/json") and body:
        return python_str(body).encode(), "application/json", body
    try:
        parsed = json.loads(call.raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise AbacoError("message POST body could not be serialized. Pass JSON data or use the message "
                         "attribute.") from None
    return python_str(parsed).encode(), "str", parsed


async def send_message(call: Call, core: Core) -> Response:
    """POST /actors/{id}/messages: queue a message (committed before answering) and start it on a worker."""
    actor = call.the_actor
    synchronous = (call.arg("_abaco_synchronous") or "").lower() == "true"
    data, content_type, echoed = read_message(call, core.max_content)
    if synchronous and core.store.mailbox_count(actor["id"]) > SYNC_MAX_WAITING:
        raise AbacoError("Cannot issue synchronous execution when actor message queue > 0.")
    env: dict[str, str] = {}
    for key, value in call.query:
        if key not in ("message", "x-nonce"):
            env[key] = value
    check_variables(env.items(), "Invalid message: ", "the message's query")
    execution = queue_message(core.store, core.runtime, actor, data, content_type, env, call.caller.user, core.now())
    if synchronous:
        return await _wait_synchronously(call, core, actor, execution["id"])
    url = f"{call.flavor.actors_url(call.base)}/{actor['id']}"
    result = plain_cased({"execution_id": execution["id"], "msg": echoed,
                          "_links": {"self": f"{url}/executions/{execution['id']}",
                                     "owner": call.flavor.profile_url(call.base, actor["owner"]),
                                     "messages": f"{url}/messages"}}, call.flavor)
    return ok(call.flavor, result, "The request was successful")


async def _wait_synchronously(call: Call, core: Core, actor: Doc, execution_id: str) -> Response:
    """Poll the results queue and the execution every 0.1 s until a result or completion."""
    while True:
        data = core.store.pop_result(execution_id)
        if data is not None:
            return raw_response(data, BINARY)
        execution = core.store.get("executions", execution_id)
        if execution is None:
            raise AbacoError(f"Execution {execution_id} no longer exists (its actor was deleted).")
        if execution["status"] == "COMPLETE":
            data = core.store.pop_result(execution_id)
            if data is not None:
                return raw_response(data, BINARY)
            logs = core.store.log(execution_id)
            return raw_response((logs[0] if logs else "").encode(), "text/html; charset=utf-8")
        if execution["status"] == "ERROR":
            logs = core.store.log(execution_id)
            reason = (logs[0].strip() if logs else "") or "the worker could not run it"
            raise AbacoError(f"Synchronous execution {execution_id} ended in status ERROR: {reason}")
        current = core.store.get("actors", actor["id"])
        if current is None:
            raise AbacoError(f"Actor {actor['id']} was deleted before execution {execution_id} ran.")
        if current["status"] == "ERROR" and execution["status"] == "SUBMITTED":
            raise AbacoError(f"Synchronous execution {execution_id} cannot run: actor {actor['id']} is in status "
                             f"ERROR: {current['status_message']}")
        if await call.request.is_disconnected():
            return Response(b"", status_code=499)
        await asyncio.sleep(SYNC_POLL)


ROUTES = [
    Route("GET", ("{aid}", "messages"), get_messages),
    Route("POST", ("{aid}", "messages"), send_message),
    Route("DELETE", ("{aid}", "messages"), purge_messages),
]
